"""Loading data/knowledge_base.yml: validation, idempotence, atomic failure."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.knowledge import store
from bot.knowledge.document import KnowledgeBaseError
from bot.knowledge.models import OrganisationRow, SynonymRow


def test_every_fact_of_the_brief_is_in_the_knowledge_base(facts):
    dresden, leipzig = facts.hub("dresden"), facts.hub("leipzig")
    assert dresden.approach == "basic_research" and "TU Dresden" in dresden.location
    assert "enabling IoT" in dresden.strategy
    assert leipzig.approach == "practical_application"
    assert [t.name for t in facts.focus_of("leipzig")] == [
        "energy",
        "smart cities",
        "e-health",
        "cross-cutting technologies",
    ]
    assert {o.name for o in facts.partners("dresden", "research_institute")} == {
        "Fraunhofer ENAS",
        "Fraunhofer IPMS",
        "Fraunhofer IWU",
    }
    assert {o.name for o in facts.partners("leipzig", "public")} == {
        "Free State of Saxony",
        "city of Leipzig",
    }
    assert facts.programme("spinlab").status == "active"
    assert facts.programme("venture_fund").timeframe == "medium_term"
    assert facts.programme("centre_of_excellence").timeframe == "long_term"
    assert facts.programme("joint_contact").status == "planned"
    lindner, weber = facts.contact_for_hub("dresden"), facts.contact_for_hub("leipzig")
    assert (lindner.name, lindner.organisation, lindner.phone) == (
        "Dr Sebastian Lindner",
        "AG Smart Systems Hub",
        "+49 (0)351 56 41 270",
    )
    assert (weber.name, weber.phone) == ("Dr Eric Weber", "+49 (0)341 355 785 70")


def test_addresses_the_brief_does_not_give_are_placeholders(facts):
    assert all(c.email.endswith("@example.org") for c in facts.contacts)
    assert "example.org" in facts.website_url and not facts.website_launched


def test_contact_address_comes_from_the_environment(kb_copy, monkeypatch):
    monkeypatch.setenv("CONTACT_EMAIL_ERIC_WEBER", "eric.weber@spinlab.test")
    facts = store.document.read(kb_copy)
    assert facts.contact("eric_weber").email == "eric.weber@spinlab.test"


def test_loading_twice_updates_and_never_duplicates(kb_copy, sqlite_factory):
    store.load_file(kb_copy, sqlite_factory)
    store.load_file(kb_copy, sqlite_factory)
    with sqlite_factory() as session:
        organisations = session.execute(select(func.count()).select_from(OrganisationRow)).scalar()
        synonyms = session.execute(select(func.count()).select_from(SynonymRow)).scalar()
    facts = store.document.read(kb_copy)
    assert organisations == len(facts.organisations)
    assert synonyms == sum(len(o.aliases) for o in facts.organisations) + sum(
        len(x.synonyms)
        for x in (
            *facts.hubs,
            *facts.topics,
            *facts.programmes,
            *facts.trails,
            *facts.contacts,
            *facts.partner_kinds,
        )
    )


def test_a_reload_changes_the_answer_and_drops_removed_entries(kb_copy, sqlite_factory):
    kb = store.KnowledgeBase(sqlite_factory)
    store.load_file(kb_copy, sqlite_factory)
    assert kb.facts().organisation("arvato") is not None
    text = kb_copy.read_text(encoding="utf-8")
    text = text.replace(
        "  - {key: arvato, name: arvato, kind: business, hub: leipzig, aliases: [arvato]}\n", ""
    )
    text = text.replace('phone: "+49 (0)341 355 785 70"', 'phone: "+49 (0)341 000"')
    kb_copy.write_text(text, encoding="utf-8")
    store.load_file(kb_copy, sqlite_factory)
    assert kb.facts().organisation("arvato") is None
    assert kb.facts().contact("eric_weber").phone == "+49 (0)341 000"


@pytest.mark.parametrize(
    "original, broken, message",
    [
        (
            "kind: business, hub: dresden, aliases: [sap, sap se]",
            "kind: corporate, hub: dresden, aliases: [sap, sap se]",
            "organisations[8] (key 'sap'): kind 'corporate' is not one of",
        ),
        (
            "hub: leipzig, aliases: [arvato]",
            "hub: lepzig, aliases: [arvato]",
            "organisations[22] (key 'arvato'): unknown hub 'lepzig'",
        ),
        (
            '    phone: "+49 (0)351 56 41 270"\n',
            "",
            "contacts[0] (key 'sebastian_lindner'): missing field 'phone'",
        ),
    ],
)
def test_a_malformed_file_is_refused_with_file_entry_and_problem(
    kb_copy, sqlite_factory, original, broken, message
):
    store.load_file(kb_copy, sqlite_factory)
    before = store.KnowledgeBase(sqlite_factory).facts()
    text = kb_copy.read_text(encoding="utf-8")
    assert original in text
    kb_copy.write_text(text.replace(original, broken), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as error:
        store.load_file(kb_copy, sqlite_factory)
    assert str(kb_copy) in str(error.value) and message in str(error.value)
    assert store.KnowledgeBase(sqlite_factory).facts() == before


def test_partner_kinds_must_be_kinds_of_organisation(kb_copy):
    kb_copy.write_text(kb_copy.read_text().replace("  - key: public\n", "  - key: publik\n"))
    with pytest.raises(KnowledgeBaseError, match="partner_kinds\\[3\\]: 'publik' is not a kind"):
        store.document.read(kb_copy)


def test_invalid_yaml_is_refused_and_the_database_is_kept(kb_copy, sqlite_factory):
    store.load_file(kb_copy, sqlite_factory)
    kb_copy.write_text("hubs: [\n  - key: dresden\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="not valid YAML"):
        store.load_file(kb_copy, sqlite_factory)
    assert store.KnowledgeBase(sqlite_factory).facts().hub("dresden") is not None


def test_the_cli_reports_problems_and_exit_code(kb_copy, capsys, monkeypatch, tmp_path):
    from bot.__main__ import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    kb_copy.write_text(kb_copy.read_text().replace("approach: basic_research", "approach: magic"))
    assert main(["kb", "load", str(kb_copy)]) == 2
    err = capsys.readouterr().err
    assert "NOT loaded" in err and "hubs[0] (key 'dresden'): approach 'magic'" in err


def test_a_running_server_sees_a_reload_after_its_refresh_interval(kb_copy, sqlite_factory):
    store.load_file(kb_copy, sqlite_factory)
    kb = store.KnowledgeBase(sqlite_factory, refresh_seconds=3600)
    assert kb.facts().contact("eric_weber").phone == "+49 (0)341 355 785 70"
    kb_copy.write_text(
        kb_copy.read_text().replace('"+49 (0)341 355 785 70"', '"+49 (0)341 111"'), encoding="utf-8"
    )
    store.load_file(kb_copy, sqlite_factory)
    assert kb.facts().contact("eric_weber").phone == "+49 (0)341 355 785 70"  # cached
    assert store.KnowledgeBase(sqlite_factory).facts().contact("eric_weber").phone == (
        "+49 (0)341 111"
    )


ENERGY_SYNONYMS = "    synonyms: [energy, energy sector,"
ENERGY = "topics[10] (key 'energy')"


@pytest.mark.parametrize(
    "original, broken, message",
    [
        (
            ENERGY_SYNONYMS,
            "    synonym: [energy, energy sector,",
            f"{ENERGY}: unknown field 'synonym' (did you mean 'synonyms'?)",
        ),
        (
            "      synonyms: [energie, energiewende,",
            "      synonym: [energie, energiewende,",
            f"{ENERGY}: unknown field 'de.synonym' (did you mean 'de.synonyms'?)",
        ),
        (
            "    hub: leipzig\n    focus: true\n    synonyms: [energy,",
            "    hub: leipzig\n    focus: true\n    sector: energy\n    synonyms: [energy,",
            f"{ENERGY}: unknown field 'sector' (known: key, name, hub, focus, synonyms, de)",
        ),
        (
            "  - {hub: leipzig, contact: eric_weber}",
            "  - {hub: leipzig, contact: eric_weber, de: {contact: eric_weber}}",
            "routing[1] (key 'leipzig'): unknown field 'de' (known: hub, contact)",
        ),
        (
            "partner_lists_complete: false\n",
            "partner_lists_complete: false\npartner_list_complete: true\n",
            "unknown top-level key 'partner_list_complete' (did you mean 'partner_lists_complete'?)",
        ),
        (
            "  launched: false",
            "  launched: false\n  lunched: true",
            "website: unknown field 'lunched' (did you mean 'launched'?)",
        ),
        ("version: 1", "version: 2", "version: 2 is not 1"),
    ],
)
def test_an_unknown_key_is_refused_with_file_entry_and_key(
    kb_copy, sqlite_factory, original, broken, message
):
    store.load_file(kb_copy, sqlite_factory)
    before = store.KnowledgeBase(sqlite_factory).facts()
    text = kb_copy.read_text(encoding="utf-8")
    assert text.count(original) == 1
    kb_copy.write_text(text.replace(original, broken), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as error:
        store.load_file(kb_copy, sqlite_factory)
    assert f"{kb_copy}: {message}" in str(error.value), str(error.value)
    assert store.KnowledgeBase(sqlite_factory).facts() == before


def test_make_kb_refuses_an_unknown_key_naming_it_and_keeps_the_database(
    kb_copy, capsys, monkeypatch, tmp_path
):
    """What `make kb` runs (python -m bot kb load), on a file with a typo."""
    from bot import db
    from bot.__main__ import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["kb", "load", str(kb_copy)]) == 0
    before = store.KnowledgeBase(db.session_factory(url)).facts()
    text = kb_copy.read_text(encoding="utf-8")
    kb_copy.write_text(text.replace(ENERGY_SYNONYMS, "    synonym: [energy, energy sector,"))
    capsys.readouterr()
    assert main(["kb", "load", str(kb_copy)]) == 2
    err = capsys.readouterr().err
    assert "NOT loaded; the database is unchanged" in err
    assert f"  {kb_copy}: {ENERGY}: unknown field 'synonym' (did you mean 'synonyms'?)\n" in err, (
        err
    )
    assert store.KnowledgeBase(db.session_factory(url)).facts() == before
    assert before.topic("energy").synonyms[:2] == ("energy", "energy sector")


def test_every_section_is_read_stored_and_recognised_from_one_declaration(facts):
    from dataclasses import fields

    from bot.knowledge.facts import SECTIONS, Facts
    from bot.knowledge.models import ROWS

    names = [s.name for s in SECTIONS]
    assert set(names) <= {f.name for f in fields(Facts)}
    assert all(s.value_class in ROWS for s in SECTIONS)
    assert all(isinstance(getattr(facts, name), tuple) for name in names)
    assert {s.entity: s.name for s in SECTIONS if s.entity} == {
        "hub": "hubs",
        "topic": "topics",
        "organisation": "organisations",
        "programme": "programmes",
        "trail": "trails",
        "person": "contacts",
        "org_kind": "partner_kinds",
    }


def test_which_programmes_answer_which_question_is_knowledge_base_data(facts):
    assert [p.key for p in facts.programmes_answering("funding")] == ["spinlab", "venture_fund"]
    assert [p.key for p in facts.programmes_answering("spinlab")] == ["spinlab"]
    assert [p.key for p in facts.programmes_answering("office_space")] == ["rental_units"]
    assert [p.key for p in facts.programmes_answering("website")] == ["joint_website"]


@pytest.mark.parametrize(
    "original, broken, message",
    [
        (
            "    answers: [office_space]\n",
            "    answers: [office]\n",
            "programmes[2] (key 'rental_units'): answers 'office' is not one of spinlab, "
            "funding, office_space, website (did you mean 'office_space'?)",
        ),
        (
            "    answers: [website]\n",
            "",
            "programmes: no programme answers 'website'",
        ),
    ],
)
def test_a_question_no_programme_answers_is_refused(kb_copy, original, broken, message):
    text = kb_copy.read_text(encoding="utf-8")
    assert text.count(original) == 1
    kb_copy.write_text(text.replace(original, broken), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as error:
        store.document.read(kb_copy)
    assert message in str(error.value), str(error.value)


def test_a_database_loaded_before_programme_answers_asks_for_a_reload(sqlite_factory, loaded_kb):
    from sqlalchemy import update

    from bot.knowledge.models import ProgrammeRow

    with sqlite_factory.begin() as session:  # as migration 0004 leaves an older database
        session.execute(update(ProgrammeRow).values(answers=""))
    with pytest.raises(
        LookupError,
        match="which programmes answer spinlab, funding, office_space, website: run `make kb`",
    ):
        store.KnowledgeBase(sqlite_factory).facts()
