"""Open sign-up: anyone may ask for a mentor; staff approve or decline; a mentor is found.

Lumena-style projects take anyone who lives in their area, without a referral. The
applicant agrees to the privacy notice, answers four short questions (what to call them,
where they live, what they want help with, gender for the ESF report), and sends the
application. From then they are a participant with status `applied`: no cohort, no
mentor and no check-ins until staff approve. Approving puts them in a cohort with a
mentor who speaks their language and has room; when no such mentor has room, approval is
refused with the reason and the application stays in the list. Declining keeps no name.

What the answers are is data here; what people read is rendered by the flows and the
CLI through `tell_*`, in each recipient's language.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path

from sqlalchemy import select

from bot.clock import Randomness
from bot.i18n import N_, Translator
from bot.messaging import Notifier
from storage.journey import Lifecycle, Signups
from storage.models import (
    Application,
    ApplicationDecision,
    Cohort,
    EndedReason,
    Mentor,
    OutboxKind,
    Participant,
    ParticipantStatus,
    SignupDraft,
)
from storage.uow import UnitOfWork

from . import lifecycle
from .lifecycle import ChangedBy
from .onboarding import DomainError, new_public_id

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "signup"
NAME_MAX = 40
AREA_OTHER_MAX = 60
OTHER_AREA = "other"
# A draft nobody finishes is deleted after this long: it holds a name.
DRAFT_KEPT = timedelta(days=14)
# Sign-up starts are counted over this window for the flood limit.
START_WINDOW = timedelta(hours=24)
# After a no, the same account can apply again this much later.
REAPPLY_AFTER = timedelta(days=30)


class Topic(StrEnum):
    """What an applicant wants help with (several may be chosen)."""

    WORK = "work"
    STUDIES = "studies"
    HOUSING = "housing"
    DEBT = "debt"
    HEALTH = "health"
    OTHER = "other"


class Gender(StrEnum):
    """Asked because ESF projects report by gender; anyone may choose not to say."""

    WOMAN = "woman"
    MAN = "man"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"


TOPIC_LABELS = {
    Topic.WORK: N_("Work"),
    Topic.STUDIES: N_("Studies"),
    Topic.HOUSING: N_("Housing"),
    Topic.DEBT: N_("Money and debts"),
    Topic.HEALTH: N_("Health and care"),
    Topic.OTHER: N_("Something else"),
}

GENDER_LABELS = {
    Gender.WOMAN: N_("Woman"),
    Gender.MAN: N_("Man"),
    Gender.OTHER: N_("Other"),
    Gender.UNDISCLOSED: N_("I prefer not to say"),
}

TranslatorFactory = Callable[[str], Translator]


class Blocked(StrEnum):
    """Why someone cannot start a sign-up now."""

    PENDING = "pending"  # their application is waiting for an answer
    MEMBER = "member"  # they take part already
    RECENTLY_DECLINED = "recently_declined"
    TOO_MANY = "too_many"  # a flood of sign-ups from one account


class Problem(StrEnum):
    """Why staff cannot approve or decline as asked."""

    NOT_PENDING = "not_pending"  # decided already, or withdrawn
    NO_COHORT = "no_cohort"
    CHOOSE_COHORT = "choose_cohort"
    NO_MENTOR_SPEAKS = "no_mentor_speaks"
    NO_ROOM = "no_room"


class SignupError(DomainError):
    def __init__(self, problem: Problem, message: str, *, locale: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.locale = locale


class InputProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_LETTERS = "no_letters"


# Data files: places and where else to turn


@dataclass(frozen=True)
class Area:
    key: str
    names: dict[str, str]

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get("en") or next(iter(self.names.values()))


@dataclass(frozen=True)
class Place:
    name: str
    when: frozenset[str]  # "declined", "urgent"
    texts: dict[str, str]

    def text(self, locale: str) -> str:
        return self.texts.get(locale) or self.texts.get("en") or next(iter(self.texts.values()))


class DataFileError(DomainError):
    """A sign-up data file that cannot be read; the message names the file and entry."""


def _entries(path: Path, table: str) -> list[dict[str, object]]:
    """The `[[table]]` entries of a TOML data file."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DataFileError(f"{path}: {error}") from None
    entries = data.get(table) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DataFileError(f"{path}: expected [[{table}]] entries")
    return entries


