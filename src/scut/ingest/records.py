"""Writing ingest results to the database in batched transactions.

Every write is an insert that skips rows already present: media by
SHA-256, occurrences by exhibit and path, errors by exhibit, path and
stage. A batch written twice, after a crash between the commit and the
progress that follows it, therefore changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scut.db.models import (
    Case,
    Exhibit,
    IngestError,
    Media,
    Occurrence,
    PictureHash,
    Submission,
    Unit,
    VideoFrame,
)
from scut.db.session import Database
from scut.db.upsert import insert_for
from scut.errors import ConfigurationError
from scut.ingest.analyse import FileResult
from scut.matching.digest_index import DigestIndex
from scut.matching.index import PdqIndex
from scut.matching.matcher import FileQuery, Matcher, apply_category
from scut.settings import Settings
from scut.storage.blobs import BlobStore

log = logging.getLogger(__name__)

# Stages after which a path has no occurrence and is not retried.
TERMINAL_STAGES = ("read", "archive", "crash", "depth")


@dataclass(frozen=True, slots=True)
class Origin:
    """Origin of a submission: the sending unit, the case and the exhibit."""

    case: str
    exhibit: str
    unit: str
    officer: str = ""
    criminal_case_number: str = ""
    seizure_date: dt.date | None = None
    legal_basis: str = ""
    device: str = ""


@dataclass
class _Batch:
    results: list[FileResult] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    completed_archives: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.results) + len(self.errors) + len(self.completed_archives)


def prepare_exhibit(database: Database, origin: Origin) -> int:
    """Find or create the unit, case, submission and exhibit; return the exhibit id.

    Raises ConfigurationError when the exhibit exists under another unit.
    """
    with database.session() as session, session.begin():
        unit = _get_or_create(session, Unit, name=origin.unit)
        case = _get_or_create(session, Case, reference=origin.case)
        exhibit = session.scalars(
            select(Exhibit).where(
                Exhibit.case_id == case.id, Exhibit.label == origin.exhibit
            )
        ).one_or_none()
        if exhibit is not None:
            submission = session.get_one(Submission, exhibit.submission_id)
            if submission.unit_id != unit.id:
                sender = session.get_one(Unit, submission.unit_id).name
                raise ConfigurationError(
                    f"exhibit {origin.exhibit!r} of case {origin.case!r} was sent by "
                    f"{sender!r}, not {origin.unit!r}; use another exhibit label"
                )
            return exhibit.id
        submission = _get_or_create(
            session,
            Submission,
            case_id=case.id,
            unit_id=unit.id,
            officer=origin.officer,
            criminal_case_number=origin.criminal_case_number,
        )
        if origin.seizure_date is not None:
            submission.seizure_date = origin.seizure_date
        if origin.legal_basis:
            submission.legal_basis = origin.legal_basis[:300]
        exhibit = Exhibit(
            case_id=case.id,
            submission_id=submission.id,
            label=origin.exhibit,
            device=origin.device[:300],
        )
        session.add(exhibit)
        session.flush()
        return exhibit.id


def _get_or_create(session: Session, model: type[Any], **values: Any) -> Any:
    found = session.scalars(select(model).filter_by(**values)).one_or_none()
    if found is not None:
        return found
    try:
        # A savepoint, so that losing a race to another ingest costs only it.
        with session.begin_nested():
            created = model(**values)
            session.add(created)
    except IntegrityError:
        return session.scalars(select(model).filter_by(**values)).one()
    return created


RecordedFile = tuple[int | None, float | None]


def recorded_paths(database: Database, exhibit_id: int) -> dict[str, RecordedFile]:
    """Return the exhibit paths that a resumed run must not analyse again.

    Each path maps to the size and modification time (POSIX seconds) of the
    file recorded there, or Nones for a path recorded only as an error.
    """
    done: dict[str, RecordedFile] = {}
    with database.session() as session:
        failed = session.scalars(
            select(IngestError.path).where(
                IngestError.exhibit_id == exhibit_id,
                IngestError.stage.in_(TERMINAL_STAGES),
            )
        )
        done.update((path, (None, None)) for path in failed)
        occurrences = session.execute(
            select(Occurrence.path, Media.size, Occurrence.modified_at)
            .join(Media, Media.id == Occurrence.media_id)
            .where(Occurrence.exhibit_id == exhibit_id)
        )
        for path, size, modified_at in occurrences:
            done[path] = (size, _timestamp(modified_at))
    return done


def _timestamp(value: dt.datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite returns stored UTC times without a zone
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def unfinished_archives(
    database: Database, exhibit_id: int
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Return the archives whose members are not all recorded, and every archive path.

    Each unfinished archive is (exhibit path, SHA-256, MIME type); the list of
    all archive paths lets the caller work out how deeply each is nested.
    """
    with database.session() as session:
        rows = session.execute(
            select(
                Occurrence.path,
                Media.sha256,
                func.coalesce(Media.embedded_archive, Media.mime_type),
                Occurrence.members_complete,
            )
            .join(Media, Media.id == Occurrence.media_id)
            .where(
                Occurrence.exhibit_id == exhibit_id,
                or_(Media.kind == "archive", Media.embedded_archive.is_not(None)),
            )
            .order_by(Occurrence.path)
        ).all()
    unfinished = [
        (path, sha256, mime) for path, sha256, mime, complete in rows if not complete
    ]
    return unfinished, [row[0] for row in rows]


