"""Several instances on PostgreSQL (issue 18): WhatsApp media links served by any instance,
and a broadcast's last progress message kept with the broadcast

Revision ID: 0021_turns
Revises: 0019_listening
"""

from alembic import op
import sqlalchemy as sa


revision = '0021_turns'
down_revision = '0020_outbox_owner'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('whatsapp_media',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('clip_id', sa.Integer(), nullable=True),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['voice_clips.id'], name=op.f('fk_whatsapp_media_clip_id_voice_clips'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_whatsapp_media'))
    )
    op.create_index('ix_whatsapp_media_expires_at', 'whatsapp_media', ['expires_at'])
    # A plain ADD COLUMN (see 0019_listening): a batch copy of broadcasts is not needed.
    op.add_column('broadcasts', sa.Column('progress_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('broadcasts') as batch:
        batch.drop_column('progress_at')
    op.drop_index('ix_whatsapp_media_expires_at', table_name='whatsapp_media')
    op.drop_table('whatsapp_media')