def _texts(entry: dict[str, object], field_name: str, where: str) -> dict[str, str]:
    from bot.config import SUPPORTED_LOCALES

    texts = entry.get(field_name)
    if not isinstance(texts, dict):
        raise DataFileError(f"{where}: needs {field_name}.sv, {field_name}.ar, ...")
    missing = [code for code in SUPPORTED_LOCALES if not str(texts.get(code, "")).strip()]
    if missing:
        raise DataFileError(f"{where}: {field_name} is missing {', '.join(missing)}")
    return {code: str(texts[code]).strip() for code in SUPPORTED_LOCALES}


@cache
def load_areas(path: Path | None = None) -> tuple[Area, ...]:
    source = path or DATA_DIR / "areas.toml"
    areas: list[Area] = []
    for index, entry in enumerate(_entries(source, "area")):
        where = f"{source}: area {index + 1}"
        key = str(entry.get("key", ""))
        if not key or len(key) > 30 or not all(c.isalnum() or c in "-_" for c in key):
            raise DataFileError(f"{where}: key must be 1-30 letters, digits, - or _")
        if key == OTHER_AREA or any(area.key == key for area in areas):
            raise DataFileError(f"{where}: key {key!r} is taken")
        areas.append(Area(key, _texts(entry, "name", where)))
    return tuple(areas)


PLACE_OCCASIONS = frozenset({"declined", "urgent"})


@cache
def load_elsewhere(path: Path | None = None) -> tuple[Place, ...]:
    source = path or DATA_DIR / "elsewhere.toml"
    places = []
    for index, entry in enumerate(_entries(source, "place")):
        where = f"{source}: place {index + 1}"
        when = entry.get("when")
        if not isinstance(when, list) or not when or not set(when) <= PLACE_OCCASIONS:
            raise DataFileError(f'{where}: when must list "declined", "urgent" or both')
        places.append(
            Place(str(entry.get("name", "")), frozenset(when), _texts(entry, "text", where))
        )
    return tuple(places)


def places_for(places: tuple[Place, ...], occasion: str) -> list[Place]:
    return [place for place in places if occasion in place.when]


def area_name(areas: tuple[Area, ...], key: str | None, locale: str) -> str | None:
    for area in areas:
        if area.key == key:
            return area.name(locale)
    return None


# Starting, and the intake


@dataclass(frozen=True)
class StartCheck:
    blocked: Blocked | None
    participant: Participant | None = None
    since: datetime | None = None  # when the pending application was sent / declined


async def may_start(
    uow: UnitOfWork,
    telegram_user_id: int,
    participant: Participant | None,
    now: datetime,
    *,
    starts_per_day: int,
) -> StartCheck:
    """Whether this Telegram account may begin a sign-up now, and if not, why."""
    signups = uow.repository(Signups)
    if participant is not None and participant.erased_at is None:
        if participant.status is ParticipantStatus.APPLIED:
            pending = await signups.pending_of(participant.id)
            return StartCheck(
                Blocked.PENDING, participant, pending.submitted_at if pending else None
            )
        if lifecycle.in_caseload(participant):
            return StartCheck(Blocked.MEMBER, participant)
        latest = await signups.latest_of(participant.id)
        if (
            latest is not None
            and latest.decision is ApplicationDecision.DECLINED
            and latest.decided_at is not None
            and latest.decided_at > now - REAPPLY_AFTER
        ):
            return StartCheck(Blocked.RECENTLY_DECLINED, participant, latest.decided_at)
    if await signups.starts_since(telegram_user_id, now - START_WINDOW) >= starts_per_day:
        return StartCheck(Blocked.TOO_MANY, participant)
    return StartCheck(None, participant)


async def begin(
    uow: UnitOfWork, *, telegram_user_id: int, chat_id: int, locale: str, now: datetime
) -> SignupDraft:
    """Consent given: the draft exists from here, and the start counts toward the limit."""
    signups = uow.repository(Signups)
    old = await signups.draft(telegram_user_id)
    if old is not None:
        await signups.delete_draft(old)
    signups.add_start(telegram_user_id, now)
    return await signups.add_draft(
        SignupDraft(
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            locale=locale,
            consent_at=now,
            topics=[],
            urgent=False,
            started_at=now,
            updated_at=now,
        )
    )


