"""The hub's facts as immutable values: what the YAML validates into and what the
database reads back as. Everything downstream (routing, actions, the spaCy rules)
works on these, never on ORM rows or raw YAML."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields, replace
from typing import Iterable

APPROACHES = ("basic_research", "practical_application")
ORGANISATION_KINDS = ("academic", "research_institute", "business", "public")
PROGRAMME_STATUSES = ("active", "planned")
TIMEFRAMES = ("now", "soon", "medium_term", "long_term", "unspecified")
BASE_LANGUAGE = "en"  # the language of the fields themselves; others come as translations
LANGUAGES = (BASE_LANGUAGE, "de")
# The questions of the dialogue that programmes answer ("what is SpinLab?", "is there
# funding?", "office space?", "the website?"). Each programme lists those it answers
# under ``answers:``, so a renamed or removed programme cannot silently drop an answer:
# the loader refuses a question no programme answers and names outside this list.
PROGRAMME_QUESTIONS = ("spinlab", "funding", "office_space", "website")
# Fields a visitor reads, which the knowledge base may give in each language.
TRANSLATABLE_FIELDS = (
    "name",
    "theme",
    "approach_text",
    "strategy",
    "mission",
    "location",
    "description",
    "organisation",
)


def normalise(text: str) -> str:
    """Lower-case, fold accents and collapse punctuation so aliases match loosely."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9+]+", " ", folded).strip()


@dataclass(frozen=True)
class Hub:
    key: str
    name: str
    city: str
    theme: str  # what the hub is about in a word or two ("smart systems"), for its button
    approach: str
    approach_text: str
    strategy: str
    mission: str
    location: str
    synonyms: tuple[str, ...] = ()

    def choice_title(self) -> str:
        """How a visitor picks this hub when asked which one: city, theme and approach,
        e.g. "Dresden: smart systems, basic research". Built from the facts so that the
        buttons of every "which hub?" say what the knowledge base says, in its language."""
        return f"{self.city}: {self.theme}, {self.approach_text}"


@dataclass(frozen=True)
class Topic:
    key: str
    name: str
    hub: str | None
    focus: bool  # named in the brief as a focus area of its hub (not just routed there)
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Organisation:
    key: str
    name: str
    kind: str
    hub: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Programme:
    key: str
    name: str
    hub: str | None
    status: str
    timeframe: str
    description: str
    synonyms: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()  # PROGRAMME_QUESTIONS this programme answers


@dataclass(frozen=True)
class Trail:
    key: str
    name: str
    hub: str
    description: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    key: str
    name: str
    title: str
    organisation: str
    hub: str
    phone: str
    email: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartnerKind:
    """Words visitors use for one kind of partner organisation."""

    key: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingRule:
    hub: str
    contact: str


@dataclass(frozen=True)
class Section:
    """One section of the knowledge base, declared once: its name in the YAML (also the
    attribute of :class:`Facts` and the owner kind of its stored words), what each entry
    becomes, the field with its names' variants, and the entity label under which the
    NLU reports its keys. The loader, the database, the spaCy rules derive from these."""

    name: str
    value_class: type
    words: str | None = "synonyms"
    entity: str | None = None

    @property
    def keyed(self) -> bool:
        """Entries are looked up, stored and updated by their ``key``."""
        return "key" in {f.name for f in fields(self.value_class)}


# Every section, in the order the loader reports and the database writes them (hubs
# first: every other table refers to them). The entity order is the entity ruler's.
SECTIONS = (
    Section("hubs", Hub, entity="hub"),
    Section("topics", Topic, entity="topic"),
    Section("organisations", Organisation, words="aliases", entity="organisation"),
    Section("programmes", Programme, entity="programme"),
    Section("trails", Trail, entity="trail"),
    Section("contacts", Contact, entity="person"),
    Section("partner_kinds", PartnerKind, entity="org_kind"),
    Section("routing", RoutingRule, words=None),
)
# Sections of keyed entries: everything but the routing rules.
ITEM_SECTIONS = tuple(section.name for section in SECTIONS if section.keyed)


@dataclass(frozen=True, order=True)
class Translation:
    """One field of one knowledge-base entry in a language other than the base one."""

    section: str
    key: str
    language: str
    field: str
    text: str


