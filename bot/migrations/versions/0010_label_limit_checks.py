"""label limits: the database refuses impossible ones

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Values no label can mean (a maximum below 1, a gap of 0 or less) were typos the old
    # parser let through; they become "not saved", or adding the constraints would fail.
    op.execute("UPDATE medications SET max_per_24h = NULL WHERE max_per_24h < 1")
    op.execute("UPDATE medications SET min_hours_between = NULL WHERE min_hours_between <= 0")
    with op.batch_alter_table('medications', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_medications_max_per_24h_positive'), 'max_per_24h >= 1'
        )
        batch_op.create_check_constraint(
            op.f('ck_medications_min_hours_between_positive'), 'min_hours_between > 0'
        )


def downgrade() -> None:
    with op.batch_alter_table('medications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_medications_min_hours_between_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_medications_max_per_24h_positive'), type_='check')
