"""audit chain: keyed rows (HMAC-SHA256 and the key's id)

Revision ID: 0004_audit_keyed
Revises: 0003_evidence
Create Date: 2026-12-01

Rows already in the chain keep ``mac`` and ``key_id`` NULL and verify as plain SHA-256; every row
appended from now on carries an HMAC with a key kept outside the database. The first row with a
MAC is the switch point: from there on every row must have one. Columns are added in place (no
table rebuild), so the append-only triggers of 0001 stay as they are.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_audit_keyed'
down_revision = '0003_evidence'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_log', sa.Column('mac', sa.String(length=64), nullable=True))
    op.add_column('audit_log', sa.Column('key_id', sa.String(length=16), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place, keeping the triggers.
    op.drop_column('audit_log', 'key_id')
    op.drop_column('audit_log', 'mac')
