"""center handover: duty logs (근무일지) with their entries, handovers (인수인계) with their items

Revision ID: 0007_center_handover
Revises: 0006_revisions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_center_handover"
down_revision = "0007_center_agents"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "duty_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=40), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        _ts("period_start", nullable=False),
        _ts("period_end", nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("leader_name", sa.String(length=200), nullable=False),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _ts("created_at", nullable=False),
        _ts("signed_at"),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_by_name", sa.String(length=200), nullable=True),
        sa.Column("signed_hash", sa.String(length=64), nullable=True),
        sa.Column("signed_audit_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["users.id"], name=op.f("fk_duty_logs_leader_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_logs")),
    )
    op.create_index(op.f("ix_duty_logs_organisation"), "duty_logs", ["organisation"], unique=False)
    op.create_index(op.f("ix_duty_logs_leader_id"), "duty_logs", ["leader_id"], unique=False)
    op.create_index(op.f("ix_duty_logs_status"), "duty_logs", ["status"], unique=False)

    op.create_table(
        "duty_log_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        _ts("at", nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["log_id"], ["duty_logs.id"], name=op.f("fk_duty_log_entries_log_id_duty_logs"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_duty_log_entries_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_log_entries")),
    )
    op.create_index(op.f("ix_duty_log_entries_log_id"), "duty_log_entries", ["log_id"], unique=False)

    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _ts("created_at", nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        _ts("offered_at"),
        _ts("acknowledged_at"),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_by_name", sa.String(length=200), nullable=True),
        sa.Column("acknowledgement_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["log_id"], ["duty_logs.id"], name=op.f("fk_handovers_log_id_duty_logs"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
    )
    op.create_index(op.f("ix_handovers_log_id"), "handovers", ["log_id"], unique=True)
    op.create_index(op.f("ix_handovers_organisation"), "handovers", ["organisation"], unique=False)
    op.create_index(op.f("ix_handovers_status"), "handovers", ["status"], unique=False)

    op.create_table(
        "handover_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("ref", sa.String(length=60), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=True),
        _ts("due_at"),
        sa.Column("ack_note", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["handover_id"], ["handovers.id"], name=op.f("fk_handover_items_handover_id_handovers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_items")),
    )
    op.create_index(op.f("ix_handover_items_handover_id"), "handover_items", ["handover_id"], unique=False)


def downgrade() -> None:
    op.drop_table("handover_items")
    op.drop_table("handovers")
    op.drop_table("duty_log_entries")
    op.drop_table("duty_logs")