async def draft_of(uow: UnitOfWork, telegram_user_id: int) -> SignupDraft | None:
    return await uow.repository(Signups).draft(telegram_user_id)


async def drop_draft(uow: UnitOfWork, telegram_user_id: int) -> None:
    draft = await draft_of(uow, telegram_user_id)
    if draft is not None:
        await uow.repository(Signups).delete_draft(draft)


def clean_text(text: str, limit: int) -> str | InputProblem:
    """One line of typed text, or why it cannot be used (a name, a place)."""
    cleaned = " ".join(unicodedata.normalize("NFC", text).split())
    cleaned = "".join(c for c in cleaned if unicodedata.category(c)[0] != "C")
    if not cleaned:
        return InputProblem.EMPTY
    if len(cleaned) > limit:
        return InputProblem.TOO_LONG
    if not any(c.isalpha() for c in cleaned):
        return InputProblem.NO_LETTERS
    return cleaned


def set_name(draft: SignupDraft, text: str, now: datetime) -> InputProblem | None:
    cleaned = clean_text(text, NAME_MAX)
    if isinstance(cleaned, InputProblem):
        return cleaned
    draft.display_name = cleaned
    draft.updated_at = now
    return None


def set_area(draft: SignupDraft, key: str, now: datetime, other: str | None = None) -> None:
    draft.area = key
    draft.area_other = other if key == OTHER_AREA else None
    draft.updated_at = now


def set_area_other(draft: SignupDraft, text: str, now: datetime) -> InputProblem | None:
    cleaned = clean_text(text, AREA_OTHER_MAX)
    if isinstance(cleaned, InputProblem):
        return cleaned
    set_area(draft, OTHER_AREA, now, cleaned)
    return None


def toggle_topic(draft: SignupDraft, topic: Topic, now: datetime) -> list[str]:
    chosen = list(draft.topics or [])
    if topic.value in chosen:
        chosen.remove(topic.value)
    else:
        chosen.append(topic.value)
    # Kept in the order of the buttons, so the summary reads the same way.
    draft.topics = [t.value for t in Topic if t.value in chosen]
    draft.updated_at = now
    return draft.topics


def set_gender(draft: SignupDraft, gender: Gender, now: datetime) -> None:
    draft.gender = gender.value
    draft.updated_at = now


def mark_urgent(draft: SignupDraft) -> None:
    draft.urgent = True


def complete(draft: SignupDraft) -> bool:
    return bool(draft.display_name and draft.area and draft.topics and draft.gender)


@dataclass(frozen=True)
class Submitted:
    participant: Participant
    application: Application


async def submit(
    uow: UnitOfWork,
    draft: SignupDraft,
    *,
    participant: Participant | None,
    now: datetime,
    randomness: Randomness,
) -> Submitted:
    """The application is sent: the applicant becomes a participant with status applied
    (or, someone who left before, applies again with the same record)."""
    if not complete(draft):
        raise DomainError("the sign-up is not complete")
    if participant is None:
        participant = Participant(
            public_id=await new_public_id(uow, randomness),
            telegram_user_id=draft.telegram_user_id,
            chat_id=draft.chat_id,
            display_name=draft.display_name,
            locale=draft.locale,
            status=ParticipantStatus.APPLIED,
            gender=draft.gender,
            consent_at=draft.consent_at,
            joined_at=now,
        )
        await uow.participants.add(participant)
        await lifecycle.record_start(uow, participant, by=ChangedBy.participant(), now=now)
    else:
        participant.display_name = draft.display_name
        participant.chat_id = draft.chat_id
        participant.locale = draft.locale
        participant.gender = draft.gender
        participant.consent_at = draft.consent_at
        await lifecycle.change_status(
            uow,
            participant,
            ParticipantStatus.APPLIED,
            by=ChangedBy.participant(),
            now=now,
            rhythm=None,
        )
    application = await uow.repository(Signups).add_application(
        Application(
            participant_id=participant.id,
            area=draft.area or OTHER_AREA,
            area_other=draft.area_other,
            topics=list(draft.topics),
            urgent=draft.urgent,
            submitted_at=now,
        )
    )
    await uow.repository(Signups).delete_draft(draft)
    return Submitted(participant, application)


