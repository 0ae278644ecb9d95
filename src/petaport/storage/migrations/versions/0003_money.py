"""money: price book, usage records, ledger with enforced balance, budgets, invoices, plans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 10:05:00

The ledger's rules are kept by the database itself, in both dialects:
- a journal entry's header is inserted after its postings and is refused unless they are two
  or more and sum to zero; a posting for an entry already sealed is refused;
- journal entries, postings, usage records and issued invoices refuse UPDATE and DELETE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from petaport.storage.coltypes import Cents, ExactDecimal

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = ("journal_entries", "postings", "usage_records", "invoices", "invoice_lines")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "org_billing",
        sa.Column("org_id", sa.String(length=40), sa.ForeignKey("orgs.id"), primary_key=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("plan", sa.String(length=16), nullable=False),
        _ts("plan_started_at"),
        _ts("plan_ends_at", nullable=True),
        sa.Column("plan_fee", Cents(), nullable=True),
        sa.Column("plan_gpu_hours", ExactDecimal(), nullable=True),
        _ts("updated_at"),
    )
    op.create_table(
        "price_versions",
        sa.Column("id", sa.String(length=40), primary_key=True),
        _ts("effective_from"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("minimum_billable_s", sa.Integer(), nullable=False),
        sa.Column("preemption_credit", sa.String(length=32), nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("effective_from"),
    )
    op.create_table(
        "prices",
        sa.Column("version_id", sa.String(length=40), sa.ForeignKey("price_versions.id"),
                  primary_key=True),
        sa.Column("resource", sa.String(length=32), primary_key=True),
        sa.Column("gpu_model", sa.String(length=64), primary_key=True),
        sa.Column("tier", sa.String(length=16), primary_key=True),
        sa.Column("unit_price", ExactDecimal(), nullable=False),
    )  # fmt: skip
    op.create_table(
        "usage_records",
        sa.Column("source_id", sa.String(length=160), primary_key=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("org_id", sa.String(length=40), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("project_id", sa.String(length=40), sa.ForeignKey("projects.id"),
                  nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("attempt_id", sa.String(length=40), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("gpu_model", sa.String(length=64), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        _ts("start_at"),
        _ts("end_at"),
        sa.Column("billable_s", sa.Integer(), nullable=False),
        sa.Column("price_version", sa.String(length=40), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("unit_price", ExactDecimal(), nullable=False),
        sa.Column("amount", Cents(), nullable=False),
        sa.Column("gpu_milli_s", sa.BigInteger(), nullable=False),
        _ts("metered_at"),
    )  # fmt: skip
    op.create_index("ix_usage_records_attempt_id", "usage_records", ["attempt_id"])
    op.create_index("ix_usage_records_org_month", "usage_records", ["org_id", "month"])
    op.create_index("ix_usage_records_project_start", "usage_records", ["project_id", "start_at"])
    op.create_table(
        "metered_attempts",
        sa.Column("attempt_id", sa.String(length=40), sa.ForeignKey("attempts.id"),
                  primary_key=True),
        _ts("through"),
        sa.Column("final", sa.Boolean(), nullable=False),
    )  # fmt: skip
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.String(length=200), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _ts("at"),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=True),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("reverses", sa.String(length=200), nullable=True),
        _ts("created_at"),
    )
    op.create_index("ix_journal_entries_org_month", "journal_entries", ["org_id", "month"])
    op.create_table(
        "postings",
        sa.Column("entry_id", sa.String(length=200), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("account_kind", sa.String(length=32), nullable=False),
        sa.Column("account_owner", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", Cents(), nullable=False),
    )
    op.create_index("ix_postings_account", "postings", ["account_kind", "account_owner"])
    op.create_table(
        "budgets",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("scope_key", sa.String(length=120), nullable=False),
        sa.Column("org_id", sa.String(length=40), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("project_id", sa.String(length=40), sa.ForeignKey("projects.id"),
                  nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("limit_amount", ExactDecimal(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("grace_s", sa.Integer(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        _ts("exhausted_since", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("scope_key"),
    )  # fmt: skip
    op.create_index("ix_budgets_org_id", "budgets", ["org_id"])
    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("budget_id", sa.String(length=40),
                  sa.ForeignKey("budgets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("org_id", sa.String(length=40), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("message", sa.Text(), nullable=False),
        sa.UniqueConstraint("budget_id", "period", "threshold", name="uq_budget_alerts_once"),
    )  # fmt: skip
    op.create_index("ix_budget_alerts_org_id", "budget_alerts", ["org_id"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("org_id", sa.String(length=40), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", Cents(), nullable=False),
        sa.Column("subsidy_total", Cents(), nullable=False),
        sa.Column("org_total", Cents(), nullable=False),
        _ts("issued_at"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("org_id", "month", name="uq_invoices_org_month"),
    )
    op.create_index("ix_invoices_org_id", "invoices", ["org_id"])
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.String(length=40), sa.ForeignKey("invoices.id"),
                  primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("unit_seconds", ExactDecimal(), nullable=False),
        sa.Column("amount", Cents(), nullable=False),
        sa.Column("subsidy", Cents(), nullable=False),
        sa.Column("org_share", Cents(), nullable=False),
    )  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        _postgres_rules()
    else:
        _sqlite_rules()


def _postgres_rules() -> None:
    op.execute("""
        CREATE FUNCTION petaport_seal_entry() RETURNS trigger AS $$
        DECLARE n integer; s numeric;
        BEGIN
          SELECT count(*), coalesce(sum(amount), 0) INTO n, s
            FROM postings WHERE entry_id = NEW.id;
          IF n < 2 OR s <> 0 THEN
            RAISE EXCEPTION 'journal entry % does not balance (% postings, sum %)', NEW.id, n, s
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql""")
    op.execute("""
        CREATE FUNCTION petaport_posting_open() RETURNS trigger AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id) THEN
            RAISE EXCEPTION 'journal entry % is sealed', NEW.entry_id
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql""")
    op.execute("""
        CREATE FUNCTION petaport_append_only() RETURNS trigger AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'check_violation';
        END $$ LANGUAGE plpgsql""")
    op.execute(
        "CREATE TRIGGER journal_entries_balance BEFORE INSERT ON journal_entries "
        "FOR EACH ROW EXECUTE FUNCTION petaport_seal_entry()"
    )
    op.execute(
        "CREATE TRIGGER postings_open BEFORE INSERT ON postings "
        "FOR EACH ROW EXECUTE FUNCTION petaport_posting_open()"
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION petaport_append_only()"
        )


def _sqlite_rules() -> None:
    op.execute("""
        CREATE TRIGGER journal_entries_balance BEFORE INSERT ON journal_entries
        WHEN (SELECT count(*) FROM postings WHERE entry_id = NEW.id) < 2
          OR (SELECT coalesce(sum(amount), 0) FROM postings WHERE entry_id = NEW.id) <> 0
        BEGIN SELECT RAISE(ABORT, 'journal entry does not balance'); END""")
    op.execute("""
        CREATE TRIGGER postings_open BEFORE INSERT ON postings
        WHEN EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id)
        BEGIN SELECT RAISE(ABORT, 'journal entry is sealed'); END""")
    for table in APPEND_ONLY:
        for op_name in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP TRIGGER IF EXISTS journal_entries_balance ON journal_entries")
        op.execute("DROP TRIGGER IF EXISTS postings_open ON postings")
        for fn in ("petaport_seal_entry", "petaport_posting_open", "petaport_append_only"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
    for table in ("invoice_lines", "invoices", "budget_alerts", "budgets", "postings",
                  "journal_entries", "metered_attempts", "usage_records", "prices",
                  "price_versions", "org_billing"):  # fmt: skip
        op.drop_table(table)
