"""The polls' pools keep an answer as one sealed column (bot/store/sealing.py)

Each pool (checkin_pool, statement_pool, listening_pool) becomes id, iso_week and ``sealed``:
the rest of the answer as one JSON object, which the service seals with its key. The rows
already pooled (a week at most) are carried over as plain JSON, which the store reads as it
is; the next answer added to a pool rewrites the whole pool, sealed (bot.store.checkins.pool),
and the weekly move takes them out in any case. The other sealed columns (conversation state,
inbound and outbox payloads, WhatsApp's kept messages and shown choices) keep their type:
their plain values are read as before, and each is sealed when it is next written.

Revision ID: 0022_sealed
Revises: 0021_turns
"""

import json

from alembic import op
import sqlalchemy as sa


revision = '0022_sealed'
down_revision = '0021_turns'
branch_labels = None
depends_on = None

_CHECKIN = ['language', 'area', 'item1', 'item2', 'item3', 'item4', 'item5', 'item6',
            'emotional', 'social', 'total', 'took_part', 'worthwhile', 'first_in_month']
_STATEMENT = ['series_id', 'phase', 'answers']
_LISTENING = ['area', 'barriers', 'interests', 'day_parts']


def _checkin_columns():
    return [
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('area', sa.String(length=64), nullable=True),
        *[sa.Column(f'item{n}', sa.Integer(), nullable=True) for n in range(1, 7)],
        *[sa.Column(name, sa.Integer(), nullable=True)
          for name in ('emotional', 'social', 'total', 'took_part', 'worthwhile', 'first_in_month')],
    ]


def _statement_columns():
    return [
        sa.Column('series_id', sa.Integer(), nullable=False),
        sa.Column('phase', sa.String(length=8), nullable=False),
        sa.Column('answers', sa.Text(), nullable=False),
    ]


def _listening_columns():
    return [
        sa.Column('area', sa.String(length=64), nullable=True),
        *[sa.Column(name, sa.Integer(), nullable=True) for name in ('barriers', 'interests', 'day_parts')],
    ]


_POOLS = {
    'checkin_pool': (_CHECKIN, _checkin_columns),
    'statement_pool': (_STATEMENT, _statement_columns),
    'listening_pool': (_LISTENING, _listening_columns),
}


def _create(name: str, columns: list) -> sa.Table:
    """The pool anew (WITHOUT ROWID on SQLite, as before), returned for inserting into."""
    op.create_table(
        name,
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('iso_week', sa.String(length=8), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
        sqlite_with_rowid=False,
    )
    return sa.table(name, sa.column('id'), sa.column('iso_week'), *[sa.column(c.name) for c in columns])


def upgrade() -> None:
    bind = op.get_bind()
    for name, (fields, _columns) in _POOLS.items():
        rows = [dict(row._mapping) for row in bind.execute(sa.text(f'SELECT * FROM {name}'))]
        op.drop_table(name)
        table = _create(name, [sa.Column('sealed', sa.Text(), nullable=False)])
        if rows:
            op.bulk_insert(table, [
                {'id': row['id'], 'iso_week': row['iso_week'],
                 'sealed': json.dumps({field: row[field] for field in fields}, separators=(',', ':'), sort_keys=True)}
                for row in rows
            ])


def downgrade() -> None:
    # Opens sealed rows with the key of the Database that runs the migration (its dialect).
    from bot.store.sealing import SealedText

    bind = op.get_bind()
    for name, (fields, columns) in _POOLS.items():
        pooled = sa.table(name, sa.column('id'), sa.column('iso_week'), sa.column('sealed', SealedText(f'{name}.sealed')))
        rows = [dict(row._mapping) for row in bind.execute(sa.select(pooled))]
        op.drop_table(name)
        table = _create(name, columns())
        if rows:
            op.bulk_insert(table, [
                {'id': row['id'], 'iso_week': row['iso_week'],
                 **{field: json.loads(row['sealed']).get(field) for field in fields}}
                for row in rows
            ])
