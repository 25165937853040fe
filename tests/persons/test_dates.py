import datetime as dt

import pytest

from scut.persons.dates import (
    InvalidDate,
    PartialDate,
    date_from_value,
    parse_date,
    parse_partial_date,
    partial_date_from_value,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990", PartialDate(1990)),
        ("1990-05", PartialDate(1990, 5)),
        ("1990-05-17", PartialDate(1990, 5, 17)),
        ("1990-5-7", PartialDate(1990, 5, 7)),
        ("17.05.1990", PartialDate(1990, 5, 17)),
        ("17/05/1990", PartialDate(1990, 5, 17)),
        ("05.1990", PartialDate(1990, 5)),
        (" 2000-02-29 ", PartialDate(2000, 2, 29)),
    ],
)
def test_parse_accepted_forms(text: str, expected: PartialDate) -> None:
    assert parse_partial_date(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1990-02-30", "1990-02 has no day 30"),
        ("1999-02-29", "has no day 29"),
        ("31.04.1990", "has no day 31"),
        ("1990-13", "no month 13"),
        ("1990-00-10", "no month 0"),
        ("1850-01-01", "before 1900"),
        ("2999", "future"),
        ("yesterday", "write it as"),
        ("1990/05/17", "write it as"),
        ("", "empty"),
    ],
)
def test_parse_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidDate) as raised:
        parse_partial_date(text)
    assert reason in str(raised.value)


def test_str_round_trip() -> None:
    for text in ("1990", "1990-05", "1990-05-17"):
        assert str(parse_partial_date(text)) == text


def test_full_date_required() -> None:
    assert parse_date("17.05.1990") == dt.date(1990, 5, 17)
    with pytest.raises(InvalidDate, match="day and month are needed"):
        parse_date("1990-05")


def test_agreement_on_known_parts() -> None:
    full = PartialDate(1990, 5, 17)
    assert full.agrees_with(PartialDate(1990))
    assert full.agrees_with(PartialDate(1990, 5))
    assert not full.agrees_with(PartialDate(1990, 6))
    assert not full.agrees_with(PartialDate(1991))
    assert not full.agrees_with(PartialDate(1990, 5, 18))


def test_direct_construction_is_checked() -> None:
    with pytest.raises(InvalidDate):
        PartialDate(1990, 2, 30)
    with pytest.raises(InvalidDate, match="day without a month"):
        PartialDate(1990, None, 3)


def test_cell_values() -> None:
    assert partial_date_from_value(dt.datetime(1990, 5, 17, 0, 0)) == PartialDate(
        1990, 5, 17
    )
    assert partial_date_from_value(dt.date(1990, 5, 17)) == PartialDate(1990, 5, 17)
    assert partial_date_from_value(1990) == PartialDate(1990)
    assert partial_date_from_value(1990.0) == PartialDate(1990)
    assert date_from_value("17.05.1990") == dt.date(1990, 5, 17)
    with pytest.raises(InvalidDate):
        partial_date_from_value(True)
    with pytest.raises(InvalidDate):
        partial_date_from_value(3.5)
    with pytest.raises(InvalidDate):
        date_from_value(1990)


def test_future_allowed_only_when_asked() -> None:
    next_year = dt.date.today().year + 1
    with pytest.raises(InvalidDate, match="future"):
        parse_date(f"01.06.{next_year}")
    assert parse_date(f"01.06.{next_year}", allow_future=True) == dt.date(
        next_year, 6, 1
    )
    with pytest.raises(InvalidDate, match="future"):
        parse_date("01.06.2999", allow_future=True)
