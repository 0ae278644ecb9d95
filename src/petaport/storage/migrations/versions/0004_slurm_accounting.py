"""slurm accounting: one sacct record per attempt, and the read watermark

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slurm_usage",
        sa.Column("attempt_id", sa.String(length=40), nullable=False),
        sa.Column("slurm_job_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("elapsed_s", sa.Integer(), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("cpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"]),
        sa.PrimaryKeyConstraint("attempt_id"),
    )
    with op.batch_alter_table("slurm_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slurm_usage_ended_at"), ["ended_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_slurm_usage_read_at"), ["read_at"], unique=False)

    op.create_table(
        "slurm_watermarks",
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("last_end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("backend"),
    )


def downgrade() -> None:
    op.drop_table("slurm_watermarks")
    with op.batch_alter_table("slurm_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slurm_usage_read_at"))
        batch_op.drop_index(batch_op.f("ix_slurm_usage_ended_at"))
    op.drop_table("slurm_usage")