@dataclass(frozen=True)
class Facts:
    """A consistent snapshot of the knowledge base with the lookups answers need."""

    hubs: tuple[Hub, ...]
    topics: tuple[Topic, ...]
    organisations: tuple[Organisation, ...]
    programmes: tuple[Programme, ...]
    trails: tuple[Trail, ...]
    contacts: tuple[Contact, ...]
    routing: tuple[RoutingRule, ...]
    website_url: str
    website_launched: bool
    partner_lists_complete: bool
    partner_kinds: tuple[PartnerKind, ...] = ()
    translations: tuple[Translation, ...] = ()
    revision: str = ""
    language: str = BASE_LANGUAGE
    _index: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for section in ITEM_SECTIONS:
            self._index[section] = {item.key: item for item in getattr(self, section)}
        self._index["languages"] = {self.language: self}

    def in_language(self, language: str | None) -> Facts:
        """These facts with every text the knowledge base gives in ``language``; texts
        it gives only in the base language stay as they are (proper names mostly)."""
        language = language if language in LANGUAGES else BASE_LANGUAGE
        if language not in self._index["languages"]:
            texts: dict[tuple[str, str], dict[str, str]] = {}
            for t in self.translations:
                if t.language == language:
                    texts.setdefault((t.section, t.key), {})[t.field] = t.text
            base = self._index["languages"][BASE_LANGUAGE]
            sections = {
                section: tuple(
                    replace(item, **texts.get((section, item.key), {}))
                    for item in getattr(base, section)
                )
                for section in ITEM_SECTIONS
            }
            localised = replace(base, **sections, language=language)
            localised._index["languages"] = self._index["languages"]
            self._index["languages"][language] = localised
        return self._index["languages"][language]

    def hub(self, key: str | None) -> Hub | None:
        return self._index["hubs"].get(key or "")

    def topic(self, key: str | None) -> Topic | None:
        return self._index["topics"].get(key or "")

    def organisation(self, key: str | None) -> Organisation | None:
        return self._index["organisations"].get(key or "")

    def programme(self, key: str | None) -> Programme | None:
        return self._index["programmes"].get(key or "")

    def contact(self, key: str | None) -> Contact | None:
        return self._index["contacts"].get(key or "")

    def contact_for_hub(self, hub_key: str) -> Contact | None:
        for rule in self.routing:
            if rule.hub == hub_key:
                return self.contact(rule.contact)
        return None

    def contacts_by_hub(self) -> dict[str, str]:
        """Every hub's contact as response values: ``dresden_contact``, ``dresden_phone`` ..."""
        values: dict[str, str] = {}
        for hub in self.hubs:
            contact = self.contact_for_hub(hub.key)
            values |= {
                f"{hub.key}_contact": contact.name,
                f"{hub.key}_organisation": contact.organisation,
                f"{hub.key}_phone": contact.phone,
            }
        return values

    def focus_of(self, hub_key: str) -> list[Topic]:
        return [t for t in self.topics if t.hub == hub_key and t.focus]

    def partners(self, hub: str | None = None, kind: str | None = None) -> list[Organisation]:
        return [
            o
            for o in self.organisations
            if (hub is None or o.hub == hub) and (kind is None or o.kind == kind)
        ]

    def programmes_of(self, hub_key: str | None) -> list[Programme]:
        return [p for p in self.programmes if p.hub == hub_key]

    def programmes_answering(self, question: str) -> list[Programme]:
        """The programmes that answer one of PROGRAMME_QUESTIONS, in the brief's order."""
        return [p for p in self.programmes if question in p.answers]

    def trails_of(self, hub_key: str) -> list[Trail]:
        return [t for t in self.trails if t.hub == hub_key]

    def find_organisation(self, mention: str) -> Organisation | None:
        """An organisation whose name or alias matches the visitor's wording."""
        wanted = normalise(mention)
        if not wanted:
            return None
        for organisation in self.organisations:
            names = (organisation.name, *organisation.aliases)
            if any(normalise(name) == wanted for name in names):
                return organisation
        return None


def join_names(names: Iterable[str], conjunction: str) -> str:
    """'A, B and C' for lists read out to a visitor; the word comes from the domain."""
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
