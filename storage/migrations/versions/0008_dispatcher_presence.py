"""dispatcher presence: several workers share Telegram's rate

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispatcher_presence",
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_dispatcher_presence")),
    )
    with op.batch_alter_table("dispatcher_presence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispatcher_presence_seen_at"), ["seen_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dispatcher_presence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatcher_presence_seen_at"))
    op.drop_table("dispatcher_presence")
