"""recovery: the flare-up question that pauses exercise tips

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('recovery_plans', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('flare_asked_at', bot.db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('recovery_plans', schema=None) as batch_op:
        batch_op.drop_column('flare_asked_at')
