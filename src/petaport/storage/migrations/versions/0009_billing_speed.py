"""billing speed: usage records point at the journal entry that posted them

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 10:00:00.000000

Metering now posts the charges of one org, Hong Kong month and metering batch as one journal
entry (``billing.ledger.usage_entries``, design note 009) instead of one entry per record;
``usage_records.entry_id`` names it (NULL for a record that moved no money). Records metered
before this revision had an entry each, ``je_charge/<source id>``: they are pointed at it here,
with the append-only trigger lifted for that one UPDATE (and put back as 0003 made it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BACKFILL = """
    UPDATE usage_records SET entry_id = 'je_charge/' || source_id
    WHERE EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = 'je_charge/' || source_id)"""


def upgrade() -> None:
    op.add_column("usage_records", sa.Column("entry_id", sa.String(length=200), nullable=True))
    op.create_index("ix_usage_records_entry_id", "usage_records", ["entry_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE usage_records DISABLE TRIGGER usage_records_append_only")
        op.execute(BACKFILL)
        op.execute("ALTER TABLE usage_records ENABLE TRIGGER usage_records_append_only")
    else:
        op.execute("DROP TRIGGER usage_records_no_update")
        op.execute(BACKFILL)
        op.execute(
            "CREATE TRIGGER usage_records_no_update BEFORE UPDATE ON usage_records "
            "BEGIN SELECT RAISE(ABORT, 'usage_records is append-only'); END"
        )


def downgrade() -> None:
    op.drop_index("ix_usage_records_entry_id", table_name="usage_records")
    # Plain DROP COLUMN in both (SQLite >= 3.35): a batch table copy would lose the triggers.
    op.execute("ALTER TABLE usage_records DROP COLUMN entry_id")
