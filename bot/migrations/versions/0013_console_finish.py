"""The web console, finished (issue 15): open help requests, and indexes for its pages

- ``help_requests``: "he would like a coordinator to get in touch", until a coordinator marks
  it done. Only his participant id (erased with him by the cascade) and the moment it became
  visible; nothing of the check-in it came from;
- an index of sign-ups by series and status, and of meetings by series and start, so that a
  page of the overview counts seats and finds next meetings without reading whole tables.

Revision ID: 0013_console_finish
Revises: 0015_facilitators
"""

from alembic import op
import sqlalchemy as sa


revision = '0013_console_finish'
down_revision = '0015_facilitators'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('help_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('asked_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_help_requests_participant_id_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_requests'))
    )
    op.create_index('ix_help_requests_open', 'help_requests', ['resolved_at', 'asked_at'], unique=False)
    op.create_index('ix_help_requests_participant', 'help_requests', ['participant_id'], unique=False)
    op.create_index('ix_signups_series_status', 'signups', ['series_id', 'status'], unique=False)
    op.create_index('ix_meetings_series_starts_at', 'meetings', ['series_id', 'starts_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_meetings_series_starts_at', table_name='meetings')
    op.drop_index('ix_signups_series_status', table_name='signups')
    op.drop_index('ix_help_requests_participant', table_name='help_requests')
    op.drop_index('ix_help_requests_open', table_name='help_requests')
    op.drop_table('help_requests')
