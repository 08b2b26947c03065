"""The visitor sets of ``make eval`` (``data/eval/visitors/``): messages and dialogues
written from the brief alone, by writers who saw neither the training data nor each
other's work, each turn with what a well-informed receptionist would do.

An expectation is judged only by what the visitor sees (and which response the
assistant chose, to tell "I don't know" from an answer): whose phone number the reply
gives or whether it asks which hub, whether it declines, whether it says it does not
have the information, which words of the brief it contains and which not, and the
language it answers in. ``data/eval/frozen/`` holds a part that nobody reads until a
final run (``--frozen``); it is never evaluated otherwise.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT
from harness.judging import answered_in, declined, judge
from harness.servers import Assistant

VISITOR_DIR = PROJECT_ROOT / "data" / "eval" / "visitors"
FROZEN_DIR = PROJECT_ROOT / "data" / "eval" / "frozen"
# each frozen part is reported alone: "frozen" was run eleven times before "frozen2" was
# written (2026-12-03), which nobody has read
FROZEN_PARTS = {"frozen": FROZEN_DIR, "frozen2": PROJECT_ROOT / "data" / "eval" / "frozen2"}
# the responses that say plainly that the assistant does not have the information
# asked ("X is not among the partners named; the lists I know are not complete")
UNKNOWN_RESPONSES = frozenset(
    {"utter_fact_unknown", "utter_fact_unknown_exactly", "utter_is_partner_no"}
)
ROUTED = {"lindner", "weber", "both", "ask"}


@dataclass
class Turn:
    text: str
    expect: dict
    replies: list[str] = field(default_factory=list)
    got: dict = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return not self.misses

    @property
    def is_routing(self) -> bool:
        wanted = self.expect.get("contact")
        wanted = set(wanted) if isinstance(wanted, list) else {wanted}
        return bool(wanted & ROUTED) and not self.expect.get("unknown")

    @property
    def is_decline(self) -> bool:
        return bool(self.expect.get("declines"))


@dataclass
class Case:
    """One conversation: a single message or a dialogue."""

    kind: str  # "message" or "dialogue"
    klass: str
    turns: list[Turn]

    @property
    def correct(self) -> bool:
        return all(turn.correct for turn in self.turns)


def sets(frozen: bool = False) -> list[Path]:
    paths = sorted(VISITOR_DIR.glob("*.yml"))
    frozen_paths = [p for d in FROZEN_PARTS.values() for p in sorted(d.glob("*.yml"))]
    return paths + (frozen_paths if frozen else [])


def read_cases(path: Path) -> tuple[str, list[Case]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = [
        Case("message", item["class"], [Turn(item["text"], item.get("expect") or {})])
        for item in document.get("items") or []
    ]
    cases += [
        Case("dialogue", d["class"], [Turn(t["text"], t.get("expect") or {}) for t in d["turns"]])
        for d in document.get("dialogues") or []
    ]
    return document.get("language", "en"), cases


def _this_turn(tracker: dict) -> list[dict]:
    """The events since the visitor's last message."""
    events = tracker.get("events") or []
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    return events[last_user + 1 :]


def _alternatives(value) -> set:
    return set(value) if isinstance(value, list) else {value}


def misses(expect: dict, got: dict, text: str, language: str) -> list[str]:
    """What of ``expect`` the answer did not do, in words for the report."""
    found = []
    contact = got["contact"]
    if "contact" in expect and contact not in _alternatives(expect["contact"]):
        found.append(f"contact {contact}, wanted {expect['contact']}")
    if expect.get("declines") and not got["declined"]:
        found.append("did not decline")
    if not expect.get("declines") and got["declined"] and contact == "none":
        found.append("declined")
    if expect.get("unknown") and not got["unknown"]:
        found.append("did not say it does not know")
    lowered = text.lower()
    for group in expect.get("mentions") or []:
        words = group if isinstance(group, list) else [group]
        if not any(str(word).lower() in lowered for word in words):
            found.append(f"no mention of {' / '.join(map(str, words))}")
    for word in expect.get("not_mentions") or []:
        if str(word).lower() in lowered:
            found.append(f"mentions {word}")
    wanted_language = expect.get("language", language)
    if got["language"] != wanted_language:
        found.append(f"answered in {got['language'] or 'no language'}, wanted {wanted_language}")
    return found