class Recorder:
    """Buffers results and writes them in one transaction per batch."""

    def __init__(
        self,
        database: Database,
        exhibit_id: int,
        batch_size: int,
        max_delay: float = 2.0,
        store: BlobStore | None = None,
        *,
        settings: Settings | None = None,
        index: PdqIndex | None = None,
        thumbnails: BlobStore | None = None,
        digests: DigestIndex | None = None,
    ) -> None:
        self.database = database
        self.store = store
        self.settings = settings or Settings()
        self.index = index
        self.thumbnails = thumbnails
        self.digests = digests
        self.exhibit_id = exhibit_id
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.batch = _Batch()
        self.last_flush = time.monotonic()
        self.verdict_counts: dict[str, int] = {}

    def add_result(self, result: FileResult) -> None:
        """Queue one file's result; failures without digests become errors."""
        if result.digests is None:
            for stage, reason in result.failures:
                self.add_error(result.path, stage, reason)
            return
        self.batch.results.append(result)
        self._flush_if_due()

    def add_error(self, path: str, stage: str, reason: str) -> None:
        """Queue an error row for ``path``."""
        self.batch.errors.append((path, stage, reason))
        self._flush_if_due()

    def complete_archive(self, path: str) -> None:
        """Queue the mark that every member of the archive at ``path`` is recorded."""
        self.batch.completed_archives.append(path)
        self._flush_if_due()

    def _flush_if_due(self) -> None:
        overdue = time.monotonic() - self.last_flush > self.max_delay
        if len(self.batch) >= self.batch_size or (overdue and len(self.batch)):
            self.flush()

    def flush(self) -> None:
        """Write everything queued in one transaction."""
        batch, self.batch = self.batch, _Batch()
        self.last_flush = time.monotonic()
        if not len(batch):
            return
        if self.store is not None and batch.results:
            self.store.sync()
        with self.database.session() as session, session.begin():
            media_ids = self._write_media(session, batch.results)
            self._write_occurrences(session, batch.results, media_ids)
            self._write_errors(session, batch, media_ids)
            self._mark_archives(session, batch.completed_archives)
        log.debug(
            "Wrote %d results and %d errors", len(batch.results), len(batch.errors)
        )

    def _write_media(
        self, session: Session, results: Sequence[FileResult]
    ) -> dict[str, int]:
        rows = {_sha256(result): _media_row(result) for result in results}
        if not rows:
            return {}
        statement = insert_for(session, Media).on_conflict_do_nothing(
            index_elements=["sha256"]
        )
        session.execute(statement, list(rows.values()))
        found = session.execute(
            select(Media.sha256, Media.id).where(Media.sha256.in_(list(rows)))
        )
        media_ids = {sha256: media_id for sha256, media_id in found}
        self._write_frames(session, results, media_ids)
        self._write_views(session, results, media_ids)
        return media_ids

    def _write_views(
        self, session: Session, results: Iterable[FileResult], media_ids: dict[str, int]
    ) -> None:
        rows = {}
        for result in results:
            if result.picture_hashes is None:
                continue
            media_id = media_ids[_sha256(result)]
            for view_name, view in result.picture_hashes.views.items():
                rows[(media_id, view_name)] = {
                    "media_id": media_id,
                    "view": view_name,
                    "pdq": view.hex,
                    "quality": view.quality,
                }
        if rows:
            statement = insert_for(session, PictureHash).on_conflict_do_nothing(
                index_elements=["media_id", "view"]
            )
            session.execute(statement, list(rows.values()))

    def _write_frames(
        self, session: Session, results: Iterable[FileResult], media_ids: dict[str, int]
    ) -> None:
        frames = {}
        for result in results:
            media_id = media_ids[_sha256(result)]
            for frame in result.frames:
                frames[(media_id, frame.second)] = {
                    "media_id": media_id,
                    "second": frame.second,
                    "timestamp": frame.timestamp,
                    "pdq": frame.pdq,
                    "quality": frame.quality,
                }
        if frames:
            statement = insert_for(session, VideoFrame).on_conflict_do_nothing(
                index_elements=["media_id", "second"]
            )
            session.execute(statement, list(frames.values()))

    def _write_occurrences(
        self, session: Session, results: Sequence[FileResult], media_ids: dict[str, int]
    ) -> None:
        if not results:
            return
        matcher = Matcher(
            session,
            self.exhibit_id,
            self.settings,
            self.index,
            self.thumbnails,
            self.digests,
        )
        verdicts = matcher.match([_query(result, media_ids) for result in results])
        for sha256, file_verdict in verdicts.items():
            apply_category(session, media_ids[sha256], file_verdict)
        now = dt.datetime.now(dt.UTC)
        rows = []
        for result in results:
            file_verdict = verdicts[_sha256(result)]
            verdict, detail = file_verdict.verdict, file_verdict.detail
            rows.append(
                {
                    "exhibit_id": self.exhibit_id,
                    "media_id": media_ids[_sha256(result)],
                    "path": result.path,
                    "modified_at": result.modified_at,
                    "extension_mime_type": result.extension_mime_type,
                    "type_mismatch": result.type_mismatch,
                    "verdict": verdict,
                    "verdict_detail": detail,
                    "members_complete": False,
                    "recorded_at": now,
                    "matched_at": now,
                }
            )
            self.verdict_counts[verdict] = self.verdict_counts.get(verdict, 0) + 1
        statement = insert_for(session, Occurrence).on_conflict_do_nothing(
            index_elements=["exhibit_id", "path"]
        )
        session.execute(statement, rows)

    def _write_errors(
        self, session: Session, batch: _Batch, media_ids: dict[str, int]
    ) -> None:
        # One row per path and stage; several reasons of a stage are joined.
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        failures: list[tuple[str, str, str, int | None]] = [
            (result.path, stage, reason, media_ids[_sha256(result)])
            for result in batch.results
            for stage, reason in result.failures
        ]
        failures += [
            (path, stage, reason, None) for path, stage, reason in batch.errors
        ]
        for path, stage, reason, media_id in failures:
            row = rows.get((path, stage))
            if row is None:
                rows[(path, stage)] = _error_row(
                    self.exhibit_id, path, stage, reason, media_id
                )
            elif reason not in row["reason"]:
                row["reason"] = f"{row['reason']}; {reason}"
        if rows:
            statement = insert_for(session, IngestError).on_conflict_do_nothing(
                index_elements=["exhibit_id", "path", "stage"]
            )
            session.execute(statement, list(rows.values()))

    def _mark_archives(self, session: Session, paths: list[str]) -> None:
        if paths:
            session.execute(
                update(Occurrence)
                .where(
                    Occurrence.exhibit_id == self.exhibit_id, Occurrence.path.in_(paths)
                )
                .values(members_complete=True)
            )


