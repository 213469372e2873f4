"""Incoming updates are stored before they are acknowledged, and deleted once handled

A webhook answered 200 (or a polled batch acknowledged with the next offset) is never sent
again by the platform; keeping the raw update until the transaction that handles it commits
means a crash in between loses nothing (bot/store/inbound.py).

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('update_id', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_updates')),
    sa.UniqueConstraint('channel', 'update_id', name='uq_inbound_updates_channel')
    )
    op.create_index('ix_inbound_updates_address', 'inbound_updates', ['channel', 'address'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbound_updates_address', table_name='inbound_updates')
    op.drop_table('inbound_updates')
