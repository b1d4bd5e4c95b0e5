"""Staff accounts: who may sign in to the dashboard, and what they may see.

A staff member sees the whole project; a mentor who signs in sees only their own
participants, so a mentor account is linked to its `Mentor` row. Passwords are kept only
as argon2 hashes. Failed sign-ins are counted here, in the database, so a lock-out holds
across restarts and across several web processes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class StaffRole(StrEnum):
    STAFF = "staff"  # the whole project
    MENTOR = "mentor"  # only the participants of the linked mentor


class StaffAccount(Base):
    __tablename__ = "staff_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[StaffRole]
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    # The interface language the staff member chose: "sv" or "en".
    language: Mapped[str] = mapped_column(String(8), default="sv")
    # Failed sign-ins since `failures_since`; reset by a success or when the window passes.
    failed_attempts: Mapped[int] = mapped_column(default=0)
    failures_since: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    # Sessions issued before this moment are no longer accepted (sign-out, new password).
    sessions_valid_from: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
