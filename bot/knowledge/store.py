"""Writes :class:`Facts` into SQL and reads them back.

A load is one transaction: it validates first, upserts by key, removes what the
YAML no longer lists, and either commits whole or leaves the database as it was.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, fields
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot import db
from bot.knowledge import document
from bot.knowledge.facts import (
    Contact,
    Facts,
    Hub,
    Organisation,
    PartnerKind,
    Programme,
    RoutingRule,
    Topic,
    Trail,
    Translation,
)
from bot.knowledge.models import (
    ContactRow,
    HubRow,
    MetaRow,
    OrganisationRow,
    PartnerKindRow,
    ProgrammeRow,
    RoutingRuleRow,
    SynonymRow,
    TopicRow,
    TrailRow,
    TranslationRow,
)

# (section of Facts, value class, table, name of its synonym list); parents first
_TABLES = (
    ("hubs", Hub, HubRow, "synonyms"),
    ("contacts", Contact, ContactRow, "synonyms"),
    ("topics", Topic, TopicRow, "synonyms"),
    ("organisations", Organisation, OrganisationRow, "aliases"),
    ("programmes", Programme, ProgrammeRow, "synonyms"),
    ("trails", Trail, TrailRow, "synonyms"),
    ("partner_kinds", PartnerKind, PartnerKindRow, "synonyms"),
)


def _columns(value, row_class) -> dict:
    names = {column.name for column in row_class.__table__.columns}
    return {k: v for k, v in asdict(value).items() if k in names}


def save(facts: Facts, factory: sessionmaker) -> None:
    """Make the database hold exactly ``facts``, in one transaction."""
    db.create_schema(factory)
    with factory.begin() as session:
        session.execute(delete(RoutingRuleRow))
        session.execute(delete(SynonymRow))
        session.execute(delete(TranslationRow))
        for section, _value_class, row_class, synonyms_field in _TABLES:
            for position, item in enumerate(getattr(facts, section)):
                session.merge(row_class(**_columns(item, row_class), position=position))
                for rank, text in enumerate(getattr(item, synonyms_field)):
                    session.add(
                        SynonymRow(owner_kind=section, owner_key=item.key, text=text, position=rank)
                    )
        session.flush()
        for section, _value_class, row_class, _synonyms in reversed(_TABLES):
            keys = [item.key for item in getattr(facts, section)]
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
    sections = {}
    for section, value_class, row_class, synonyms_field in _TABLES:
        names = [f.name for f in fields(value_class) if f.name != synonyms_field]
        sections[section] = tuple(
            value_class(
                **{name: getattr(row, name) for name in names},
                **{synonyms_field: tuple(synonyms.get((section, row.key), ()))},
            )
            for row in session.execute(select(row_class).order_by(row_class.position)).scalars()
        )
    meta = {row.name: row for row in session.execute(select(MetaRow)).scalars()}
    if "revision" not in meta:
        raise LookupError("the knowledge base is empty: run `make kb` (python -m bot kb load)")
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


def _revision(session: Session) -> str | None:
    return session.execute(select(MetaRow.value).where(MetaRow.name == "revision")).scalar()


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
