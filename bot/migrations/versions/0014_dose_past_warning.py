"""doses: logged past a warning

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-04 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dose_occurrences', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('past_warning', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('dose_occurrences', schema=None) as batch_op:
        batch_op.drop_column('past_warning')
