"""The time that sign-in, lockout and session rules read.

Every rule that depends on time takes a ``Clock``, so that tests set the
time instead of waiting for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """A source of the current time."""

    def now(self) -> dt.datetime:
        """Return the current time as an aware UTC datetime."""
        ...


class SystemClock:
    """The computer's clock."""

    def now(self) -> dt.datetime:
        """Return the current time as an aware UTC datetime."""
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that stays at the time it is set to, for tests."""

    def __init__(self, at: dt.datetime) -> None:
        self._at = _utc(at)

    def now(self) -> dt.datetime:
        """Return the time the clock is set to."""
        return self._at

    def set(self, at: dt.datetime) -> None:
        """Move the clock to ``at``, an aware datetime."""
        self._at = _utc(at)

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock forward by ``delta`` (backward when it is negative)."""
        self._at += delta


def _utc(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"the clock needs an aware datetime, got the naive {at}")
    return at.astimezone(dt.UTC)
