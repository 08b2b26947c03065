"""``make eval``: the held-out enquiries, English and German, against the real
assistant.

Each message starts a fresh conversation with the running action server and Rasa
server (with no page language, so the assistant has only the words to go by), and is
judged by what the visitor would see: which contact's phone number the replies give,
whether the assistant asks which hub, or whether it declines. For each message it
also records which language the detector heard and in which language the assistant
answered.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge import document
from bot.settings import PROJECT_ROOT
from harness import visitors
from harness.judging import answered_in, declined, judge
from harness.servers import Assistant, running_assistant

EVAL_DIR = PROJECT_ROOT / "data" / "eval"
HELDOUT = EVAL_DIR / "heldout.yml"
HELDOUT_SETS = (HELDOUT, EVAL_DIR / "heldout_de.yml")


@dataclass
class Outcome:
    text: str
    category: str
    expected: str
    got: str
    intent: str
    replies: list[str]
    heard: str = ""  # the language the detector reported, or "unsure"
    answered_in: str = ""  # the conversation's language after the message

    @property
    def correct(self) -> bool:
        return self.expected == self.got


def contact_label(contact_key: str) -> str:
    return contact_key.split("_")[-1]  # sebastian_lindner -> lindner


def load_items(path: Path = HELDOUT) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["items"]


def language_of_set(path: Path) -> str:
    return yaml.safe_load(path.read_text(encoding="utf-8")).get("language", "en")


def heard_language(tracker: dict) -> str:
    entities = (tracker.get("latest_message") or {}).get("entities") or []
    return next((e["value"] for e in entities if e.get("entity") == "language"), "unsure")


def evaluate(assistant: Assistant, items: list[dict], phones: dict[str, str]) -> list[Outcome]:
    outcomes = []
    run = int(time.time())
    for index, item in enumerate(items):
        sender = f"eval-{run}-{index}"
        replies = assistant.send(sender, item["text"])
        tracker = assistant.tracker(sender)
        got = judge(replies, phones)
        if item["category"] == "out_of_scope":
            got = "none" if declined(tracker) and got == "none" else f"answered ({got})"
        outcomes.append(
            Outcome(
                text=item["text"],
                category=item["category"],
                expected=item["expect"],
                got=got,
                intent=(tracker.get("latest_message") or {}).get("intent", {}).get("name", ""),
                replies=[r.get("text", "") for r in replies],
                heard=heard_language(tracker),
                answered_in=answered_in(tracker),
            )
        )
    return outcomes


def report(outcomes: list[Outcome], language: str = "en") -> dict:
    by_category: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_category[outcome.category].append(outcome)
    routed = [o for o in outcomes if o.category not in ("out_of_scope", "smalltalk")]
    summary = {
        "messages": len(outcomes),
        "overall": sum(o.correct for o in outcomes) / len(outcomes),
        "routing_accuracy": sum(o.correct for o in routed) / max(len(routed), 1),
        "out_of_scope_accuracy": sum(o.correct for o in by_category["out_of_scope"])
        / max(len(by_category["out_of_scope"]), 1),
        "by_category": {
            c: {"n": len(os_), "accuracy": sum(o.correct for o in os_) / len(os_)}
            for c, os_ in sorted(by_category.items())
        },
        "failures": [o.__dict__ for o in outcomes if not o.correct],
        "language": language,
        "language_detection": {
            "correct": sum(o.heard == language for o in outcomes) / len(outcomes),
            "unsure": sum(o.heard == "unsure" for o in outcomes) / len(outcomes),
            "wrong": sum(o.heard not in (language, "unsure") for o in outcomes) / len(outcomes),
            "answered_in_language": sum(o.answered_in == language for o in outcomes)
            / len(outcomes),
            "misheard": [o.text for o in outcomes if o.heard not in (language, "unsure")],
        },
    }
    return summary


def print_report(summary: dict) -> None:
    print(f"\nHeld-out evaluation ({summary['language']}): {summary['messages']} messages")
    print(f"{'category':<16}{'n':>5}{'accuracy':>10}")
    for category, row in summary["by_category"].items():
        print(f"{category:<16}{row['n']:>5}{row['accuracy']:>10.1%}")
    print(f"{'routing (all in-scope)':<26}{summary['routing_accuracy']:>10.1%}")
    print(f"{'out of scope':<26}{summary['out_of_scope_accuracy']:>10.1%}")
    print(f"{'overall':<26}{summary['overall']:>10.1%}")
    detection = summary["language_detection"]
    print(
        f"language heard: {detection['correct']:.1%} right, {detection['unsure']:.1%} unsure, "
        f"{detection['wrong']:.1%} wrong; answered in {summary['language']}: "
        f"{detection['answered_in_language']:.1%}"
    )
    for text in detection["misheard"]:
        print(f"  misheard: {text!r}")
    if summary["failures"]:
        print("\nFailures:")
        for f in summary["failures"]:
            print(
                f"  [{f['category']}] {f['text']!r}: expected {f['expected']}, got {f['got']}"
                f" (intent {f['intent']})"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--heldout", type=Path, action="append", help="a held-out set (default: all)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here")
    parser.add_argument(
        "--frozen",
        action="store_true",
        help="also the frozen visitor sets (data/eval/frozen*/), each as its own part: "
        "the final run only",
    )
    args = parser.parse_args(argv)
    facts = document.read()
    phones = {contact_label(c.key): c.phone for c in facts.contacts}
    with tempfile.TemporaryDirectory() as workdir, running_assistant(Path(workdir)) as assistant:
        summaries = evaluate_sets(assistant, args.heldout or HELDOUT_SETS, phones)
        if not args.heldout:
            summaries["visitors"] = visitors.evaluate(
                assistant, visitors.sets(frozen=False), phones
            )
            if args.frozen:
                for part, directory in visitors.FROZEN_PARTS.items():
                    summaries[part] = visitors.evaluate(
                        assistant, sorted(directory.glob("*.yml")), phones, failures=False
                    )
    for language in ("en", "de"):
        if language in summaries:
            print_report(summaries[language])
    for part in ("visitors", *visitors.FROZEN_PARTS):
        for summary in summaries.get(part, {}).values():
            print(f"\n[{part}]", end="")
            visitors.print_report(summary)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summaries, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


def evaluate_sets(
    assistant: Assistant, paths: tuple[Path, ...] | list[Path], phones: dict[str, str]
) -> dict[str, dict]:
    """One report per language of the held-out sets."""
    summaries = {}
    for path in paths:
        language = language_of_set(path)
        summaries[language] = report(evaluate(assistant, load_items(path), phones), language)
    return summaries


if __name__ == "__main__":
    sys.exit(main())
