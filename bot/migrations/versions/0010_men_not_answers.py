"""The report's rule of 10 counts men, not answers (a man may answer once a week)

- ``first_in_month`` on ``checkin_pool`` and ``checkin_responses``: 1 for the first answer of
  its man in its report month, 0 for a later one (``bot.store.checkins.record``). The answers
  stored before have none (NULL), and count **no man**: nothing proves which of them were
  different men, so the safe bound is zero. A month whose answers are all from before this
  migration shows nothing; the month that is running counts the men who answer from now on.
- ``checkin_month_markers``: "he has checked in this report month", keyed like a week's
  marker, until the month is over. Empty at first: every man's next answer counts him once.
- the report's covering index gets the new column after week, area and language: the report
  groups on it too, and still reads the index in order and no table rows.
- months already published (``published_figures``) counted answers as men: they are
  withdrawn — kept, so that they are never worked out again, but showing nothing. Hiding what
  was shown tells nothing new; working such a month out again under the new rule could show
  other cells than before, and the two together could give a small group away.

Revision ID: 0010
Revises: 0009
"""

import json

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OLD_INDEX = ['iso_week', 'area', 'language', 'total', 'emotional', 'social', 'took_part', 'worthwhile']


def upgrade() -> None:
    connection = op.get_bind()
    for table in ('checkin_pool', 'checkin_responses'):
        op.add_column(table, sa.Column('first_in_month', sa.Integer(), nullable=True))
    op.drop_index('ix_checkin_responses_report', table_name='checkin_responses')
    op.create_index('ix_checkin_responses_report', 'checkin_responses',
                    [*OLD_INDEX[:3], 'first_in_month', *OLD_INDEX[3:]], unique=False)
    op.create_table('checkin_month_markers',
    sa.Column('marker', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.PrimaryKeyConstraint('marker', name=op.f('pk_checkin_month_markers')),
    sqlite_with_rowid=False
    )
    published = list(connection.execute(sa.text('SELECT month, content FROM published_figures')))
    for month, content in published:
        withdrawn = {**json.loads(content), 'members': {}}
        connection.execute(
            sa.text('UPDATE published_figures SET content = :content WHERE month = :month'),
            {'content': json.dumps(withdrawn, sort_keys=True), 'month': month},
        )


def downgrade() -> None:
    """The withdrawn months stay withdrawn: what they showed was not kept."""
    op.drop_table('checkin_month_markers')
    op.drop_index('ix_checkin_responses_report', table_name='checkin_responses')
    op.create_index('ix_checkin_responses_report', 'checkin_responses', OLD_INDEX, unique=False)
    for table in ('checkin_pool', 'checkin_responses'):
        op.drop_column(table, 'first_in_month')
