"""Extract, merge and compile the gettext catalogs with Babel (`stegvis i18n update`).

Locations are kept without line numbers, so moving code does not churn the catalogs, and
the template carries no creation date, so re-extracting an unchanged tree changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.config import SUPPORTED_LOCALES
from bot.i18n import DOMAIN, LOCALES_DIR

ROOT = LOCALES_DIR.parent
SOURCE_DIRS = ("bot", "storage")
KEYWORDS = {
    "_": None,
    "t": None,
    "gettext": None,
    "N_": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
}
METHOD_MAP = [("**.py", "python")]
PROJECT = "Stegvis"
# Fixed header dates: an unchanged tree re-extracts to identical files.
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
HEADER = {
    "project": PROJECT,
    "version": "1",
    "copyright_holder": "the Stegvis developers",
    "msgid_bugs_address": "",
    "creation_date": EPOCH,
    "revision_date": EPOCH,
    "last_translator": "Stegvis translators",
    "language_team": "Stegvis translators",
    "fuzzy": False,
    "domain": DOMAIN,
}


def extract() -> Catalog:
    template = Catalog(**HEADER)  # type: ignore[arg-type]
    for directory in SOURCE_DIRS:
        found: Iterator[tuple[str, int, str | tuple[str, ...], list[str], str | None]]
        found = extract_from_dir(
            str(ROOT / directory), METHOD_MAP, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
        )
        for filename, _lineno, message, comments, context in found:
            template.add(
                message,
                None,
                [(f"{directory}/{filename}", None)],  # type: ignore[list-item]
                auto_comments=comments,
                context=context,
            )
    return template


def template_path() -> Path:
    return LOCALES_DIR / f"{DOMAIN}.pot"


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"


def _write_po(path: Path, catalog: Catalog, *, template: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(
            handle,
            catalog,
            width=88,
            omit_header=False,
            sort_output=False,
            include_lineno=False,
            ignore_obsolete=True,
        )


def read(locale: str) -> Catalog:
    with po_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def update() -> None:
    template = extract()
    _write_po(template_path(), template, template=True)
    for locale in SUPPORTED_LOCALES:
        path = po_path(locale)
        new = Catalog(locale=locale, **HEADER)  # type: ignore[arg-type]
        catalog = read(locale) if path.exists() else new
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=True)
        catalog.fuzzy = False
        catalog.revision_date = EPOCH
        catalog.creation_date = EPOCH
        _write_po(path, catalog)
        compile_locale(locale)


def compile_locale(locale: str) -> None:
    catalog = read(locale)
    with mo_path(locale).open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def apply_translations(locale: str, translations: dict[str, str | list[str]]) -> list[str]:
    """Fill a catalog from {msgid: text or plural forms} ("context\\x04msgid" for contexts),
    compile it, and return the msgids still untranslated."""
    catalog = read(locale)
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if message.context:
            key = f"{message.context}\x04{key}"
        if key in translations:
            value = translations[key]
            message.string = tuple(value) if isinstance(value, list) else value
            message.flags.discard("fuzzy")
    _write_po(po_path(locale), catalog)
    compile_locale(locale)
    return [
        str(message.id)
        for message in catalog
        if message.id
        and not (all(message.string) if isinstance(message.string, tuple) else message.string)
    ]
