"""A hub's theme ("smart systems"), from which the hub-choice buttons are built

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

The buttons of "which hub?" used to be written out in the domain; now they come from
the knowledge base. Existing rows get an empty theme until the knowledge base is
loaded again (`make kb`; `make run` does it because knowledge_base.yml changed with
this revision). A database made with create_all from these models has the column.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("kb_hub")}
    if "theme" in columns:
        return
    with op.batch_alter_table("kb_hub") as batch_op:
        batch_op.add_column(sa.Column("theme", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("kb_hub") as batch_op:
        batch_op.drop_column("theme")
