"""WhatsApp: sent messages (for status callbacks) and the numbered choices shown last

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('whatsapp_messages',
    sa.Column('sid', sa.String(length=34), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_whatsapp_messages_outbox_id_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_whatsapp_messages'))
    )
    with op.batch_alter_table('whatsapp_messages', schema=None) as batch_op:
        batch_op.create_index('ix_whatsapp_messages_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_whatsapp_messages_outbox_id', ['outbox_id'], unique=False)

    op.create_table('whatsapp_choices',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('question', sa.Integer(), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('shown_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['channel', 'address'], ['conversations.channel', 'conversations.address'], name=op.f('fk_whatsapp_choices_channel_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel', 'address', name=op.f('pk_whatsapp_choices'))
    )


def downgrade() -> None:
    op.drop_table('whatsapp_choices')
    with op.batch_alter_table('whatsapp_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_whatsapp_messages_outbox_id')
        batch_op.drop_index('ix_whatsapp_messages_created_at')

    op.drop_table('whatsapp_messages')
