"""Which questions a programme answers ("funding", "office space"), from the knowledge base

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

The dialogue used to name programme keys in code and silently drop renamed ones; now
each programme lists the questions it answers. Existing rows get none until the
knowledge base is loaded again (`make kb`; `make run` does it because
knowledge_base.yml changed with this revision); until then the action server says the
knowledge base is unavailable rather than answer with nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("kb_programme")}
    if "answers" in columns:
        return
    with op.batch_alter_table("kb_programme") as batch_op:
        batch_op.add_column(sa.Column("answers", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("kb_programme") as batch_op:
        batch_op.drop_column("answers")
