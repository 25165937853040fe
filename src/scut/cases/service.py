"""Units, cases and the origin of submissions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scut.db.models import (
    Case,
    Exhibit,
    Occurrence,
    Series,
    SeriesCase,
    Submission,
    Unit,
)
from scut.errors import ScutError
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


def _unit(unit: Unit, submissions: int) -> dict[str, Any]:
    return {
        "id": unit.id,
        "name": unit.name,
        "kind": unit.kind,
        "country": unit.country,
        "submissions": submissions,
    }
