"""Ingest as a declared service operation: checked, run, then audited.

IngestJob and its parts check no caller, because tests and other services
build on them. The command line and the web application call
:func:`ingest`, which checks the caller's role and unit before any source
file is read and records the run in the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from scut.db.models import Case, Exhibit, Submission, Unit
from scut.db.session import Database
from scut.errors import ScutError
from scut.ingest.pipeline import IngestJob, ProgressListener
from scut.ingest.records import Origin
from scut.ingest.summary import IngestSummary
from scut.security.access import Target, operation
from scut.security.audit import FAILED, record_separately
from scut.security.caller import Caller
from scut.settings import Settings

log = logging.getLogger(__name__)

# Opens the progress display. It is called once the exhibit is prepared,
# so that an invalid origin is reported before a progress bar is drawn.
ProgressDisplay = Callable[[], AbstractContextManager[ProgressListener]]


def _origin_target(
    database: Database,
    settings: Settings,
    sources: list[Path],
    origin: Origin,
    **_: Any,
) -> Target:
    """Name the case and find the unit that the ingest acts for.

    That is the unit that sent the exhibit when the exhibit exists, else
    the unit named in the origin. A unit not recorded yet has no id, so it
    lies outside the unit of every submitter.
    """
    with database.session() as session:
        named_unit = session.scalar(select(Unit.id).where(Unit.name == origin.unit))
        sender = session.scalar(
            select(Submission.unit_id)
            .join(Exhibit, Exhibit.submission_id == Submission.id)
            .join(Case, Case.id == Exhibit.case_id)
            .where(Case.reference == origin.case, Exhibit.label == origin.exhibit)
        )
    return Target(
        "case",
        [origin.case],
        unit_id=sender if sender is not None else named_unit,
        detail={"exhibit": origin.exhibit, "unit": origin.unit},
    )


def _summary_target(
    summary: IngestSummary, database: Database, *_: Any, **__: Any
) -> Target:
    """Name the submission and its exhibit, with the exhibit's file counts."""
    exhibit_id = _exhibit_id(database, summary.submission, summary.exhibit)
    return Target(
        "submission",
        [summary.submission],
        detail={
            "case": summary.case,
            "exhibit": summary.exhibit,
            "exhibit_id": exhibit_id,
            "files": summary.files,
            "unique_media": summary.unique_media,
            "analysed_this_run": summary.analysed_this_run,
            "recorded_before_this_run": summary.recorded_before_this_run,
            "errors": summary.errors,
            "by_verdict": dict(summary.by_verdict),
        },
    )


def _exhibit_id(database: Database, submission_id: int, label: str) -> int | None:
    # A label is unique within its case, and a submission has one case.
    with database.session() as session:
        return session.scalar(
            select(Exhibit.id).where(
                Exhibit.submission_id == submission_id, Exhibit.label == label
            )
        )


@operation("ingest.run", before=_origin_target, after=_summary_target)
def ingest(
    database: Database,
    settings: Settings,
    sources: list[Path],
    origin: Origin,
    *,
    caller: Caller,
    display: ProgressDisplay | None = None,
) -> IngestSummary:
    """Ingest ``sources`` into the exhibit of ``origin``; return its summary.

    Raises AccessDenied before any file is read when the caller may not
    ingest for that unit. Errors in the sources or the origin (SourceError,
    ConfigurationError) are raised before ``display`` is opened. A run that
    fails or is interrupted once the exhibit is prepared is recorded as a
    failed ``ingest.run`` event, because the files it recorded stay.

    NOTE: the run commits its files in batches, so when the closing audit
    event cannot be written the call raises AuditError and the files stay.
    """
    job = IngestJob(database, settings, sources, origin)
    job.prepare()
    try:
        if display is None:
            return job.run()
        with display() as progress:
            return job.run(progress)
    except KeyboardInterrupt:
        _record_failure(database, caller, job, "interrupted")
        raise
    except ScutError as error:
        _record_failure(database, caller, job, str(error))
        raise


def _record_failure(
    database: Database, caller: Caller, job: IngestJob, reason: str
) -> None:
    """Record a stopped run; a failure to do so is logged, not raised.

    Raising here would replace the error that stopped the run, which is the
    one the user has to act on.
    """
    try:
        with database.session() as session:
            submission = session.scalar(
                select(Exhibit.submission_id).where(Exhibit.id == job.exhibit_id)
            )
        record_separately(
            database,
            caller,
            "ingest.run",
            outcome=FAILED,
            object_type="submission",
            object_ids=[submission] if submission is not None else [],
            detail={
                "exhibit_id": job.exhibit_id,
                "files_recorded_this_run": job.counters.recorded,
                "reason": reason[:500],
            },
        )
    except (ScutError, SQLAlchemyError) as error:
        log.error(
            "Could not record the failed ingest of exhibit %s: %s",
            job.exhibit_id,
            error,
        )
