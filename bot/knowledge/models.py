"""Tables of the knowledge base. Keys from the YAML are the primary keys, so a
reload updates rows in place and other tables can refer to them stably."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Text

from bot.db import Base
from bot.knowledge.facts import (
    Contact,
    Hub,
    Organisation,
    PartnerKind,
    Programme,
    RoutingRule,
    Topic,
    Trail,
)


class _Listed:
    """Rows keep the order of the YAML, which is the order the brief names things in."""

    position = Column(Integer, nullable=False, default=0)


class HubRow(_Listed, Base):
    __tablename__ = "kb_hub"
    key = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    city = Column(String(100), nullable=False)
    theme = Column(Text, nullable=False)
    approach = Column(String(32), nullable=False)
    approach_text = Column(Text, nullable=False)
    strategy = Column(Text, nullable=False)
    mission = Column(Text, nullable=False)
    location = Column(Text, nullable=False)


class TopicRow(_Listed, Base):
    __tablename__ = "kb_topic"
    key = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    hub = Column(String(64), ForeignKey("kb_hub.key"), nullable=True)
    focus = Column(Boolean, nullable=False, default=False)


class OrganisationRow(_Listed, Base):
    __tablename__ = "kb_organisation"
    key = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    kind = Column(String(32), nullable=False)
    hub = Column(String(64), ForeignKey("kb_hub.key"), nullable=False)


class ProgrammeRow(_Listed, Base):
    __tablename__ = "kb_programme"
    key = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    hub = Column(String(64), ForeignKey("kb_hub.key"), nullable=True)
    status = Column(String(16), nullable=False)
    timeframe = Column(String(16), nullable=False)
    description = Column(Text, nullable=False)
    answers = Column(Text, nullable=False, default="")  # question names, space-separated


class TrailRow(_Listed, Base):
    __tablename__ = "kb_trail"
    key = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    hub = Column(String(64), ForeignKey("kb_hub.key"), nullable=False)
    description = Column(Text, nullable=False)


class ContactRow(_Listed, Base):
    __tablename__ = "kb_contact"
    key = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    title = Column(String(50), nullable=False)
    organisation = Column(String(200), nullable=False)
    hub = Column(String(64), ForeignKey("kb_hub.key"), nullable=False)
    phone = Column(String(50), nullable=False)
    email = Column(String(320), nullable=False)


class PartnerKindRow(_Listed, Base):
    __tablename__ = "kb_partner_kind"
    key = Column(String(64), primary_key=True)


class RoutingRuleRow(Base):
    __tablename__ = "kb_routing_rule"
    hub = Column(String(64), ForeignKey("kb_hub.key"), primary_key=True)
    contact = Column(String(64), ForeignKey("kb_contact.key"), nullable=False)


class SynonymRow(_Listed, Base):
    """The names' variants of every keyed entry (its section's ``words`` field:
    synonyms, or aliases of organisations); ``owner_kind`` is the section."""

    __tablename__ = "kb_synonym"
    owner_kind = Column(String(32), primary_key=True)
    owner_key = Column(String(64), primary_key=True)
    text = Column(String(200), primary_key=True)


class TranslationRow(Base):
    """A visitor-facing text of an entry in a language other than the base one."""

    __tablename__ = "kb_translation"
    section = Column(String(32), primary_key=True)
    key = Column(String(64), primary_key=True)
    language = Column(String(8), primary_key=True)
    field = Column(String(32), primary_key=True)
    text = Column(Text, nullable=False)


class MetaRow(Base):
    """Facts about the knowledge base as a whole: its revision, the website, and whether
    the partner lists are complete."""

    __tablename__ = "kb_meta"
    name = Column(String(64), primary_key=True)
    value = Column(Text, nullable=False)
    flag = Column(Boolean, nullable=True)


# value class of a section (bot.knowledge.facts.SECTIONS) -> the table of its entries
ROWS = {
    Hub: HubRow,
    Topic: TopicRow,
    Organisation: OrganisationRow,
    Programme: ProgrammeRow,
    Trail: TrailRow,
    Contact: ContactRow,
    PartnerKind: PartnerKindRow,
    RoutingRule: RoutingRuleRow,
}
