"""Database migrations (Alembic, bot/migrations): a new database gets exactly the
tables the code declares, on SQLite and on the real PostgreSQL; databases made before
migrations existed are taken over and brought up to date without losing data."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from bot import db
from bot.enquiries import store as enquiry_store
from bot.enquiries.models import EnquiryRow, ReferenceCounterRow
from bot.knowledge import store
from bot.knowledge.models import MetaRow, TranslationRow
from tests.support.enquiries import new_enquiry
from tests.support.postgres import scratch_database


def differences(url: str) -> list:
    with create_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.Base.metadata)


@pytest.fixture
def postgres_url():
    with scratch_database("migrate") as url:
        yield url


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


def enquiry_values(enquiry_id: int, year: int = 2026) -> dict:
    """An enquiry row as the code before revision 0005 stored it: the number is the id."""
    at = datetime(year, 11, 27, 10, 0)
    return dict(
        id=enquiry_id,
        reference=f"HUB-{year}-{enquiry_id:06d}",
        created_at=at,
        channel="rest",
        conversation_id=f"visitor-{enquiry_id}",
        language="en",
        visitor_name="Anna Schmidt",
        visitor_email="anna@example.com",
        visitor_organisation="-",
        text="We build pressure sensors.",
        hub="dresden",
        contact_key="lindner",
        contact_name="Dr Sebastian Lindner",
        contact_email="lindner@example.org",
        routing_reason="focus",
        topic="sensors",
        consent_at=at,
        consent_notice_version="2026-11",
        transcript="[]",
    )


def at_revision_0004(url: str):
    """A database as revision 0004 left it: references were the enquiry's row id."""
    engine = db.engine(url)
    with engine.begin() as connection:
        command.upgrade(db.alembic_config(connection), "0004")
    return engine


def counter(url: str) -> list[int]:
    with create_engine(url).connect() as connection:
        return connection.execute(select(ReferenceCounterRow.last_number)).scalars().all()


def test_existing_references_are_never_given_again_after_the_upgrade(tmp_path, facts):
    """Enquiries 1, 2 and 7 (3 to 6 erased): the counter starts above every number
    issued, and an erasure after the upgrade does not bring a number back."""
    url = f"sqlite:///{tmp_path / 'existing.db'}"
    engine = at_revision_0004(url)
    with engine.begin() as connection:
        for enquiry_id, year in ((1, 2025), (2, 2026), (7, 2026)):
            connection.execute(
                EnquiryRow.__table__.insert().values(enquiry_values(enquiry_id, year))
            )
    db.migrate(engine)
    assert differences(url) == [] and counter(url) == [7]
    factory = db.session_factory(url)
    new = new_enquiry(facts, "visitor-new")
    first = enquiry_store.submit(new, factory).reference
    assert first.endswith("-000008")
    enquiry_store.delete_conversation_data("visitor-new", factory)
    enquiry_store.delete_conversation_data("visitor-7", factory)
    assert enquiry_store.submit(new, factory).reference.endswith("-000009")


def test_postgresql_references_of_enquiries_erased_before_the_upgrade_stay_used(
    postgres_url, facts
):
    """The id sequence remembers numbers whose enquiries are gone (SQLite cannot)."""
    target = make_url(postgres_url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = at_revision_0004(postgres_url)
    with engine.begin() as connection:
        for _ in range(3):  # ids from the sequence, as the old code stored them
            values = enquiry_values(0)
            del values["id"], values["reference"]
            connection.execute(EnquiryRow.__table__.insert().values(values))
        connection.execute(
            text("UPDATE enquiry SET reference = 'HUB-2026-' || lpad(id::text, 6, '0')")
        )
        connection.execute(EnquiryRow.__table__.delete().where(EnquiryRow.id == 3))
    db.migrate(engine)
    assert differences(postgres_url) == [] and counter(postgres_url) == [3]
    stored = enquiry_store.submit(new_enquiry(facts, "next"), db.session_factory(postgres_url))
    assert stored.reference.endswith("-000004")
    engine.dispose()


def test_a_database_made_with_create_all_gets_its_counter_seeded(tmp_path):
    url = f"sqlite:///{tmp_path / 'create_all.db'}"
    old = create_engine(url)
    db.Base.metadata.create_all(old)  # every table, the counter's without its row
    with old.begin() as connection:
        connection.execute(EnquiryRow.__table__.insert().values(enquiry_values(5)))
    db.migrate(db.engine(url))
    assert counter(url) == [5]
