"""subsidy workflow: calls, applications, versions, milestones, attachments, reviewer
assignments with COI declarations, scores, decisions and stage transitions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from petaport.storage.coltypes import ExactDecimal

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.String(length=40)
WHEN = sa.DateTime(timezone=True)
APP_FK = "subsidy_applications.id"


def _fk(name: str, target: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, ID, sa.ForeignKey(target), nullable=nullable)


def _serial() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "subsidy_calls",
        sa.Column("id", ID, primary_key=True),
        _fk("scheme_id", "subsidy_schemes.id"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("opens_at", WHEN, nullable=False),
        sa.Column("closes_at", WHEN, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_subsidy_calls_scheme_id", "subsidy_calls", ["scheme_id"])
    _applications()
    _reviews()


def _applications() -> None:
    op.create_table(
        "subsidy_applications",
        sa.Column("id", ID, primary_key=True),
        _fk("call_id", "subsidy_calls.id"),
        _fk("scheme_id", "subsidy_schemes.id"),
        _fk("org_id", "orgs.id"),
        _fk("project_id", "projects.id"),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("gpu_model", sa.String(length=32), nullable=False),
        sa.Column("gpu_hours", ExactDecimal(), nullable=False),
        sa.Column("duration_months", sa.Integer(), nullable=False),
        sa.Column("declarations", sa.JSON(), nullable=False),
        sa.Column("calculation", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changes_reason", sa.Text(), nullable=False),
        sa.Column("screened_eligible", sa.Boolean(), nullable=True),
        sa.Column("screening_reason", sa.Text(), nullable=False),
        _fk("screened_by", "users.id", nullable=True),
        sa.Column("screened_at", WHEN, nullable=True),
        _fk("created_by", "users.id"),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    for column in ("call_id", "org_id", "state"):
        op.create_index(f"ix_subsidy_applications_{column}", "subsidy_applications", [column])
    op.create_table(
        "subsidy_application_versions",
        _serial(),
        _fk("application_id", APP_FK),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        _fk("submitted_by", "users.id"),
        sa.Column("submitted_at", WHEN, nullable=False),
        sa.UniqueConstraint("application_id", "version", name="uq_subsidy_version"),
    )
    op.create_table(
        "subsidy_milestones",
        _serial(),
        _fk("application_id", APP_FK),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("planned_gpu_hours", ExactDecimal(), nullable=False),
        sa.UniqueConstraint("application_id", "seq", name="uq_subsidy_milestone"),
    )
    op.create_table(
        "subsidy_attachments",
        sa.Column("id", ID, primary_key=True),
        _fk("application_id", APP_FK),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=False),
        _fk("uploaded_by", "users.id"),
        sa.Column("uploaded_at", WHEN, nullable=False),
    )
    op.create_index(
        "ix_subsidy_attachments_application_id", "subsidy_attachments", ["application_id"]
    )


def _reviews() -> None:
    op.create_table(
        "subsidy_assignments",
        sa.Column("id", ID, primary_key=True),
        _fk("application_id", APP_FK),
        _fk("reviewer_id", "users.id"),
        _fk("assigned_by", "users.id"),
        sa.Column("assigned_at", WHEN, nullable=False),
        sa.Column("coi", sa.String(length=16), nullable=True),
        sa.Column("coi_statement", sa.Text(), nullable=False),
        sa.Column("coi_at", WHEN, nullable=True),
        sa.UniqueConstraint("application_id", "reviewer_id", name="uq_subsidy_assign"),
    )
    op.create_index(
        "ix_subsidy_assignments_application_id", "subsidy_assignments", ["application_id"]
    )
    op.create_index("ix_subsidy_assignments_reviewer_id", "subsidy_assignments", ["reviewer_id"])
    op.create_table(
        "subsidy_scores",
        _serial(),
        _fk("assignment_id", "subsidy_assignments.id"),
        _fk("application_id", APP_FK),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("criterion", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("submitted_at", WHEN, nullable=False),
        sa.UniqueConstraint("assignment_id", "version", "criterion", name="uq_subsidy_score"),
    )
    op.create_index("ix_subsidy_scores_assignment_id", "subsidy_scores", ["assignment_id"])
    op.create_index("ix_subsidy_scores_application_id", "subsidy_scores", ["application_id"])
    op.create_table(
        "subsidy_decisions",
        sa.Column("id", ID, primary_key=True),
        _fk("application_id", APP_FK),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=True),
        _fk("grant_id", "subsidy_grants.id", nullable=True),
        _fk("decided_by", "users.id"),
        sa.Column("decided_at", WHEN, nullable=False),
    )
    op.create_index("ix_subsidy_decisions_application_id", "subsidy_decisions", ["application_id"])
    op.create_table(
        "subsidy_transitions",
        _serial(),
        _fk("application_id", APP_FK),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        _fk("actor_id", "users.id", nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_subsidy_transitions_application_id", "subsidy_transitions", ["application_id"]
    )


def downgrade() -> None:
    for table in ("subsidy_transitions", "subsidy_decisions", "subsidy_scores",
                  "subsidy_assignments", "subsidy_attachments", "subsidy_milestones",
                  "subsidy_application_versions", "subsidy_applications", "subsidy_calls"):  # fmt: skip
        op.drop_table(table)
