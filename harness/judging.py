"""What a visitor saw in the assistant's replies, for the held-out evaluations."""

from __future__ import annotations

from bot.knowledge.facts import BASE_LANGUAGE

DECLINING_ACTIONS = {"utter_out_of_scope", "utter_default", "action_default_fallback"}


def judge(replies: list[dict], phones: dict[str, str]) -> str:
    """lindner / weber / both / ask / none, from what the visitor saw."""
    texts = " ".join(r.get("text", "") for r in replies)
    named = {label for label, phone in phones.items() if phone in texts}
    if len(named) == 2:
        return "both"
    if named:
        return named.pop()
    if any('"hub"' in b.get("payload", "") for r in replies for b in r.get("buttons", [])):
        return "ask"
    return "none"


def declined(tracker: dict) -> bool:
    actions = [e.get("name") for e in tracker.get("events", []) if e.get("event") == "action"]
    uttered = [
        (e.get("metadata") or {}).get("utter_action")
        for e in tracker.get("events", [])
        if e.get("event") == "bot"
    ]
    return bool(DECLINING_ACTIONS & set(actions + uttered))


def answered_in(tracker: dict) -> str:
    """The language of the replies: the conversation's, English (the responses' base
    variant) while it has none."""
    return (tracker.get("slots") or {}).get("language") or BASE_LANGUAGE
