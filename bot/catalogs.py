"""Extract, merge and compile the gettext catalogs with Babel (`stegvis i18n update`).

Locations are kept without line numbers, so moving code does not churn the catalogs, and
the template carries no creation date, so re-extracting an unchanged tree changes nothing.

Two domains: "messages", what participants and mentors read in the bot (Swedish, Arabic,
English), and "dashboard", the staff web pages (Swedish and English), extracted from
bot/web/ and its Jinja2 templates. Staff-only text never needs an Arabic translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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
# The dashboard's own text (bot/web/) is its own domain, below.
METHOD_MAP = [("web/**", "ignore"), ("**.py", "python")]
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


@dataclass(frozen=True)
class CatalogDomain:
    name: str
    sources: tuple[tuple[str, list[tuple[str, str]]], ...]  # (directory, Babel method map)
    locales: tuple[str, ...]


MESSAGES = CatalogDomain(
    DOMAIN, tuple((directory, METHOD_MAP) for directory in SOURCE_DIRS), SUPPORTED_LOCALES
)
DASHBOARD = CatalogDomain(
    "dashboard",
    (
        (
            "bot/web",
            [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")],
        ),
    ),
    ("sv", "en"),
)
DOMAINS = (MESSAGES, DASHBOARD)


def extract(domain: CatalogDomain = MESSAGES) -> Catalog:
    template = Catalog(**{**HEADER, "domain": domain.name})  # type: ignore[arg-type]
    for directory, method_map in domain.sources:
        found: Iterator[tuple[str, int, str | tuple[str, ...], list[str], str | None]]
        found = extract_from_dir(
            str(ROOT / directory), method_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
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


def template_path(domain: CatalogDomain = MESSAGES) -> Path:
    return LOCALES_DIR / f"{domain.name}.pot"


def po_path(locale: str, domain: CatalogDomain = MESSAGES) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain.name}.po"


def mo_path(locale: str, domain: CatalogDomain = MESSAGES) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain.name}.mo"


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


def read(locale: str, domain: CatalogDomain = MESSAGES) -> Catalog:
    with po_path(locale, domain).open("rb") as handle:
        return read_po(handle, locale=locale, domain=domain.name)


def update() -> None:
    for domain in DOMAINS:
        template = extract(domain)
        _write_po(template_path(domain), template, template=True)
        for locale in domain.locales:
            path = po_path(locale, domain)
            new = Catalog(locale=locale, **{**HEADER, "domain": domain.name})  # type: ignore[arg-type]
            catalog = read(locale, domain) if path.exists() else new
            catalog.update(template, no_fuzzy_matching=True, update_header_comment=True)
            catalog.fuzzy = False
            catalog.revision_date = EPOCH
            catalog.creation_date = EPOCH
            _write_po(path, catalog)
            compile_locale(locale, domain)


def compile_locale(locale: str, domain: CatalogDomain = MESSAGES) -> None:
    catalog = read(locale, domain)
    with mo_path(locale, domain).open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def apply_translations(
    locale: str, translations: dict[str, str | list[str]], catalog: str | None = None
) -> list[str]:
    """Fill a locale's catalogs from {msgid: text or plural forms} ("context\x04msgid" for
    contexts), compile them, and return the msgids still untranslated.

    Named (`catalog`), that catalog alone is set, existing translations included. Unnamed,
    every catalog of the locale gets only what it lacks: the bot and the dashboard may
    rightly say the same English word differently, so one never overwrites the other.
    """
    missing: list[str] = []
    for domain in DOMAINS:
        if catalog is not None and domain.name != catalog:
            continue
        if locale in domain.locales and po_path(locale, domain).exists():
            missing.extend(_apply(locale, translations, domain, overwrite=catalog is not None))
    return missing


def _apply(
    locale: str,
    translations: dict[str, str | list[str]],
    domain: CatalogDomain,
    *,
    overwrite: bool = True,
) -> list[str]:
    catalog = read(locale, domain)
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if message.context:
            key = f"{message.context}\x04{key}"
        translated = all(message.string) if isinstance(message.string, tuple) else message.string
        if key in translations and (overwrite or not translated):
            value = translations[key]
            message.string = tuple(value) if isinstance(value, list) else value
            message.flags.discard("fuzzy")
    _write_po(po_path(locale, domain), catalog)
    compile_locale(locale, domain)
    return [
        str(message.id)
        for message in catalog
        if message.id
        and not (all(message.string) if isinstance(message.string, tuple) else message.string)
    ]
