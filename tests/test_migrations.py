"""Database migrations (Alembic, bot/migrations): a new database gets exactly the
tables the code declares, on SQLite and on the real PostgreSQL; databases made before
migrations existed are taken over and brought up to date without losing data."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select

import bot.enquiries.models  # noqa: F401
from bot import db
from bot.knowledge import store
from bot.knowledge.models import MetaRow, TranslationRow
from harness.servers import reachable


def differences(url: str) -> list:
    with create_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.Base.metadata)


@pytest.fixture
def postgres_url():
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not running")
    name = f"hub_migrate_{uuid.uuid4().hex[:10]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    yield url
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f'DROP DATABASE IF EXISTS "{name}"'],
        capture_output=True,
        check=False,
    )


def test_a_new_sqlite_database_gets_exactly_the_declared_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    db.migrate(db.engine(url))
    assert differences(url) == []


def test_a_new_postgresql_database_is_created_and_gets_exactly_the_declared_tables(
    postgres_url,
):
    assert db.ensure_database(postgres_url) == "created"
    assert db.ensure_database(postgres_url) == "exists"
    assert differences(postgres_url) == []
    facts = store.load_file(None, db.session_factory(postgres_url))
    assert store.KnowledgeBase(db.session_factory(postgres_url)).facts() == facts


def test_a_database_from_before_migrations_is_taken_over_with_its_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    english_round = [t for t in db.Base.metadata.sorted_tables if t.name != "kb_translation"]
    db.Base.metadata.create_all(old, tables=english_round)  # as `make kb` made it then
    with old.begin() as connection:
        connection.execute(MetaRow.__table__.insert().values(name="kept", value="yes"))
    db.migrate(db.engine(url))
    assert differences(url) == []
    assert "kb_translation" in inspect(create_engine(url)).get_table_names()
    with create_engine(url).connect() as connection:
        assert connection.execute(select(MetaRow.value).where(MetaRow.name == "kept")).scalar()
        assert connection.execute(select(TranslationRow)).all() == []


def test_migrating_twice_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    db.migrate(db.engine(url))
    db.migrate(db.engine(url))
    assert differences(url) == []
