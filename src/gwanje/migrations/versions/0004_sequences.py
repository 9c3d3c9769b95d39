"""sequences: the last sequence number per (source, device) and the messages found missing

Revision ID: 0004_sequences
Revises: 0003_evidence
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_sequences'
down_revision = '0003_evidence'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('device_sequences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('device_id', sa.String(length=120), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.Column('missing', sa.BigInteger(), nullable=False),
    sa.Column('late', sa.BigInteger(), nullable=False),
    sa.Column('gaps', sa.Integer(), nullable=False),
    sa.Column('restarts', sa.Integer(), nullable=False),
    sa.Column('last_gap_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'device_id', name='uq_device_sequences_source_device')
    )


def downgrade() -> None:
    op.drop_table('device_sequences')
