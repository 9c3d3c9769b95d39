"""Join the trust revisions of issue 8 into one head.

Revision ID: 0005_trust_heads
Revises: 0004_accounts_trust, 0004_audit_keyed, 0004_camera_credentials, 0004_incident_custody, 0004_sequences
"""

from __future__ import annotations

revision = "0005_trust_heads"
down_revision = (
    "0004_accounts_trust",
    "0004_audit_keyed",
    "0004_camera_credentials",
    "0004_incident_custody",
    "0004_sequences",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the five revisions touch different tables."""


def downgrade() -> None:
    """Nothing to change."""