# Staff: the list, approving, declining


@dataclass(frozen=True)
class Pending:
    application: Application
    participant: Participant


async def pending(uow: UnitOfWork, limit: int = 100) -> list[Pending]:
    rows = await uow.repository(Signups).pending(limit)
    return [Pending(application, participant) for application, participant in rows]


async def application_by_id(uow: UnitOfWork, application_id: int) -> Application | None:
    """An application, locked for this transaction: two answers at once are one after
    the other, and the second sees the first."""
    return await uow.repository(Signups).application(application_id, lock=True)


async def application_of(uow: UnitOfWork, public_id: str) -> Application:
    """The waiting application of the participant with this public id (for the CLI)."""
    participant = await uow.participants.by_public_id(public_id.strip())
    found = (
        await uow.repository(Signups).pending_of(participant.id)
        if participant is not None
        else None
    )
    if found is None:
        raise SignupError(Problem.NOT_PENDING, f"no waiting application from {public_id!r}")
    return found


async def cohorts(uow: UnitOfWork) -> list[Cohort]:
    return list(await uow.repository(Lifecycle).cohorts())


@dataclass(frozen=True)
class MentorLoad:
    mentor: Mentor
    caseload: int

    @property
    def has_room(self) -> bool:
        limit = self.mentor.caseload_limit
        return limit is None or self.caseload < limit

    @property
    def free(self) -> float:
        limit = self.mentor.caseload_limit
        return float("inf") if limit is None else limit - self.caseload


async def mentors_for(uow: UnitOfWork, locale: str) -> list[MentorLoad]:
    """Active, reachable mentors who write the language, least loaded first: fewest
    participants, then the most free places, then the longest in the project."""
    lifecycle_repo = uow.repository(Lifecycle)
    loads = await lifecycle_repo.caseloads()
    found = [
        MentorLoad(mentor, loads.get(mentor.id, 0))
        for mentor in await lifecycle_repo.active_mentors()
        if locale in mentor.language_list and mentor.unreachable_at is None
    ]
    return sorted(found, key=lambda load: (load.caseload, -load.free, load.mentor.id))


async def _lock_mentor(uow: UnitOfWork, mentor_id: int) -> None:
    await uow.session.execute(select(Mentor.id).where(Mentor.id == mentor_id).with_for_update())


async def choose_mentor(uow: UnitOfWork, locale: str) -> Mentor:
    """The least loaded mentor who writes the language and has room. Their row is locked
    and their caseload counted again, so two approvals at once cannot both take the last
    place (on PostgreSQL; SQLite has one writer anyway)."""
    for _attempt in range(3):
        candidates = await mentors_for(uow, locale)
        if not candidates:
            raise SignupError(
                Problem.NO_MENTOR_SPEAKS,
                f"no active mentor writes {locale}; add one or a language to one",
                locale=locale,
            )
        with_room = [load for load in candidates if load.has_room]
        if not with_room:
            loads = ", ".join(
                f"{load.mentor.name} {load.caseload}/{load.mentor.caseload_limit}"
                for load in candidates
            )
            raise SignupError(
                Problem.NO_ROOM,
                f"every mentor who writes {locale} is full ({loads}); "
                "raise a limit or wait until a place frees",
                locale=locale,
            )
        chosen = with_room[0]
        await _lock_mentor(uow, chosen.mentor.id)
        again = (await uow.repository(Lifecycle).caseloads()).get(chosen.mentor.id, 0)
        if MentorLoad(chosen.mentor, again).has_room:
            return chosen.mentor
    raise SignupError(Problem.NO_ROOM, "mentors are filling up right now; try again", locale=locale)


@dataclass(frozen=True)
class Approved:
    participant: Participant
    application: Application
    mentor: Mentor
    cohort: Cohort


async def _open_application(uow: UnitOfWork, application_id: int) -> Application:
    application = await uow.repository(Signups).application(application_id, lock=True)
    if application is None or application.decision is not None:
        raise SignupError(Problem.NOT_PENDING, "this application has been answered already")
    return application


