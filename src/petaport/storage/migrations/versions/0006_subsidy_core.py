"""subsidy core: schemes, grants and the append-only audit trail

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 17:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from petaport.storage.coltypes import Cents, ExactDecimal

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.String(length=40)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subsidy_schemes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False, unique=True),
        sa.Column("funder_id", sa.String(length=64), nullable=False),
        sa.Column("default_rate", ExactDecimal(), nullable=False),
        sa.Column("max_rate", ExactDecimal(), nullable=False),
        sa.Column("eligible_categories", sa.JSON(), nullable=False),
        sa.Column("category_rates", sa.JSON(), nullable=False),
        sa.Column("rubric", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_table(
        "subsidy_grants",
        sa.Column("id", ID, primary_key=True),
        sa.Column("scheme_id", ID, sa.ForeignKey("subsidy_schemes.id"), nullable=False),
        sa.Column("funder_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", ID, sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("application_id", ID, nullable=True, unique=True),
        sa.Column("rate", ExactDecimal(), nullable=False),
        sa.Column("cap", Cents(), nullable=True),
        sa.Column("cap_gpu_hours", ExactDecimal(), nullable=True),
        sa.Column("valid_from", WHEN, nullable=False),
        sa.Column("valid_until", WHEN, nullable=False),
        sa.Column("allowed_gpu_models", sa.JSON(), nullable=False),
        sa.Column("on_cap", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", ID, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_index("ix_subsidy_grants_scheme_id", "subsidy_grants", ["scheme_id"])
    op.create_index("ix_subsidy_grants_org_id", "subsidy_grants", ["org_id"])
    op.create_index("ix_subsidy_grants_project", "subsidy_grants", ["project_id", "valid_from"])
    op.create_table(
        "subsidy_audit",
        sa.Column("id", ID, primary_key=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor_id", ID, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("application_id", ID, nullable=True),
        sa.Column("grant_id", ID, nullable=True),
        sa.Column("org_id", ID, nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_subsidy_audit_at", "subsidy_audit", ["at"])
    op.create_index("ix_subsidy_audit_application_id", "subsidy_audit", ["application_id"])
    op.create_index("ix_subsidy_audit_grant_id", "subsidy_audit", ["grant_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER subsidy_audit_append_only BEFORE UPDATE OR DELETE ON subsidy_audit "
            "FOR EACH ROW EXECUTE FUNCTION petaport_append_only()"
        )
    else:
        for op_name in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER subsidy_audit_no_{op_name.lower()} BEFORE {op_name} ON "
                "subsidy_audit BEGIN SELECT RAISE(ABORT, 'subsidy_audit is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("subsidy_audit")  # its triggers go with it
    op.drop_table("subsidy_grants")
    op.drop_table("subsidy_schemes")
