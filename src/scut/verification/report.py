"""The verification result sent back to the unit that made a submission.

It answers, per submission and per file: what is already known, in which
category, in which series, whether the victims and offenders are already
identified, and which of the centre's cases to contact. It names no
victim or offender and holds none of their personal data: identification
is a yes, no or unknown. The officer named is the unit's own, from the
submission.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select

from scut.db.models import (
    Case,
    Exhibit,
    IngestError,
    Media,
    Occurrence,
    Submission,
    Unit,
)
from scut.db.session import Database
from scut.errors import ScutError
from scut.hashsets.categories import label as category_label
from scut.hashsets.items import Category
from scut.matching.verdicts import VERDICTS, flag_of, merge_flags
from scut.series.status import SeriesStatus, series_of_media

log = logging.getLogger(__name__)


class SubmissionNotFound(ScutError):
    """Raised for a submission number that does not exist."""


@dataclass(slots=True)
class SeriesLine:
    """A series that files of the submission belong to."""

    name: str
    files: int = 0
    victim_identified: bool | None = None
    offender_identified: bool | None = None


@dataclass(slots=True)
class FileLine:
    """One file of the submission and its verdict."""

    exhibit: str
    path: str
    sha256: str
    verdict: str
    how: str | None
    distance: int | None
    category: str | None
    series: list[str]
    victim_identified: bool | None
    offender_identified: bool | None
    cases: list[str]
    hash_sets: list[str]
    alert: bool = False

    @property
    def source(self) -> str:
        """What the file matched, in words: the hash sets, else the cases."""
        if self.hash_sets:
            return "set " + ", ".join(self.hash_sets)
        if self.cases:
            return "case " + ", ".join(self.cases)
        return ""


@dataclass(slots=True)
class VerificationReport:
    """The verification result of one submission."""

    submission: int
    case: str
    unit: str
    officer: str
    criminal_case_number: str
    seizure_date: str | None
    received_at: str
    generated_at: str
    exhibits: list[str]
    files: int
    by_verdict: dict[str, int]
    by_category: dict[str, int]
    victim_identified_files: int
    offender_identified_files: int
    alert_files: int
    baseline_files: int
    errors: int
    series: list[SeriesLine]
    contact_cases: dict[str, int]
    lines: list[FileLine] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain data for JSON."""
        return asdict(self)


def build_report(database: Database, submission_id: int) -> VerificationReport:
    """Assemble the verification result of a submission from stored verdicts."""
    with database.session() as session:
        row = session.execute(
            select(Submission, Case.reference, Unit.name)
            .join(Case, Case.id == Submission.case_id)
            .join(Unit, Unit.id == Submission.unit_id)
            .where(Submission.id == submission_id)
        ).one_or_none()
        if row is None:
            raise SubmissionNotFound(f"no submission number {submission_id}")
        submission, case_reference, unit_name = row
        exhibits = dict(
            session.execute(
                select(Exhibit.id, Exhibit.label)
                .where(Exhibit.submission_id == submission_id)
                .order_by(Exhibit.label)
            ).all()
        )
        occurrences = session.execute(
            select(
                Occurrence.exhibit_id,
                Occurrence.path,
                Occurrence.verdict,
                Occurrence.verdict_detail,
                Media.sha256,
                Occurrence.media_id,
                Media.category_scheme,
                Media.category_code,
            )
            .join(Media, Media.id == Occurrence.media_id)
            .where(Occurrence.exhibit_id.in_(list(exhibits)))
            .order_by(Occurrence.exhibit_id, Occurrence.path)
        ).all()
        # Series change after matching: read their names and status now.
        in_series = series_of_media(
            session,
            [row.media_id for row in occurrences]
            + [
                match["media_id"]
                for row in occurrences
                for match in (row.verdict_detail or {}).get("matches", [])
                if match.get("media_id") is not None
            ],
        )
        errors = session.scalar(
            select(func.count(func.distinct(IngestError.path))).where(
                IngestError.exhibit_id.in_(list(exhibits)),
                IngestError.media_id.is_(None),
            )
        )
    report = VerificationReport(
        submission=submission_id,
        case=case_reference,
        unit=unit_name,
        officer=submission.officer,
        criminal_case_number=submission.criminal_case_number,
        seizure_date=submission.seizure_date.isoformat()
        if submission.seizure_date
        else None,
        received_at=_utc_text(submission.received_at),
        generated_at=_utc_text(dt.datetime.now(dt.UTC)),
        exhibits=list(exhibits.values()),
        files=len(occurrences),
        by_verdict={verdict: 0 for verdict in VERDICTS},
        by_category={},
        victim_identified_files=0,
        offender_identified_files=0,
        alert_files=0,
        baseline_files=0,
        errors=int(errors or 0),
        series=[],
        contact_cases={},
    )
    categories: Counter[str] = Counter()
    series: dict[str, SeriesLine] = {}
    cases: Counter[str] = Counter()
    for (
        exhibit_id,
        path,
        verdict,
        detail,
        sha256,
        media_id,
        scheme,
        code,
    ) in occurrences:
        own = {"scheme": scheme, "code": code} if scheme and code else None
        line = _line(exhibits[exhibit_id], path, sha256, verdict, detail, own)
        _current_series(line, media_id, detail, in_series)
        report.lines.append(line)
        report.by_verdict[verdict] = report.by_verdict.get(verdict, 0) + 1
        if line.category and verdict == "known":
            categories[line.category] += 1
        report.victim_identified_files += line.victim_identified is True
        report.offender_identified_files += line.offender_identified is True
        report.alert_files += bool(detail.get("alert"))
        report.baseline_files += bool(detail.get("baseline"))
        for name in line.series:
            entry = series.setdefault(name, SeriesLine(name))
            entry.files += 1
            entry.victim_identified = merge_flags(
                entry.victim_identified, line.victim_identified
            )
            entry.offender_identified = merge_flags(
                entry.offender_identified, line.offender_identified
            )
        cases.update(line.cases)
    report.by_category = dict(sorted(categories.items()))
    report.series = sorted(
        series.values(), key=lambda entry: (-entry.files, entry.name)
    )
    report.contact_cases = dict(cases.most_common())
    return report


