"""Published figures: what the report has shown of each closed month, frozen

A month's check-in figures are worked out and protected once, at the first report after the
month is closed, and shown from this table ever after (bot/analytics/report.py, docs/report-privacy.md):
a later report cannot differ from an earlier one by a response that came in late.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'published_figures',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('month', name=op.f('pk_published_figures')),
    )


def downgrade() -> None:
    op.drop_table('published_figures')
