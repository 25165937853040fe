"""Summaries of the centre's records: recent submissions, counts, work waiting.

Read-only summaries for the web dashboard and the API. A submitter gets
only the submissions of their own unit and counts over them, while the
centre's analysts and supervisors get every unit's. None of these calls
lists media content or personal data, so the access matrix leaves them
unaudited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from scut.db.models import (
    Case,
    Exhibit,
    LinkReview,
    Media,
    Occurrence,
    Submission,
    Unit,
)
from scut.errors import ScutError
from scut.matching.verdicts import KNOWN_GOOD
from scut.security.access import CENTRE, Target, operation
from scut.security.caller import Caller

# Media kinds that analysts categorise. Archives and other files never get
# a category, so counting them would only swell "not categorised".
CATEGORISED_KINDS = ("image", "video")
MAX_RECENT = 100

Ts = TypeVarTuple("Ts")


class OverviewError(ScutError):
    """Raised when a summary is requested with an invalid value."""


@dataclass(frozen=True, slots=True)
class SubmissionLine:
    """A submission as the lists of recent work show it."""

    submission_id: int
    case: str
    unit: str
    criminal_case_number: str
    received_at: dt.datetime
    exhibits: int
    files: int
    # Files of the submission by verdict (known, near, new, known-good).
    verdicts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class CategoryCount:
    """Pictures and videos with one category (``code`` None: not categorised)."""

    scheme: str | None
    code: str | None
    media: int


@dataclass(frozen=True, slots=True)
class Counts:
    """Files by verdict and pictures and videos by category."""

    files_by_verdict: Mapping[str, int]
    media_by_category: tuple[CategoryCount, ...]


@dataclass(frozen=True, slots=True)
class WorkWaiting:
    """Work waiting for the centre's analysts."""

    # Pictures and videos with no category that some file shows as other
    # than known-good.
    uncategorised_media: int
    # Links of convicted-offender rows to persons that wait for a decision.
    open_link_reviews: int


def _own_unit(*_: Any, caller: Caller, **__: Any) -> Target:
    """Target the caller's unit, so that a submitter without a unit is denied."""
    return Target("submission", unit_id=caller.unit_id)


def _unit_filter(caller: Caller) -> int | None:
    """Return the unit a caller is held to, or None for the centre's roles."""
    if caller.local_operator or caller.roles & CENTRE:
        return None
    return caller.unit_id


@operation("submissions.list", before=_own_unit)
def recent_submissions(
    session: Session, limit: int = 20, *, caller: Caller
) -> list[SubmissionLine]:
    """Return the latest ``limit`` submissions the caller may see, newest first.

    Raises OverviewError when ``limit`` is not between 1 and MAX_RECENT.
    """
    if not 1 <= limit <= MAX_RECENT:
        raise OverviewError(
            f"the number of submissions to list must be 1 to {MAX_RECENT}, not {limit}"
        )
    query = (
        select(Submission, Case.reference, Unit.name)
        .join(Case, Case.id == Submission.case_id)
        .join(Unit, Unit.id == Submission.unit_id)
        .order_by(Submission.received_at.desc(), Submission.id.desc())
        .limit(limit)
    )
    unit_id = _unit_filter(caller)
    if unit_id is not None:
        query = query.where(Submission.unit_id == unit_id)
    rows = session.execute(query).all()

    ids = [submission.id for submission, _, _ in rows]
    exhibits = dict(
        session.execute(
            select(Exhibit.submission_id, func.count())
            .where(Exhibit.submission_id.in_(ids))
            .group_by(Exhibit.submission_id)
        ).all()
    )
    verdicts: dict[int, dict[str, int]] = {}
    for submission_id, verdict, count in session.execute(
        select(Exhibit.submission_id, Occurrence.verdict, func.count())
        .join(Occurrence, Occurrence.exhibit_id == Exhibit.id)
        .where(Exhibit.submission_id.in_(ids))
        .group_by(Exhibit.submission_id, Occurrence.verdict)
    ):
        verdicts.setdefault(submission_id, {})[verdict] = count

    return [
        SubmissionLine(
            submission_id=submission.id,
            case=reference,
            unit=unit_name,
            criminal_case_number=submission.criminal_case_number,
            received_at=_utc(submission.received_at),
            exhibits=exhibits.get(submission.id, 0),
            files=sum(verdicts.get(submission.id, {}).values()),
            verdicts=dict(sorted(verdicts.get(submission.id, {}).items())),
        )
        for submission, reference, unit_name in rows
    ]


@operation("statistics.read", before=_own_unit)
def count_records(session: Session, *, caller: Caller) -> Counts:
    """Count files by verdict and pictures and videos by category.

    A submitter's counts cover only the submissions of their own unit.
    """
    unit_id = _unit_filter(caller)
    verdicts = select(Occurrence.verdict, func.count()).group_by(Occurrence.verdict)
    categories = (
        select(Media.category_scheme, Media.category_code, func.count(Media.id))
        .where(Media.kind.in_(CATEGORISED_KINDS))
        .group_by(Media.category_scheme, Media.category_code)
    )
    if unit_id is not None:
        verdicts = _in_unit(verdicts, unit_id)
        unit_media = _in_unit(select(Occurrence.media_id), unit_id)
        categories = categories.where(Media.id.in_(unit_media))

    by_category = [
        CategoryCount(scheme if code is not None else None, code, count)
        for scheme, code, count in session.execute(categories)
    ]
    by_category.sort(
        key=lambda line: (line.code is not None, line.scheme or "", line.code or "")
    )
    return Counts(
        files_by_verdict=dict(sorted(session.execute(verdicts).all())),
        media_by_category=tuple(by_category),
    )


@operation("work.read")
def waiting_work(session: Session, *, caller: Caller) -> WorkWaiting:
    """Count the media waiting for a category and the open link reviews."""
    not_known_good = (
        select(Occurrence.media_id)
        .where(Occurrence.verdict != KNOWN_GOOD)
        .where(Occurrence.media_id == Media.id)
    )
    uncategorised = session.scalar(
        select(func.count(Media.id))
        .where(Media.kind.in_(CATEGORISED_KINDS))
        .where(Media.category_code.is_(None))
        .where(not_known_good.exists())
    )
    reviews = session.scalar(
        select(func.count(LinkReview.id)).where(LinkReview.status == "open")
    )
    return WorkWaiting(
        uncategorised_media=int(uncategorised or 0),
        open_link_reviews=int(reviews or 0),
    )


def _in_unit(query: Select[*Ts], unit_id: int) -> Select[*Ts]:
    """Restrict a query over occurrences to the exhibits of one unit."""
    return (
        query.join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
        .join(Submission, Submission.id == Exhibit.submission_id)
        .where(Submission.unit_id == unit_id)
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # SQLite returns stored UTC times without a zone
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