def _current_series(
    line: FileLine,
    media_id: int,
    detail: dict[str, Any],
    in_series: dict[int, SeriesStatus],
) -> None:
    """Set a line's series and identification from hash sets and current series.

    Hash set matches keep the values the set gave at matching time. The
    centre's own series (of this file, or of the media it matched) are read
    now.
    """
    matches = detail.get("matches", [])
    sets = [match for match in matches if match.get("source") == "hash-set"]
    series_names = {match["series"] for match in sets if match.get("series")}
    victim = flag_of(sets, "victim_identified")
    offender = flag_of(sets, "offender_identified")
    related = [media_id] + [
        match["media_id"] for match in matches if match.get("media_id") is not None
    ]
    for related_id in related:
        status = in_series.get(related_id)
        if status is None:
            continue
        series_names.add(status.name)
        victim = merge_flags(victim, status.victim_identified)
        offender = merge_flags(offender, status.offender_identified)
    line.series = sorted(series_names)
    line.victim_identified = victim
    line.offender_identified = offender


def _utc_text(moment: dt.datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive UTC times
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _line(
    exhibit: str,
    path: str,
    sha256: str,
    verdict: str,
    detail: dict[str, Any],
    own_category: dict[str, Any] | None = None,
) -> FileLine:
    matches = detail.get("matches", [])
    best = matches[0] if matches else {}
    category = detail.get("category")
    if category is None and verdict == "known":
        # Known from a source without a category (a hash set listing none),
        # and categorised by an analyst since: the media's own category.
        category = own_category
    if category is None and verdict == "near":
        category = next((m["category"] for m in matches if m.get("category")), None)
    return FileLine(
        exhibit=exhibit,
        path=path,
        sha256=sha256,
        verdict=verdict,
        how=best.get("how"),
        distance=best.get("distance"),
        category=_category_text(category),
        series=list(detail.get("series", [])),
        victim_identified=detail.get("victim_identified"),
        offender_identified=detail.get("offender_identified"),
        cases=list(detail.get("cases", [])),
        hash_sets=sorted({m["hash_set"] for m in matches if m.get("hash_set")}),
        alert=bool(detail.get("alert")),
    )


def _category_text(category: dict[str, Any] | None) -> str | None:
    if not category:
        return None
    value = Category(str(category["scheme"]), str(category["code"]))
    return f"{value.scheme} {value.code}: {category_label(value)}"
