"""Reads ``knowledge_base.yml`` and validates it into :class:`Facts`.

Every problem is reported with the file, the entry and what is wrong, and all
problems are collected before anything is written anywhere.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml

from bot import settings
from bot.knowledge.facts import (
    APPROACHES,
    BASE_LANGUAGE,
    LANGUAGES,
    ORGANISATION_KINDS,
    PROGRAMME_QUESTIONS,
    PROGRAMME_STATUSES,
    SECTIONS,
    TIMEFRAMES,
    TRANSLATABLE_FIELDS,
    Contact,
    Facts,
    Section,
    Translation,
)

FORMAT_VERSION = 1
# Top-level keys besides the sections, each with the fields it may have (None: a value).
OTHER_KEYS = {"version": None, "partner_lists_complete": None, "website": ("url", "launched")}


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

    def refuse_unknown(self, known, prefix: str = "") -> None:
        """A key the format does not know is a typo or a misplaced fact, never ignored."""
        for name in self.raw:
            if name not in known:
                self.problem(unknown("field", name, known, prefix))

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

    def choices(self, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        """A list of codes, in the order of ``allowed`` (so a reload compares equal)."""
        values = self.words(name)
        for value in values:
            if value not in allowed:
                self.problem(
                    f"{name} '{value}' is not one of {', '.join(allowed)}{hint(value, allowed)}"
                )
        return tuple(code for code in allowed if code in values)


def hint(name, known, prefix: str = "") -> str:
    """' (did you mean 'x'?)' for a near miss, else '' ."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def unknown(what: str, name, known, prefix: str = "") -> str:
    """The problem of a key the format does not know, with a near miss or the known keys."""
    return f"unknown {what} '{prefix}{name}'" + (
        hint(name, known, prefix) or f" (known: {', '.join(map(str, known))})"
    )


def _section(document: dict, name: str, problems: list[str]) -> list:
    value = document.get(name)
    if value is None:
        problems.append(f"missing section '{name}'")
        return []
    if not isinstance(value, list):
        problems.append(f"section '{name}' must be a list")
        return []
    return value


# Fields whose value must be one of a fixed set of codes (or a list of them).
CHOICES = {
    "approach": APPROACHES,
    "kind": ORGANISATION_KINDS,
    "status": PROGRAMME_STATUSES,
    "timeframe": TIMEFRAMES,
}
LISTS_OF_CHOICES = {"answers": PROGRAMME_QUESTIONS}


def _translatable(section: Section) -> list[str]:
    """The fields of an entry that a ``de:`` mapping may give in German."""
    own = {f.name for f in fields(section.value_class)}
    return [n for n in TRANSLATABLE_FIELDS if n in own] + [section.words] * bool(section.words)


def _known_keys(section: Section) -> list[str]:
    """Every key an entry of ``section`` may have: its fields and, where something is
    translatable, one mapping per other language."""
    languages = [lang for lang in LANGUAGES if lang != BASE_LANGUAGE]
    return [f.name for f in fields(section.value_class)] + languages * bool(_translatable(section))


def _value(section: Section, entry: _Entry):
    """Read each field as its declared type says (annotations are strings here)."""
    value_class = section.value_class
    entry.refuse_unknown(_known_keys(section))
    values = {}
    for field in fields(value_class):
        if field.name in CHOICES:
            values[field.name] = entry.choice(field.name, CHOICES[field.name])
        elif field.name in LISTS_OF_CHOICES:
            values[field.name] = entry.choices(field.name, LISTS_OF_CHOICES[field.name])
        elif field.type == "bool":
            values[field.name] = entry.flag(field.name)
        elif field.type.startswith("tuple"):
            values[field.name] = entry.words(field.name)
        elif field.type == "str | None":
            values[field.name] = entry.optional_key(field.name)
        else:
            values[field.name] = entry.text(field.name)
    return value_class(**values)


def _translated(section: Section, entry: _Entry, item) -> tuple[object, list[Translation]]:
    """The item with the words of other languages added to its word list, and its
    texts in other languages, from mappings such as ``de: {name: ..., synonyms: [...]}``."""
    own_fields = {f.name for f in fields(section.value_class)}
    words_field = section.words
    allowed = _translatable(section)
    translations: list[Translation] = []
    for language in LANGUAGES:
        if language == BASE_LANGUAGE or language not in entry.raw or not allowed:
            continue  # (a language where nothing is translatable is an unknown field)
        raw = entry.raw[language]
        if not isinstance(raw, dict):
            entry.problem(f"'{language}' must be a mapping of translated fields")
            continue
        for name in raw:
            if name not in own_fields:
                entry.problem(unknown("field", name, allowed, prefix=f"{language}."))
            elif name not in allowed:
                entry.problem(
                    f"'{language}.{name}' cannot be translated here (allowed: {', '.join(allowed)})"
                )
        localised = _Entry(section.name, 0, raw, entry.problems)
        localised.label = f"{entry.label}.{language}"
        for name in raw:
            if name == words_field:
                extra = localised.words(name)
                item = replace(item, **{name: tuple(dict.fromkeys((*getattr(item, name), *extra)))})
            elif name in allowed:
                translations.append(
                    Translation(section.name, item.key, language, name, localised.text(name))
                )
    return item, translations


