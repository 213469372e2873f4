"""Peer facilitators (issue 16 part 4): facilitators of series, the form after each meeting,
its requests, living-room talks, and series whose place is told only after sign-up

Revision ID: 0015_facilitators
Revises: 0014_invites
"""

from alembic import op
import sqlalchemy as sa


revision = '0015_facilitators'
down_revision = '0014_invites'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN, not a batch rebuild: a rebuilt series table would lose its catalog triggers.
    op.add_column('series', sa.Column('place_private', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('facilitators',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_facilitators_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel', 'address', 'series_id', name=op.f('pk_facilitators'))
    )
    op.create_index('ix_facilitators_series', 'facilitators', ['series_id'], unique=False)
    op.create_table('meeting_reports',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('men_present', sa.Integer(), nullable=True),
    sa.Column('themes', sa.String(length=200), nullable=False),
    sa.Column('exercises', sa.String(length=300), nullable=True),
    sa.Column('atmosphere', sa.Integer(), nullable=True),
    sa.Column('outcomes', sa.Text(), nullable=True),
    sa.Column('follow_up', sa.Integer(), nullable=False),
    sa.Column('follow_up_text', sa.String(length=500), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('filled_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_reports_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meeting_id', name=op.f('pk_meeting_reports'))
    )
    op.create_table('report_requests',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_report_requests_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meeting_id', 'channel', 'address', 'kind', name=op.f('pk_report_requests'))
    )
    op.create_table('living_room_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_living_room_proposals_series_id_series'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_living_room_proposals'))
    )


def downgrade() -> None:
    op.drop_table('living_room_proposals')
    op.drop_table('report_requests')
    op.drop_table('meeting_reports')
    op.drop_index('ix_facilitators_series', table_name='facilitators')
    op.drop_table('facilitators')
    op.drop_column('series', 'place_private')  # SQLite 3.35+: no rebuild, the triggers stay
