"""Issue 19: the .ics file's SEQUENCE per series, and the sign-up and check-in funnel counters

Revision ID: 0017_funnel
Revises: 0016_voice
"""

from alembic import op
import sqlalchemy as sa


revision = '0017_funnel'
down_revision = '0016_voice'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('series') as batch:
        batch.add_column(sa.Column('calendar_sequence', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('funnel_counts',
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('flow', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('week', 'flow', 'step', 'language', name=op.f('pk_funnel_counts'))
    )


def downgrade() -> None:
    op.drop_table('funnel_counts')
    with op.batch_alter_table('series') as batch:
        batch.drop_column('calendar_sequence')
