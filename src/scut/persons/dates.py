"""Dates of birth and registry dates, whole or partial.

Registries and analysts often know only the year, or the year and month,
of a birth. A partial date keeps what is known and compares only on that.
Accepted spellings: ISO ``1990``, ``1990-05``, ``1990-05-17``; the
day-first forms used in Moldova ``17.05.1990``, ``05.1990`` and
``17/05/1990``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from scut.errors import ScutError
from scut.persons.idnp import quoted

# Earliest year accepted for a birth or a court date.
MIN_YEAR = 1900
# Latest year accepted where a future date is allowed (a release date).
MAX_FUTURE_YEAR = dt.date.today().year + 60

_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_DAY_FIRST = re.compile(r"(?:(\d{1,2})[./])?(\d{1,2})[./](\d{4})")


class InvalidDate(ScutError):
    """Raised for a date that cannot be read or cannot exist.

    ``code`` names the failed check (empty, format, day-needed, not-a-date,
    day-without-month, too-early, future, month or day) and ``details``
    contains the values the message quotes, for pages in other languages.
    """

    def __init__(self, message: str, code: str = "invalid", **details: str) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    """A date of which the month and day may be unknown."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        _check(self.year, self.month, self.day, str(self), allow_future=True)

    def __str__(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
            if self.day is not None:
                text += f"-{self.day:02d}"
        return text

    @property
    def is_full(self) -> bool:
        """Whether year, month and day are all known."""
        return self.month is not None and self.day is not None

    def as_date(self) -> dt.date | None:
        """Return the full date, or None when part of it is unknown."""
        if self.month is None or self.day is None:
            return None
        return dt.date(self.year, self.month, self.day)

    def agrees_with(self, other: PartialDate) -> bool:
        """Return whether the two dates agree on every part both know."""
        if self.year != other.year:
            return False
        if self.month is None or other.month is None:
            return True
        if self.month != other.month:
            return False
        return self.day is None or other.day is None or self.day == other.day


def parse_partial_date(text: str, *, allow_future: bool = False) -> PartialDate:
    """Read a whole or partial date, or raise InvalidDate naming the value.

    A date after today is rejected unless ``allow_future`` is set, as for
    a planned release date.
    """
    value = text.strip()
    if not value:
        raise InvalidDate("invalid date: the value is empty", "empty")
    shown = quoted(value)
    iso = _ISO.fullmatch(value)
    if iso:
        year, month, day = iso.groups()
    else:
        day_first = _DAY_FIRST.fullmatch(value)
        if not day_first:
            raise InvalidDate(
                f"invalid date {shown}: write it as YYYY-MM-DD, DD.MM.YYYY, "
                "YYYY-MM, MM.YYYY or YYYY",
                "format",
            )
        day, month, year = day_first.groups()
    return _build(int(year), _int(month), _int(day), shown, allow_future)


def parse_date(text: str, *, allow_future: bool = False) -> dt.date:
    """Read a full date (day, month and year), or raise InvalidDate."""
    partial = parse_partial_date(text, allow_future=allow_future)
    full = partial.as_date()
    if full is None:
        raise InvalidDate(
            f"invalid date {quoted(text.strip())}: the day and month are needed",
            "day-needed",
        )
    return full


def partial_date_from_value(value: object) -> PartialDate:
    """Read a date from a spreadsheet cell: text, a date, a datetime or a year."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return _build(value.year, value.month, value.day, value.isoformat())
    if isinstance(value, bool):
        raise InvalidDate(f"invalid date {value!r}: not a date", "not-a-date")
    if isinstance(value, int):
        return _build(value, None, None, str(value))
    if isinstance(value, float) and value.is_integer():
        return _build(int(value), None, None, str(int(value)))
    if isinstance(value, str):
        return parse_partial_date(value)
    raise InvalidDate(f"invalid date {quoted(str(value))}: not a date", "not-a-date")


def date_from_value(value: object) -> dt.date:
    """Read a full date from a spreadsheet cell, or raise InvalidDate."""
    partial = partial_date_from_value(value)
    full = partial.as_date()
    if full is None:
        raise InvalidDate(
            f"invalid date '{partial}': the day and month are needed", "day-needed"
        )
    return full


def _build(
    year: int,
    month: int | None,
    day: int | None,
    shown: str,
    allow_future: bool = False,
) -> PartialDate:
    _check(year, month, day, shown, allow_future)
    return PartialDate(year, month, day)


def _check(
    year: int,
    month: int | None,
    day: int | None,
    shown: str,
    allow_future: bool = False,
) -> None:
    # Dates allowed in the future still stop at this year, to catch typos.
    today = dt.date.today()
    if allow_future:
        today = dt.date(MAX_FUTURE_YEAR, 12, 31)
    if day is not None and month is None:
        raise InvalidDate(
            f"invalid date {shown}: a day without a month", "day-without-month"
        )
    if year < MIN_YEAR:
        raise InvalidDate(
            f"invalid date {shown}: the year is before {MIN_YEAR}",
            "too-early",
            min_year=str(MIN_YEAR),
        )
    if year > today.year:
        raise InvalidDate(f"invalid date {shown}: the date is in the future", "future")
    if month is not None and not 1 <= month <= 12:
        raise InvalidDate(
            f"invalid date {shown}: there is no month {month}",
            "month",
            month=str(month),
        )
    if month is not None and day is not None:
        try:
            full = dt.date(year, month, day)
        except ValueError:
            raise InvalidDate(
                f"invalid date {shown}: {year:04d}-{month:02d} has no day {day}",
                "day",
                day=str(day),
                month=f"{year:04d}-{month:02d}",
            ) from None
        if full > today:
            raise InvalidDate(
                f"invalid date {shown}: the date is in the future", "future"
            )
    elif month is not None and (year, month) > (today.year, today.month):
        raise InvalidDate(f"invalid date {shown}: the date is in the future", "future")


def _int(text: str | None) -> int | None:
    return int(text) if text is not None else None
