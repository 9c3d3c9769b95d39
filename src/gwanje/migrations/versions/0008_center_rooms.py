"""The center's rooms: entry authorisations, visitors, and the append-only access log (issue 10 §4).

The access log (출입관리대장) is append-only like the audit log and the video ledger: triggers refuse
UPDATE and DELETE (and TRUNCATE on PostgreSQL).

Revision ID: 0008_center_rooms
Revises: 0007_center_roster
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_center_rooms"
down_revision = "0007_center_roster"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "center_room_authorisations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("room", sa.String(40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("person_name", sa.String(120), nullable=False),
        sa.Column("organisation", sa.String(120), nullable=False),
        sa.Column("badge", sa.String(120), nullable=True),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.Column("revoke_reason", sa.String(500), nullable=True),
    )
    op.create_index("ix_center_room_authorisations_account_id", "center_room_authorisations", ["account_id"])
    op.create_index("ix_center_room_authorisations_room_badge", "center_room_authorisations", ["room", "badge"])
    op.create_table(
        "center_room_visitors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("room", sa.String(40), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("organisation", sa.String(120), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("escort_authorisation_id", sa.Integer(), nullable=True),
        sa.Column("escort_name", sa.String(120), nullable=True),
        sa.Column("badge", sa.String(120), nullable=True),
        sa.Column("expected_from", TS, nullable=False),
        sa.Column("expected_until", TS, nullable=False),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
    )
    op.create_table(
        "center_room_access_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("room", sa.String(40), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("person_name", sa.String(120), nullable=True),
        sa.Column("organisation", sa.String(120), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("badge", sa.String(120), nullable=True),
        sa.Column("authorisation_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("escort_name", sa.String(120), nullable=True),
        sa.Column("authorised", sa.Boolean(), nullable=False),
        sa.Column("door", sa.String(120), nullable=True),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_center_room_access_log_room_at", "center_room_access_log", ["room", "at"])
    op.create_index("ix_center_room_access_log_visitor_id", "center_room_access_log", ["visitor_id"])
    op.create_index("uq_center_room_access_log_inbox", "center_room_access_log", ["inbox_id"], unique=True)
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


SQLITE_TRIGGERS = [
    """CREATE TRIGGER center_room_access_log_no_update BEFORE UPDATE ON center_room_access_log
       BEGIN SELECT RAISE(ABORT, 'center_room_access_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER center_room_access_log_no_delete BEFORE DELETE ON center_room_access_log
       BEGIN SELECT RAISE(ABORT, 'center_room_access_log is append-only: DELETE refused'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION gwanje_room_access_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'center_room_access_log is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER center_room_access_log_no_update_delete BEFORE UPDATE OR DELETE ON center_room_access_log
       FOR EACH ROW EXECUTE FUNCTION gwanje_room_access_append_only()""",
    """CREATE TRIGGER center_room_access_log_no_truncate BEFORE TRUNCATE ON center_room_access_log
       FOR EACH STATEMENT EXECUTE FUNCTION gwanje_room_access_append_only()""",
]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS center_room_access_log_no_truncate ON center_room_access_log")
        op.execute("DROP TRIGGER IF EXISTS center_room_access_log_no_update_delete ON center_room_access_log")
        op.execute("DROP FUNCTION IF EXISTS gwanje_room_access_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS center_room_access_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS center_room_access_log_no_delete")
    op.drop_table("center_room_access_log")
    op.drop_table("center_room_visitors")
    op.drop_index("ix_center_room_authorisations_room_badge", table_name="center_room_authorisations")
    op.drop_index("ix_center_room_authorisations_account_id", table_name="center_room_authorisations")
    op.drop_table("center_room_authorisations")
