"""privacy: when free text and message texts were purged

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:18:10.603044
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload_purged_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("free_text_purged_at", sa.DateTime(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("free_text_purged_at")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("payload_purged_at")
