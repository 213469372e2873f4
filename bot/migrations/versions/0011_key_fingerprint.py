"""The database remembers which MEEDOEN_SECRET_KEY it was made with (a fingerprint of it)

One row: an HMAC of a fixed label with the key, never the key itself. ``meedoen run`` refuses
to start with another key, and ``meedoen db restore`` refuses when the erasure ledger could
not be checked with the key given (bot/store/key_fingerprint.py).

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('key_fingerprint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_fingerprint'))
    )


def downgrade() -> None:
    op.drop_table('key_fingerprint')
