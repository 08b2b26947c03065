"""What visitors asked that the assistant could not answer ("gaps", issue 21), so that
the knowledge base and the training data can learn from real use.

The Rasa server's tracker store hands :func:`gaps_in` the events of each saved turn
(nlu/server/tracker_store.py); the console lists them grouped by similar wording
(:func:`groups`), an operator marks a group with the intent it belongs to
(:func:`mark`), and :func:`training_examples` turns the marked groups into NLU data for
a reviewed change to ``data/nlu/``. Gaps hold what visitors wrote: they are erased with
the conversation and purged after the conversations' retention period; marks hold no
personal data and stay.

Plain Python: the events are Rasa's Event objects or their dicts, read by duck typing.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Iterable, Iterator, NamedTuple

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from bot.asked import typed
from bot.console.models import GapMarkRow, GapRow
from bot.settings import PROJECT_ROOT

DOMAIN = PROJECT_ROOT / "domain"
NLU_DATA = PROJECT_ROOT / "data" / "nlu"
STOPWORDS = PROJECT_ROOT / "data" / "console" / "stopwords.yml"

# what the assistant utters when it cannot answer (domain/smalltalk.yml, routing.yml)
KIND_OF_RESPONSE = {
    "utter_out_of_scope": "declined",
    "utter_default": "unsure",
    "utter_fact_unknown": "unknown",
    "utter_fact_unknown_exactly": "unknown",
    "utter_ask_which_hub": "which_hub",
    "utter_ask_which_hub_for_subject": "which_hub",
}
KINDS = ("declined", "unsure", "unknown", "which_hub")
UNSURE_INTENT = "nlu_fallback"  # the FallbackClassifier's (config.yml)
LANGUAGE_SLOT = "language"
DEFAULT_LANGUAGE = "en"
KEY_LENGTH = 255  # GapRow.group_key
EXAMPLES_SHOWN = 5
CONVERSATIONS_SHOWN = 10


class _Event(NamedTuple):
    """The parts of an event a gap is found from."""

    type: str | None
    text: str | None = None
    intent: str | None = None
    response: str | None = None
    slot: str | None = None
    value: Any = None
    timestamp: float | None = None


def _read(event) -> _Event:
    if isinstance(event, dict):
        return _Event(
            event.get("event"),
            event.get("text"),
            ((event.get("parse_data") or {}).get("intent") or {}).get("name"),
            (event.get("metadata") or {}).get("utter_action"),
            event.get("name"),
            event.get("value"),
            event.get("timestamp"),
        )
    return _Event(
        getattr(event, "type_name", None),
        getattr(event, "text", None),
        (getattr(event, "intent", None) or {}).get("name"),
        (getattr(event, "metadata", None) or {}).get("utter_action"),
        getattr(event, "key", None),
        getattr(event, "value", None),
        getattr(event, "timestamp", None),
    )


def _turns(events: Iterable, language: str) -> Iterator[tuple[_Event, str | None, str]]:
    """Each visitor message with the first gap kind its answer showed (an unsure
    classifier shows it first) and the conversation's language when its turn ended."""
    message, kind = None, None
    for event in map(_read, events):
        if event.type == "user":
            if message is not None:
                yield message, kind, language
            message = event
            kind = "unsure" if event.intent == UNSURE_INTENT else None
        elif event.type == "bot":
            kind = kind or KIND_OF_RESPONSE.get(event.response)
        elif event.type == "slot" and event.slot == LANGUAGE_SLOT and event.value:
            language = str(event.value)
    if message is not None:
        yield message, kind, language


def is_wording(text: str | None) -> bool:
    """A button's payload ("/inform{...}") is no wording of the visitor's."""
    return bool(text and text.strip()) and not text.lstrip().startswith("/")


def utc(timestamp: float | None = None) -> datetime:
    """A Rasa event's time (default now) as the database keeps times: naive UTC."""
    if timestamp is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)


