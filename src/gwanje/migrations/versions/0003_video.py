"""video: recording settings, recorded segments, clips

Revision ID: 0003_video
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_video'
down_revision = "0003_access"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'video_recording_settings',
        sa.Column('camera_id', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('segment_seconds', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'],
                                name=op.f('fk_video_recording_settings_camera_id_cameras'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('camera_id', name=op.f('pk_video_recording_settings')),
    )
    op.create_table(
        'video_segments',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('camera_id', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('bytes', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('video_codec', sa.String(length=20), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('destroyed_reason', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'],
                                name=op.f('fk_video_segments_camera_id_cameras'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_video_segments')),
        sa.UniqueConstraint('path', name=op.f('uq_video_segments_path')),
    )
    op.create_index('ix_video_segments_camera_started', 'video_segments', ['camera_id', 'started_at'])
    op.create_index('ix_video_segments_destroyed_ended', 'video_segments', ['destroyed_at', 'ended_at'])
    op.create_table(
        'video_clips',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('camera_id', sa.Integer(), nullable=False),
        sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('bytes', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('duration_s', sa.Float(), nullable=False),
        sa.Column('segment_ids', sa.Text(), nullable=False),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_by_name', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('destroyed_reason', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'],
                                name=op.f('fk_video_clips_camera_id_cameras'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_video_clips')),
        sa.UniqueConstraint('path', name=op.f('uq_video_clips_path')),
    )
    op.create_index('ix_video_clips_lookup', 'video_clips', ['camera_id', 'kind', 'start_at', 'end_at'])


def downgrade() -> None:
    op.drop_index('ix_video_clips_lookup', table_name='video_clips')
    op.drop_table('video_clips')
    op.drop_index('ix_video_segments_destroyed_ended', table_name='video_segments')
    op.drop_index('ix_video_segments_camera_started', table_name='video_segments')
    op.drop_table('video_segments')
    op.drop_table('video_recording_settings')
