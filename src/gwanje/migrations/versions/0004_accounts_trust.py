"""accounts trust: sign-in throttling per account name and source, one-time TOTP codes

Revision ID: 0004_accounts_trust
Revises: 0003_evidence
Create Date: 2026-12-01

Failed sign-ins no longer lock an account: they are counted in ``login_throttles`` (per account
name and per source address, hashed) and slow further attempts down. ``users.totp_last_step``
remembers the time-step of the last accepted TOTP code so that a code is used once.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_accounts_trust'
down_revision = '0003_evidence'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'login_throttles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttles')),
        sa.UniqueConstraint('kind', 'key', name='uq_login_throttles_kind_key'),
    )
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('totp_last_step')
    op.drop_table('login_throttles')
