"""Presence in the center, training records and security pledges (issue 10 §1, §3).

Revision ID: 0007_center_presence
Revises: 0006_revisions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_center_presence"
down_revision = "0007_center_handover"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "center_presences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("organisation", sa.String(40), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("room", sa.String(40), nullable=False),
        sa.Column("in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("out_via", sa.String(20), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("out_recorded_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_center_presences_account_id", "center_presences", ["account_id"])
    op.create_index("ix_center_presences_out_at", "center_presences", ["out_at"])
    op.create_index(
        "uq_center_presences_open",
        "center_presences",
        ["account_id"],
        unique=True,
        sqlite_where=sa.text("out_at IS NULL"),
        postgresql_where=sa.text("out_at IS NULL"),
    )
    op.create_table(
        "center_trainings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("course", sa.String(40), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_center_trainings_account_id", "center_trainings", ["account_id"])
    op.create_table(
        "center_pledges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("witness", sa.String(120), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_center_pledges_account_id", "center_pledges", ["account_id"])


def downgrade() -> None:
    op.drop_table("center_pledges")
    op.drop_table("center_trainings")
    op.drop_index("uq_center_presences_open", table_name="center_presences")
    op.drop_table("center_presences")
