"""What faces, activities, steps, cadences and flags are called, in one place, so that
the check-in, the mentor's views and the step commands word them alike.

Faces carry a short word too: a screen reader says the word, someone who reads little
sees the face. Every label is an N_() msgid, translated where it is shown.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.checkin import ScheduleChoice
from bot.i18n import N_, Translator
from storage.models import Cadence, FlagKind, StepKind

FACES: dict[int, tuple[str, str]] = {
    5: ("😄", N_("Very good")),
    4: ("🙂", N_("Good")),
    3: ("😐", N_("Okay")),
    2: ("🙁", N_("Hard")),
    1: ("😞", N_("Very hard")),
}

ACTIVITY_LABELS: dict[str, str] = {
    "apply": N_("Job applications"),
    "course": N_("SFI or another course"),
    "internship": N_("Internship"),
    "authority": N_("Met an authority or care provider"),
    "nothing": N_("Nothing this week"),
    "other": N_("Something else"),
}

STEP_LABELS: dict[StepKind, str] = {
    StepKind.COURSE: N_("Started SFI or another course"),
    StepKind.STUDIES: N_("Started studies"),
    StepKind.INTERNSHIP: N_("Started an internship"),
    StepKind.JOB: N_("Started a job"),
    StepKind.SUBSIDISED_JOB: N_("Started a job with a wage subsidy"),
    StepKind.JOB_SEARCH: N_("Looks for work regularly"),
    StepKind.CONTACT: N_("Contact with an authority or care provider"),
    StepKind.LEFT_FOR_WORK: N_("Left the project for work or studies"),
}

CADENCE_LABELS: dict[Cadence, str] = {
    Cadence.WEEKLY: N_("Every week"),
    Cadence.FORTNIGHTLY: N_("Every other week"),
    Cadence.MONTHLY: N_("Once a month"),
}

FLAG_LABELS: dict[FlagKind, str] = {
    FlagKind.LOW_MOOD: N_("hard weeks twice in a row"),
    FlagKind.NO_ANSWER: N_("no answer twice in a row"),
}

FLAG_MARK = "⚑"
PAUSED_MARK = "⏸"
UNREACHABLE_MARK = "⛔"


def face(mood: int, t: Translator) -> str:
    emoji, word = FACES[mood]
    return f"{emoji} {t(word)}"


def faces_only(moods: list[int]) -> str:
    return " ".join(FACES[mood][0] for mood in moods)


def trend_arrow(moods: list[int]) -> str:
    """Up, down or level between the last two answers; nothing with fewer than two."""
    if len(moods) < 2:
        return ""
    if moods[-1] > moods[-2]:
        return "↑"
    if moods[-1] < moods[-2]:
        return "↓"
    return "="


def schedule_text(choice: ScheduleChoice, t: Translator) -> str:
    """'every Monday at 10:00', in the reader's language."""
    weekday = t.weekday_name(choice.weekday)
    at = f"{choice.at.hour:02d}:{choice.at.minute:02d}"
    if choice.cadence is Cadence.FORTNIGHTLY:
        return t("every other {weekday} at {time}").format(weekday=weekday, time=at)
    if choice.cadence is Cadence.MONTHLY:
        return t("the first {weekday} of each month at {time}").format(weekday=weekday, time=at)
    return t("every {weekday} at {time}").format(weekday=weekday, time=at)


def when(moment: datetime | None, t: Translator) -> str:
    return t.datetime(moment) if moment is not None else "–"


def greeting(display_name: str | None, t: Translator) -> str:
    """'Hi Sara!', or 'Hi!' when the bot has no name for the person."""
    name = display_name.split()[0] if display_name and display_name.strip() else ""
    return t("Hi {name}!").format(name=name) if name else t("Hi!")


def short_name(display_name: str | None) -> str:
    """How a mentor sees a participant in lists: the first name, or a dash."""
    return display_name.split()[0] if display_name and display_name.strip() else "–"
