"""CLINC150 test utterances (bank, travel, small talk ...) sent to the assistant's
own model: how many would it wrongly treat as a question about the hubs?"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from bench.public_nlu import BENCHMARKS
from bot.asked import about_the_hubs
from harness.servers import MODEL

# CLINC intents the assistant does handle itself (small talk), left out of the test
HANDLED = {"greeting", "goodbye", "thank_you", "are_you_a_bot", "what_can_i_ask_you"}
SMALL_TALK = {"greet", "goodbye", "thank", "bot_challenge", "help", "no_words"}
DECLINED = {"out_of_scope"}
# With nlu_fallback the assistant still routes a message that names one of these
ROUTABLE_ENTITIES = {"topic", "organisation", "programme", "person"}


def outcome(parse: dict) -> str:
    """declined / small talk / the hub intent that would answer it."""
    intent = (parse.get("intent") or {}).get("name")
    if intent in DECLINED:
        return "declined"
    if intent in SMALL_TALK:
        return "small talk"
    if intent == "ask_unknown_fact":  # the action declines what is not about the hubs
        named = [e["entity"] for e in parse.get("entities", [])]
        return intent if about_the_hubs(parse.get("text") or "", named) else "declined"
    if intent == "nlu_fallback":
        named = {e["entity"] for e in parse.get("entities", [])}
        return "fallback routed" if named & ROUTABLE_ENTITIES else "declined"
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
