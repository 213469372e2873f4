"""Operating the service: the erasure ledger (for restores) and the service's heartbeat

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erasures',
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('erased_on', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('address_hash', name=op.f('pk_erasures')),
    sqlite_with_rowid=False
    )
    op.create_table('service_heartbeat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_heartbeat'))
    )


def downgrade() -> None:
    op.drop_table('service_heartbeat')
    op.drop_table('erasures')
