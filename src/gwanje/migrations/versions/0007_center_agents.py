"""Monitoring agents: police requests for agents (Art. 9 ③) and replacement demands with their
timeline (Art. 9 ④).

Revision ID: 0007_center_agents
Revises: 0006_revisions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0007_center_agents"
down_revision = "0006_revisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("requester_name", sa.String(64), nullable=False),
        sa.Column("requester_organisation", sa.String(40), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("hours_from", sa.String(5), nullable=False),
        sa.Column("hours_to", sa.String(5), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_headcount", sa.Integer(), nullable=True),
        sa.Column("monthly_cost_krw", sa.Integer(), nullable=True),
        sa.Column("cost_bearer", sa.String(40), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_name", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"], name=op.f("fk_agent_requests_requester_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_agent_requests_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_requests")),
    )
    op.create_index(op.f("ix_agent_requests_status"), "agent_requests", ["status"])
    op.create_table(
        "agent_replacement_demands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("ground", sa.String(40), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("requester_name", sa.String(64), nullable=False),
        sa.Column("requester_organisation", sa.String(40), nullable=False),
        sa.Column("resolution", sa.String(20), nullable=True),
        sa.Column("replacement_agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], name=op.f("fk_agent_replacement_demands_agent_id_users")),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["users.id"], name=op.f("fk_agent_replacement_demands_requester_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["replacement_agent_id"],
            ["users.id"],
            name=op.f("fk_agent_replacement_demands_replacement_agent_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_replacement_demands")),
    )
    op.create_index(op.f("ix_agent_replacement_demands_status"), "agent_replacement_demands", ["status"])
    op.create_index(op.f("ix_agent_replacement_demands_agent_id"), "agent_replacement_demands", ["agent_id"])
    op.create_table(
        "agent_replacement_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["demand_id"],
            ["agent_replacement_demands.id"],
            name=op.f("fk_agent_replacement_entries_demand_id_agent_replacement_demands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_agent_replacement_entries_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_replacement_entries")),
    )
    op.create_index(op.f("ix_agent_replacement_entries_demand_id"), "agent_replacement_entries", ["demand_id"])


def downgrade() -> None:
    op.drop_table("agent_replacement_entries")
    op.drop_table("agent_replacement_demands")
    op.drop_table("agent_requests")
