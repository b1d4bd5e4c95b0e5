"""Self-ratings in the BIP manner: one question per theme, a five-point scale, every few months.

The questionnaire is data (`bot/data/selfrating.toml`, or the file in
STEGVIS_SELFRATING_FILE), validated here with pydantic, so a project that has licensed
another instrument loads it without code. Scores are rows per theme and occasion; an
occasion stays open until every theme is answered, so a participant can stop and come
back days later, on another process, and lose nothing.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.config import SUPPORTED_LOCALES
from bot.domain.checkin import (
    CheckinPolicy,
    can_ever_be_contacted,
    catch_up,
    participants_by_id,
    reachable_now,
)
from storage.models import (
    Participant,
    ScheduleKind,
    SelfRating,
    SelfRatingScore,
    SelfRatingStatus,
)
from storage.models.progress import Schedules, SelfRatings
from storage.uow import UnitOfWork

DEFAULT_INSTRUMENT = Path(__file__).resolve().parent.parent / "data" / "selfrating.toml"
SCALE = (1, 2, 3, 4, 5)
# An offer missed for longer than this (the bot was down) waits for the next one.
OFFER_STALE_AFTER = timedelta(days=14)
HISTORY_LENGTH = 6


def _complete(texts: dict[str, str]) -> dict[str, str]:
    missing = [code for code in SUPPORTED_LOCALES if not texts.get(code, "").strip()]
    if missing:
        raise ValueError(f"missing text in {', '.join(missing)}")
    return {code: text.strip() for code, text in texts.items()}


Texts = Annotated[dict[str, str], AfterValidator(_complete)]


class ScalePoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: int
    face: str = Field(min_length=1, max_length=8)
    label: Texts


class Theme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Short and plain: it travels in button data and names a score row.
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,19}$")
    title: Texts
    question: Texts


class Instrument(BaseModel):
    """A questionnaire: its themes, one question each, and the scale they share."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,40}$")
    name: Texts
    intro: Texts
    scale: list[ScalePoint]
    themes: list[Theme] = Field(min_length=1, max_length=12)

    @model_validator(mode="after")
    def _coherent(self) -> Instrument:
        if [point.value for point in self.scale] != list(SCALE):
            raise ValueError("the scale must have the points 1, 2, 3, 4, 5 in that order")
        keys = [theme.key for theme in self.themes]
        if len(set(keys)) != len(keys):
            raise ValueError("two themes have the same key")
        return self

    def text(self, texts: dict[str, str], locale: str) -> str:
        return texts.get(locale) or texts["en"]

    def theme(self, key: str) -> Theme | None:
        return next((theme for theme in self.themes if theme.key == key), None)


class InstrumentError(ValueError):
    """The questionnaire file cannot be used; the message says where and why, in one line."""