async def approve(
    uow: UnitOfWork,
    application_id: int,
    *,
    cohort_id: int | None,
    by: ChangedBy,
    now: datetime,
    rhythm: lifecycle.Rhythm | None,
) -> Approved:
    """Into a cohort, with a mentor who speaks their language and has room."""
    application = await _open_application(uow, application_id)
    participant = await uow.participants.get(application.participant_id)
    if participant is None or participant.status is not ParticipantStatus.APPLIED:
        raise SignupError(Problem.NOT_PENDING, "this applicant is not waiting any more")
    all_cohorts = await cohorts(uow)
    if cohort_id is None:
        if not all_cohorts:
            raise SignupError(Problem.NO_COHORT, "there is no cohort yet (stegvis cohort add)")
        if len(all_cohorts) > 1:
            raise SignupError(Problem.CHOOSE_COHORT, "choose a cohort")
        cohort = all_cohorts[0]
    else:
        found = [c for c in all_cohorts if c.id == cohort_id]
        if not found:
            raise SignupError(Problem.NO_COHORT, f"no cohort with id {cohort_id}")
        cohort = found[0]
    mentor = await choose_mentor(uow, participant.locale)
    participant.cohort_id = cohort.id
    participant.mentor_id = mentor.id
    participant.joined_at = now
    application.decision = ApplicationDecision.APPROVED
    application.decided_at = now
    application.decided_by_mentor_id = by.mentor_id
    application.decided_by_name = by.name
    await lifecycle.change_status(
        uow, participant, ParticipantStatus.ACTIVE, by=by, now=now, rhythm=rhythm
    )
    return Approved(participant, application, mentor, cohort)


@dataclass(frozen=True)
class Declined:
    participant: Participant
    application: Application


async def decline(
    uow: UnitOfWork, application_id: int, *, by: ChangedBy, now: datetime
) -> Declined:
    """No place for them: the status ends as declined and the name they gave is erased;
    what is left (place, topics, gender) counts anonymously in reports."""
    application = await _open_application(uow, application_id)
    participant = await uow.participants.get(application.participant_id)
    if participant is None:
        raise SignupError(Problem.NOT_PENDING, "this applicant is not waiting any more")
    application.decision = ApplicationDecision.DECLINED
    application.decided_at = now
    application.decided_by_mentor_id = by.mentor_id
    application.decided_by_name = by.name
    application.area_other = None
    participant.display_name = None
    await lifecycle.change_status(
        uow,
        participant,
        ParticipantStatus.ENDED,
        reason=EndedReason.DECLINED,
        by=by,
        now=now,
        rhythm=None,
    )
    return Declined(participant, application)


async def withdraw(uow: UnitOfWork, participant: Participant, now: datetime) -> Application:
    """The applicant takes their application back; their name is erased as on a no."""
    application = await uow.repository(Signups).pending_of(participant.id)
    if application is None or participant.status is not ParticipantStatus.APPLIED:
        raise SignupError(Problem.NOT_PENDING, "there is no waiting application")
    application.decision = ApplicationDecision.WITHDRAWN
    application.decided_at = now
    application.area_other = None
    participant.display_name = None
    await lifecycle.change_status(
        uow,
        participant,
        ParticipantStatus.ENDED,
        reason=EndedReason.OWN_WISH,
        by=ChangedBy.participant(),
        now=now,
        rhythm=None,
    )
    return application


async def forget_abandoned(uow: UnitOfWork, now: datetime) -> tuple[int, int]:
    """Drafts nobody finished and old sign-up starts: (drafts deleted, starts deleted)."""
    signups = uow.repository(Signups)
    drafts = await signups.delete_drafts_before(now - DRAFT_KEPT)
    starts = await signups.delete_starts_before(now - START_WINDOW)
    return drafts, starts


# What people are told (flows and the CLI both send these)


def topic_label(t: Translator, topic: str) -> str:
    return t(TOPIC_LABELS[Topic(topic)]) if topic in set(Topic) else topic


def topics_text(t: Translator, topics: list[str]) -> str:
    """Listed with commas, not "and": "Money and debts" has an "and" of its own."""
    return ("، " if t.rtl else ", ").join(topic_label(t, topic) for topic in topics)


