"""The visitor sets of ``make eval`` and how their expectations are judged."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from harness import visitors
from harness.heldout import HELDOUT_SETS, load_items

KEYS = {"contact", "declines", "unknown", "mentions", "not_mentions", "language"}
CONTACTS = {"lindner", "weber", "both", "ask", "none"}
CLASSES = {
    "message": {
        "routing",
        "person",
        "unknown_fact",
        "hub_facts",
        "partners",
        "programmes",
        "whole_hub",
        "contact",
        "out_of_scope_hub_word",
        "out_of_scope",
        "smalltalk",
        "grammar",
    },
    "dialogue": {
        "correction",
        "follow_up",
        "multi_question",
        "language_switch",
        "enquiry_start",
        "mixed",
    },
}


def answered(contact="none", declined=False, unknown=False, language="en") -> dict:
    return {"contact": contact, "declined": declined, "unknown": unknown, "language": language}


def test_a_right_answer_has_no_misses():
    expect = {"contact": "weber", "mentions": [["SpinLab", "accelerator"]]}
    assert visitors.misses(expect, answered("weber"), "SpinLab helps start-ups", "en") == []


def test_each_unmet_expectation_is_named():
    expect = {
        "contact": ["ask", "both"],
        "unknown": True,
        "mentions": [["Fraunhofer"]],
        "not_mentions": ["Weber"],
        "language": "de",
    }
    found = visitors.misses(expect, answered("weber"), "Dr Eric Weber, SpinLab", "en")
    assert found == [
        "contact weber, wanted ['ask', 'both']",
        "did not say it does not know",
        "no mention of Fraunhofer",
        "mentions Weber",
        "answered in en, wanted de",
    ]


def test_a_decline_is_wrong_where_an_answer_was_wanted_and_right_where_not():
    assert visitors.misses({"declines": True}, answered(declined=True), "", "en") == []
    assert visitors.misses({"declines": True}, answered(), "", "en") == ["did not decline"]
    assert visitors.misses({"contact": "none"}, answered(declined=True), "", "en") == ["declined"]


@pytest.mark.parametrize("path", visitors.sets(), ids=lambda p: p.name)
def test_every_visitor_set_uses_the_schema(path):
    language, cases = visitors.read_cases(path)
    assert language in ("en", "de") and cases
    for case in cases:
        assert case.klass in CLASSES[case.kind], case.klass
        for turn in case.turns:
            assert turn.text.strip() and set(turn.expect) <= KEYS, turn.expect
            wanted = turn.expect.get("contact", "none")
            assert set(wanted if isinstance(wanted, list) else [wanted]) <= CONTACTS


def test_the_sets_cover_both_languages_with_a_frozen_part():
    """The frozen part is counted here, never read: it is for the final run."""
    languages = {visitors.read_cases(path)[0] for path in visitors.sets()}
    frozen = [visitors.read_cases(path) for path in sorted(visitors.FROZEN_DIR.glob("*.yml"))]
    assert languages == {"en", "de"}
    assert {language for language, _ in frozen} == {"en", "de"}
    every = [visitors.read_cases(path)[1] for path in visitors.sets(frozen=True)]
    messages = sum(case.kind == "message" for cases in every for case in cases)
    dialogues = sum(case.kind == "dialogue" for cases in every for case in cases)
    assert messages >= 400 and dialogues >= 60


def _normal(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def test_no_held_out_message_is_a_training_example():
    """Held-out texts, the frozen part's too, compared without being shown."""
    annotated = re.compile(r"\[([^\]]*)\](?:\{[^}]*\}|\([^)]*\))")
    examples = set()
    for path in (PROJECT_ROOT / "data" / "nlu").rglob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                examples.add(_normal(annotated.sub(r"\1", line.strip().removeprefix("- "))))
    held_out = [
        turn.text
        for path in visitors.sets(frozen=True)
        for case in visitors.read_cases(path)[1]
        for turn in case.turns
    ] + [item["text"] for path in HELDOUT_SETS for item in load_items(path)]
    assert held_out and sum(_normal(text) in examples for text in held_out) == 0
