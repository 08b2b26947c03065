from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot import db, settings
from bot.knowledge import document, store
from bot.settings import PROJECT_ROOT
from harness.servers import running_assistant
from tests.support.messengers import MessengerPlatforms
from tests.support.smtp import SmtpServer

KB_FILE = PROJECT_ROOT / "data" / "knowledge_base.yml"


@pytest.fixture(autouse=True)
def fresh_settings():
    """Settings are read once per process; a test that changes the environment gets
    them read again."""
    settings.reset()
    yield
    settings.reset()


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
    """A new database with every table, as the start-up commands leave it."""
    factory = db.session_factory(f"sqlite:///{tmp_path / 'kb.db'}")
    db.create_schema(factory)
    return factory


@pytest.fixture
def loaded_kb(sqlite_factory):
    store.load_file(KB_FILE, sqlite_factory)
    return store.KnowledgeBase(sqlite_factory)


@pytest.fixture(scope="module")
def smtp():
    """A real SMTP server (aiosmtpd) for a test module's whole conversations."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def platforms():
    """The Telegram Bot API and Meta Send API stand-in, recording what is sent."""
    stand_in = MessengerPlatforms()
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, smtp):
    """The Rasa server (running the actions) and handoff dispatcher, sending to ``smtp``."""
    with running_assistant(
        tmp_path_factory.mktemp("assistant"), extra_env=smtp.env, with_dispatcher=True
    ) as running:
        yield running
