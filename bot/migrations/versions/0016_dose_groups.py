"""dose_occurrences: the group of doses reminded together

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dose_occurrences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_dose_occurrences_group_id', ['group_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dose_occurrences', schema=None) as batch_op:
        batch_op.drop_index('ix_dose_occurrences_group_id')
        batch_op.drop_column('group_id')
