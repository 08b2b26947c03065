"""The console's routing dry run: who a message would go to, and why, in the words the
contact's e-mail gives, from what the NLU read in it. No conversation is started, so
the dry run knows only the message (not a hub named earlier in a conversation)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot import settings
from bot.handoff.render import routing_reason
from bot.knowledge.facts import Facts
from bot.routing import Clarification, Need, route


@dataclass(frozen=True)
class DryRun:
    intent: str
    confidence: float
    entities: list[tuple[str, str]]  # (entity, value) as the NLU read them
    contact: str | None = None  # the contact person's name, when one is named
    hub: str | None = None
    reason: str | None = None  # as the contact's e-mail gives it
    ask_which_hub: list[str] = field(default_factory=list)  # the hubs offered instead


def dry_run(parsed: dict, facts: Facts) -> DryRun:
    """From Rasa's parse of the message (``/model/parse``'s answer)."""
    intent = parsed.get("intent") or {}
    entities = [(e["entity"], str(e["value"])) for e in parsed.get("entities") or []]
    found = dict(reversed(entities))  # the first value of each entity, as the actions read it
    need = Need(**{name: found.get(name) for name in Need.__dataclass_fields__})
    read = DryRun(
        intent.get("name") or "?", round(float(intent.get("confidence") or 0), 3), entities
    )
    decision = route(need, facts)
    if isinstance(decision, Clarification):
        return replace(read, ask_which_hub=[h.name for h in decision.hubs])
    language = settings.get().contact_mail_language
    for_contact = facts.in_language(language)
    contact = for_contact.contact(decision.contact.key)
    hub = for_contact.hub(decision.hub.key)
    reason = routing_reason(
        decision.reason.kind, decision.reason.subject, hub.name, contact.name, language
    )
    return replace(read, contact=contact.name, hub=hub.name, reason=reason)
