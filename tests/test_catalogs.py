"""Every user-facing string is translated: the catalogs are complete, current and compiled."""

from __future__ import annotations

import gettext
import re
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Message

from bot import catalogs
from bot.config import SUPPORTED_LOCALES
from bot.i18n import LOCALES_DIR, translator

COMPLETE_LOCALES = ("sv", "ar")
PLACEHOLDER = re.compile(r"\{([a-z_]+)[^}]*\}")
# A plural form that stands for one number (Arabic "one" and "two") may name it in words.
COUNT = "count"


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def messages(locale: str) -> list[Message]:
    return [message for message in catalogs.read(locale) if message.id]


def plural_forms(message: Message) -> Sequence[str]:
    """A plural message's translations, one per form."""
    assert isinstance(message.string, tuple | list), message.id
    return message.string


def singular(message: Message) -> str:
    """A message's one translation; empty while untranslated."""
    assert isinstance(message.string, str), message.id
    return message.string


def test_the_template_matches_the_source_code() -> None:
    """Re-extracting changes nothing: no string was added or changed without the catalogs."""
    extracted = {
        (m.context, m.id if isinstance(m.id, str) else tuple(m.id))
        for m in catalogs.extract()
        if m.id
    }
    with catalogs.template_path().open("rb") as handle:
        from babel.messages.pofile import read_po

        stored = {
            (m.context, m.id if isinstance(m.id, str) else tuple(m.id))
            for m in read_po(handle)
            if m.id
        }
    assert extracted - stored == set(), "run `make catalogs` and translate the new strings"
    assert stored - extracted == set(), "run `make catalogs` to drop strings no longer used"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_each_catalog_holds_every_message_of_the_template(locale: str) -> None:
    template = {(m.context, str(m.id)) for m in catalogs.extract() if m.id}
    catalog = {(m.context, str(m.id)) for m in messages(locale)}
    assert template - catalog == set()


@pytest.mark.parametrize("locale", COMPLETE_LOCALES)
def test_swedish_and_arabic_are_complete_and_not_fuzzy(locale: str) -> None:
    missing, fuzzy = [], []
    for message in messages(locale):
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if not all(strings):
            missing.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert missing == []
    assert fuzzy == []


@pytest.mark.parametrize("locale", COMPLETE_LOCALES)
def test_translations_use_the_same_placeholders_as_the_source(locale: str) -> None:
    wrong = []
    for message in messages(locale):
        if isinstance(message.id, tuple | list):
            source = placeholders(message.id[0]) | placeholders(message.id[1])
            for form in plural_forms(message):
                found = placeholders(form)
                if found - source or (source - {COUNT}) - found:
                    wrong.append((message.id[0], form))
        else:
            translation = singular(message)
            if placeholders(message.id) != placeholders(translation):
                wrong.append((message.id, translation))
    assert wrong == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_catalog_is_compiled_from_its_current_text(locale: str) -> None:
    with catalogs.mo_path(locale).open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for message in messages(locale):
        if isinstance(message.id, tuple | list):
            for n, form in ((1, 0), (2, 1)):
                translated = plural_forms(message)[form]
                expected = translated if locale == "sv" and translated else None
                if expected:
                    assert compiled.ngettext(message.id[0], message.id[1], n) == expected
        elif message.string:
            key = f"{message.context}\x04{message.id}" if message.context else message.id
            assert compiled.gettext(key) == message.string, f"recompile {locale}: {message.id!r}"


def test_arabic_has_six_plural_forms_chosen_by_the_number() -> None:
    catalog = catalogs.read("ar")
    assert catalog.num_plurals == 6
    t = translator("ar")
    forms = [
        t.ngettext(
            "We delete your data {count} month after you leave the project.",
            "We delete your data {count} months after you leave the project.",
            n,
        )
        for n in (0, 1, 2, 3, 11, 100)
    ]
    assert len(set(forms)) == 6, forms


