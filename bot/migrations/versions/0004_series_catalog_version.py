"""The series catalog's version, bumped by triggers on every change to what the series
overview shows (series, meetings, sign-ups, waiting-list offers)

Triggers rather than application code, so that no writer can forget: the running service,
the command line in another process, a cascade from an erased participant. The engine keeps
the overview in memory for as long as the version it reads stays the same
(``bot.store.series.Catalog``).

On PostgreSQL the bump is a deferred constraint trigger: it takes the version row's lock
only at commit, after every other lock of the transaction, so it adds no lock-order
deadlock to the row locks taken by the sign-up.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

WATCHED = ('series', 'meetings', 'signups', 'waitlist_offers')
CHANGES = ('INSERT', 'UPDATE', 'DELETE')
BUMP = 'UPDATE series_catalog SET version = version + 1'


def upgrade() -> None:
    catalog = op.create_table('series_catalog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series_catalog'))
    )
    op.bulk_insert(catalog, [{'id': 1, 'version': 0}])
    if op.get_context().dialect.name == 'postgresql':
        op.execute(
            'CREATE FUNCTION bump_series_catalog() RETURNS trigger LANGUAGE plpgsql AS '
            f'$$ BEGIN {BUMP}; RETURN NULL; END $$'
        )
        for table in WATCHED:
            op.execute(
                f'CREATE CONSTRAINT TRIGGER tr_{table}_catalog AFTER INSERT OR UPDATE OR DELETE '
                f'ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                'EXECUTE FUNCTION bump_series_catalog()'
            )
    else:
        for table in WATCHED:
            for change in CHANGES:
                op.execute(
                    f'CREATE TRIGGER tr_{table}_{change.lower()}_catalog AFTER {change} ON {table} '
                    f'BEGIN {BUMP}; END'
                )


def downgrade() -> None:
    if op.get_context().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f'DROP TRIGGER tr_{table}_catalog ON {table}')
        op.execute('DROP FUNCTION bump_series_catalog()')
    else:
        for table in WATCHED:
            for change in CHANGES:
                op.execute(f'DROP TRIGGER tr_{table}_{change.lower()}_catalog')
    op.drop_table('series_catalog')
