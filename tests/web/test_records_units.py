"""Parts of the records' pages that need no server: error words, names, the store."""

from __future__ import annotations

import datetime as dt

import pytest

from scut.persons.dates import InvalidDate, parse_date, parse_partial_date
from scut.persons.idnp import InvalidIdnp, validate_idnp
from scut.persons.service import InvalidPersonField, check_categories
from scut.web.config import LANGUAGES
from scut.web.i18n import Renderer
from scut.web.records.common import format_partial_date
from scut.web.records.fields import (
    DATE_ERRORS,
    IDNP_ERRORS,
    UNKNOWN_ERROR,
    date_error,
    idnp_error,
    person_field_error,
)
from scut.web.records.justification import JustificationStore, local_path
from scut.web.records.labels import record_label
from scut.web.records.uploads import DEFAULT_NAME, safe_file_name

# Values that each IDNP check rejects, by the code it gives.
INVALID_IDNPS = {
    "empty": " ",
    "not-digits": "20020421234A9",
    "length": "2002042",
    "organisation": "1002042123456",
    "prefix": "5002042123456",
    "placeholder": "2222222222222",
    "check-digit": "2002042123458",
}
# Values that each date check rejects, by the code it gives.
INVALID_DATES = {
    "empty": "",
    "format": "yesterday",
    "too-early": "1850",
    "future": "2999",
    "month": "13.1990",
    "day": "30.02.1990",
}


@pytest.mark.parametrize(("code", "value"), sorted(INVALID_IDNPS.items()))
def test_each_idnp_check_has_words(code: str, value: str) -> None:
    with pytest.raises(InvalidIdnp) as raised:
        validate_idnp(value)
    assert raised.value.code == code
    words = idnp_error(raised.value)
    assert words.message == IDNP_ERRORS[code]
    assert words.message % words.values  # every placeholder has its value


@pytest.mark.parametrize(("code", "value"), sorted(INVALID_DATES.items()))
def test_each_date_check_has_words(code: str, value: str) -> None:
    with pytest.raises(InvalidDate) as raised:
        parse_partial_date(value)
    assert raised.value.code == code
    words = date_error(raised.value)
    assert words.message == DATE_ERRORS[code]
    assert words.message % words.values


def test_whole_date_needed_has_words() -> None:
    with pytest.raises(InvalidDate) as raised:
        parse_date("05.2011")
    assert date_error(raised.value).message == DATE_ERRORS["day-needed"]


def test_unknown_code_keeps_service_text() -> None:
    error = InvalidPersonField("latitude", "91.0 is outside -90..90")
    words = person_field_error(error)
    assert words.message == UNKNOWN_ERROR
    assert words.detail == "91.0 is outside -90..90"


def test_category_errors_have_words() -> None:
    with pytest.raises(InvalidPersonField) as raised:
        check_categories(["pilot"])
    assert raised.value.code == "unknown"
    assert person_field_error(raised.value).message == (
        "Choose the categories from the list."
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_error_words_render_in_language(language: str) -> None:
    environment = Renderer("UTC").environment(language)
    template = environment.from_string(
        "{{ error.message|translate|format(**error.values) }}"
    )
    with pytest.raises(InvalidIdnp) as raised:
        validate_idnp(INVALID_IDNPS["check-digit"])
    text = template.render(error=idnp_error(raised.value))
    assert "8" in text
    assert "9" in text
    assert "%(" not in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ro", ("1990", "mai 1990", "17 mai 1990")),
        ("en", ("1990", "May 1990", "May 17, 1990")),
        ("ru", ("1990", "май 1990\u202fг.", "17 мая 1990\u202fг.")),
    ],
)
def test_partial_dates_by_language(language: str, expected: tuple[str, ...]) -> None:
    written = tuple(
        format_partial_date(text, language)
        for text in ("1990", "1990-05", "1990-05-17")
    )
    assert written == expected
    assert format_partial_date("not a date", language) == "not a date"
    assert format_partial_date(None, language) == ""


def test_labels_fall_back_to_value() -> None:
    assert record_label("category", "victim") == "Victim"
    assert record_label("category", "pilot") == "pilot"
    assert record_label("field", None) == "\u2014"
    assert record_label("link_level", "similar (Jaro-Winkler >= 0.9)") == "similar"
    assert record_label("series_field", "name") == "Name"
    assert record_label("series_field", "idnp") == "IDNP"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("list.csv", "list.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\list.xlsx", "list.xlsx"),
        ("..", DEFAULT_NAME),
        ("", DEFAULT_NAME),
        (None, DEFAULT_NAME),
        ("li\x00st\n.csv", "list.csv"),
        ("a" * 300 + ".xlsx", "a" * 195 + ".xlsx"),
    ],
)
def test_upload_names_made_safe(typed: str | None, kept: str) -> None:
    assert safe_file_name(typed) == kept


def test_justification_store_expires_and_bounds() -> None:
    now = dt.datetime(2026, 3, 7, 10, 0, tzinfo=dt.UTC)
    store = JustificationStore(dt.timedelta(hours=12), capacity=2)
    store.put("token-a", "CASE-1", now)
    assert store.get("token-a", now + dt.timedelta(hours=11)) == "CASE-1"
    assert store.get("token-b", now) is None
    assert store.get("token-a", now + dt.timedelta(hours=13)) is None
    for token in ("t1", "t2", "t3"):
        store.put(token, f"for {token}", now)
    assert store.get("t1", now) is None
    assert store.get("t3", now) == "for t3"


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/persons/5", "/persons/5"),
        ("/persons?q=ion", "/persons?q=ion"),
        ("https://elsewhere.example/", "/persons"),
        ("//elsewhere.example/x", "/persons"),
        ("/\\elsewhere.example", "/persons"),
        ("/persons\n", "/persons"),
    ],
)
def test_return_path_stays_on_site(path: str, kept: str) -> None:
    assert local_path(path) == kept
