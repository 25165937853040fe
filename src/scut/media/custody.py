"""The chain of custody of one media, from its receipt to its last view.

The history is assembled from the records that already exist, with no
table of its own:

- received: each occurrence's submission (unit, officer, criminal case
  number, seizure date, legal basis) and exhibit;
- ingested: when each occurrence was recorded, the ingest run and the
  operating-system account that ran it, and the SHA-256 taken from the
  file as received, before any processing;
- categorised: each ``CategoryEvent``;
- viewed, revealed, exported, transferred: the successful audit events of
  those actions that name the media.

It lists no path, no metadata and no categorisation reason, because
those come from the evidence or may describe it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from scut.db.models import (
    AuditEvent,
    Case,
    CategoryEvent,
    Exhibit,
    IngestRun,
    Media,
    Occurrence,
    Submission,
    Unit,
)
from scut.media.lookup import MediaNotFound
from scut.security.access import argument, operation
from scut.security.caller import Caller

log = logging.getLogger(__name__)

RECEIVED = "received"
INGESTED = "ingested"
CATEGORISED = "categorised"
VIEWED = "viewed"
REVEALED = "revealed"
EXPORTED = "exported"
TRANSFERRED = "transferred"

# Audit actions that count as a look at the media.
_LOOKS = {"media.view": VIEWED, "media.reveal": REVEALED}
# NOTE: exports and transfers abroad do not exist yet. Their events are
# expected to be named export.* and transfer.*, with the object type
# "media" and the media ids among their object ids. An event that names
# the media in any other way is not found here.
_HANDOVERS = {"export.": EXPORTED, "transfer.": TRANSFERRED}


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    """One step in a media's chain of custody."""

    # ISO 8601 in UTC, to the second.
    at: str
    # received, ingested, categorised, viewed, revealed, exported or transferred.
    event: str
    # The officer who sent it, the account that ingested it, or the user.
    by: str
    detail: dict[str, Any] = field(default_factory=dict)


@operation("media.custody", before=argument("media"))
def custody_history(
    session: Session, media_id: int, *, caller: Caller
) -> list[CustodyEvent]:
    """Return the chain of custody of a media, oldest event first.

    Raises MediaNotFound for an unknown media number.
    """
    media = session.get(Media, media_id)
    if media is None:
        raise MediaNotFound(f"no media number {media_id}")

    timed = _receipts(session, media)
    timed += _categorisations(session, media_id)
    timed += _audited(session, media_id)
    # A stable sort keeps a receipt before its ingest at the same instant.
    timed.sort(key=lambda item: item[0])
    return [
        CustodyEvent(at=at.isoformat(timespec="seconds"), **values)
        for at, values in timed
    ]


_Timed = tuple[dt.datetime, dict[str, Any]]


def _receipts(session: Session, media: Media) -> list[_Timed]:
    """Return a received and an ingested event for each occurrence of the media."""
    rows = session.execute(
        select(Occurrence, Exhibit, Submission, Case.reference, Unit.name)
        .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
        .join(Submission, Submission.id == Exhibit.submission_id)
        .join(Case, Case.id == Submission.case_id)
        .join(Unit, Unit.id == Submission.unit_id)
        .where(Occurrence.media_id == media.id)
        .order_by(Occurrence.id)
    ).all()
    runs = _ingest_runs(session, {exhibit.id for _, exhibit, _, _, _ in rows})

    found: list[_Timed] = []
    for occurrence, exhibit, submission, case, unit in rows:
        received = {
            "event": RECEIVED,
            "by": submission.officer,
            "detail": {
                "unit": unit,
                "submission": submission.id,
                "case": case,
                "exhibit": exhibit.label,
                "device": exhibit.device,
                "criminal_case_number": submission.criminal_case_number,
                "seizure_date": submission.seizure_date.isoformat()
                if submission.seizure_date
                else None,
                "legal_basis": submission.legal_basis,
                "occurrence": occurrence.id,
            },
        }
        found.append((_utc(submission.received_at), received))
        recorded = _utc(occurrence.recorded_at)
        run = _run_at(runs.get(exhibit.id, []), recorded)
        ingested = {
            "event": INGESTED,
            "by": str(run.sources.get("operator", "")) if run else "",
            "detail": {
                "sha256": media.sha256,
                "submission": submission.id,
                "exhibit": exhibit.label,
                "occurrence": occurrence.id,
                "ingest_run": run.id if run else None,
                "host": run.sources.get("host") if run else None,
            },
        }
        found.append((recorded, ingested))
    return found


def _ingest_runs(session: Session, exhibit_ids: set[int]) -> dict[int, list[IngestRun]]:
    runs: dict[int, list[IngestRun]] = {}
    for run in session.scalars(
        select(IngestRun)
        .where(IngestRun.exhibit_id.in_(sorted(exhibit_ids)))
        .order_by(IngestRun.id)
    ):
        runs.setdefault(run.exhibit_id, []).append(run)
    return runs


def _run_at(runs: list[IngestRun], recorded: dt.datetime) -> IngestRun | None:
    """Return the last run of the exhibit that started before the file was recorded."""
    started = [run for run in runs if _utc(run.started_at) <= recorded]
    return started[-1] if started else None


def _categorisations(session: Session, media_id: int) -> list[_Timed]:
    events = session.scalars(
        select(CategoryEvent)
        .where(CategoryEvent.media_id == media_id)
        .order_by(CategoryEvent.id)
    )
    return [
        (
            _utc(event.created_at),
            {
                "event": CATEGORISED,
                "by": event.actor,
                "detail": {
                    "category": f"{event.scheme} {event.code}",
                    "previous": f"{event.previous_scheme} {event.previous_code}"
                    if event.previous_code is not None
                    else None,
                    "source": event.source,
                    "conflict": event.conflict,
                },
            },
        )
        for event in events
    ]


def _audited(session: Session, media_id: int) -> list[_Timed]:
    """Return the views, reveals, exports and transfers the audit log records."""
    # object_ids is a JSON list of strings, so the quoted id matches one
    # element whole: "4" does not match "14".
    needle = json.dumps(str(media_id))
    actions: list[ColumnElement[bool]] = [AuditEvent.action.in_(sorted(_LOOKS))]
    actions += [AuditEvent.action.startswith(prefix) for prefix in _HANDOVERS]
    rows = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "media",
            AuditEvent.outcome == "succeeded",
            AuditEvent.object_ids.contains(needle, autoescape=True),
            or_(*actions),
        )
        .order_by(AuditEvent.id)
    )
    return [
        (
            _utc(row.at),
            {
                "event": _event_name(row.action),
                "by": row.user,
                "detail": {
                    "action": row.action,
                    "audit_event": row.id,
                    "unit": row.unit,
                    "source": row.source,
                    "justification": row.justification,
                },
            },
        )
        for row in rows
    ]


def _event_name(action: str) -> str:
    if action in _LOOKS:
        return _LOOKS[action]
    for prefix, name in _HANDOVERS.items():
        if action.startswith(prefix):
            return name
    return action


def _utc(value: dt.datetime) -> dt.datetime:
    """Return a stored time as aware UTC. SQLite returns it without offset."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
