"""The dashboard's own language: English or Swedish, the staff member's choice.

Staff-only text lives in a gettext domain of its own ("dashboard"), apart from the
messages participants read, which must also exist in Arabic. Dates and numbers follow
the chosen language and are shown in the project's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_timedelta
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from bot.i18n import LOCALES_DIR

DOMAIN = "dashboard"
LANGUAGES: tuple[str, ...] = ("sv", "en")
LANGUAGE_NAMES = {"sv": "Svenska", "en": "English"}
FORMAT_LOCALES = {"sv": "sv_SE", "en": "en_GB"}


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


@cache
def _translations(language: str) -> Translations:
    loaded = Translations.load(str(LOCALES_DIR), [language], domain=DOMAIN)
    return loaded if isinstance(loaded, Translations) else Translations()


def pick_language(accept_language: str | None, default: str = "sv") -> str:
    """Before sign-in: the browser's first language the dashboard speaks."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return code
    return default if default in LANGUAGES else "sv"


@dataclass(frozen=True)
class WebText:
    """gettext and formatting bound to one interface language and the project's zone."""

    language: str
    zone: ZoneInfo

    @property
    def _t(self) -> Translations:
        return _translations(self.language)

    @property
    def format_locale(self) -> str:
        return FORMAT_LOCALES[self.language]

    def gettext(self, message: str) -> str:
        return str(self._t.gettext(message))

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(self._t.ngettext(singular, plural, n))

    def number(self, value: float | int) -> str:
        return str(format_decimal(value, locale=self.format_locale))

    def percent(self, value: float) -> str:
        return str(format_percent(value, locale=self.format_locale))

    def date(self, value: dt.date | dt.datetime | None) -> str:
        if value is None:
            return "–"
        local = value.astimezone(self.zone) if isinstance(value, dt.datetime) else value
        return str(format_date(local, "medium", locale=self.format_locale))

    def short_date(self, value: dt.date) -> str:
        return str(format_date(value, "d MMM", locale=self.format_locale))

    def duration(self, value: dt.timedelta) -> str:
        """ "3 hours", "2 days": rounded, for how long a case has waited."""
        if value < dt.timedelta(minutes=1):
            value = dt.timedelta(minutes=1)
        return str(format_timedelta(value, granularity="minute", locale=self.format_locale))

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return "–"
        local = value.astimezone(self.zone)
        day = format_date(local, "medium", locale=self.format_locale)
        return f"{day} {local:%H:%M}"


@cache
def web_text(language: str, zone_name: str = "Europe/Stockholm") -> WebText:
    return WebText(language if language in LANGUAGES else "sv", ZoneInfo(zone_name))
