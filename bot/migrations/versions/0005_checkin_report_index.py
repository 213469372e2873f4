"""A covering index for the report: check-in responses in (week, area, language) order

With it SQLite groups a million responses by reading the index in order, instead of sorting
them all on every ``meedoen report`` (bot/analytics/report.py); the answer columns are in the index too,
so the table itself is not read. See docs/benchmarks.md, "Report".

Revision ID: 0005
Revises: 0004
"""

from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

COLUMNS = ['iso_week', 'area', 'language', 'total', 'emotional', 'social', 'took_part', 'worthwhile']


def upgrade() -> None:
    op.create_index('ix_checkin_responses_report', 'checkin_responses', COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index('ix_checkin_responses_report', table_name='checkin_responses')
