"""Engine and session factory, created on first use (never at import time)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from bot import settings

Base = declarative_base()  # every table of the assistant: knowledge base, enquiries, outbox


def engine(url: str | None = None) -> Engine:
    """The engine of ``url``, default the configured ``DATABASE_URL`` (as configured
    now: the URL is resolved before the cache, so settings read again are honoured)."""
    return _engine(url or settings.get().database_url)


@lru_cache(maxsize=None)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: a failed statement's error text (logged) would quote the values
    # bound to it, such as a visitor's name, address and enquiry
    created = create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)
    if created.dialect.name == "sqlite":
        event.listen(created, "connect", _sqlite_pragmas)
    return created


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def session_factory(url: str | None = None) -> sessionmaker:
    return sessionmaker(bind=engine(url), future=True, expire_on_commit=False, class_=Session)


def create_schema(factory: sessionmaker) -> None:
    """Bring the database to the newest schema, once per engine. Called where a process
    starts (``python -m bot kb load`` / ``db create``, the dispatcher), never on a
    request path: storing or listing enquiries expects the tables to be there."""
    _create_schema_once(factory.kw["bind"])


@lru_cache(maxsize=None)
def _create_schema_once(bound: Engine) -> None:
    migrate(bound)


MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"  # the schema as create_all made it before migrations existed


def alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(bound: Engine) -> None:
    """Bring the database to the newest schema (bot/migrations). A database made
    before migrations existed is recognised and taken over at the baseline."""
    from alembic import command

    with bound.begin() as connection:
        if connection.dialect.name == "postgresql":  # one migrating process at a time
            connection.execute(text("SELECT pg_advisory_xact_lock(720110)"))
        tables = set(inspect(connection).get_table_names())
        config = alembic_config(connection)
        if "alembic_version" not in tables and {"kb_meta", "enquiry"} & tables:
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")


def ensure_database(url: str | None = None) -> str:
    """Create the database of ``url`` if the server lacks it (PostgreSQL), then the
    tables; returns what was done. SQLite files are created on first connect."""
    url = url or settings.get().database_url
    target = make_url(url)
    done = "exists"
    if target.get_backend_name() == "postgresql":
        admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                found = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"),
                    {"name": target.database},
                ).scalar()
                if not found:
                    connection.execute(text(f'CREATE DATABASE "{target.database}"'))
                    done = "created"
        finally:
            admin.dispose()
    create_schema(session_factory(url))
    return done
