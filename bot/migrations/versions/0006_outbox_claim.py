"""A lease on each outbox row, so one dispatcher at a time sends it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Two dispatchers on one database (or one restarted while the old one still ran) both
sent every due e-mail. A dispatcher now takes a row by setting ``claimed_until`` (see
bot/handoff/dispatcher.py); existing rows start unclaimed. A database made with
create_all from these models already has the column.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("outbox")}
    if "claimed_until" in columns:
        return
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("claimed_until")
