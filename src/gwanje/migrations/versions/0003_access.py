"""access: incident cameras, provision and subject requests, retention holds, ledger

Revision ID: 0003_access
Revises: 0002
Create Date: 2026-11-27

The ledger (개인영상정보 관리대장) is append-only like the audit log: triggers refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL). A correction is a new row.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_access'
down_revision = '0002'
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'incident_cameras',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('camera_id', sa.Integer(), nullable=False),
        sa.Column('attached_by_id', sa.Integer(), nullable=True),
        sa.Column('attached_by_name', sa.String(length=200), nullable=False),
        _ts('attached_at', nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_incident_cameras_camera_id_cameras'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'],
                                name=op.f('fk_incident_cameras_incident_id_incidents'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_cameras')),
        sa.UniqueConstraint('incident_id', 'camera_id', name='uq_incident_cameras_incident_camera'),
    )
    op.create_index(op.f('ix_incident_cameras_incident_id'), 'incident_cameras', ['incident_id'], unique=False)

    op.create_table(
        'provision_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=30), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=False),
        sa.Column('requester_name', sa.String(length=200), nullable=False),
        sa.Column('requester_role', sa.String(length=40), nullable=False),
        sa.Column('organisation', sa.String(length=40), nullable=False),
        sa.Column('camera_ids', sa.String(length=2000), nullable=False),
        _ts('period_start', nullable=False),
        _ts('period_end', nullable=False),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('legal_ground', sa.String(length=40), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('document_number', sa.String(length=100), nullable=True),
        sa.Column('document_path', sa.String(length=500), nullable=True),
        sa.Column('document_sha256', sa.String(length=64), nullable=True),
        sa.Column('document_content_type', sa.String(length=40), nullable=True),
        sa.Column('document_size', sa.Integer(), nullable=True),
        _ts('document_received_at'),
        _ts('document_due_at'),
        _ts('document_overdue_notified_at'),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_by_name', sa.String(length=200), nullable=True),
        _ts('decided_at'),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        _ts('provided_at'),
        sa.Column('export_ref', sa.String(length=200), nullable=True),
        _ts('usage_result_due_at'),
        _ts('usage_result_overdue_notified_at'),
        sa.Column('usage_result', sa.Text(), nullable=True),
        sa.Column('usage_outcome', sa.String(length=40), nullable=True),
        _ts('usage_result_entered_at'),
        sa.Column('usage_result_by_name', sa.String(length=200), nullable=True),
        _ts('created_at', nullable=False),
        _ts('updated_at', nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'],
                                name=op.f('fk_provision_requests_incident_id_incidents'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['requester_id'], ['users.id'],
                                name=op.f('fk_provision_requests_requester_id_users'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_provision_requests')),
    )
    for column in ('status', 'requester_id', 'document_due_at', 'usage_result_due_at'):
        op.create_index(op.f(f'ix_provision_requests_{column}'), 'provision_requests', [column], unique=False)

    op.create_table(
        'subject_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('requester_name', sa.String(length=120), nullable=False),
        sa.Column('requester_contact', sa.String(length=200), nullable=True),
        sa.Column('identity_method', sa.String(length=40), nullable=False),
        sa.Column('identity_verified_by_id', sa.Integer(), nullable=True),
        sa.Column('identity_verified_by_name', sa.String(length=200), nullable=False),
        _ts('identity_verified_at', nullable=False),
        sa.Column('camera_ids', sa.String(length=2000), nullable=False),
        _ts('period_start', nullable=False),
        _ts('period_end', nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        _ts('received_at', nullable=False),
        _ts('due_at', nullable=False),
        _ts('overdue_notified_at'),
        sa.Column('outcome_reason', sa.String(length=40), nullable=True),
        sa.Column('outcome_note', sa.Text(), nullable=True),
        sa.Column('mask_others', sa.Boolean(), nullable=False),
        sa.Column('decided_by_name', sa.String(length=200), nullable=True),
        _ts('decided_at'),
        sa.Column('export_ref', sa.String(length=200), nullable=True),
        _ts('created_at', nullable=False),
        _ts('updated_at', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_requests')),
    )
    op.create_index(op.f('ix_subject_requests_status'), 'subject_requests', ['status'], unique=False)
    op.create_index(op.f('ix_subject_requests_due_at'), 'subject_requests', ['due_at'], unique=False)

    op.create_table(
        'retention_holds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('object_type', sa.String(length=40), nullable=False),
        sa.Column('object_id', sa.String(length=120), nullable=False),
        sa.Column('legal_basis', sa.Text(), nullable=False),
        sa.Column('request_number', sa.String(length=100), nullable=True),
        sa.Column('placed_by_id', sa.Integer(), nullable=True),
        sa.Column('placed_by_name', sa.String(length=200), nullable=False),
        _ts('placed_at', nullable=False),
        _ts('released_at'),
        sa.Column('released_by_name', sa.String(length=200), nullable=True),
        sa.Column('release_reason', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_holds')),
    )
    op.create_index('ix_retention_holds_object', 'retention_holds', ['object_type', 'object_id'], unique=False)

    op.create_table(
        'ledger_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        _ts('recorded_at', nullable=False),
        sa.Column('recipient', sa.String(length=200), nullable=True),
        sa.Column('recipient_organisation', sa.String(length=120), nullable=True),
        sa.Column('purpose', sa.String(length=40), nullable=True),
        sa.Column('legal_ground', sa.String(length=200), nullable=True),
        sa.Column('items', sa.Text(), nullable=False),
        sa.Column('camera_ids', sa.String(length=2000), nullable=False),
        _ts('period_start'),
        _ts('period_end'),
        _ts('occurred_at', nullable=False),
        _ts('retention_until'),
        sa.Column('method', sa.String(length=40), nullable=False),
        sa.Column('handler_id', sa.Integer(), nullable=True),
        sa.Column('handler_name', sa.String(length=200), nullable=False),
        sa.Column('reference_type', sa.String(length=40), nullable=True),
        sa.Column('reference_id', sa.String(length=120), nullable=True),
        sa.Column('clause', sa.String(length=60), nullable=True),
        sa.Column('audit_seq', sa.Integer(), nullable=True),
        sa.Column('corrects_id', sa.Integer(), nullable=True),
        sa.Column('correction_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['corrects_id'], ['ledger_entries.id'],
                                name=op.f('fk_ledger_entries_corrects_id_ledger_entries'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    )
    op.create_index(op.f('ix_ledger_entries_kind'), 'ledger_entries', ['kind'], unique=False)
    op.create_index(op.f('ix_ledger_entries_recorded_at'), 'ledger_entries', ['recorded_at'], unique=False)
    op.create_index('ix_ledger_entries_reference', 'ledger_entries', ['reference_type', 'reference_id'],
                    unique=False)
    _ledger_append_only_up()


SQLITE_TRIGGERS = [
    """CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only: DELETE refused'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION gwanje_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION gwanje_ledger_append_only()""",
    """CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
       FOR EACH STATEMENT EXECUTE FUNCTION gwanje_ledger_append_only()""",
]


def _ledger_append_only_up() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def _ledger_append_only_down() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update_delete ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS gwanje_ledger_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")


def downgrade() -> None:
    _ledger_append_only_down()
    op.drop_index('ix_ledger_entries_reference', table_name='ledger_entries')
    op.drop_index(op.f('ix_ledger_entries_recorded_at'), table_name='ledger_entries')
    op.drop_index(op.f('ix_ledger_entries_kind'), table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index('ix_retention_holds_object', table_name='retention_holds')
    op.drop_table('retention_holds')
    op.drop_index(op.f('ix_subject_requests_due_at'), table_name='subject_requests')
    op.drop_index(op.f('ix_subject_requests_status'), table_name='subject_requests')
    op.drop_table('subject_requests')
    for column in ('usage_result_due_at', 'document_due_at', 'requester_id', 'status'):
        op.drop_index(op.f(f'ix_provision_requests_{column}'), table_name='provision_requests')
    op.drop_table('provision_requests')
    op.drop_index(op.f('ix_incident_cameras_incident_id'), table_name='incident_cameras')
    op.drop_table('incident_cameras')
