"""Queries over the facts as the actions use them, read back from SQL."""

from __future__ import annotations

from bot.knowledge.facts import join_names, normalise


def test_facts_read_back_from_sql_equal_the_yaml(loaded_kb, facts):
    assert loaded_kb.facts() == facts


def test_partners_by_hub_and_kind_keep_the_briefs_order(loaded_kb):
    facts = loaded_kb.facts()
    assert [o.name for o in facts.partners("dresden", "academic")] == [
        "TU Chemnitz",
        "TU Dresden",
        "HTW Dresden",
    ]
    assert [o.name for o in facts.partners("leipzig", "academic")] == [
        "University of Leipzig",
        "HTWK Leipzig",
        "HHL Leipzig Graduate School of Management",
    ]
    assert facts.partners("dresden", "public") == []
    assert len(facts.partners()) == 23


def test_organisations_are_found_by_alias_in_any_spelling(loaded_kb):
    facts = loaded_kb.facts()
    assert facts.find_organisation("the Technische Universität Dresden") is None
    assert facts.find_organisation("Technische Universität Dresden").key == "tu_dresden"
    assert facts.find_organisation("T-SYSTEMS MMS").key == "t_systems_mms"
    assert facts.find_organisation("Universitat Leipzig").key == "university_leipzig"
    assert facts.find_organisation("Siemens") is None
    assert facts.find_organisation("   ") is None


def test_helpers_for_answers():
    assert join_names(["A", "B", "C"], "and") == "A, B and C"
    assert join_names(["A", "B"], "und") == "A und B"
    assert join_names(["A"], "and") == "A"


def test_german_facts_keep_proper_names_and_translate_the_rest(loaded_kb):
    english = loaded_kb.facts()
    german = english.in_language("de")
    assert german.language == "de" and german.in_language("en") is english
    for section in ("hubs", "topics", "programmes", "trails"):
        for en_item, de_item in zip(
            getattr(english, section), getattr(german, section), strict=True
        ):
            assert de_item.key == en_item.key and de_item.name != en_item.name, de_item
    assert german.organisation("fraunhofer_ipms").name == "Fraunhofer IPMS"
    assert german.programme("spinlab").name.startswith("SpinLab")
    assert german.hub("leipzig").approach_text != english.hub("leipzig").approach_text
    assert german.contact("eric_weber").phone == english.contact("eric_weber").phone
    assert english.in_language("fr") is english  # unknown languages get the base texts
    assert normalise("  Fraunhofer-IPMS! ") == "fraunhofer ipms"