def gaps_in(events: Iterable, conversation_id: str, language: str | None) -> list[GapRow]:
    """The visitor messages among ``events`` (one save's new events) that the assistant
    declined, was unsure about, did not know the answer to, or had to ask which hub
    for; each once. ``language`` is the conversation's when the events begin."""
    return [
        GapRow(
            at=utc(message.timestamp),
            conversation_id=conversation_id,
            language=language,
            kind=kind,
            text=message.text.strip(),
            group_key=group_key(message.text),
        )
        for message, kind, language in _turns(events, language or DEFAULT_LANGUAGE)
        if kind and is_wording(message.text)
    ]


def _folded(text: str) -> str:
    """Lower case, umlauts as ae/oe/ue/ss (as bot/asked.py reads messages), other
    accents dropped, apostrophes removed."""
    decomposed = unicodedata.normalize("NFKD", typed(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"['’`´]", "", plain)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", _folded(text))


@lru_cache(maxsize=None)
def stopwords() -> frozenset[str]:
    lists = yaml.safe_load(STOPWORDS.read_text(encoding="utf-8"))
    return frozenset(w for words in lists.values() for word in words for w in _words(str(word)))


def group_key(text: str) -> str:
    """Similar wording, one key: the message's words, folded (lower case, ä as ae, é as
    e, no apostrophes), split at everything but letters and digits, without the
    English and German stopwords of data/console/stopwords.yml, de-duplicated, sorted
    and joined by spaces, cut at a word to 255 characters. A message of stopwords only
    keeps them ("what?" is not "why?")."""
    words = set(_words(text))
    key = " ".join(sorted((words - stopwords()) or words))
    if len(key) <= KEY_LENGTH:
        return key
    cut = key[: KEY_LENGTH + 1].rfind(" ")
    return key[: cut if cut > 0 else KEY_LENGTH]


def record(factory: sessionmaker, gaps: list[GapRow]) -> None:
    if not gaps:
        return
    with factory.begin() as session:
        session.add_all(gaps)


def of_conversation(factory: sessionmaker, conversation_id: str) -> list[GapRow]:
    """One conversation's gaps in the order they were asked: a group's conversation
    one click away."""
    query = select(GapRow).where(GapRow.conversation_id == conversation_id)
    with factory() as session:
        return session.execute(query.order_by(GapRow.at, GapRow.id)).scalars().all()


def erase_conversation(factory: sessionmaker, conversation_id: str) -> int:
    """A visitor's right to erasure: what they asked is theirs."""
    with factory.begin() as session:
        statement = delete(GapRow).where(GapRow.conversation_id == conversation_id)
        return session.execute(statement).rowcount


def purge(factory: sessionmaker, before: datetime) -> int:
    """Retention: gaps follow the conversations' period (``CONVERSATION_RETENTION_DAYS``)."""
    with factory.begin() as session:
        return session.execute(delete(GapRow).where(GapRow.at < before)).rowcount


@dataclass(frozen=True)
class Group:
    """Gaps of similar wording, as the console lists them."""

    key: str
    examples: tuple[str, ...]  # distinct texts, most recent first
    count: int
    kinds: frozenset[str]
    languages: frozenset[str]
    weeks: dict[str, int]  # ISO week ("2026-W49") -> gaps
    last_at: datetime
    conversations: tuple[str, ...]  # distinct, most recent first
    belongs_to: str | None  # the operators' mark


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _first_distinct(values: Iterable[str], limit: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))[:limit]


def _group(key: str, rows: list[GapRow], belongs_to: str | None) -> Group:
    """``rows`` most recent first."""
    return Group(
        key=key,
        examples=_first_distinct((row.text for row in rows), EXAMPLES_SHOWN),
        count=len(rows),
        kinds=frozenset(row.kind for row in rows),
        languages=frozenset(row.language for row in rows),
        weeks=dict(sorted(Counter(iso_week(row.at) for row in rows).items())),
        last_at=rows[0].at,
        conversations=_first_distinct((r.conversation_id for r in rows), CONVERSATIONS_SHOWN),
        belongs_to=belongs_to,
    )


