"""The register of equipment, facilities and supplies (issue 11 §1, Art. 2 ④, 5): items and their history.

The history is append-only like the rooms' access log and the audit log: triggers refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL).

Revision ID: 0009_maintenance_equipment
Revises: 0008_center_rooms
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_maintenance_equipment"
down_revision = "0008_center_rooms"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "maintenance_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_class", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_organisation", sa.String(40), nullable=False),
        sa.Column("room", sa.String(40), nullable=True),
        sa.Column("site", sa.String(200), nullable=True),
        sa.Column("camera_id", sa.Integer(), nullable=True, unique=True),
        sa.Column("make", sa.String(120), nullable=True),
        sa.Column("make_key", sa.String(120), nullable=False),
        sa.Column("model", sa.String(120), nullable=True),
        sa.Column("serial", sa.String(120), nullable=True),
        sa.Column("acquired_on", sa.Date(), nullable=True),
        sa.Column("cost_krw", sa.Integer(), nullable=True),
        sa.Column("warranty_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_maintenance_items_owner_organisation", "maintenance_items", ["owner_organisation"])
    op.create_index("ix_maintenance_items_room", "maintenance_items", ["room"])
    op.create_index("ix_maintenance_items_class_status", "maintenance_items", ["item_class", "status"])
    op.create_index("uq_maintenance_items_make_serial", "maintenance_items", ["make_key", "serial"], unique=True)
    op.create_table(
        "maintenance_item_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(40), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=False),
    )
    op.create_index("ix_maintenance_item_history_item", "maintenance_item_history", ["item_id", "id"])
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


SQLITE_TRIGGERS = [
    """CREATE TRIGGER maintenance_item_history_no_update BEFORE UPDATE ON maintenance_item_history
       BEGIN SELECT RAISE(ABORT, 'maintenance_item_history is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER maintenance_item_history_no_delete BEFORE DELETE ON maintenance_item_history
       BEGIN SELECT RAISE(ABORT, 'maintenance_item_history is append-only: DELETE refused'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION gwanje_item_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'maintenance_item_history is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER maintenance_item_history_no_update_delete BEFORE UPDATE OR DELETE ON maintenance_item_history
       FOR EACH ROW EXECUTE FUNCTION gwanje_item_history_append_only()""",
    """CREATE TRIGGER maintenance_item_history_no_truncate BEFORE TRUNCATE ON maintenance_item_history
       FOR EACH STATEMENT EXECUTE FUNCTION gwanje_item_history_append_only()""",
]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS maintenance_item_history_no_truncate ON maintenance_item_history")
        op.execute("DROP TRIGGER IF EXISTS maintenance_item_history_no_update_delete ON maintenance_item_history")
        op.execute("DROP FUNCTION IF EXISTS gwanje_item_history_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS maintenance_item_history_no_update")
        op.execute("DROP TRIGGER IF EXISTS maintenance_item_history_no_delete")
    op.drop_index("ix_maintenance_item_history_item", table_name="maintenance_item_history")
    op.drop_table("maintenance_item_history")
    op.drop_index("uq_maintenance_items_make_serial", table_name="maintenance_items")
    op.drop_index("ix_maintenance_items_class_status", table_name="maintenance_items")
    op.drop_index("ix_maintenance_items_room", table_name="maintenance_items")
    op.drop_index("ix_maintenance_items_owner_organisation", table_name="maintenance_items")
    op.drop_table("maintenance_items")
