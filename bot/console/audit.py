"""The console's audit log: every sign-in, sign-out and action, with who and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.console.models import AuditRow


def write(factory: sessionmaker, operator: str, action: str, target: str = "") -> None:
    with factory() as session, session.begin():
        session.add(
            AuditRow(at=datetime.utcnow(), operator=operator, action=action, target=target[:255])
        )


def recent(factory: sessionmaker, limit: int = 200) -> list[AuditRow]:
    with factory() as session:
        return list(session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)))
