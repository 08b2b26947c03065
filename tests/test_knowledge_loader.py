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