def groups(
    factory: sessionmaker,
    since: datetime | None = None,
    kind: str | None = None,
    language: str | None = None,
) -> list[Group]:
    """The groups of the gaps since ``since`` (naive UTC), of one kind and language if
    given; the most frequent first, then the most recent."""
    query = select(GapRow).order_by(GapRow.at.desc(), GapRow.id.desc())
    if since is not None:
        query = query.where(GapRow.at >= since)
    if kind is not None:
        query = query.where(GapRow.kind == kind)
    if language is not None:
        query = query.where(GapRow.language == language)
    with factory() as session:
        rows = session.execute(query).scalars().all()
        marks = dict(session.execute(select(GapMarkRow.group_key, GapMarkRow.belongs_to)).all())
    by_key: dict[str, list[GapRow]] = {}
    for row in rows:  # most recent first, so the groups are too
        by_key.setdefault(row.group_key, []).append(row)
    found = [_group(key, rows, marks.get(key)) for key, rows in by_key.items()]
    return sorted(found, key=lambda group: -group.count)  # stable: ties stay most recent first


@lru_cache(maxsize=None)
def known_intents() -> tuple[str, ...]:
    """The intents of the domain (domain/*.yml) that are learnt from examples
    (data/nlu/), read without Rasa: what a group may be marked as belonging to. Those a
    channel sets itself (a sticker's ``non_text``) have no examples to add to."""
    names = set()
    for path in sorted(DOMAIN.glob("*.yml")):
        domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for intent in domain.get("intents") or []:
            names.add(next(iter(intent)) if isinstance(intent, dict) else str(intent))
    learnt = set()
    for path in sorted(NLU_DATA.rglob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if isinstance(item, dict) and "intent" in item:
                learnt.add(str(item["intent"]))
    return tuple(sorted(names & learnt))


def mark(factory: sessionmaker, group_key: str, belongs_to: str, operator: str) -> None:
    """An operator's verdict on a group; a later one replaces it."""
    if belongs_to not in known_intents():
        raise ValueError(f"not an intent of the domain: {belongs_to!r}")
    with factory.begin() as session:
        session.merge(
            GapMarkRow(
                group_key=group_key,
                belongs_to=belongs_to,
                marked_by=operator,
                marked_at=utc(),
            )
        )


def _one_line(text: str) -> str:
    """A text as one line of a YAML block: whitespace (line breaks too) as one space,
    characters YAML does not allow left out."""
    return "".join(c for c in " ".join(text.split()) if c.isprintable())


def _intent_item(intent: str, language: str, texts: list[str]) -> list[str]:
    """One item of Rasa's NLU data; a language other than English is marked as
    data/nlu/de/*.yml marks German (nlu/components/language.py reads it)."""
    item = [f"- intent: {intent}"]
    if language != DEFAULT_LANGUAGE:
        item += ["  metadata:", f"    language: {language}"]
    return item + ["  examples: |"] + [f"    - {text}" for text in texts]


def training_examples(factory: sessionmaker) -> str:
    """The marked groups' texts as Rasa 3 NLU data, by intent and language, each text
    once and sorted: to paste into ``data/nlu/`` in a reviewed change. The texts are
    lines of literal blocks, so ``:``, ``#`` and quotes need no escaping."""
    query = select(GapMarkRow.belongs_to, GapRow.language, GapRow.text).join(
        GapMarkRow, GapMarkRow.group_key == GapRow.group_key
    )
    with factory() as session:
        rows = session.execute(query).all()
    examples: dict[tuple[str, str], set[str]] = defaultdict(set)
    for intent, language, text in rows:
        if line := _one_line(text):
            examples[(intent, language)].add(line)
    lines = ['version: "3.1"', "nlu:" if examples else "nlu: []"]
    for intent, language in sorted(examples, key=lambda k: (k[0], k[1] != DEFAULT_LANGUAGE, k[1])):
        lines += _intent_item(intent, language, sorted(examples[(intent, language)]))
    return "\n".join(lines) + "\n"
