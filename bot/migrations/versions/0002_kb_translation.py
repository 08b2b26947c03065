"""German (and other) texts of knowledge-base entries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

A database made with create_all during the German round already has the table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("kb_translation"):
        return
    op.create_table(
        "kb_translation",
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("section", "key", "language", "field"),
    )


def downgrade() -> None:
    op.drop_table("kb_translation")
