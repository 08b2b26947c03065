"""Reads ``knowledge_base.yml`` and validates it into :class:`Facts`.

Every problem is reported with the file, the entry and what is wrong, and all
problems are collected before anything is written anywhere.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import yaml

from bot import settings
from bot.knowledge.facts import (
    APPROACHES,
    ORGANISATION_KINDS,
    PROGRAMME_STATUSES,
    TIMEFRAMES,
    Contact,
    Facts,
    Hub,
    Organisation,
    Programme,
    RoutingRule,
    Topic,
    Trail,
)


class KnowledgeBaseError(ValueError):
    """The knowledge base file cannot be used; ``problems`` lists every reason."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + f"\n{path}: ".join(problems))


class _Entry:
    """One mapping in one section, collecting problems that name it."""

    def __init__(self, section: str, index: int, raw: Any, problems: list[str]):
        self.raw = raw if isinstance(raw, dict) else {}
        key = self.raw.get("key") or self.raw.get("hub")
        self.label = f"{section}[{index}]" + (f" (key '{key}')" if key else "")
        self.problems = problems
        if not isinstance(raw, dict):
            self.problem("must be a mapping of fields")

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.label}: {text}")

    def text(self, name: str, required: bool = True) -> str:
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(f"missing field '{name}'")
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.problem(f"field '{name}' must be text, not {type(value).__name__}")
            return ""
        return str(value).strip()

    def flag(self, name: str) -> bool:
        value = self.raw.get(name, False)
        if not isinstance(value, bool):
            self.problem(f"field '{name}' must be true or false")
        return value is True

    def optional_key(self, name: str) -> str | None:
        return self.text(name, required=False) or None

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name)
        if value and value not in allowed:
            self.problem(f"{name} '{value}' is not one of {', '.join(allowed)}")
        return value

    def words(self, name: str) -> tuple[str, ...]:
        value = self.raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(f"field '{name}' must be a list of non-empty texts")
            return ()
        return tuple(dict.fromkeys(v.strip() for v in value))


def _section(document: dict, name: str, problems: list[str], required: bool = True) -> list:
    value = document.get(name)
    if value is None:
        if required:
            problems.append(f"missing section '{name}'")
        return []
    if not isinstance(value, list):
        problems.append(f"section '{name}' must be a list")
        return []
    return value


def _entries(document, name, problems, build: Callable[[_Entry], Any], required=True) -> tuple:
    return tuple(
        build(_Entry(name, index, raw, problems))
        for index, raw in enumerate(_section(document, name, problems, required))
    )


def parse(text: str, path: Path) -> Facts:
    """Validate the YAML text; raise :class:`KnowledgeBaseError` naming every problem."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise KnowledgeBaseError(path, [f"not valid YAML: {error}"]) from error
    if not isinstance(document, dict):
        raise KnowledgeBaseError(
            path, ["the file must be a mapping with sections hubs, topics, ..."]
        )

    problems: list[str] = []
    hubs = _entries(
        document,
        "hubs",
        problems,
        lambda e: Hub(
            key=e.text("key"),
            name=e.text("name"),
            city=e.text("city"),
            approach=e.choice("approach", APPROACHES),
            approach_text=e.text("approach_text"),
            strategy=e.text("strategy"),
            mission=e.text("mission"),
            location=e.text("location"),
            synonyms=e.words("synonyms"),
        ),
    )
    topics = _entries(
        document,
        "topics",
        problems,
        lambda e: Topic(
            key=e.text("key"),
            name=e.text("name"),
            hub=e.optional_key("hub"),
            focus=e.flag("focus"),
            synonyms=e.words("synonyms"),
        ),
    )
    organisations = _entries(
        document,
        "organisations",
        problems,
        lambda e: Organisation(
            key=e.text("key"),
            name=e.text("name"),
            kind=e.choice("kind", ORGANISATION_KINDS),
            hub=e.text("hub"),
            aliases=e.words("aliases"),
        ),
    )
    programmes = _entries(
        document,
        "programmes",
        problems,
        lambda e: Programme(
            key=e.text("key"),
            name=e.text("name"),
            hub=e.optional_key("hub"),
            status=e.choice("status", PROGRAMME_STATUSES),
            timeframe=e.choice("timeframe", TIMEFRAMES),
            description=e.text("description"),
            synonyms=e.words("synonyms"),
        ),
    )
    trails = _entries(
        document,
        "trails",
        problems,
        lambda e: Trail(
            key=e.text("key"),
            name=e.text("name"),
            hub=e.text("hub"),
            description=e.text("description"),
            synonyms=e.words("synonyms"),
        ),
    )
    contacts = _entries(
        document,
        "contacts",
        problems,
        lambda e: Contact(
            key=e.text("key"),
            name=e.text("name"),
            title=e.text("title"),
            organisation=e.text("organisation"),
            hub=e.text("hub"),
            phone=e.text("phone"),
            email=settings.contact_email_override(e.text("key")) or e.text("email"),
            synonyms=e.words("synonyms"),
        ),
    )
    routing = _entries(
        document,
        "routing",
        problems,
        lambda e: RoutingRule(
            hub=e.text("hub"),
            contact=e.text("contact"),
        ),
    )
    website = document.get("website") or {}
    if not isinstance(website, dict) or not website.get("url"):
        problems.append("website: must give 'url' (a placeholder under example.org until launch)")
        website = {}

    _check_references(hubs, topics, organisations, programmes, trails, contacts, routing, problems)
    if problems:
        raise KnowledgeBaseError(path, problems)
    return Facts(
        hubs=hubs,
        topics=topics,
        organisations=organisations,
        programmes=programmes,
        trails=trails,
        contacts=contacts,
        routing=routing,
        website_url=settings.website_url_override() or str(website["url"]),
        website_launched=bool(website.get("launched", False)),
        partner_lists_complete=bool(document.get("partner_lists_complete", False)),
        revision=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
    )


def _check_references(hubs, topics, organisations, programmes, trails, contacts, routing, problems):
    hub_keys = {h.key for h in hubs}
    contact_keys = {c.key for c in contacts}
    for section, items in (
        ("hubs", hubs),
        ("topics", topics),
        ("organisations", organisations),
        ("programmes", programmes),
        ("trails", trails),
        ("contacts", contacts),
    ):
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.key in seen:
                problems.append(f"{section}[{index}] (key '{item.key}'): duplicate key")
            seen.add(item.key)
            hub = getattr(item, "hub", None)
            if section != "hubs" and hub is not None and hub not in hub_keys:
                problems.append(f"{section}[{index}] (key '{item.key}'): unknown hub '{hub}'")
    for index, rule in enumerate(routing):
        if rule.hub not in hub_keys:
            problems.append(f"routing[{index}]: unknown hub '{rule.hub}'")
        if rule.contact not in contact_keys:
            problems.append(f"routing[{index}]: unknown contact '{rule.contact}'")
    for hub in hub_keys - {rule.hub for rule in routing}:
        problems.append(f"routing: no contact for hub '{hub}'")


def read(path: Path | None = None) -> Facts:
    path = Path(path or settings.knowledge_base_path())
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KnowledgeBaseError(path, [f"cannot be read: {error}"]) from error
    return parse(text, path)
