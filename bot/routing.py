"""Who should a visitor talk to? A pure decision over :class:`Facts`.

Every decision carries its reason so that the assistant, a handoff e-mail and an
operator can all say why that contact was chosen. When the hub cannot be told
from what the visitor said, the answer is a question, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge.facts import Contact, Facts, Hub

# Which kind of mention a reason refers to, strongest first: a named person beats a
# named organisation or programme, which beats a topic, which beats a bare hub.
REASON_KINDS = ("person", "organisation", "programme", "focus", "topic", "hub")


@dataclass(frozen=True)
class Need:
    """What the visitor's message (and the conversation so far) points at, as KB keys."""

    hub: str | None = None
    topic: str | None = None
    organisation: str | None = None
    programme: str | None = None
    person: str | None = None

    def names_more_than_a_hub(self) -> bool:
        """A topic, partner, programme or person: something that settles the contact."""
        return bool(self.topic or self.organisation or self.programme or self.person)


@dataclass(frozen=True)
class Reason:
    kind: str
    subject: str  # the display name of what the visitor mentioned
    key: str  # its knowledge-base key, to name it again in another language


@dataclass(frozen=True)
class Decision:
    contact: Contact
    hub: Hub
    reason: Reason


@dataclass(frozen=True)
class Clarification:
    """The hub could not be told; ask the visitor to choose between ``hubs``."""

    hubs: tuple[Hub, ...]
    subject: str | None = None  # what the visitor asked about, if anything


# reason kind -> how the facts look its subject up by key
SUBJECT_LOOKUP = {
    "person": Facts.contact,
    "organisation": Facts.organisation,
    "programme": Facts.programme,
    "focus": Facts.topic,
    "topic": Facts.topic,
    "hub": Facts.hub,
}


def subject_name(facts: Facts, kind: str, key: str | None) -> str | None:
    """The name of a reason's subject in the language of ``facts``."""
    item = SUBJECT_LOOKUP[kind](facts, key) if kind in SUBJECT_LOOKUP else None
    return item.name if item else None


def _candidates(need: Need, facts: Facts) -> list[tuple[str, str | None, str, str]]:
    """(reason kind, hub key or None, subject name, subject key) for each mention."""
    found = []
    if contact := facts.contact(need.person):
        found.append(("person", contact.hub, contact.name, contact.key))
    if organisation := facts.organisation(need.organisation):
        found.append(("organisation", organisation.hub, organisation.name, organisation.key))
    if programme := facts.programme(need.programme):
        found.append(("programme", programme.hub, programme.name, programme.key))
    if topic := facts.topic(need.topic):
        found.append(("focus" if topic.focus else "topic", topic.hub, topic.name, topic.key))
    if hub := facts.hub(need.hub):
        found.append(("hub", hub.key, hub.name, hub.key))
    return found


def route(need: Need, facts: Facts) -> Decision | Clarification:
    candidates = _candidates(need, facts)
    hubs_named = {hub for _kind, hub, _subject, _key in candidates if hub}
    if need.hub and facts.hub(need.hub):
        hubs_named = {need.hub}  # an explicit hub settles a topic that both could cover
    if len(hubs_named) != 1:
        subject = next((subject for kind, _hub, subject, _ in candidates if kind != "hub"), None)
        return Clarification(hubs=facts.hubs, subject=subject)
    hub_key = hubs_named.pop()
    kind, _hub, subject, key = next(found for found in candidates if found[1] == hub_key)
    contact = facts.contact_for_hub(hub_key)
    return Decision(contact=contact, hub=facts.hub(hub_key), reason=Reason(kind, subject, key))
