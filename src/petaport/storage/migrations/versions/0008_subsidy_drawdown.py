"""subsidy drawdown: the funder's share of each charge, grant alerts, reporting terms and
progress reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from petaport.storage.coltypes import Cents, ExactDecimal

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.String(length=40)
WHEN = sa.DateTime(timezone=True)
GRANT = "subsidy_grants.id"


def upgrade() -> None:
    op.create_table(
        "subsidy_drawdown",
        sa.Column(
            "source_id",
            sa.String(length=160),
            sa.ForeignKey("usage_records.source_id"),
            primary_key=True,
        ),
        sa.Column("grant_id", ID, sa.ForeignKey(GRANT), nullable=False),
        sa.Column("funder_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("start_at", WHEN, nullable=False),
        sa.Column("amount", Cents(), nullable=False),
        sa.Column("funder_amount", Cents(), nullable=False),
        sa.Column("funded_gpu_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_subsidy_drawdown_grant_id", "subsidy_drawdown", ["grant_id"])
    op.create_index("ix_subsidy_drawdown_funder_month", "subsidy_drawdown", ["funder_id", "month"])
    op.create_index("ix_subsidy_drawdown_org_month", "subsidy_drawdown", ["org_id", "month"])
    op.create_table(
        "subsidy_grant_alerts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("grant_id", ID, sa.ForeignKey(GRANT), nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.UniqueConstraint("grant_id", "kind", name="uq_subsidy_grant_alerts_once"),
    )
    op.create_index("ix_subsidy_grant_alerts_grant_id", "subsidy_grant_alerts", ["grant_id"])
    op.create_index("ix_subsidy_grant_alerts_org_id", "subsidy_grant_alerts", ["org_id"])
    op.create_table(
        "subsidy_grant_terms",
        sa.Column("grant_id", ID, sa.ForeignKey(GRANT), primary_key=True),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("report_every_months", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("suspend_when_late", sa.Boolean(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_table(
        "subsidy_progress_reports",
        sa.Column("id", ID, primary_key=True),
        sa.Column("grant_id", ID, sa.ForeignKey(GRANT), nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("period_start", WHEN, nullable=False),
        sa.Column("period_end", WHEN, nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("filed_at", WHEN, nullable=False),
        sa.Column("filed_by", ID, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("planned_gpu_hours", ExactDecimal(), nullable=False),
        sa.Column("actual_gpu_hours", ExactDecimal(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("grant_id", "period_start", name="uq_subsidy_reports_period"),
    )
    op.create_index("ix_subsidy_progress_reports_grant_id", "subsidy_progress_reports",
                    ["grant_id"])  # fmt: skip
    op.create_index("ix_subsidy_progress_reports_org_id", "subsidy_progress_reports", ["org_id"])
    _append_only("subsidy_drawdown")


def _append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION petaport_append_only()"
        )
        return
    for op_name in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def downgrade() -> None:
    op.drop_table("subsidy_progress_reports")
    op.drop_table("subsidy_grant_terms")
    op.drop_table("subsidy_grant_alerts")
    op.drop_table("subsidy_drawdown")  # its triggers go with it
