"""Voice notes (issue 19): coordinators' recorded clips, per broadcast language and per series reminder

Revision ID: 0016_voice
Revises: 0013_console_finish
"""

from alembic import op
import sqlalchemy as sa


revision = '0016_voice'
down_revision = '0013_console_finish'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voice_clips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audio', sa.LargeBinary(), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.Column('telegram_file_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_clips'))
    )
    op.create_table('series_voices',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_series_voices_series_id_series'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['clip_id'], ['voice_clips.id'], name=op.f('fk_series_voices_clip_id_voice_clips'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'language', name=op.f('pk_series_voices'))
    )
    op.create_table('broadcast_voices',
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_broadcast_voices_broadcast_id_broadcasts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['clip_id'], ['voice_clips.id'], name=op.f('fk_broadcast_voices_clip_id_voice_clips'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('broadcast_id', 'language', name=op.f('pk_broadcast_voices'))
    )


def downgrade() -> None:
    op.drop_table('broadcast_voices')
    op.drop_table('series_voices')
    op.drop_table('voice_clips')
