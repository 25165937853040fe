"""Languages of the pages: message catalogs, the visitor's choice, dates and numbers.

Every visible text of a page is an English message looked up in the Babel
catalogs of the chosen language (``locale/<language>/LC_MESSAGES/*.po``, one
per area of the pages, see ``scripts/update-catalog``). The catalogs are
merged and compiled in memory when the application starts, so no compiled
``.mo`` file is kept in the repository and none can go stale.
Dates, times and numbers are formatted by Babel with the locale's rules.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, select_autoescape

from scut.errors import ConfigurationError
from scut.web.config import LANGUAGES

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_COOKIE = "scut_language"
# Accept-Language entries read. The rest of a longer header is ignored.
MAX_ACCEPT_ENTRIES = 20


def N_(message: str) -> str:
    """Mark ``message`` for extraction, to be translated where a page shows it."""
    return message


@dataclass(frozen=True, slots=True)
class Language:
    """A language offered by the pages, named in its own language."""

    code: str
    name: str


def offered_languages() -> tuple[Language, ...]:
    """Return the offered languages, each named as its speakers write it."""
    return tuple(
        Language(code, (Locale.parse(code).get_display_name(code) or code).capitalize())
        for code in LANGUAGES
    )


def catalog_paths(language: str) -> list[Path]:
    """Return the catalog files of ``language``: the base one, then each area's."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    return sorted(folder.glob("*.po"), key=lambda path: (path.stem != "messages", path))


def load_translations(language: str) -> gettext.GNUTranslations:
    """Merge and compile the catalogs of ``language`` in memory; return them.

    A message in more than one catalog keeps its first translation (the
    tests require them to agree). Raises ConfigurationError when the base
    catalog is missing or a catalog is unreadable, because pages without
    their texts cannot be served.
    """
    paths = catalog_paths(language)
    if not paths or paths[0].stem != "messages":
        raise ConfigurationError(
            f"the message catalog of {language!r} is missing from {LOCALE_DIR}. "
            "Reinstall Scut."
        )
    merged = Catalog(locale=language)
    for path in paths:
        try:
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        except (OSError, ValueError) as error:
            raise ConfigurationError(
                f"failed to read the message catalog {path}: {error}. Reinstall Scut."
            ) from error
        if path.stem == "messages":
            merged = catalog
            continue
        for message in catalog:
            if message.id and message.id not in merged:
                merged[message.id] = message
    compiled = io.BytesIO()
    write_mo(compiled, merged)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def choose_language(
    cookie: str | None, accept_language: str | None, default: str
) -> str:
    """Return the language of a request: cookie, else browser, else ``default``.

    The browser's choice is the offered language of highest quality in
    the Accept-Language header (RFC 9110), matched on the primary subtag,
    so ``ru-MD`` chooses Russian.
    """
    if cookie in LANGUAGES:
        return str(cookie)
    for language in _accepted(accept_language or ""):
        if language in LANGUAGES:
            return language
    return default


def _accepted(header: str) -> list[str]:
    """Return the primary subtags of an Accept-Language header, best first."""
    weighted: list[tuple[float, int, str]] = []
    for position, entry in enumerate(header.split(",")[:MAX_ACCEPT_ENTRIES]):
        tag, _, parameters = entry.strip().partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if quality > 0 and tag:
            weighted.append((-quality, position, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(weighted)]


class Renderer:
    """The templates of every offered language, with their translations and formats."""

    def __init__(self, time_zone: str) -> None:
        self.zone = ZoneInfo(time_zone)
        self.languages = offered_languages()
        self._environments = {
            language: self._environment(language) for language in LANGUAGES
        }

    def render(self, template: str, language: str, context: dict[str, Any]) -> str:
        """Render ``template`` in ``language`` with ``context``."""
        environment = self._environments[language]
        return environment.get_template(template).render(
            language=language, languages=self.languages, **context
        )

    def environment(self, language: str) -> Environment:
        """Return the template environment of ``language``, with its filters."""
        return self._environments[language]

    def _environment(self, language: str) -> Environment:
        environment = Environment(
            loader=PackageLoader("scut.web", "templates"),
            autoescape=select_autoescape(["html"], default_for_string=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        translations = load_translations(language)
        environment.install_gettext_translations(  # type: ignore[attr-defined]
            translations, newstyle=True
        )
        environment.filters.update(self._formats(language))
        # Plain text, escaped on output: for messages held in variables,
        # which the newstyle ``_`` would mark safe.
        environment.filters["translate"] = translations.gettext
        return environment

    def _formats(self, language: str) -> dict[str, Callable[..., str]]:
        zone = self.zone

        def date(value: dt.date | dt.datetime, form: str = "medium") -> str:
            if isinstance(value, dt.datetime):
                value = _aware(value).astimezone(zone).date()
            return format_date(value, form, locale=language)

        def datetime(value: dt.datetime, form: str = "medium") -> str:
            return format_datetime(_aware(value), form, tzinfo=zone, locale=language)

        def number(value: float) -> str:
            return format_decimal(value, locale=language)

        return {"date": date, "datetime": datetime, "number": number}


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # stored times without a zone are UTC
        return moment.replace(tzinfo=dt.UTC)
    return moment
