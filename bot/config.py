"""Typed settings, read once from STEGVIS_* environment variables and passed down.

A wrong value stops the program at start with one line that names the variable, so a
misconfigured deployment never half-starts and then fails at the first participant.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LOCALES: tuple[str, ...] = ("sv", "ar", "en")
TELEGRAM_BOT_API = "https://api.telegram.org/bot"
# Telegram's broadcast ceilings: about 30 messages a second, 1000 in paid broadcast mode.
FREE_BROADCAST_RATE = 30.0
PAID_BROADCAST_RATE = 1000.0


def default_data_dir() -> Path:
    return Path("data")


class Settings(BaseSettings):
    """Everything that differs between one deployment and another."""

    model_config = SettingsConfigDict(
        env_prefix="STEGVIS_", env_file=None, extra="ignore", validate_default=True
    )

    bot_token: SecretStr | None = None
    telegram_base_url: str = TELEGRAM_BOT_API
    telegram_file_url: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    timezone: str = "Europe/Stockholm"
    default_locale: Literal["sv", "ar", "en"] = "sv"
    encryption_key: SecretStr | None = None
    # Keys that only open values sealed before a rotation; comma-separated.
    encryption_old_keys: SecretStr | None = None
    # Shown in invite links; read from Telegram (getMe) when not set.
    bot_username: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # How long a participant has to answer before the bot gives up on an update it
    # could not handle and says so; how many times it tries.
    update_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    # Free text older than this, counted from when a participant leaves, is purged.
    retention_months: Annotated[int, Field(ge=1, le=120)] = 12
    # Days a delivered message keeps its text in the outbox (its outcome stays).
    outbox_retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    invite_valid_days: Annotated[int, Field(ge=1, le=365)] = 30
    # Webhook mode: the secret Telegram sends back in a header (derived from the token if
    # unset) and where this worker listens behind the reverse proxy.
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1:8443"
    # Open sign-up (a plain link with no invitation code) and what applicants are told.
    signup_open: bool = True
    signup_answer_days: Annotated[int, Field(ge=1, le=60)] = 5
    # Sign-ups one Telegram account may begin in 24 hours; more are refused kindly.
    signup_starts_per_day: Annotated[int, Field(ge=1, le=50)] = 3
    # Edited copies of the sign-up's place list and of where else to turn after a no.
    signup_areas_file: Path | None = None
    signup_elsewhere_file: Path | None = None
    # How often someone in follow-up after work or studies gets a check-in.
    follow_up_cadence: Literal["weekly", "fortnightly", "monthly"] = "monthly"
    # The project's goals, printed beside the figures of `stegvis report` (ESF application).
    goal_work_studies_percent: Annotated[int, Field(ge=0, le=100)] = 30
    goal_step_percent: Annotated[int, Field(ge=0, le=100)] = 75
    # Check-ins: the default day (Monday is 0) and local time; one nudge, then closed.
    checkin_weekday: Annotated[int, Field(ge=0, le=6)] = 0
    checkin_time: time = time(10, 0)
    checkin_nudge_after_hours: Annotated[int, Field(ge=1, le=168)] = 24
    checkin_expire_after_hours: Annotated[int, Field(ge=2, le=720)] = 72
    # Self-ratings are offered every this many months; another questionnaire may be loaded.
    selfrating_every_months: Literal[1, 2, 3, 4, 6, 12] = 3
    selfrating_file: Path | None = None
    sandbox_host: str = "127.0.0.1"
    sandbox_port: Annotated[int, Field(ge=0, le=65535)] = 8081
    # The staff dashboard. The secret signs its session cookies (`stegvis keys generate`
    # makes one); the sandbox makes and keeps its own in the data folder.
    web_host: str = "127.0.0.1"
    web_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    web_secret: SecretStr | None = None
    # A session ends after this long without a request, and after this long in any case.
    web_idle_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    web_session_hours: Annotated[int, Field(ge=1, le=7 * 24)] = 10
    # Behind HTTPS (as in production): cookies only travel encrypted.
    web_secure_cookies: bool = False
    # `stegvis run` serves the dashboard beside the bot; off when `stegvis web` runs apart.
    web_with_bot: bool = True
    # Telegram's paid broadcast: up to 1000 messages a second, paid in Stars above 30.
    paid_broadcast: bool = False
    # The outbox dispatcher. Messages a second overall (unset: Telegram's ceiling, 30, or
    # 1000 in paid broadcast mode; 0: no limit, for an emulator only) and per chat (0: none).
    dispatch_rate: Annotated[float, Field(ge=0)] | None = None
    dispatch_chat_rate: Annotated[float, Field(ge=0, le=30)] = 1.0
    dispatch_batch_size: Annotated[int, Field(ge=1, le=5000)] = 200
    # How long a claimed row is reserved; a process that dies frees its rows after this.
    dispatch_lease_seconds: Annotated[int, Field(ge=2, le=3600)] = 60
    dispatch_max_attempts: Annotated[int, Field(ge=1, le=50)] = 6
    dispatch_concurrency: Annotated[int, Field(ge=1, le=512)] = 64
    # Seconds to wait for Telegram's answer to a call (long polling adds its own wait):
    # a call unanswered by then counts as failed and is tried again.
    telegram_read_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    # Hours before an appointment when the participant is reminded, e.g. "24,1".
    appointment_reminder_hours: str = "24,1"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"{value!r} is not a known time zone (e.g. Europe/Stockholm)"
            ) from error
        return value

    @field_validator("telegram_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError(f"{value!r} is neither a sqlite:// nor a postgresql:// URL")
        return value

    @field_validator("appointment_reminder_hours")
    @classmethod
    def _reminder_hours(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(part.isdigit() and 0 < int(part) <= 24 * 14 for part in parts):
            raise ValueError(f"{value!r} is not a list of hours like 24,1 (1 to 336 each)")
        return ",".join(parts)

    @field_validator("dispatch_rate")
    @classmethod
    def _rate_within_telegram(cls, value: float | None, info: ValidationInfo) -> float | None:
        paid = bool(info.data.get("paid_broadcast"))
        ceiling = PAID_BROADCAST_RATE if paid else FREE_BROADCAST_RATE
        if value is not None and value > ceiling:
            mode = "in paid broadcast mode" if paid else "without STEGVIS_PAID_BROADCAST"
            raise ValueError(f"{value:g} a second is above Telegram's {ceiling:g} {mode}")
        return value

    @property
    def effective_dispatch_rate(self) -> float | None:
        """Messages a second overall, or None for no limit (an emulator only)."""
        if self.dispatch_rate is None:
            return PAID_BROADCAST_RATE if self.paid_broadcast else FREE_BROADCAST_RATE
        return self.dispatch_rate or None

    @property
    def appointment_reminder_offsets(self) -> list[int]:
        """Hours before an appointment, largest first."""
        return sorted(
            {int(part) for part in self.appointment_reminder_hours.split(",")}, reverse=True
        )

    @field_validator("selfrating_file")
    @classmethod
    def _usable_questionnaire(cls, value: Path | None) -> Path | None:
        if value is not None:
            from bot.domain.selfrating import InstrumentError, load_instrument

            try:
                load_instrument(value)
            except InstrumentError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("checkin_expire_after_hours")
    @classmethod
    def _expiry_after_nudge(cls, value: int, info: ValidationInfo) -> int:
        nudge = info.data.get("checkin_nudge_after_hours")
        if nudge is not None and value <= nudge:
            raise ValueError(f"must be more than STEGVIS_CHECKIN_NUDGE_AFTER_HOURS ({nudge})")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sandbox(self) -> bool:
        """No token means nobody can reach Telegram: run against the local emulator."""
        return self.bot_token is None or not self.bot_token.get_secret_value()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'stegvis.sqlite3'}"


class SettingsError(Exception):
    """A setting has a wrong value; the message is one line that names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; turn pydantic's report into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"STEGVIS_{field.upper()}: {message}") from None
