"""quotas, fair-share usage, scheduler columns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 12:51:43.825965
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_usage",
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("gpu_s", sa.Float(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("project_id"),
    )
    with op.batch_alter_table("project_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_usage_org_id"), ["org_id"], unique=False)

    op.create_table(
        "quotas",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("scope_key", sa.String(length=200), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column("gpu_model", sa.String(length=64), nullable=True),
        sa.Column("nominal_gpus", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("borrowing_limit_gpus", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("lending_limit_gpus", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope_key"),
    )
    with op.batch_alter_table("quotas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotas_org_id"), ["org_id"], unique=False)

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("borrowing", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("gpu_milli", sa.Integer(), nullable=False, server_default="0")
        )

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("walltime_s", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("gpu_milli", sa.Integer(), nullable=False, server_default="0")
        )

    # The scheduler reads walltime from the new column: copy it out of the spec of every job
    # that may still be scheduled.
    conn = op.get_bind()
    jobs = sa.table(
        "jobs", sa.column("id"), sa.column("spec", sa.JSON), sa.column("state"),
        sa.column("walltime_s"),
    )  # fmt: skip
    live = conn.execute(
        sa.select(jobs.c.id, jobs.c.spec).where(jobs.c.state.in_(["PENDING", "RUNNING"]))
    )
    for job_id, spec in live.all():
        data = json.loads(spec) if isinstance(spec, str) else spec
        walltime = (data or {}).get("walltime_s")
        if walltime is not None:
            conn.execute(
                sa.update(jobs).where(jobs.c.id == job_id).values(walltime_s=int(walltime))
            )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("gpu_milli")
        batch_op.drop_column("walltime_s")

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("gpu_milli")
        batch_op.drop_column("borrowing")

    with op.batch_alter_table("quotas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotas_org_id"))
    op.drop_table("quotas")

    with op.batch_alter_table("project_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_usage_org_id"))
    op.drop_table("project_usage")
