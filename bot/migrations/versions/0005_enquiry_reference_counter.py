"""A counter for enquiry references, so an erased enquiry's number is never given again

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

References used to be HUB-<year>-<row id>, and SQLite gives the highest id again once
the newest enquiries are erased or purged: the next visitor got the erased enquiry's
reference. Now one row holds the last number issued (bot/enquiries/models.py says why
one row for all years). It starts at the highest number issued so far: the highest
enquiry id or reference number still stored and, on PostgreSQL, the id sequence, which
also remembers enquiries erased before this revision. On SQLite the numbers of the
newest enquiries erased before this revision are known nowhere any more and may be
issued once more. Stop the action servers before upgrading: one still running the old
code would keep numbering by row id. A database made with create_all from these models
has the table but not the row; the row is added then.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

counter = sa.table(
    "enquiry_reference_counter", sa.column("id", sa.Integer), sa.column("last_number", sa.Integer)
)
enquiry = sa.table("enquiry", sa.column("id", sa.Integer), sa.column("reference", sa.String))


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("enquiry_reference_counter"):
        op.create_table(
            "enquiry_reference_counter",
            sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("last_number", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if bind.execute(sa.select(counter.c.id)).first() is None:
        bind.execute(counter.insert().values(id=1, last_number=highest_issued(bind)))


def highest_issued(bind) -> int:
    """The highest reference number any enquiry has had, as far as the database knows."""
    highest = bind.execute(sa.select(sa.func.max(enquiry.c.id))).scalar() or 0
    for reference in bind.execute(sa.select(enquiry.c.reference)).scalars():
        if reference and (matched := re.fullmatch(r"HUB-\d{4}-(\d+)", reference)):
            highest = max(highest, int(matched[1]))
    if bind.dialect.name == "postgresql":
        sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence('enquiry', 'id')")).scalar()
        if sequence:  # a name from the catalogue, quoted as needed
            used = bind.execute(
                sa.text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}")
            ).scalar()
            highest = max(highest, used)
    return highest


def downgrade() -> None:
    op.drop_table("enquiry_reference_counter")
