"""What a message asks for, apart from what it is about.

"What is Dr Weber's e-mail address?" is about a contact the facts know, but asks for
a detail they never give; answering with his phone number alone passes over the
question. The details the brief never gives (``data/asked.yml``, which also says how
visitors ask whom to turn to, ask again, or ask several things at once) are one
general "I don't know that" with the contact who can tell, whatever they are asked of.

Whether a question is about the hubs at all: "What are your opening hours?" is one
the assistant must answer with "I don't know" and a contact; "any tech events in
Munich this weekend?" is off-topic, though it asks for the same kind of detail. What
makes it the hubs' is that the message names something of theirs (a hub, programme,
person, organisation or topic), speaks to the assistant as the hub ("you", "ihr"), or
asks in words that only questions about the hubs use ("Is there parking?"; a word such
as "zoo" or "downtown" makes even a city named the city's).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from bot.settings import PROJECT_ROOT

ASKED = PROJECT_ROOT / "data" / "asked.yml"
MAX_WORDS_OF_A_FOLLOW_UP = 8
MAX_WORDS_OF_A_CORRECTION = 16  # "hm no I mixed them up, I mean the one at the TU campus"
HUB_ENTITIES = frozenset({"hub", "programme", "person", "organisation", "topic", "org_kind"})
# what names the hubs themselves, rather than a city that has one (the zoo in
# Leipzig) or a partner with a business of its own (Infineon's share price)
OWN_ENTITIES = frozenset({"programme", "person"})
HUB_WORDS = re.compile(
    r"\b(hub|hubs|spinlab|(both|two|beiden|zwei) (sites|locations|standorte|standorten))\b",
    re.IGNORECASE,
)
ADDRESSED = re.compile(
    r"\b(you|your|yours|ihr|ihre|ihren|ihrem|ihrer|euch|eure|euer|euren|eurem|eurer|ihnen|dein|deine)\b",
    re.IGNORECASE,
)
# the details (data/asked.yml, unknown) that only a place one writes to, visits or
# applies to has
DETAILS_OF_A_PLACE = frozenset({"email", "hours", "parking", "events", "visit", "applying"})
# an entity's key: read from a compound ("Energieanbieter"), not named as such (a
# role would hide the entity from rasa_sdk's get_latest_entity_values)
COMPOUND = "from_compound"
# the parse's list of the message's words no question about the hubs uses
UNFAMILIAR_WORDS = "unfamiliar_words"
WORD = re.compile(r"\w+")
WORD_START, WORD_END = re.compile(r"\w*"), re.compile(r"\w*$")  # of a match cut mid-word
TYPED_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def about_the_hubs(text: str, entities: Iterable[str]) -> bool:
    """Something of the hubs named or the assistant spoken to as the hub."""
    return (
        bool(HUB_ENTITIES & set(entities))
        or bool(HUB_WORDS.search(text or ""))
        or speaks_to_the_hubs(text)
    )


def named_in_their_words(entities: Iterable[dict], unfamiliar_words: list[str] | None) -> set[str]:
    """The kinds of entity a message names, as evidence that it is the hubs'. Among
    words no question about the hubs uses, a city ("when does the zoo in Leipzig
    open?") or a topic read from a compound ("welcher Energieanbieter ist am
    günstigsten?") is not. ``unfamiliar_words`` None: not known
    (nlu/components/familiar_words.py)."""
    return {
        e.get("entity")
        for e in entities
        if not (unfamiliar_words and (e.get("entity") == "hub" or e.get(COMPOUND)))
    } - {"language"}


def asks_a_detail_in_their_words(
    text: str | None, unfamiliar_words: list[str] | None, of_a_place: bool = False
) -> bool:
    """ "Is there parking?", "any events I can attend?": a detail the brief never gives,
    in words that only questions about the hubs use, is theirs though nothing of theirs
    is named ("how much is the parking garage downtown?" is not). ``of_a_place``: only
    a detail that a place one writes to, visits or applies to has ("bis wann muss man
    sich bewerben?"; "how many days off have I taken?" asks a count in such words)."""
    details = unknown_details(text)
    return unfamiliar_words == [] and bool(details & DETAILS_OF_A_PLACE if of_a_place else details)


def speaks_to_the_hubs(text: str | None) -> bool:
    """ "Do you offer desks?", "habt ihr ...": the visitor speaks to the assistant as the hub."""
    return bool(ADDRESSED.search(text or ""))


def speaks_of_the_hubs(text: str, entities: Iterable[str]) -> bool:
    """Stricter than :func:`about_the_hubs`, for a message the classifier took as
    off-topic: a city name alone does not count ("when does the zoo in Leipzig
    open?"), nor does "you" ("where are you from?")."""
    return bool(OWN_ENTITIES & set(entities)) or bool(HUB_WORDS.search(text or ""))


def names_the_hubs(text: str, entities: Iterable[str]) -> bool:
    """A hub, a topic of theirs or their people named: whom to turn to about it is
    theirs to answer, even in a message the classifier took as off-topic."""
    named = {"hub", "topic", *OWN_ENTITIES} & set(entities)
    return bool(named) or bool(HUB_WORDS.search(text or ""))


def _pattern(patterns: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@lru_cache(maxsize=4)
def _patterns(path: Path = ASKED) -> dict:
    asked = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        "whom": _pattern(asked["contact"]["whom"]),
        "contact_details": _pattern(asked["contact"]["details"]),
        "at_the_hubs": _pattern(asked["contact"]["at_the_hubs"]),
        "reaching": _pattern(asked["contact"]["reaching"]),
        "pass_on": _pattern(asked["contact"]["pass_on"]),
        "passes_on_self": _pattern(asked["contact"]["passes_on_self"]),
        "again": _pattern(asked["again"]),
        "correction": _pattern(asked["correction"]["short"]),
        "plain_correction": _pattern(asked["correction"]["plainly"]),
        "back": _pattern(asked["back"]),
        "negated": _pattern(asked["negated"]),
        "both": _pattern(asked["both"]),
        "meaning": _pattern(asked["meaning"]),
        "other_hub": _pattern(asked["other_hub"]),
        "unknown": {name: _pattern(patterns) for name, patterns in asked["unknown"].items()},
        "also": {intent: _pattern(patterns) for intent, patterns in asked["also"].items()},
    }


def typed(text: str | None) -> str:
    """Lower case, umlauts as visitors without a German keyboard type them."""
    return (text or "").lower().translate(TYPED_UMLAUTS)


def _finds(name: str, text: str | None) -> bool:
    return bool(_patterns()[name].search(typed(text)))


def unknown_details(text: str | None) -> set[str]:
    """The details the message asks for that the facts never give ("hours", "cost")."""
    as_typed = typed(text)
    return {name for name, pattern in _patterns()["unknown"].items() if pattern.search(as_typed)}


def question_words(text: str | None) -> set[str]:
    """The words (as typed) in which the message asks for a detail or a contact:
    "meetups", "oeffnungszeiten", "qm", "hotline" are the hubs' vocabulary, whatever
    else the message says."""
    as_typed = typed(text)
    patterns = [*_patterns()["unknown"].values(), _patterns()["contact_details"]]
    found: set[str] = set()
    for pattern in patterns:
        for match in pattern.finditer(as_typed):
            start = match.start() - len(WORD_END.search(as_typed[: match.start()])[0])
            end = match.end() + len(WORD_START.match(as_typed[match.end() :])[0])
            found.update(WORD.findall(as_typed[start:end]))
    return found


def also_asked(text: str | None) -> list[str]:
    """The intents of the other questions of the facts the message asks, in file order."""
    as_typed = typed(text)
    return [intent for intent, pattern in _patterns()["also"].items() if pattern.search(as_typed)]


def asks_whom_to_turn_to(text: str | None) -> bool:
    return _finds("whom", text)


def asks_someone_at_the_hubs(text: str | None) -> bool:
    """ "Who do I even ask at your place?": whom to turn to, of the hubs' own people."""
    return asks_whom_to_turn_to(text) and _finds("at_the_hubs", text)


def speaks_of_reaching_someone(text: str | None) -> bool:
    """Any word of whom, contacts, numbers, calling or writing ("wen kontaktier ich")."""
    return _finds("reaching", text)


def asks_to_pass_on(text: str | None) -> bool:
    """ "Please pass my enquiry on", "Nachricht hinterlassen": more than a question;
    not the visitor's own "ich möchte das intern weiterleiten"."""
    return _finds("pass_on", text) and not _finds("passes_on_self", text)


def asks_for_contact_details(text: str | None) -> bool:
    return _finds("contact_details", text)


def goes_on(text: str | None) -> bool:
    """ "And is there parking?": the message goes on from the conversation so far."""
    return _finds("again", text)


def asks_again(text: str | None) -> bool:
    """A short "and Leipzig?" or "sorry, I meant Dresden": the last question again."""
    short = len(typed(text).split()) <= MAX_WORDS_OF_A_FOLLOW_UP
    return (short and goes_on(text)) or corrects(text)


def corrects(text: str | None) -> bool:
    """ "Sorry, I meant Leipzig", "nein, der andere Hub": more than "and Leipzig?"."""
    words = len(typed(text).split())
    if words <= MAX_WORDS_OF_A_FOLLOW_UP and (
        _finds("correction", text) or means_the_other_hub(text)
    ):
        return True
    return words <= MAX_WORDS_OF_A_CORRECTION and _finds("plain_correction", text)


def is_negated(text: str | None, start: int) -> bool:
    """Whether the name at ``start`` is one the visitor says they do not mean ("ich bin
    in Dresden, nicht Leipzig")."""
    return bool(_patterns()["negated"].search(typed((text or "")[:start])))


def refers_back(text: str | None) -> bool:
    """ "Is there parking there?", "gibts da Parkplätze?": about what the conversation
    is about."""
    return goes_on(text) or _finds("back", text)


def asks_what_it_means(text: str | None) -> bool:
    return _finds("meaning", text)


def asks_of_both_hubs(text: str | None) -> bool:
    """ "Both numbers please", "sämtliche Telefonnummern", "the joint contact"."""
    return _finds("both", text)


def means_the_other_hub(text: str | None) -> bool:
    return _finds("other_hub", text)
