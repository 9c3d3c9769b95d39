"""incidents: who took an incident, and the operator's review of a hand-made police report (Art. 9 ⑤)

Revision ID: 0004_incident_custody
Revises: 0003_evidence
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = "0004_incident_custody"
down_revision = "0003_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("taken_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("taken_by_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_required", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reviewed_by_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for column in (
            "reviewed_at",
            "reviewed_by_name",
            "review_required",
            "taken_at",
            "taken_by_name",
            "taken_by_id",
        ):
            batch.drop_column(column)
