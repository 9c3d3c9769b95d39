"""evidence: packages, download links, chain of custody

Revision ID: 0003_evidence
Revises: 0002
Create Date: 2026-11-26

Custody entries are append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL), the same pattern as audit_log in 0001.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_evidence'
down_revision = '0003_video'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evidence_packages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_uid', sa.String(length=40), nullable=False),
    sa.Column('request_ref', sa.String(length=120), nullable=False),
    sa.Column('purpose', sa.String(length=60), nullable=False),
    sa.Column('recipient_user_id', sa.Integer(), nullable=False),
    sa.Column('recipient_name', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('clip_count', sa.Integer(), nullable=False),
    sa.Column('camera_ids', sa.String(length=500), nullable=False),
    sa.Column('masked', sa.Boolean(), nullable=False),
    sa.Column('watermarked', sa.Boolean(), nullable=False),
    sa.Column('detector', sa.String(length=200), nullable=True),
    sa.Column('password_channel', sa.String(length=60), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recipient_user_id'], ['users.id'],
                            name=op.f('fk_evidence_packages_recipient_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_packages')),
    sa.UniqueConstraint('package_uid', name=op.f('uq_evidence_packages_package_uid'))
    )
    with op.batch_alter_table('evidence_packages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_packages_request_ref'), ['request_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_packages_recipient_user_id'), ['recipient_user_id'],
                              unique=False)

    op.create_table('evidence_download_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('recipient_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('used_count', sa.Integer(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['package_id'], ['evidence_packages.id'],
                            name=op.f('fk_evidence_download_links_package_id_evidence_packages'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recipient_user_id'], ['users.id'],
                            name=op.f('fk_evidence_download_links_recipient_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_download_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_evidence_download_links_token_hash'))
    )
    with op.batch_alter_table('evidence_download_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_download_links_package_id'), ['package_id'], unique=False)

    op.create_table('evidence_custody',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=40), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['evidence_packages.id'],
                            name=op.f('fk_evidence_custody_package_id_evidence_packages'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_custody')),
    sa.UniqueConstraint('hash', name=op.f('uq_evidence_custody_hash')),
    sa.UniqueConstraint('package_id', 'seq', name=op.f('uq_evidence_custody_package_id'))
    )
    with op.batch_alter_table('evidence_custody', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_custody_package_id'), ['package_id'], unique=False)

    _custody_append_only_up()


SQLITE_TRIGGERS = [
    """CREATE TRIGGER evidence_custody_no_update BEFORE UPDATE ON evidence_custody
       BEGIN SELECT RAISE(ABORT, 'evidence_custody is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER evidence_custody_no_delete BEFORE DELETE ON evidence_custody
       BEGIN SELECT RAISE(ABORT, 'evidence_custody is append-only: DELETE refused'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION gwanje_evidence_custody_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'evidence_custody is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER evidence_custody_no_update_delete BEFORE UPDATE OR DELETE ON evidence_custody
       FOR EACH ROW EXECUTE FUNCTION gwanje_evidence_custody_append_only()""",
    """CREATE TRIGGER evidence_custody_no_truncate BEFORE TRUNCATE ON evidence_custody
       FOR EACH STATEMENT EXECUTE FUNCTION gwanje_evidence_custody_append_only()""",
]


def _custody_append_only_up() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def _custody_append_only_down() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS evidence_custody_no_truncate ON evidence_custody")
        op.execute("DROP TRIGGER IF EXISTS evidence_custody_no_update_delete ON evidence_custody")
        op.execute("DROP FUNCTION IF EXISTS gwanje_evidence_custody_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS evidence_custody_no_update")
        op.execute("DROP TRIGGER IF EXISTS evidence_custody_no_delete")


def downgrade() -> None:
    _custody_append_only_down()
    with op.batch_alter_table('evidence_custody', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_custody_package_id'))
    op.drop_table('evidence_custody')
    with op.batch_alter_table('evidence_download_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_download_links_package_id'))
    op.drop_table('evidence_download_links')
    with op.batch_alter_table('evidence_packages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_packages_recipient_user_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_packages_request_ref'))
    op.drop_table('evidence_packages')
