"""The message catalogs, the choice of language, and dates and numbers per locale."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from scut.web.config import LANGUAGES, WebSettings
from scut.web.i18n import (
    LOCALE_DIR,
    Renderer,
    catalog_paths,
    choose_language,
    offered_languages,
)

WEB_DIR = Path(LOCALE_DIR).parent
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _extracted() -> set[str]:
    """Extract the messages of the web package as `pybabel extract` does."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options_map = {
        "templates/**.html": {
            "extensions": "jinja2.ext.i18n",
            "trim_blocks": "true",
            "lstrip_blocks": "true",
        }
    }
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(WEB_DIR), method_map, options_map):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(language: str) -> dict[str, str]:
    """Return the messages of every catalog of ``language``, merged."""
    messages: dict[str, str] = {}
    for path in catalog_paths(language):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        assert not catalog.fuzzy, f"{path} is marked fuzzy"
        for message in catalog:
            if not message.id:
                continue
            assert "fuzzy" not in message.flags, (path, message.id)
            text = str(message.string)
            # A message that two areas share needs the same translation.
            assert messages.setdefault(str(message.id), text) == text, (
                path,
                message.id,
            )
    return messages


def test_areas_have_every_language() -> None:
    areas = {
        language: {path.stem for path in catalog_paths(language)}
        for language in LANGUAGES
    }
    assert "messages" in areas["ro"]
    assert all(found == areas["ro"] for found in areas.values()), areas


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_complete(language: str) -> None:
    messages = _catalog(language)
    assert set(messages) == _extracted()
    untranslated = [message for message, text in messages.items() if not text]
    assert untranslated == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_kept(language: str) -> None:
    for message, text in _catalog(language).items():
        assert sorted(PLACEHOLDER.findall(text)) == sorted(
            PLACEHOLDER.findall(message)
        ), (language, message)


def test_romanian_uses_comma_below() -> None:
    texts = "".join(_catalog("ro").values())
    for cedilla in "şţŞŢ":
        assert cedilla not in texts
    assert "ș" in texts
    assert "ț" in texts


def test_russian_written_in_cyrillic() -> None:
    for message, text in _catalog("ru").items():
        assert CYRILLIC.search(text), message


def test_english_catalog_is_identity() -> None:
    assert all(text == message for message, text in _catalog("en").items())


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "ro"),
        (None, "", "ro"),
        (None, "ru", "ru"),
        (None, "ru-MD,ro;q=0.5", "ru"),
        (None, "ro;q=0.3, en-US;q=0.9", "en"),
        (None, "de-DE,fr;q=0.9", "ro"),
        (None, "en;q=0, ru;q=0.1", "ru"),
        (None, "en;q=nonsense, ru;q=0.2", "ru"),
        ("en", "ru", "en"),
        ("xx", "ru", "ru"),
        ("", None, "ro"),
    ],
)
def test_choose_language(cookie: str | None, header: str | None, expected: str) -> None:
    assert choose_language(cookie, header, "ro") == expected


def test_languages_named_in_their_own() -> None:
    names = {language.code: language.name for language in offered_languages()}
    assert names == {"ro": "Română", "en": "English", "ru": "Русский"}


def test_web_settings_reject_unknown_values() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        WebSettings(time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="must be one of ro, en, ru"):
        WebSettings(default_language="de")


RENDERED_DATES = {
    "ro": ("7 martie 2026", "7 mar. 2026, 12:15:00", "12.345,5"),
    "en": ("March 7, 2026", "Mar 7, 2026, 12:15:00\u202fPM", "12,345.5"),
    "ru": ("7 марта 2026\u202fг.", "7 мар. 2026\u202fг., 12:15:00", "12\xa0345,5"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_dates_and_numbers_per_locale(language: str) -> None:
    renderer = Renderer("Europe/Chisinau")
    environment = renderer.environment(language)
    moment = dt.datetime(2026, 3, 7, 10, 15, tzinfo=dt.UTC)
    long_date, date_time, number = RENDERED_DATES[language]
    assert environment.filters["date"](moment, "long") == long_date
    assert environment.filters["datetime"](moment) == date_time
    assert environment.filters["number"](12345.5) == number


def test_naive_times_read_as_utc() -> None:
    environment = Renderer("Europe/Chisinau").environment("en")
    naive = dt.datetime(2026, 7, 1, 21, 30)
    assert environment.filters["date"](naive, "long") == "July 2, 2026"


def test_translated_text_is_escaped() -> None:
    renderer = Renderer("UTC")
    template = renderer.environment("en").from_string(
        "{{ _('Situation on %(date)s', date=value) }}|{{ value|translate }}"
    )
    html = template.render(value="<b>bold</b>")
    assert html == ("Situation on &lt;b&gt;bold&lt;/b&gt;|&lt;b&gt;bold&lt;/b&gt;")
