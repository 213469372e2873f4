"""Issue 17 §2: the anonymous listening poll (what keeps men away, what would draw them in)

Revision ID: 0019_listening
Revises: 0018_statements
"""

from alembic import op
import sqlalchemy as sa


revision = '0019_listening'
down_revision = '0018_statements'
branch_labels = None
depends_on = None


def _answer_columns() -> list:
    return [
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('iso_week', sa.String(length=8), nullable=False),
        sa.Column('area', sa.String(length=64), nullable=True),
        sa.Column('barriers', sa.Integer(), nullable=True),
        sa.Column('interests', sa.Integer(), nullable=True),
        sa.Column('day_parts', sa.Integer(), nullable=True),
    ]


def upgrade() -> None:
    for name in ('listening_responses', 'listening_pool'):
        op.create_table(name, *_answer_columns(), sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
                        sqlite_with_rowid=False)
    op.create_table('listening_markers',
    sa.Column('marker', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('marker', name=op.f('pk_listening_markers')),
    sqlite_with_rowid=False
    )
    # A plain ADD COLUMN: a batch (copy, drop, rename) of participants would drop it with
    # foreign keys on, and ON DELETE CASCADE would take every sign-up with it.
    op.add_column('participants', sa.Column('listening_offered', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('participants') as batch:
        batch.drop_column('listening_offered')
    op.drop_table('listening_markers')
    op.drop_table('listening_pool')
    op.drop_table('listening_responses')
