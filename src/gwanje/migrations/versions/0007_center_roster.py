"""center: planned shifts (the roster, issue 10 §1)

Revision ID: 0007_center_roster
Revises: 0006_revisions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_center_roster"
down_revision = "0007_center_presence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "center_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("organisation", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("team", sa.String(length=20), nullable=True),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_center_shifts_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_center_shifts_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_center_shifts")),
        sa.UniqueConstraint("user_id", "starts_at", name="uq_center_shifts_user_start"),
    )
    op.create_index("ix_center_shifts_period", "center_shifts", ["starts_at", "ends_at"], unique=False)
    op.create_index(op.f("ix_center_shifts_user_id"), "center_shifts", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_center_shifts_user_id"), table_name="center_shifts")
    op.drop_index("ix_center_shifts_period", table_name="center_shifts")
    op.drop_table("center_shifts")
