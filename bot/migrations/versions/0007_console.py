"""The operator console's tables: operators, their sessions, the audit log, and the
messages the assistant could not answer (gaps) with the operators' marks, and the
weekly tallies of the overview

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "operator" not in existing:
        op.create_table(
            "operator",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("name", sa.String(64), nullable=False, unique=True),
            sa.Column("password_hash", sa.String(255), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
        )
    if "console_session" not in existing:
        op.create_table(
            "console_session",
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column(
                "operator_id",
                sa.Integer(),
                sa.ForeignKey("operator.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("csrf_token", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("expires_at", sa.DateTime(), nullable=False),
        )
    if "audit_log" not in existing:
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime(), nullable=False, index=True),
            sa.Column("operator", sa.String(64), nullable=False),
            sa.Column("action", sa.String(64), nullable=False),
            sa.Column("target", sa.String(255), nullable=False),
        )
    if "gap" not in existing:
        op.create_table(
            "gap",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime(), nullable=False, index=True),
            sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
            sa.Column("language", sa.String(8), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("group_key", sa.String(255), nullable=False, index=True),
        )
    if "gap_mark" not in existing:
        op.create_table(
            "gap_mark",
            sa.Column("group_key", sa.String(255), primary_key=True),
            sa.Column("belongs_to", sa.String(128), nullable=False),
            sa.Column("marked_by", sa.String(64), nullable=False),
            sa.Column("marked_at", sa.DateTime(), nullable=False),
        )

    if "tally" not in existing:
        op.create_table(
            "tally",
            sa.Column("week", sa.String(8), primary_key=True),
            sa.Column("language", sa.String(8), primary_key=True),
            sa.Column("measure", sa.String(16), primary_key=True),
            sa.Column("count", sa.Integer(), nullable=False),
        )


def downgrade() -> None:
    for table in ("tally", "gap_mark", "gap", "audit_log", "console_session", "operator"):
        op.drop_table(table)
