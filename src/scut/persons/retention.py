"""When each person record must be reviewed for whether it is still needed.

Every person carries a review date: the date of its creation or last
review plus the period of its longest-kept category, because a record
needed for one purpose (an offender's) must not fall due under a shorter
one (a witness's). At review an analyst keeps the record, which sets the
next date, or erases it. The periods are defaults that the centre's data
protection rules may change with ``SCUT_RETENTION_YEARS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

# Years between reviews, by category of data subject.
REVIEW_YEARS: Mapping[str, int] = {
    "victim": 10,
    "offender": 20,
    "convicted": 20,
    "suspect": 5,
    "witness": 3,
    "other": 3,
}


def review_due(
    categories: Iterable[str],
    start: dt.date,
    overrides: Mapping[str, int] | None = None,
) -> dt.date:
    """Return the review date for a record of these categories from ``start``."""
    periods = {**REVIEW_YEARS, **(overrides or {})}
    years = max((periods.get(category, 3) for category in categories), default=3)
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a year that has none
        return start.replace(year=start.year + years, day=28)
