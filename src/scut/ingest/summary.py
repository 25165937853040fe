"""The summary printed at the end of an ingest: the exhibit and this run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from scut.db.models import Case, Exhibit, IngestError, Media, Occurrence
from scut.db.session import Database

if TYPE_CHECKING:
    from scut.ingest.pipeline import RunCounters

# Error rows listed in the summary; the rest are counted.
MAX_LISTED_ERRORS = 50
# Stages of findings about a file that was processed: a name that claims
# another type, a malformed metadata value, a decoder's warning. Every other
# stage is an error: something of the file could not be processed.
NOTE_STAGES = ("type", "note", "warning")


@dataclass
class IngestSummary:
    """Counts for the whole exhibit, plus what this run did and how fast."""

    case: str
    exhibit: str
    # The submission the exhibit belongs to, for ``scut verify``.
    submission: int
    files: int
    unique_media: int
    duplicates: int
    by_kind: dict[str, int]
    by_verdict: dict[str, int]
    errors: int
    errors_by_stage: dict[str, int]
    notes: int
    notes_by_stage: dict[str, int]
    type_mismatches: int
    analysed_this_run: int
    recorded_before_this_run: int
    bytes_read: int
    seconds: float
    files_per_second: float
    megabytes_per_second: float
    listed_errors: list[dict[str, str]] = field(default_factory=list)


def summarise_exhibit(
    database: Database, exhibit_id: int, counters: RunCounters
) -> IngestSummary:
    """Count the exhibit's records in the database and this run's work."""
    elapsed = max(time.monotonic() - counters.started, 1e-9)
    with database.session() as session:
        exhibit, case, submission = session.execute(
            select(Exhibit.label, Case.reference, Exhibit.submission_id)
            .join(Case, Case.id == Exhibit.case_id)
            .where(Exhibit.id == exhibit_id)
        ).one()
        in_exhibit = Occurrence.exhibit_id == exhibit_id
        files = session.scalar(select(func.count()).where(in_exhibit)) or 0
        unique = (
            session.scalar(
                select(func.count(func.distinct(Occurrence.media_id))).where(in_exhibit)
            )
            or 0
        )
        by_kind = dict(
            session.execute(
                select(Media.kind, func.count())
                .join(Occurrence, Occurrence.media_id == Media.id)
                .where(in_exhibit)
                .group_by(Media.kind)
            ).all()
        )
        by_verdict = dict(
            session.execute(
                select(Occurrence.verdict, func.count())
                .where(in_exhibit)
                .group_by(Occurrence.verdict)
            ).all()
        )
        mismatches = (
            session.scalar(
                select(func.count()).where(
                    in_exhibit, Occurrence.type_mismatch.is_(True)
                )
            )
            or 0
        )
        rows_by_stage = dict(
            session.execute(
                select(IngestError.stage, func.count())
                .where(IngestError.exhibit_id == exhibit_id)
                .group_by(IngestError.stage)
            ).all()
        )
        listed = session.execute(
            select(IngestError.path, IngestError.stage, IngestError.reason)
            .where(IngestError.exhibit_id == exhibit_id)
            .order_by(IngestError.path, IngestError.stage)
            .limit(MAX_LISTED_ERRORS)
        ).all()
    errors_by_stage: dict[str, int] = {}
    notes_by_stage: dict[str, int] = {}
    for stage, count in rows_by_stage.items():
        target = notes_by_stage if stage in NOTE_STAGES else errors_by_stage
        target[stage] = count
    return IngestSummary(
        case=case,
        exhibit=exhibit,
        submission=submission,
        files=files,
        unique_media=unique,
        duplicates=files - unique,
        by_kind=by_kind,
        by_verdict=by_verdict,
        errors=sum(errors_by_stage.values()),
        errors_by_stage=errors_by_stage,
        notes=sum(notes_by_stage.values()),
        notes_by_stage=notes_by_stage,
        type_mismatches=mismatches,
        analysed_this_run=counters.analysed,
        recorded_before_this_run=max(0, files - counters.recorded),
        bytes_read=counters.bytes_read,
        seconds=round(elapsed, 3),
        files_per_second=round(counters.analysed / elapsed, 2),
        megabytes_per_second=round(counters.bytes_read / elapsed / 1e6, 2),
        listed_errors=[
            {"path": path, "stage": stage, "reason": reason}
            for path, stage, reason in listed
        ],
    )
