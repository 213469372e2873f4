"""Recruiting (issue 16): sign-ups counted per series and invite source, the keyed markers
that let a sign-up be counted once he comes, and a cache of the bot's Telegram username

Revision ID: 0014_invites
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa


revision = '0014_invites'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invite_counts',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('signups', sa.Integer(), nullable=False),
    sa.Column('attended', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_invite_counts_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'source', name=op.f('pk_invite_counts'))
    )
    op.create_table('invite_markers',
    sa.Column('marker', sa.String(length=64), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_invite_markers_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('marker', name=op.f('pk_invite_markers'))
    )
    op.create_table('cached_facts',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cached_facts'))
    )


def downgrade() -> None:
    op.drop_table('cached_facts')
    op.drop_table('invite_markers')
    op.drop_table('invite_counts')