def run_case(assistant: Assistant, case: Case, sender: str, language: str, phones) -> Case:
    for turn in case.turns:
        replies = assistant.send(sender, turn.text)
        tracker = assistant.tracker(sender)
        uttered = {
            (e.get("metadata") or {}).get("utter_action")
            for e in _this_turn(tracker)
            if e.get("event") == "bot"
        }
        turn.replies = [r.get("text", "") for r in replies]
        turn.got = {
            "contact": judge(replies, phones),
            "declined": declined({"events": _this_turn(tracker)}),
            "unknown": bool(UNKNOWN_RESPONSES & uttered),
            "language": answered_in(tracker),
            "intent": ((tracker.get("latest_message") or {}).get("intent") or {}).get("name"),
        }
        turn.misses = misses(turn.expect, turn.got, " ".join(turn.replies), language)
    return case


def _share(turns: list[Turn]) -> float | None:
    return sum(t.correct for t in turns) / len(turns) if turns else None


def report(cases: list[Case], language: str, failures: bool = True) -> dict:
    """Figures per class and in all; with ``failures``, every conversation with a miss
    (never for the frozen part, whose messages stay unread until its final run)."""
    turns = [turn for case in cases for turn in case.turns]
    by_class: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_class[case.klass].append(case)
    return {
        "language": language,
        "messages": sum(case.kind == "message" for case in cases),
        "dialogues": sum(case.kind == "dialogue" for case in cases),
        "turns": len(turns),
        "overall": _share(turns),
        "routing_accuracy": _share([t for t in turns if t.is_routing]),
        "out_of_scope_accuracy": _share([t for t in turns if t.is_decline]),
        "by_class": {
            klass: {
                "conversations": len(group),
                "turns": sum(len(c.turns) for c in group),
                "turn_accuracy": _share([t for c in group for t in c.turns]),
                "conversation_accuracy": sum(c.correct for c in group) / len(group),
            }
            for klass, group in sorted(by_class.items())
        },
        "failures": [
            {
                "class": case.klass,
                "turns": [
                    {"text": t.text, "misses": t.misses, "replies": t.replies, "got": t.got}
                    for t in case.turns
                ],
            }
            for case in cases
            if failures and not case.correct
        ],
    }


def evaluate(
    assistant: Assistant, paths: list[Path], phones: dict[str, str], failures: bool = True
) -> dict[str, dict]:
    """One report per language over the given sets."""
    cases_by_language: dict[str, list[Case]] = defaultdict(list)
    run = int(time.time())
    for path in paths:
        language, cases = read_cases(path)
        for index, case in enumerate(cases):
            sender = f"visitor-{run}-{path.stem}-{index}"
            cases_by_language[language].append(run_case(assistant, case, sender, language, phones))
    return {
        language: report(cases, language, failures) for language, cases in cases_by_language.items()
    }


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def print_report(summary: dict) -> None:
    print(
        f"\nVisitor sets ({summary['language']}): {summary['messages']} messages, "
        f"{summary['dialogues']} dialogues, {summary['turns']} turns judged"
    )
    print(f"{'class':<24}{'n':>5}{'turns right':>13}{'conversations right':>21}")
    for klass, row in summary["by_class"].items():
        print(
            f"{klass:<24}{row['conversations']:>5}{_percent(row['turn_accuracy']):>13}"
            f"{_percent(row['conversation_accuracy']):>21}"
        )
    print(f"{'routing':<29}{_percent(summary['routing_accuracy']):>13}")
    print(f"{'out of scope declined':<29}{_percent(summary['out_of_scope_accuracy']):>13}")
    print(f"{'overall':<29}{_percent(summary['overall']):>13}")
