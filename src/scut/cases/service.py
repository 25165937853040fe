"""Units, cases and the origin of submissions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from scut.db.models import (
    Case,
    Exhibit,
    IngestError,
    Media,
    Occurrence,
    Series,
    SeriesCase,
    Submission,
    Unit,
)
from scut.errors import ScutError
from scut.ingest.summary import NOTE_STAGES
from scut.matching.verdicts import VERDICTS
from scut.persons.countries import InvalidCountry, country_code
from scut.security.access import argument, operation
from scut.security.caller import Caller

UNIT_KINDS = (
    "police",
    "border-police",
    "customs",
    "prosecution",
    "centre",
    "foreign-partner",
)
CASE_STATUSES = ("open", "closed")
# Files that one call of describe_submission lists, at most, and errors.
MAX_FILES_LISTED = 500
MAX_ERRORS_LISTED = 100


class RecordError(ScutError):
    """Raised for a unit or case that does not exist or a value that is invalid."""


@operation("units.save", before=argument("unit"))
def save_unit(
    session: Session, name: str, kind: str, country: str, *, caller: Caller
) -> dict[str, Any]:
    """Record a unit, or change the kind and state of an existing one."""
    if kind not in UNIT_KINDS:
        raise RecordError(
            f"unknown unit kind {kind!r}; use one of {', '.join(UNIT_KINDS)}"
        )
    try:
        code = country_code(country)
    except InvalidCountry as error:
        raise RecordError(str(error)) from None
    if kind != "foreign-partner" and code != "MD":
        raise RecordError(
            f"a {kind} unit of {code} is a foreign partner; use --kind foreign-partner"
        )
    if len(name) > 200 or not name.isprintable():
        raise RecordError("a unit name has at most 200 printable characters")
    unit = session.scalar(select(Unit).where(Unit.name == name))
    if unit is None:
        unit = Unit(name=name, kind=kind, country=code)
        session.add(unit)
    else:
        unit.kind = kind
        unit.country = code
    session.flush()
    return _unit(unit, 0)


@operation("units.list")
def list_units(session: Session, *, caller: Caller) -> list[dict[str, Any]]:
    """Return every unit with its number of submissions."""
    counts = dict(
        session.execute(
            select(Submission.unit_id, func.count()).group_by(Submission.unit_id)
        ).all()
    )
    return [
        _unit(unit, counts.get(unit.id, 0))
        for unit in session.scalars(select(Unit).order_by(Unit.name))
    ]


@operation("cases.open", before=argument("case"))
def open_case(
    session: Session, reference: str, title: str = "", *, caller: Caller
) -> dict[str, Any]:
    """Open a case, or set the title of an existing one."""
    if len(reference) > 100 or not reference.isprintable():
        raise RecordError("a case reference has at most 100 printable characters")
    case = session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        case = Case(reference=reference, title=title.strip()[:300])
        session.add(case)
    elif title.strip():
        case.title = title.strip()[:300]
    session.flush()
    return {"reference": case.reference, "title": case.title, "status": case.status}


def find_case(session: Session, reference: str) -> Case:
    """Return the case with this reference, or raise RecordError."""
    case = session.scalar(select(Case).where(Case.reference == reference.strip()))
    if case is None:
        raise RecordError(f"no case with reference {reference[:100]!r}")
    return case


@operation("cases.status", before=argument("case"))
def set_case_status(
    session: Session, reference: str, status: str, *, caller: Caller
) -> None:
    """Open or close a case."""
    if status not in CASE_STATUSES:
        raise RecordError(f"unknown case status {status!r}")
    find_case(session, reference).status = status


@operation("cases.list")
def list_cases(session: Session, *, caller: Caller) -> list[dict[str, Any]]:
    """Return every case with its number of submissions and its series."""
    counts = dict(
        session.execute(
            select(Submission.case_id, func.count()).group_by(Submission.case_id)
        ).all()
    )
    series: dict[int, list[str]] = {}
    for case_id, name in session.execute(
        select(SeriesCase.case_id, Series.name)
        .join(Series, Series.id == SeriesCase.series_id)
        .order_by(Series.name)
    ):
        series.setdefault(case_id, []).append(name)
    return [
        {
            "reference": case.reference,
            "title": case.title,
            "status": case.status,
            "submissions": counts.get(case.id, 0),
            "series": series.get(case.id, []),
        }
        for case in session.scalars(select(Case).order_by(Case.reference))
    ]


@operation("cases.read", before=argument("case"))
def describe_case(
    session: Session, reference: str, *, caller: Caller
) -> dict[str, Any]:
    """Return a case with its submissions, their origin and exhibits, and series."""
    case = find_case(session, reference)
    files = dict(
        session.execute(
            select(Occurrence.exhibit_id, func.count())
            .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
            .where(Exhibit.case_id == case.id)
            .group_by(Occurrence.exhibit_id)
        ).all()
    )
    submissions = []
    for submission, unit in session.execute(
        select(Submission, Unit.name)
        .join(Unit, Unit.id == Submission.unit_id)
        .where(Submission.case_id == case.id)
        .order_by(Submission.id)
    ):
        exhibits = session.scalars(
            select(Exhibit)
            .where(Exhibit.submission_id == submission.id)
            .order_by(Exhibit.label)
        )
        submissions.append(
            {
                "id": submission.id,
                "unit": unit,
                "officer": submission.officer,
                "criminal_case_number": submission.criminal_case_number,
                "legal_basis": submission.legal_basis,
                "seizure_date": submission.seizure_date.isoformat()
                if submission.seizure_date
                else None,
                "received_at": submission.received_at.isoformat(timespec="seconds"),
                "exhibits": [
                    {
                        "label": exhibit.label,
                        "device": exhibit.device,
                        "files": files.get(exhibit.id, 0),
                    }
                    for exhibit in exhibits
                ],
            }
        )
    series = list(
        session.scalars(
            select(Series.name)
            .join(SeriesCase, SeriesCase.series_id == Series.id)
            .where(SeriesCase.case_id == case.id)
            .order_by(Series.name)
        )
    )
    return {
        "reference": case.reference,
        "title": case.title,
        "status": case.status,
        "submissions": submissions,
        "series": series,
    }


@operation("submissions.read", before=argument("submission"))
def describe_submission(
    session: Session,
    submission_id: int,
    offset: int = 0,
    limit: int = 100,
    verdict: str | None = None,
    *,
    caller: Caller,
) -> dict[str, Any]:
    """Return a submission's origin, exhibits and errors, and a page of its files.

    Files are ordered by exhibit and path, from ``offset`` on, ``limit`` at
    most; ``verdict`` keeps the files with that verdict only. Raises
    RecordError for a number that does not exist, an invalid verdict, or a
    page outside 0 <= offset and 1 <= limit <= MAX_FILES_LISTED.
    """
    if offset < 0 or not 1 <= limit <= MAX_FILES_LISTED:
        raise RecordError(
            f"a page of files has an offset of 0 or more and 1 to "
            f"{MAX_FILES_LISTED} files, not offset {offset} and {limit} files"
        )
    if verdict is not None and verdict not in VERDICTS:
        raise RecordError(
            f"unknown verdict {verdict[:30]!r}; use one of {', '.join(VERDICTS)}"
        )
    row = session.execute(
        select(Submission, Case, Unit.name)
        .join(Case, Case.id == Submission.case_id)
        .join(Unit, Unit.id == Submission.unit_id)
        .where(Submission.id == submission_id)
    ).one_or_none()
    if row is None:
        raise RecordError(f"no submission number {submission_id}")
    submission, case, unit = row
    exhibits = list(
        session.scalars(
            select(Exhibit)
            .where(Exhibit.submission_id == submission_id)
            .order_by(Exhibit.label)
        )
    )
    exhibit_ids = [exhibit.id for exhibit in exhibits]
    in_submission = Occurrence.exhibit_id.in_(exhibit_ids)
    files = dict(
        session.execute(
            select(Occurrence.exhibit_id, func.count())
            .where(in_submission)
            .group_by(Occurrence.exhibit_id)
        ).all()
    )
    verdicts = dict(
        session.execute(
            select(Occurrence.verdict, func.count())
            .where(in_submission)
            .group_by(Occurrence.verdict)
        ).all()
    )
    conditions: list[ColumnElement[bool]] = [in_submission]
    if verdict is not None:
        conditions.append(Occurrence.verdict == verdict)
    total = session.scalar(
        select(func.count()).select_from(Occurrence).where(*conditions)
    )
    page = session.execute(
        select(Occurrence, Media.kind, Media.mime_type, Media.size)
        .join(Media, Media.id == Occurrence.media_id)
        .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
        .where(*conditions)
        .order_by(Exhibit.label, Occurrence.path, Occurrence.id)
        .offset(offset)
        .limit(limit)
    ).all()
    failed = (
        IngestError.exhibit_id.in_(exhibit_ids),
        IngestError.stage.not_in(NOTE_STAGES),
    )
    errors = dict(
        session.execute(
            select(IngestError.exhibit_id, func.count())
            .where(*failed)
            .group_by(IngestError.exhibit_id)
        ).all()
    )
    listed_errors = session.execute(
        select(
            IngestError.exhibit_id,
            IngestError.path,
            IngestError.stage,
            IngestError.reason,
        )
        .where(*failed)
        .order_by(IngestError.path, IngestError.stage, IngestError.id)
        .limit(MAX_ERRORS_LISTED)
    ).all()
    labels = {exhibit.id: exhibit.label for exhibit in exhibits}
    return {
        "id": submission.id,
        "case": case.reference,
        "case_title": case.title,
        "case_status": case.status,
        "unit": unit,
        "officer": submission.officer,
        "criminal_case_number": submission.criminal_case_number,
        "legal_basis": submission.legal_basis,
        "seizure_date": submission.seizure_date,
        "received_at": submission.received_at,
        "exhibits": [
            {
                "label": exhibit.label,
                "device": exhibit.device,
                "files": files.get(exhibit.id, 0),
                "errors": errors.get(exhibit.id, 0),
            }
            for exhibit in exhibits
        ],
        "verdicts": {name: verdicts.get(name, 0) for name in VERDICTS},
        "files": int(total or 0),
        "offset": offset,
        "limit": limit,
        "occurrences": [
            {
                "exhibit": labels[occurrence.exhibit_id],
                "path": occurrence.path,
                "verdict": occurrence.verdict,
                "kind": kind,
                "mime_type": mime_type,
                "type_mismatch": occurrence.type_mismatch,
                "size": size,
                "media_id": occurrence.media_id,
            }
            for occurrence, kind, mime_type, size in page
        ],
        # Errors of files (notes left out): the first MAX_ERRORS_LISTED by path.
        "errors": [
            {
                "exhibit": labels[exhibit_id],
                "path": path,
                "stage": stage,
                "reason": reason,
            }
            for exhibit_id, path, stage, reason in listed_errors
        ],
        "error_count": sum(errors.values()),
    }


def _unit(unit: Unit, submissions: int) -> dict[str, Any]:
    return {
        "id": unit.id,
        "name": unit.name,
        "kind": unit.kind,
        "country": unit.country,
        "submissions": submissions,
    }