def _with_configured_email(contact: Contact) -> Contact:
    return replace(contact, email=settings.get().contact_email(contact.key) or contact.email)


def parse(text: str, path: Path) -> Facts:
    """Validate the YAML text; raise :class:`KnowledgeBaseError` naming every problem."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise KnowledgeBaseError(path, [f"not valid YAML: {error}"]) from error
    if not isinstance(document, dict):
        raise KnowledgeBaseError(
            path,
            ["the file must be a mapping with sections " + ", ".join(s.name for s in SECTIONS)],
        )

    problems: list[str] = []
    known = [*(s.name for s in SECTIONS), *OTHER_KEYS]
    for name in document:
        if name not in known:
            problems.append(unknown("top-level key", name, known))
    sections: dict[str, tuple] = {}
    translations: list[Translation] = []
    for section in SECTIONS:
        items = []
        for index, raw in enumerate(_section(document, section.name, problems)):
            entry = _Entry(section.name, index, raw, problems)
            item, texts = _translated(section, entry, _value(section, entry))
            items.append(item)
            translations += texts
        sections[section.name] = tuple(items)
    sections["contacts"] = tuple(map(_with_configured_email, sections["contacts"]))
    website = _website(document.get("website"), problems)
    version = document.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        problems.append(
            f"version: {version!r} is not {FORMAT_VERSION}, the format this loader reads"
        )
    partner_lists_complete = document.get("partner_lists_complete", False)
    if not isinstance(partner_lists_complete, bool):
        problems.append("partner_lists_complete: must be true or false")

    _check_references(sections, problems)
    if problems:
        raise KnowledgeBaseError(path, problems)
    return Facts(
        **sections,
        website_url=settings.get().website_url or str(website["url"]),
        website_launched=website.get("launched", False),
        partner_lists_complete=partner_lists_complete,
        translations=tuple(sorted(translations)),
        revision=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
    )


def _website(raw, problems: list[str]) -> dict:
    """The ``website`` mapping: its url (a placeholder until launch) and whether it is live."""
    if not isinstance(raw, dict) or not raw.get("url"):
        problems.append("website: must give 'url' (a placeholder under example.org until launch)")
        return {}
    known = OTHER_KEYS["website"]
    problems += [f"website: {unknown('field', name, known)}" for name in raw if name not in known]
    if not isinstance(raw["url"], str):
        problems.append("website: 'url' must be text")
    if not isinstance(raw.get("launched", False), bool):
        problems.append("website: 'launched' must be true or false")
    return raw


def _check_references(sections: dict[str, tuple], problems: list[str]) -> None:
    hub_keys = {h.key for h in sections["hubs"]}
    contact_keys = {c.key for c in sections["contacts"]}
    for section, items in sections.items():
        if section == "routing":
            continue
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.key in seen:
                problems.append(f"{section}[{index}] (key '{item.key}'): duplicate key")
            seen.add(item.key)
            hub = getattr(item, "hub", None)
            if section != "hubs" and hub is not None and hub not in hub_keys:
                problems.append(f"{section}[{index}] (key '{item.key}'): unknown hub '{hub}'")
    for index, rule in enumerate(sections["routing"]):
        if rule.hub not in hub_keys:
            problems.append(f"routing[{index}]: unknown hub '{rule.hub}'")
        if rule.contact not in contact_keys:
            problems.append(f"routing[{index}]: unknown contact '{rule.contact}'")
    for index, kind in enumerate(sections["partner_kinds"]):
        if kind.key not in ORGANISATION_KINDS:
            problems.append(f"partner_kinds[{index}]: '{kind.key}' is not a kind of organisation")
    for hub in sorted(hub_keys - {rule.hub for rule in sections["routing"]}):
        problems.append(f"routing: no contact for hub '{hub}'")
    answered = {q for p in sections["programmes"] for q in p.answers}
    for question in PROGRAMME_QUESTIONS:
        if question not in answered:
            problems.append(
                f"programmes: no programme answers '{question}' (list it under 'answers' "
                "of the programmes that do)"
            )


def read(path: Path | None = None) -> Facts:
    path = Path(path or settings.get().knowledge_base_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KnowledgeBaseError(path, [f"cannot be read: {error}"]) from error
    return parse(text, path)
