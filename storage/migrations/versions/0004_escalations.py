"""escalations: cases, their messages, events and outbox links

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-26 13:11:58.413036
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("assigned_mentor_id", sa.Integer(), nullable=True),
        sa.Column("circle", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("shared_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("first_response_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("reopened_at", sa.DateTime(), nullable=True),
        sa.Column("next_action_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_mentor_id"],
            ["mentor.id"],
            name=op.f("fk_escalation_assigned_mentor_id_mentor"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_escalation_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation")),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_escalation_participant_id_status", ["participant_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_escalation_status_next_action_at", ["status", "next_action_at"], unique=False
        )

    op.create_table(
        "escalation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=True),
        sa.Column("circle", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.String(length=40), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalation.id"],
            name=op.f("fk_escalation_event_escalation_id_escalation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["mentor.id"], name=op.f("fk_escalation_event_mentor_id_mentor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_event")),
    )
    with op.batch_alter_table("escalation_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_escalation_event_escalation_id_at", ["escalation_id", "at"], unique=False
        )

    op.create_table(
        "escalation_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=20), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("file_id", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("relayed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalation.id"],
            name=op.f("fk_escalation_message_escalation_id_escalation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["mentor.id"], name=op.f("fk_escalation_message_mentor_id_mentor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_message")),
    )
    with op.batch_alter_table("escalation_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_escalation_message_escalation_id_created_at",
            ["escalation_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "escalation_outbox",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalation.id"],
            name=op.f("fk_escalation_outbox_escalation_id_escalation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_escalation_outbox_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outbox_id", name=op.f("pk_escalation_outbox")),
    )
    with op.batch_alter_table("escalation_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_escalation_outbox_escalation_id", ["escalation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("escalation_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_outbox_escalation_id")

    op.drop_table("escalation_outbox")
    with op.batch_alter_table("escalation_message", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_message_escalation_id_created_at")

    op.drop_table("escalation_message")
    with op.batch_alter_table("escalation_event", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_event_escalation_id_at")

    op.drop_table("escalation_event")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_status_next_action_at")
        batch_op.drop_index("ix_escalation_participant_id_status")

    op.drop_table("escalation")
