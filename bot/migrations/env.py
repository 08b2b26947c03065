"""Alembic's entry point: migrates the connection ``bot.db.migrate`` hands over, or
``DATABASE_URL`` when run by ``python -m bot db revision``."""

from alembic import context
from sqlalchemy import create_engine

import bot.console.models  # noqa: F401  (registers the tables)
import bot.enquiries.models  # noqa: F401
import bot.knowledge.models  # noqa: F401
from bot import settings
from bot.db import Base


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if (given := context.config.attributes.get("connection")) is not None:
    run(given)
else:
    with create_engine(settings.get().database_url).connect() as connection:
        run(connection)
        connection.commit()