def test_dates_are_written_in_the_participants_language_and_the_projects_time_zone() -> None:
    # 22:30 UTC on Sunday is already Monday in Stockholm, where summer time began that day.
    moment = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)
    assert translator("sv").datetime(moment) == "måndag 30 mars kl. 00:30"
    assert translator("en").datetime(moment) == "Monday 30 March at 00:30"
    arabic = translator("ar").datetime(moment)
    assert "الاثنين" in arabic and "مارس" in arabic and "00:30" in arabic
    assert translator("sv").number(1234.5) == "1\xa0234,5"


# The dashboard's own domain: staff-only text in Swedish and English (no Arabic needed).


def test_the_dashboard_template_matches_its_source_code_and_templates() -> None:
    from babel.messages.pofile import read_po

    extracted = {
        (m.context, m.id if isinstance(m.id, str) else tuple(m.id))
        for m in catalogs.extract(catalogs.DASHBOARD)
        if m.id
    }
    with catalogs.template_path(catalogs.DASHBOARD).open("rb") as handle:
        stored = {
            (m.context, m.id if isinstance(m.id, str) else tuple(m.id))
            for m in read_po(handle)
            if m.id
        }
    assert extracted - stored == set(), "run `make catalogs` and translate the new strings"
    assert stored - extracted == set(), "run `make catalogs` to drop strings no longer used"
    # Strings of the templates are found too, not only those of the Python code.
    assert "Sign in to Stegvis" in {message_id for _context, message_id in extracted}


def test_staff_only_text_stays_out_of_the_participants_catalog() -> None:
    bot_messages = {str(m.id) for m in catalogs.extract() if m.id}
    assert "The username or password is wrong." not in bot_messages
    assert "Join Stegvis" in bot_messages  # the printed invitation is for participants


@pytest.mark.parametrize("locale", catalogs.DASHBOARD.locales)
def test_the_swedish_dashboard_is_complete_and_compiled(locale: str) -> None:
    template = {(m.context, str(m.id)) for m in catalogs.extract(catalogs.DASHBOARD) if m.id}
    catalog = [m for m in catalogs.read(locale, catalogs.DASHBOARD) if m.id]
    assert template - {(m.context, str(m.id)) for m in catalog} == set()
    with catalogs.mo_path(locale, catalogs.DASHBOARD).open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    missing, fuzzy, wrong = [], [], []
    for message in catalog:
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if locale == "sv" and not all(forms):
            missing.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        source = set().union(*(placeholders(text) for text in ids))
        for form in forms:
            if form and (placeholders(form) - source or (source - {COUNT}) - placeholders(form)):
                wrong.append((message.id, form))
        if isinstance(message.id, str) and message.string:
            assert compiled.gettext(message.id) == message.string, f"recompile {locale}"
    assert (missing, fuzzy, wrong) == ([], [], [])


def test_applying_translations_never_changes_another_catalogs_wording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot says "Klar" for "Done", the dashboard "Klart": filling one must not
    overwrite the other (it once broke the check-in's Swedish)."""

    shutil.copytree(LOCALES_DIR, tmp_path / "locales")
    monkeypatch.setattr(catalogs, "LOCALES_DIR", tmp_path / "locales")

    def done(domain: catalogs.CatalogDomain) -> object:
        found = catalogs.read("sv", domain).get("Done")
        assert found is not None
        return found.string

    assert (done(catalogs.MESSAGES), done(catalogs.DASHBOARD)) == ("Klar", "Klart")
    catalogs.apply_translations("sv", {"Done": "Färdig"})
    assert (done(catalogs.MESSAGES), done(catalogs.DASHBOARD)) == ("Klar", "Klart")
    catalogs.apply_translations("sv", {"Done": "Färdigt"}, catalog="dashboard")
    assert (done(catalogs.MESSAGES), done(catalogs.DASHBOARD)) == ("Klar", "Färdigt")
