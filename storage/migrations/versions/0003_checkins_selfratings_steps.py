"""check-ins, self-ratings, steps: schedules, check-ins, flags, self-ratings, steps

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 13:12:48.543928
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("mood", sa.Integer(), nullable=True),
        sa.Column("activities", sa.JSON(), nullable=False),
        sa.Column("wants_help", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("nudge_due_at", sa.DateTime(), nullable=True),
        sa.Column("expire_due_at", sa.DateTime(), nullable=True),
        sa.Column("nudged_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("expired_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_checkin_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
        sa.UniqueConstraint("participant_id", "due_at", name="uq_checkin_participant_due_at"),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_expire_due_at", ["expire_due_at"], unique=False)
        batch_op.create_index("ix_checkin_nudge_due_at", ["nudge_due_at"], unique=False)

    op.create_table(
        "participant_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(), nullable=True),
        sa.Column("last_due_at", sa.DateTime(), nullable=True),
        sa.Column("missed_in_a_row", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_participant_schedule_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_schedule")),
        sa.UniqueConstraint(
            "participant_id", "kind", name="uq_participant_schedule_participant_kind"
        ),
    )
    with op.batch_alter_table("participant_schedule", schema=None) as batch_op:
        batch_op.create_index(
            "ix_participant_schedule_kind_next_due_at", ["kind", "next_due_at"], unique=False
        )

    op.create_table(
        "selfrating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_selfrating_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selfrating")),
    )
    with op.batch_alter_table("selfrating", schema=None) as batch_op:
        batch_op.create_index(
            "ix_selfrating_participant_id_status", ["participant_id", "status"], unique=False
        )

    op.create_table(
        "participant_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_mentor_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_participant_flag_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_participant_flag_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_mentor_id"],
            ["mentor.id"],
            name=op.f("fk_participant_flag_resolved_by_mentor_id_mentor"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_flag")),
    )
    with op.batch_alter_table("participant_flag", schema=None) as batch_op:
        batch_op.create_index(
            "ix_participant_flag_participant_id_resolved_at",
            ["participant_id", "resolved_at"],
            unique=False,
        )

    op.create_table(
        "selfrating_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("selfrating_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["selfrating_id"],
            ["selfrating.id"],
            name=op.f("fk_selfrating_score_selfrating_id_selfrating"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selfrating_score")),
        sa.UniqueConstraint("selfrating_id", "theme", name="uq_selfrating_score_selfrating_theme"),
    )
    op.create_table(
        "step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_by_mentor_id", sa.Integer(), nullable=True),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_step_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"], name=op.f("fk_step_participant_id_participant")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_mentor_id"],
            ["mentor.id"],
            name=op.f("fk_step_recorded_by_mentor_id_mentor"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step")),
    )
    with op.batch_alter_table("step", schema=None) as batch_op:
        batch_op.create_index(
            "ix_step_participant_id_taken_on", ["participant_id", "taken_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("step", schema=None) as batch_op:
        batch_op.drop_index("ix_step_participant_id_taken_on")

    op.drop_table("step")
    op.drop_table("selfrating_score")
    with op.batch_alter_table("participant_flag", schema=None) as batch_op:
        batch_op.drop_index("ix_participant_flag_participant_id_resolved_at")

    op.drop_table("participant_flag")
    with op.batch_alter_table("selfrating", schema=None) as batch_op:
        batch_op.drop_index("ix_selfrating_participant_id_status")

    op.drop_table("selfrating")
    with op.batch_alter_table("participant_schedule", schema=None) as batch_op:
        batch_op.drop_index("ix_participant_schedule_kind_next_due_at")

    op.drop_table("participant_schedule")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_nudge_due_at")
        batch_op.drop_index("ix_checkin_expire_due_at")

    op.drop_table("checkin")
