"""outbox leases and links, campaigns with their occurrences, appointments

Revision ID: 0002
Revises: 0005
Create Date: 2026-11-26 13:15:27.259604

The outbox gains the dispatcher that holds a row's lease and the campaign, occurrence or
appointment a row belongs to (pause, cancel and delivery counts act on them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("cohort_ids", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=True),
        sa.Column("statuses", sa.JSON(), nullable=True),
        sa.Column("texts", sa.Text(), nullable=False),
        sa.Column("fallback_locale", sa.String(length=8), nullable=True),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=False),
        sa.Column("quiet_end", sa.Time(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("name", name=op.f("uq_campaign_name")),
    )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_state_next_run_at", ["state", "next_run_at"], unique=False
        )

    op.create_table(
        "campaign_occurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(), nullable=False),
        sa.Column("materialised_at", sa.DateTime(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_campaign_occurrence_campaign_id_campaign"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_occurrence")),
        sa.UniqueConstraint("campaign_id", "scheduled_for", name="uq_campaign_occurrence_time"),
    )
    op.create_table(
        "appointment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["mentor.id"], name=op.f("fk_appointment_mentor_id_mentor")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_appointment_participant_id_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_participant_id_starts_at", ["participant_id", "starts_at"], unique=False
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("occurrence_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_outbox_appointment_id", ["appointment_id"], unique=False)
        batch_op.drop_index("ix_outbox_status_available_at")
        batch_op.create_index(
            "ix_outbox_status_priority_available_at",
            ["status", "priority", "available_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_outbox_campaign_id_status", ["campaign_id", "status"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_campaign_id_campaign"), "campaign", ["campaign_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_occurrence_id_campaign_occurrence"),
            "campaign_occurrence",
            ["occurrence_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_appointment_id_appointment"),
            "appointment",
            ["appointment_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_appointment_id_appointment"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_occurrence_id_campaign_occurrence"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_outbox_campaign_id_campaign"), type_="foreignkey")
        batch_op.drop_index("ix_outbox_campaign_id_status")
        batch_op.drop_index("ix_outbox_appointment_id")
        batch_op.drop_index("ix_outbox_status_priority_available_at")
        batch_op.create_index(
            "ix_outbox_status_available_at", ["status", "available_at"], unique=False
        )
        batch_op.drop_column("appointment_id")
        batch_op.drop_column("occurrence_id")
        batch_op.drop_column("campaign_id")
        batch_op.drop_column("lease_owner")

    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_participant_id_starts_at")

    op.drop_table("appointment")
    op.drop_table("campaign_occurrence")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_state_next_run_at")

    op.drop_table("campaign")