@cache
def load_instrument(path: Path | None = None) -> Instrument:
    source = path or DEFAULT_INSTRUMENT
    try:
        data: dict[str, Any] = tomllib.loads(source.read_text("utf-8"))
    except OSError as error:
        raise InstrumentError(f"{source}: cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise InstrumentError(f"{source}: not valid TOML ({error})") from None
    try:
        return Instrument.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        message = first["msg"].removeprefix("Value error, ")
        raise InstrumentError(f"{source}: {where}: {message}") from None


# Occasions


@dataclass(frozen=True)
class Occasion:
    id: int
    completed_at: datetime | None
    scores: dict[str, int]


async def start_or_resume(
    uow: UnitOfWork, participant_id: int, instrument: Instrument, now: datetime
) -> tuple[SelfRating, bool]:
    """The open occasion (True: resumed), or a new one."""
    ratings = uow.repository(SelfRatings)
    found = await ratings.open_of(participant_id, instrument.id)
    if found is not None:
        return found, True
    rating = await ratings.add(
        SelfRating(
            participant_id=participant_id,
            instrument=instrument.id,
            status=SelfRatingStatus.OPEN,
            started_at=now,
        )
    )
    return rating, False


async def answers(uow: UnitOfWork, rating: SelfRating) -> dict[str, int]:
    return (await uow.repository(SelfRatings).scores([rating.id]))[rating.id]


def next_question(instrument: Instrument, answered: dict[str, int]) -> int | None:
    """The index of the first theme without an answer, or None when all are answered."""
    for index, theme in enumerate(instrument.themes):
        if theme.key not in answered:
            return index
    return None


async def own_open_rating(
    uow: UnitOfWork, participant_id: int, rating_id: int | None, instrument: Instrument
) -> SelfRating | None:
    """The occasion a button names, if it is this participant's, open, and this instrument's."""
    if rating_id is None:
        return None
    rating = await uow.repository(SelfRatings).get(rating_id)
    if (
        rating is None
        or rating.participant_id != participant_id
        or rating.status is not SelfRatingStatus.OPEN
        or rating.instrument != instrument.id
    ):
        return None
    return rating


class AnswerProblem(StrEnum):
    NOT_THE_CURRENT_QUESTION = "not_current"
    NOT_ON_THE_SCALE = "not_on_scale"


async def answer(
    uow: UnitOfWork,
    rating: SelfRating,
    instrument: Instrument,
    theme_index: int,
    score: int,
    now: datetime,
) -> AnswerProblem | None:
    """Store one score, only for the question that is next (an old button changes nothing)."""
    if score not in SCALE:
        return AnswerProblem.NOT_ON_THE_SCALE
    answered = await answers(uow, rating)
    if theme_index != next_question(instrument, answered):
        return AnswerProblem.NOT_THE_CURRENT_QUESTION
    await uow.repository(SelfRatings).add_score(
        SelfRatingScore(
            selfrating_id=rating.id,
            theme=instrument.themes[theme_index].key,
            score=score,
            answered_at=now,
        )
    )
    if next_question(instrument, {**answered, instrument.themes[theme_index].key: score}) is None:
        rating.status = SelfRatingStatus.COMPLETED
        rating.completed_at = now
    return None


async def history(
    uow: UnitOfWork, participant_id: int, instrument: Instrument, limit: int = HISTORY_LENGTH
) -> list[Occasion]:
    """Completed occasions of this instrument, oldest first."""
    ratings = await uow.repository(SelfRatings).completed(participant_id, instrument.id, limit)
    scores = await uow.repository(SelfRatings).scores([rating.id for rating in ratings])
    return [Occasion(rating.id, rating.completed_at, scores[rating.id]) for rating in ratings]


@dataclass(frozen=True)
class ThemeChange:
    theme: str
    now: int
    before: int | None

    @property
    def difference(self) -> int | None:
        return None if self.before is None else self.now - self.before


def compare(
    instrument: Instrument, current: Occasion, previous: Occasion | None
) -> list[ThemeChange]:
    """Each theme now and last time, in the questionnaire's order."""
    return [
        ThemeChange(
            theme.key,
            current.scores[theme.key],
            previous.scores.get(theme.key) if previous else None,
        )
        for theme in instrument.themes
        if theme.key in current.scores
    ]


# Offers every few months, by the same schedule rows as check-ins


@dataclass(frozen=True)
class Offer:
    participant: Participant
    due_at: datetime
    resumes: bool


async def due_offers(
    uow: UnitOfWork,
    now: datetime,
    zone: ZoneInfo,
    policy: CheckinPolicy,
    instrument: Instrument,
    *,
    skip_locked: bool = False,
) -> tuple[int, list[Offer]]:
    """One batch of due self-rating offers; their schedules move on. (rows read, offers)"""
    schedules = await uow.repository(Schedules).due(
        ScheduleKind.SELFRATING, now, policy.batch_size, skip_locked=skip_locked
    )
    people = await participants_by_id(uow, [schedule.participant_id for schedule in schedules])
    ratings = uow.repository(SelfRatings)
    offers: list[Offer] = []
    for schedule in schedules:
        occurrence = schedule.next_due_at
        assert occurrence is not None
        participant = people[schedule.participant_id]
        schedule.last_due_at = occurrence
        schedule.updated_at = now
        if not can_ever_be_contacted(participant):
            schedule.next_due_at = None
            continue
        occurrence, schedule.next_due_at = catch_up(schedule.spec, zone, occurrence, now)
        if not reachable_now(participant) or now - occurrence >= OFFER_STALE_AFTER:
            continue
        resumes = await ratings.open_of(participant.id, instrument.id) is not None
        offers.append(Offer(participant, occurrence, resumes))
    return len(schedules), offers


def unanswered_count(instrument: Instrument, answered: Sequence[str]) -> int:
    return sum(theme.key not in answered for theme in instrument.themes)
