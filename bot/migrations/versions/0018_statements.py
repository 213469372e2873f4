"""Issue 17 §1: statements before and after a series (catalogue, choice per series, anonymous answers)

Revision ID: 0018_statements
Revises: 0017_funnel
"""

from alembic import op
import sqlalchemy as sa


revision = '0018_statements'
down_revision = '0017_funnel'
branch_labels = None
depends_on = None


def _answers(name: str) -> None:
    op.create_table(name,
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=8), nullable=False),
    sa.Column('iso_week', sa.String(length=8), nullable=False),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
    sqlite_with_rowid=False,
    )


def upgrade() -> None:
    op.create_table('statements',
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('nl', sa.Text(), nullable=False),
    sa.Column('ar', sa.Text(), nullable=False),
    sa.Column('so', sa.Text(), nullable=False),
    sa.Column('en', sa.Text(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_statements'))
    )
    op.create_table('series_statements',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_series_statements_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'position', name=op.f('pk_series_statements'))
    )
    _answers('statement_responses')
    _answers('statement_pool')
    op.create_table('statement_markers',
    sa.Column('marker', sa.String(length=64), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('marker', name=op.f('pk_statement_markers')),
    sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for name in ('statement_markers', 'statement_pool', 'statement_responses', 'series_statements', 'statements'):
        op.drop_table(name)
