"""Writes :class:`Facts` into SQL and reads them back.

A load is one transaction: it validates first, upserts by key, removes what the
YAML no longer lists, and either commits whole or leaves the database as it was.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, fields, replace
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot import db
from bot.knowledge import document
from bot.knowledge.facts import (
    PROGRAMME_QUESTIONS,
    SECTIONS,
    Facts,
    RoutingRule,
    Translation,
)
from bot.knowledge.models import ROWS, MetaRow, RoutingRuleRow, SynonymRow, TranslationRow

# The sections stored row by row, hubs first (the others refer to them).
_KEYED = tuple(section for section in SECTIONS if section.keyed)


def _columns(value, row_class) -> dict:
    """The row's columns of a fact; a tuple of names (a programme's answers) is stored
    as one space-separated text."""
    names = {column.name for column in row_class.__table__.columns}
    return {
        k: " ".join(v) if isinstance(v, tuple) else v
        for k, v in asdict(value).items()
        if k in names
    }


def save(facts: Facts, factory: sessionmaker) -> None:
    """Make the database hold exactly ``facts``, in one transaction."""
    db.create_schema(factory)
    with factory.begin() as session:
        session.execute(delete(RoutingRuleRow))
        session.execute(delete(SynonymRow))
        session.execute(delete(TranslationRow))
        for section in _KEYED:
            row_class = ROWS[section.value_class]
            for position, item in enumerate(getattr(facts, section.name)):
                session.merge(row_class(**_columns(item, row_class), position=position))
                for rank, text in enumerate(getattr(item, section.words)):
                    session.add(
                        SynonymRow(
                            owner_kind=section.name, owner_key=item.key, text=text, position=rank
                        )
                    )
        session.flush()
        for section in reversed(_KEYED):
            row_class = ROWS[section.value_class]
            keys = [item.key for item in getattr(facts, section.name)]
            session.execute(delete(row_class).where(row_class.key.not_in(keys)))
        for rule in facts.routing:
            session.add(RoutingRuleRow(hub=rule.hub, contact=rule.contact))
        session.add_all(TranslationRow(**asdict(t)) for t in facts.translations)
        for name, value, flag in (
            ("revision", facts.revision, None),
            ("website_url", facts.website_url, facts.website_launched),
            ("partner_lists_complete", "", facts.partner_lists_complete),
        ):
            session.merge(MetaRow(name=name, value=value, flag=flag))


def load_file(path: Path | None = None, factory: sessionmaker | None = None) -> Facts:
    """Validate the YAML, then write it; a bad file raises before the database is touched."""
    facts = document.read(path)
    save(facts, factory or db.session_factory())
    return facts


def read(session: Session) -> Facts:
    synonyms: dict[tuple[str, str], list[str]] = {}
    for row in session.execute(select(SynonymRow).order_by(SynonymRow.position)).scalars():
        synonyms.setdefault((row.owner_kind, row.owner_key), []).append(row.text)
    meta = {row.name: row for row in session.execute(select(MetaRow)).scalars()}
    if "revision" not in meta:
        raise LookupError("the knowledge base is empty: run `make kb` (python -m bot kb load)")
    sections = {}
    for section in _KEYED:
        row_class = ROWS[section.value_class]
        columns = {column.name for column in row_class.__table__.columns}
        names = [f.name for f in fields(section.value_class) if f.name in columns]
        sections[section.name] = tuple(
            section.value_class(
                **{name: getattr(row, name) for name in names},
                **{section.words: tuple(synonyms.get((section.name, row.key), ()))},
            )
            for row in session.execute(select(row_class).order_by(row_class.position)).scalars()
        )
    sections["programmes"] = tuple(
        replace(p, answers=tuple(p.answers.split())) for p in sections["programmes"]
    )
    _require_every_question_answered(sections["programmes"])
    routing = tuple(
        RoutingRule(hub=row.hub, contact=row.contact)
        for row in session.execute(select(RoutingRuleRow).order_by(RoutingRuleRow.hub)).scalars()
    )
    translations = tuple(
        sorted(
            Translation(row.section, row.key, row.language, row.field, row.text)
            for row in session.execute(select(TranslationRow)).scalars()
        )
    )
    return Facts(
        **sections,
        routing=routing,
        translations=translations,
        website_url=meta["website_url"].value,
        website_launched=bool(meta["website_url"].flag),
        partner_lists_complete=bool(meta["partner_lists_complete"].flag),
        revision=meta["revision"].value,
    )


def _require_every_question_answered(programmes) -> None:
    """The loader refuses a file that leaves a question unanswered, so a database that
    does is older than the question (loaded before it was declared): answering it with
    nothing would be silent."""
    answered = {question for programme in programmes for question in programme.answers}
    missing = [q for q in PROGRAMME_QUESTIONS if q not in answered]
    if missing:
        raise LookupError(
            f"the knowledge base in the database does not say which programmes answer "
            f"{', '.join(missing)}: run `make kb` (python -m bot kb load)"
        )


def _revision(session: Session) -> str | None:
    return session.execute(select(MetaRow.value).where(MetaRow.name == "revision")).scalar()


def database_revision(factory: sessionmaker | None = None) -> str | None:
    """The revision of the knowledge base the database holds (None: never loaded).
    Blocks on SQL; async callers run it in an executor."""
    factory = factory or db.session_factory()
    with factory() as session:
        return _revision(session)


class KnowledgeBase:
    """Facts from SQL, re-read only when a reload changed the revision, and the
    revision looked up at most every ``refresh_seconds`` (a reload shows within that).

    Calls may block on SQL; async callers run :meth:`facts` in an executor.
    """

    def __init__(self, factory: sessionmaker | None = None, refresh_seconds: float = 0.0):
        self._factory = factory
        self._refresh_seconds = refresh_seconds
        self._facts: Facts | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def facts(self) -> Facts:
        with self._lock:
            now = time.monotonic()
            if self._facts is not None and now - self._checked_at < self._refresh_seconds:
                return self._facts
            factory = self._factory or db.session_factory()
            with factory() as session:
                if self._facts is None or self._facts.revision != _revision(session):
                    self._facts = read(session)
            self._checked_at = now
            return self._facts
