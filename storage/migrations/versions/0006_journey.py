"""journey: lifecycle events, open sign-up, action plan, follow-up questions

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-26 13:22:50.703972

Statuses become events with who and when (lifecycle_event); open sign-up keeps its
drafts, starts and applications; the action plan keeps goals, steps and every change;
follow-up keeps the questions at 3 and 6 months after someone left for work or studies.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signup_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_attempt")),
    )
    with op.batch_alter_table("signup_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_signup_attempt_started_at", ["started_at"], unique=False)
        batch_op.create_index(
            "ix_signup_attempt_user_started", ["telegram_user_id", "started_at"], unique=False
        )

    op.create_table(
        "signup_draft",
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("consent_at", sa.DateTime(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("area", sa.String(length=40), nullable=True),
        sa.Column("area_other", sa.Text(), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("gender", sa.String(length=20), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("telegram_user_id", name=op.f("pk_signup_draft")),
    )
    with op.batch_alter_table("signup_draft", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signup_draft_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=40), nullable=False),
        sa.Column("area_other", sa.Text(), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_mentor_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_name", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_mentor_id"],
            ["mentor.id"],
            name=op.f("fk_application_decided_by_mentor_id_mentor"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_application_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index(
            "ix_application_decision_submitted", ["decision", "submitted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_application_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "lifecycle_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("actor", sa.String(length=20), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=120), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["mentor.id"], name=op.f("fk_lifecycle_event_mentor_id_mentor")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_lifecycle_event_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lifecycle_event")),
    )
    # Participants who joined before statuses were kept as events get their first one
    # now, so reports count them from the day they joined.
    op.execute(
        sa.text(
            "INSERT INTO lifecycle_event (participant_id, from_status, to_status, actor, "
            "occurred_at) SELECT id, NULL, status, 'system', joined_at FROM participant"
        )
    )
    with op.batch_alter_table("lifecycle_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lifecycle_event_participant_occurred",
            ["participant_id", "occurred_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_lifecycle_event_to_status_occurred", ["to_status", "occurred_at"], unique=False
        )

    op.create_table(
        "plan_goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_plan_goal_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_goal")),
    )
    with op.batch_alter_table("plan_goal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_goal_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "follow_up_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("left_event_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=True),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["left_event_id"],
            ["lifecycle_event.id"],
            name=op.f("fk_follow_up_question_left_event_id_lifecycle_event"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_follow_up_question_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_question")),
    )
    with op.batch_alter_table("follow_up_question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_question_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(
            "ix_follow_up_question_status_due", ["status", "due_at"], unique=False
        )

    op.create_table(
        "plan_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["plan_goal.id"], name=op.f("fk_plan_step_goal_id_plan_goal")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_plan_step_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_step")),
    )
    with op.batch_alter_table("plan_step", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plan_step_participant_status", ["participant_id", "status"], unique=False
        )

    op.create_table(
        "plan_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=True),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=20), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["plan_goal.id"], name=op.f("fk_plan_event_goal_id_plan_goal")
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["mentor.id"], name=op.f("fk_plan_event_mentor_id_mentor")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_plan_event_participant_id_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["plan_step.id"], name=op.f("fk_plan_event_step_id_plan_step")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_event")),
    )
    with op.batch_alter_table("plan_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_event_participant_id"), ["participant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_event_participant_id"))

    op.drop_table("plan_event")
    with op.batch_alter_table("plan_step", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_step_participant_status")

    op.drop_table("plan_step")
    with op.batch_alter_table("follow_up_question", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_up_question_status_due")
        batch_op.drop_index(batch_op.f("ix_follow_up_question_participant_id"))

    op.drop_table("follow_up_question")
    with op.batch_alter_table("plan_goal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_goal_participant_id"))

    op.drop_table("plan_goal")
    with op.batch_alter_table("lifecycle_event", schema=None) as batch_op:
        batch_op.drop_index("ix_lifecycle_event_to_status_occurred")
        batch_op.drop_index("ix_lifecycle_event_participant_occurred")

    op.drop_table("lifecycle_event")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_participant_id"))
        batch_op.drop_index("ix_application_decision_submitted")

    op.drop_table("application")
    with op.batch_alter_table("signup_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signup_draft_updated_at"))

    op.drop_table("signup_draft")
    with op.batch_alter_table("signup_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_signup_attempt_user_started")
        batch_op.drop_index("ix_signup_attempt_started_at")

    op.drop_table("signup_attempt")
