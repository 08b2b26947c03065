"""The domain as Rasa merges it from the files of ``domain/``, read without starting
Rasa, so tests can look at responses, actions and slots cheaply (test_domain.py checks
that this reading agrees with Rasa's own)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

DOMAIN_DIR = PROJECT_ROOT / "domain"


def files() -> dict[Path, dict]:
    """Each domain file's own content (aliases resolved), by path."""
    return {
        path: yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for path in sorted(DOMAIN_DIR.rglob("*.yml"))
    }


@lru_cache(maxsize=None)
def merged() -> dict:
    """All files in one mapping, as Rasa merges them: lists are joined, mappings
    (responses, slots, forms) united; a name given twice is an error here, where
    Rasa would only warn and keep one of them."""
    domain: dict = {}
    for path, part in files().items():
        for key, value in part.items():
            if isinstance(value, list):
                domain.setdefault(key, []).extend(v for v in value if v not in domain.get(key, []))
            elif isinstance(value, dict):
                section = domain.setdefault(key, {})
                if twice := set(section) & set(value):
                    raise ValueError(f"{path}: {key} {sorted(twice)} are defined in another file")
                section.update(value)
            else:
                domain.setdefault(key, value)
    return domain
