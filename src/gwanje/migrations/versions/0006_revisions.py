"""Revision counters kept by the database: a trigger on each watched table bumps its counter in the
same transaction as the change (gwanje.core.revisions).

Revision ID: 0006_revisions
Revises: 0005_trust_heads
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_revisions"
down_revision = "0005_trust_heads"
branch_labels = None
depends_on = None

WATCHED = {
    "registry": ("cameras", "sites", "departments", "organisations"),
    "accounts": ("users", "api_tokens"),
}
# The audit chain's advisory lock (gwanje.core.audit.ADVISORY_LOCK_KEY). Writers that change a watched
# table also append to the chain; the trigger takes that lock before the counter's row lock, so every
# transaction takes the two in the same order and none can wait on the other in a circle.
AUDIT_LOCK = 4_712_001


def upgrade() -> None:
    op.create_table(
        "revisions",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_revisions")),
    )
    op.bulk_insert(
        sa.table("revisions", sa.column("name", sa.String), sa.column("value", sa.BigInteger)),
        [{"name": name, "value": 0} for name in WATCHED],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION gwanje_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM pg_advisory_xact_lock({AUDIT_LOCK});
              UPDATE revisions SET value = value + 1 WHERE name = TG_ARGV[0];
              RETURN NULL;
            END $$
            """
        )
        for name, tables in WATCHED.items():
            for table in tables:
                op.execute(
                    f"CREATE TRIGGER {table}_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION gwanje_bump_revision('{name}')"
                )
        return
    for name, tables in WATCHED.items():
        for table in tables:
            for what in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_revision_{what.lower()} AFTER {what} ON {table} "
                    f"BEGIN UPDATE revisions SET value = value + 1 WHERE name = '{name}'; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for tables in WATCHED.values():
            for table in tables:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_revision ON {table}")
        op.execute("DROP FUNCTION IF EXISTS gwanje_bump_revision()")
    else:
        for tables in WATCHED.values():
            for table in tables:
                for what in ("insert", "update", "delete"):
                    op.execute(f"DROP TRIGGER IF EXISTS {table}_revision_{what}")
    op.drop_table("revisions")
