from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot import db
from bot.knowledge import document, store
from bot.settings import PROJECT_ROOT

KB_FILE = PROJECT_ROOT / "data" / "knowledge_base.yml"


@pytest.fixture(scope="session")
def facts():
    return document.read(KB_FILE)


@pytest.fixture
def kb_copy(tmp_path) -> Path:
    """A copy of the real knowledge base that a test may edit."""
    target = tmp_path / "knowledge_base.yml"
    shutil.copy(KB_FILE, target)
    return target


@pytest.fixture
def sqlite_factory(tmp_path):
    return db.session_factory(f"sqlite:///{tmp_path / 'kb.db'}")


@pytest.fixture
def loaded_kb(sqlite_factory):
    store.load_file(KB_FILE, sqlite_factory)
    return store.KnowledgeBase(sqlite_factory)