async def tell_approved(
    notifier: Notifier,
    translate: TranslatorFactory,
    approved: Approved,
    *,
    areas: tuple[Area, ...],
    default_locale: str,
) -> None:
    """The applicant is welcomed by their mentor's name; the mentor hears who is coming."""
    participant, mentor = approved.participant, approved.mentor
    t = translate(participant.locale)
    name = participant.display_name or ""
    if participant.chat_id is not None:
        await notifier.send_text(
            participant.chat_id,
            "\n\n".join(
                [
                    t("Welcome, {name}! You have a place in the project now.").format(name=name),
                    t(
                        "Your mentor is {mentor}. {mentor} will get in touch with you soon. "
                        "You can also write to {mentor} here."
                    ).format(mentor=mentor.first_name),
                    t("You will get a short check-in every week. Press /menu to see more."),
                ]
            ),
            key=f"signup:approved:{approved.application.id}",
            kind=OutboxKind.NOTIFICATION,
            participant_id=participant.id,
        )
    await _tell_mentor_of_new(notifier, translate, approved, areas, default_locale)


async def _tell_mentor_of_new(
    notifier: Notifier,
    translate: TranslatorFactory,
    approved: Approved,
    areas: tuple[Area, ...],
    default_locale: str,
) -> None:
    participant, mentor, application = approved.participant, approved.mentor, approved.application
    if mentor.telegram_user_id is None:
        return
    t = translate(mentor.locale or default_locale)
    place = (
        application.area_other
        if application.area == OTHER_AREA
        else area_name(areas, application.area, t.locale)
    )
    await notifier.send_text(
        mentor.telegram_user_id,
        t(
            "New participant {id} ({name}) from open sign-up, now in {cohort}. "
            "Language: {language}. Lives in: {place}. Wants help with: {topics}. "
            "Please get in touch with them soon."
        ).format(
            id=participant.public_id,
            name=participant.display_name or "",
            cohort=approved.cohort.name,
            language=t.language_name(participant.locale),
            place=place or "–",
            topics=topics_text(t, application.topics),
        ),
        key=f"signup:mentor:{application.id}",
        kind=OutboxKind.NOTIFICATION,
        mentor_id=mentor.id,
    )


async def tell_declined(
    notifier: Notifier,
    translate: TranslatorFactory,
    declined: Declined,
    *,
    places: tuple[Place, ...],
) -> None:
    participant = declined.participant
    if participant.chat_id is None:
        return
    t = translate(participant.locale)
    lines = [
        t("Thank you for your application."),
        t(
            "We are sorry: the project cannot give you a mentor. This can be because the "
            "project is only for some places, or because it is full. It says nothing "
            "about you as a person."
        ),
    ]
    shown = places_for(places, "declined")
    if shown:
        lines.append(
            t("Here you can get help:")
            + "\n"
            + "\n".join("• " + place.text(participant.locale) for place in shown)
        )
    lines.append(t("You can delete what we saved about you with /delete."))
    await notifier.send_text(
        participant.chat_id,
        "\n\n".join(lines),
        key=f"signup:declined:{declined.application.id}",
        kind=OutboxKind.NOTIFICATION,
        participant_id=participant.id,
    )


async def tell_coordinators(
    uow: UnitOfWork,
    notifier: Notifier,
    translate: TranslatorFactory,
    submitted: Submitted,
    *,
    default_locale: str,
) -> int:
    """Coordinators hear of each new application (by id only); with no coordinator on
    Telegram, the mentors who write the applicant's language do. Returns how many."""
    recipients = list(await uow.repository(Lifecycle).coordinators())
    if not recipients:
        recipients = [
            load.mentor
            for load in await mentors_for(uow, submitted.participant.locale)
            if load.mentor.telegram_user_id is not None
        ]
    participant, application = submitted.participant, submitted.application
    for mentor in recipients:
        assert mentor.telegram_user_id is not None
        t = translate(mentor.locale or default_locale)
        text = t("New application {id}. Language: {language}. Press /pending to answer.").format(
            id=participant.public_id,
            language=t.language_name(participant.locale),
        )
        if application.urgent:
            text = (
                t(
                    "Urgent: something the applicant wrote may be about danger. They were "
                    "given the emergency numbers. Please answer them first."
                )
                + "\n\n"
                + text
            )
        await notifier.send_text(
            mentor.telegram_user_id,
            text,
            key=f"signup:new:{application.id}:{mentor.id}",
            kind=OutboxKind.NOTIFICATION,
            mentor_id=mentor.id,
        )
    return len(recipients)
