"""someone always hears: errand look-ins, claimed check-in look-ins

Revision ID: 0011
Revises: 0015
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types


revision: str = '0011'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('circles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('errand_lookins', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('daily_checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lookin_claimed_at', bot.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('daily_checkins', schema=None) as batch_op:
        batch_op.drop_column('lookin_claimed_at')

    with op.batch_alter_table('circles', schema=None) as batch_op:
        batch_op.drop_column('errand_lookins')
