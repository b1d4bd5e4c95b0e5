"""Translations and locale-aware formatting, resolved once per update and passed down.

English is the source language; Swedish and Arabic catalogs are complete (a test checks).
Dates and times are shown in the project's time zone and the participant's language.
Arabic has six plural forms, so counts always go through `ngettext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal
from babel.support import Translations

from bot.config import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
RTL_LOCALES = frozenset({"ar"})
# English here is read in Sweden: day before month, as in British English.
FORMAT_LOCALES = {"en": "en_GB"}

# The language picker names each language in itself, so nobody needs to read another.
LANGUAGE_NAMES: dict[str, str] = {"sv": "Svenska", "ar": "العربية", "en": "English"}


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


def resolve_locale(stored: str | None, telegram_language: str | None, default: str) -> str:
    """Stored choice first, then the language of the Telegram app, then the project default."""
    if stored in SUPPORTED_LOCALES:
        return stored
    if telegram_language:
        code = telegram_language.replace("_", "-").split("-")[0].lower()
        if code in SUPPORTED_LOCALES:
            return code
    return default


@cache
def _translations(locale: str) -> Translations:
    loaded = Translations.load(str(LOCALES_DIR), [locale], domain=DOMAIN)
    if not isinstance(loaded, Translations):
        # No compiled catalog: fall back to the source text rather than fail a participant.
        return Translations()
    return loaded


@dataclass(frozen=True)
class Translator:
    """gettext bound to one locale and time zone."""

    locale: str
    zone: ZoneInfo

    @property
    def _t(self) -> Translations:
        return _translations(self.locale)

    @property
    def format_locale(self) -> str:
        return FORMAT_LOCALES.get(self.locale, self.locale)

    @property
    def rtl(self) -> bool:
        return self.locale in RTL_LOCALES

    def gettext(self, message: str) -> str:
        return str(self._t.gettext(message))

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return str(self._t.pgettext(context, message))

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self._t.npgettext(context, singular, plural, n)

    def number(self, value: float | int) -> str:
        return format_decimal(value, locale=self.format_locale)

    def date(self, value: date | datetime) -> str:
        """A date as people write it: 'måndag 30 mars', 'الاثنين 30 مارس', 'Monday 30 March'."""
        local = value.astimezone(self.zone) if isinstance(value, datetime) else value
        weekday = format_date(local, "EEEE", locale=self.format_locale)
        day = format_skeleton("MMMMd", local, locale=self.format_locale)
        return self.gettext("{weekday} {day}").format(weekday=weekday, day=day)

    def time(self, value: datetime) -> str:
        """24-hour time, as in Sweden, in the project's time zone."""
        return value.astimezone(self.zone).strftime("%H:%M")

    def datetime(self, value: datetime) -> str:
        return self.gettext("{date} at {time}").format(date=self.date(value), time=self.time(value))

    def language_name(self, code: str) -> str:
        """A language named in this translator's language: "arabiska", "Arabic"."""
        name = Locale.parse(self.format_locale).languages.get(code)
        return str(name) if name else LANGUAGE_NAMES.get(code, code)

    def weekday_name(self, weekday: int) -> str:
        """Monday is 0, as in Python."""
        return str(Locale.parse(self.format_locale).days["format"]["wide"][weekday])


@cache
def translator(locale: str, zone_name: str = "Europe/Stockholm") -> Translator:
    return Translator(locale=locale, zone=ZoneInfo(zone_name))


def in_every_language(message: str, zone_name: str = "Europe/Stockholm") -> str:
    """One line per supported language: for the moment before anyone has chosen."""
    return "\n".join(translator(code, zone_name).gettext(message) for code in SUPPORTED_LOCALES)
