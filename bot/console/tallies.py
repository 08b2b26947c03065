"""The overview's weekly counts: conversations, messages and gaps by language. Counts
only, no text, so they outlive the conversations' retention."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.console.models import TallyRow

MEASURES = ("conversations", "messages", "declined", "unsure", "unknown", "which_hub")


def week_of(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def add(factory: sessionmaker, counts: Counter) -> None:
    """Adds ``counts`` of ``(week, language, measure)`` to the tallies. Of two servers
    inserting the same new row, one fails on the key and adds its count again."""
    for attempt in (1, 2):
        try:
            with factory() as session, session.begin():
                for (week, language, measure), count in counts.items():
                    key = (
                        TallyRow.week == week,
                        TallyRow.language == language,
                        TallyRow.measure == measure,
                    )
                    added = update(TallyRow).where(*key).values(count=TallyRow.count + count)
                    if session.execute(added).rowcount == 0:
                        session.add(
                            TallyRow(week=week, language=language, measure=measure, count=count)
                        )
            return
        except IntegrityError:
            if attempt == 2:
                raise


def weekly(factory: sessionmaker) -> dict[str, dict[str, dict[str, int]]]:
    """week -> language -> measure -> count, the weeks in order."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    with factory() as session:
        for row in session.scalars(select(TallyRow).order_by(TallyRow.week)):
            table.setdefault(row.week, {}).setdefault(row.language, {})[row.measure] = row.count
    return table
