"""CLINC150 test utterances (bank, travel, small talk ...) sent to the assistant's
own model: how many would it wrongly treat as a question about the hubs?"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from rasa_sdk import Tracker

from actions.routing import ActionAnswerContact, ActionAnswerUnknown, ActionDecline, ActionUncertain
from bench.public_nlu import BENCHMARKS
from harness.servers import MODEL

# CLINC intents the assistant does handle itself (small talk), left out of the test
HANDLED = {"greeting", "goodbye", "thank_you", "are_you_a_bot", "what_can_i_ask_you"}
SMALL_TALK = {"greet", "goodbye", "thank", "bot_challenge", "help", "no_words"}
# the actions that may still decline, by the intent that runs them (data/rules.yml)
DECLINING = {
    "out_of_scope": ActionDecline,
    "nlu_fallback": ActionUncertain,
    "ask_unknown_fact": ActionAnswerUnknown,
    "ask_contact": ActionAnswerContact,
}


def _tracker(parse: dict) -> Tracker:
    return Tracker(
        sender_id="clinc",
        slots={},
        latest_message=parse,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def outcome(parse: dict) -> str:
    """declined / small talk / the intent whose action would answer it, as the
    assistant's own actions decide for a first message."""
    intent = (parse.get("intent") or {}).get("name")
    if intent in SMALL_TALK:
        return "small talk"
    if intent in DECLINING:
        return "declined" if DECLINING[intent]().declines(_tracker(parse)) else intent
    return intent


def run() -> dict:
    from rasa.core.agent import Agent

    data = json.loads((BENCHMARKS / "clinc150" / "data_full.json").read_text())
    items = [(t, i) for t, i in data["test"] if i not in HANDLED] + data["oos_test"]
    agent = Agent.load(str(MODEL))

    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text) for text, _ in items]

    outcomes = [outcome(parse) for parse in asyncio.run(parse_all())]
    accepted = [o for o in outcomes if o not in ("declined", "small talk")]
    examples = [
        {"text": text, "clinc_intent": gold, "assistant": o}
        for (text, gold), o in zip(items, outcomes, strict=True)
        if o not in ("declined", "small talk")
    ]
    return {
        "messages": len(items),
        "excluded_intents": sorted(HANDLED),
        "false_acceptance": len(accepted) / len(items),
        "small_talk": outcomes.count("small talk") / len(items),
        "attracting_intents": Counter(accepted).most_common(),
        "examples": examples[:40],
    }
