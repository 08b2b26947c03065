"""Every environment variable the core reads, in one place.

Defaults are for a newcomer's laptop: SQLite under ``var/`` and placeholder
addresses under example.org, never real-looking fiction.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    default = f"sqlite:///{PROJECT_ROOT / 'var' / 'hub.db'}"
    return os.environ.get("DATABASE_URL", default)


def knowledge_base_path() -> Path:
    return Path(os.environ.get("KNOWLEDGE_BASE", PROJECT_ROOT / "data" / "knowledge_base.yml"))


def spacy_pipeline_dir(language: str = "en") -> Path:
    base = Path(os.environ.get("SPACY_PIPELINE_DIR", PROJECT_ROOT / "var" / "spacy"))
    return base / language


def contact_email_override(contact_key: str) -> str | None:
    """``CONTACT_EMAIL_ERIC_WEBER=...`` replaces the placeholder address of that contact."""
    return os.environ.get(f"CONTACT_EMAIL_{contact_key.upper()}") or None


def website_url_override() -> str | None:
    return os.environ.get("HUB_WEBSITE_URL") or None


def knowledge_refresh_seconds() -> float:
    """How soon a running action server notices a reloaded knowledge base."""
    return float(os.environ.get("KNOWLEDGE_REFRESH_SECONDS", "2"))
