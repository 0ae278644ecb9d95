"""catalogue: entries, versions, access grants, uses, risk assessments; node pools in Hong Kong

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.String(length=40)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("node_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("in_hong_kong", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "catalogue_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("owner_org_id", ID, nullable=True),
        sa.Column("owner_key", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=False),
        sa.Column("data_use_agreement", sa.Text(), nullable=False),
        sa.Column("sensitivity", sa.String(length=16), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["owner_org_id"], ["orgs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_key", "kind", "name", name="uq_catalogue_name"),
    )
    op.create_index("ix_catalogue_entries_name", "catalogue_entries", ["name"])
    op.create_table(
        "catalogue_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_at", WHEN, nullable=False),
        sa.Column("registered_by", ID, nullable=False),
        sa.Column("verified_at", WHEN, nullable=True),
        sa.Column("cleared", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["catalogue_entries.id"]),
        sa.ForeignKeyConstraint(["registered_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id", "version", name="uq_catalogue_version"),
    )
    op.create_index("ix_catalogue_versions_entry_id", "catalogue_versions", ["entry_id"])
    op.create_table(
        "catalogue_grants",
        sa.Column("id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("dua_accepted", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", ID, nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("decided_by", ID, nullable=True),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["catalogue_entries.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_catalogue_grants_entry_id", "catalogue_grants", ["entry_id"])
    op.create_index(
        "ix_catalogue_grants_project_entry", "catalogue_grants", ["project_id", "entry_id"]
    )
    op.create_table(
        "catalogue_uses",
        sa.Column("id", ID, nullable=False),
        sa.Column("job_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["entry_id"], ["catalogue_entries.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_catalogue_uses_job_id", "catalogue_uses", ["job_id"])
    op.create_index("ix_catalogue_uses_entry_id", "catalogue_uses", ["entry_id"])
    op.create_table(
        "risk_assessments",
        sa.Column("id", ID, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("version_id", ID, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("job_id", ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=True),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("reviewer_id", ID, nullable=True),
        sa.Column("signed_at", WHEN, nullable=True),
        sa.Column("model_card", sa.Text(), nullable=False),
        sa.Column("requested_by", ID, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["catalogue_entries.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["catalogue_versions.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_risk_assessments_entry_id", "risk_assessments", ["entry_id"])
    op.create_index("ix_risk_assessments_version_id", "risk_assessments", ["version_id"])


def downgrade() -> None:
    for table in ("risk_assessments", "catalogue_uses", "catalogue_grants",
                  "catalogue_versions", "catalogue_entries"):  # fmt: skip
        op.drop_table(table)
    with op.batch_alter_table("node_pools", schema=None) as batch_op:
        batch_op.drop_column("in_hong_kong")