def _query(result: FileResult, media_ids: dict[str, int]) -> FileQuery:
    assert result.digests is not None
    return FileQuery(
        sha256=result.digests.sha256,
        sha1=result.digests.sha1,
        md5=result.digests.md5,
        media_id=media_ids[result.digests.sha256],
        kind=result.kind,
        pictures=result.picture_hashes,
        frames=[(frame.pdq, frame.quality) for frame in result.frames],
        has_thumbnail=result.has_thumbnail,
    )


def _sha256(result: FileResult) -> str:
    assert result.digests is not None
    return result.digests.sha256


def _error_row(
    exhibit_id: int, path: str, stage: str, reason: str, media_id: int | None
) -> dict[str, Any]:
    return {
        "exhibit_id": exhibit_id,
        "path": path,
        "stage": stage,
        "reason": reason,
        "media_id": media_id,
        "recorded_at": dt.datetime.now(dt.UTC),
    }


def _media_row(result: FileResult) -> dict[str, Any]:
    assert result.digests is not None
    metadata = result.metadata
    row: dict[str, Any] = {
        "sha256": result.digests.sha256,
        "sha1": result.digests.sha1,
        "md5": result.digests.md5,
        "size": result.size,
        "mime_type": result.mime_type,
        "kind": result.kind,
        "width": result.width,
        "height": result.height,
        "duration_seconds": result.duration_seconds,
        "codec": result.codec,
        "pdq": result.pdq,
        "pdq_quality": result.pdq_quality,
        "has_thumbnail": result.has_thumbnail,
        "has_strip": result.has_strip,
        "embedded_archive": result.embedded_archive,
        "first_seen_at": dt.datetime.now(dt.UTC),
        "metadata_tags": metadata.tags if metadata else {},
    }
    for name in (
        "make",
        "model",
        "body_serial",
        "lens_serial",
        "software",
        "taken_at",
        "taken_at_offset",
        "gps_latitude",
        "gps_longitude",
        "gps_altitude",
        "orientation",
    ):
        column = f"camera_{name}" if name in ("make", "model") else name
        row[column] = getattr(metadata, name) if metadata else None
    return row
