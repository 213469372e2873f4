"""Check-ins that cannot be tied to a man by order or time (issue 11)

- ``checkin_pool``: this ISO week's finished check-ins (same columns as ``checkin_responses``),
  rewritten in key order on every insert and moved to ``checkin_responses`` in a random order
  when the week is over (``bot.store.checkins``);
- ``checkin_markers`` gets the week, so a week's markers can be erased when it is over (the
  markers already there are treated as this week's: they are gone a week later);
- the responses already stored are written again in a random order under new ids, with their
  language and area coarsened against today's sign-ups (``bot.store.anonymity``);
- an index of participants by language and area, for the count each check-in makes;
- per-man times become as coarse as their use allows: ``participants.last_inbound_at`` only
  for WhatsApp (its 24-hour window) and to the hour, ``conversations.updated_at`` and
  ``whatsapp_choices.shown_at`` to the day.

Revision ID: 0008
Revises: 0007
"""

import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ANSWER_COLUMNS = (
    'iso_week', 'language', 'area', 'item1', 'item2', 'item3', 'item4', 'item5', 'item6',
    'emotional', 'social', 'total', 'took_part', 'worthwhile',
)


def _answer_columns():
    return [
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('iso_week', sa.String(length=8), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('area', sa.String(length=64), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=True) for name in ANSWER_COLUMNS[3:]),
    ]


def _this_week() -> str:
    year, week, _day = datetime.now(timezone.utc).isocalendar()
    return f'{year}-W{week:02d}'


def upgrade() -> None:
    connection = op.get_bind()
    op.create_index('ix_participants_language_area', 'participants', ['language', 'area'], unique=False)
    op.create_table('checkin_pool', *_answer_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_pool')),
    sqlite_with_rowid=False
    )
    old_markers = [row[0] for row in connection.execute(sa.text('SELECT marker FROM checkin_markers'))]
    op.drop_table('checkin_markers')
    markers = op.create_table('checkin_markers',
    sa.Column('marker', sa.String(length=64), nullable=False),
    sa.Column('iso_week', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('marker', name=op.f('pk_checkin_markers')),
    sqlite_with_rowid=False
    )
    week = _this_week()
    op.bulk_insert(markers, [{'marker': m, 'iso_week': week} for m in sorted(old_markers)])
    _shuffle_and_coarsen_responses(connection)
    _coarsen_times(connection)


def _shuffle_and_coarsen_responses(connection) -> None:
    from bot.store.anonymity import Generalisation, population_of_rows

    names = ', '.join(ANSWER_COLUMNS)
    rows = [dict(row._mapping) for row in connection.execute(sa.text(f'SELECT {names} FROM checkin_responses'))]
    if not rows:
        return
    counts = population_of_rows(connection.execute(sa.text('SELECT language, area FROM participants')))
    rule = Generalisation.of(counts)
    if rule is None:  # fewer than 5 men signed up: no answer may stay
        rows = []
    for row in rows:
        row['language'], row['area'] = rule.stored_as(row['language'], row['area'])
        row['id'] = secrets.token_hex(16)
    secrets.SystemRandom().shuffle(rows)
    connection.execute(sa.text('DELETE FROM checkin_responses'))
    if rows:
        connection.execute(
            sa.text(f'INSERT INTO checkin_responses (id, {names}) VALUES (:id, {", ".join(":" + n for n in ANSWER_COLUMNS)})'),
            rows,
        )


def _coarsen_times(connection) -> None:
    connection.execute(sa.text("UPDATE participants SET last_inbound_at = NULL WHERE channel <> 'whatsapp'"))
    for table, column, key, floor in (
        ('participants', 'last_inbound_at', ('id',), lambda t: t.replace(minute=0, second=0, microsecond=0)),
        ('conversations', 'updated_at', ('channel', 'address'), lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0)),
        ('whatsapp_choices', 'shown_at', ('channel', 'address'), lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0)),
    ):
        moments = sa.table(table, sa.column(column, sa.DateTime()), *(sa.column(k) for k in key))
        for row in connection.execute(sa.select(moments).where(moments.c[column].is_not(None))).mappings().all():
            connection.execute(
                sa.update(moments)
                .where(*(moments.c[k] == row[k] for k in key))
                .values({column: floor(row[column])})
            )


def downgrade() -> None:
    connection = op.get_bind()
    op.drop_index('ix_participants_language_area', table_name='participants')
    names = ', '.join(ANSWER_COLUMNS)
    connection.execute(sa.text(f'INSERT INTO checkin_responses (id, {names}) SELECT id, {names} FROM checkin_pool'))
    op.drop_table('checkin_pool')
    old_markers = [row[0] for row in connection.execute(sa.text('SELECT marker FROM checkin_markers'))]
    op.drop_table('checkin_markers')
    markers = op.create_table('checkin_markers',
    sa.Column('marker', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('marker', name=op.f('pk_checkin_markers')),
    sqlite_with_rowid=False
    )
    op.bulk_insert(markers, [{'marker': m} for m in old_markers])
