"""Issue 18: several instances on one PostgreSQL — each outbox row in hand names its owner
(the instance that claimed it), and each instance holds a lease renewed while it lives, so
that only the rows of an instance whose lease has expired are marked uncertain

Revision ID: 0020_outbox_owner
Revises: 0019_listening
"""

from alembic import op
import sqlalchemy as sa


revision = '0020_outbox_owner'
down_revision = '0019_listening'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_owners',
    sa.Column('owner', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('owner', name=op.f('pk_outbox_owners'))
    )
    # A plain ADD COLUMN (nullable, no default): no batch copy of the outbox.
    op.add_column('outbox', sa.Column('owner', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_column('owner')
    op.drop_table('outbox_owners')
