"""Re-hash of the blob store against the media rows (``scut verify --blobs``).

Each media row names its original by SHA-256. The check reads every
original through the encrypted store, which decrypts and authenticates
it, and hashes the plaintext; the digest must equal the row's. Each
thumbnail and video strip the row records must decrypt under its key
file. Blob files no row names are orphans.

Rows (sorted by the database) and blob files (sorted by
:func:`scut.storage.check.scan_store`) are walked side by side in SHA-256
order, so memory stays flat however large the store is. With a sample,
only the sampled media are read and hashed, but every row and file is
still listed, so missing and orphan blobs are all found.

An ingest or an erasure running meanwhile writes a blob before its row
commits, and deletes blobs after its rows are gone. So each missing or
orphan blob is confirmed against the rows once more at the end, and kept
only if its row is still there (missing) or still absent (orphan).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import Session

from scut.db.models import Media
from scut.db.session import Database
from scut.errors import ScutError
from scut.ingest.analyse import STRIP_NAME, THUMBNAIL_NAME
from scut.security.access import Target, operation
from scut.security.audit import FAILED, record_separately
from scut.security.caller import Caller
from scut.storage.check import (
    MISMATCHED,
    MISSING,
    ORPHAN,
    PLAINTEXT,
    UNDECRYPTABLE,
    Finding,
    StoredMedia,
    check_derived,
    check_original,
    scan_store,
)
from scut.storage.encrypted import EncryptedBlobStore, Progress

log = logging.getLogger(__name__)

STORE_VERIFY = "store.verify"
KINDS = (MISSING, MISMATCHED, UNDECRYPTABLE, PLAINTEXT, ORPHAN)
# Findings kept for the report; past this many they are only counted.
MAX_LISTED = 1000
ROW_BATCH = 1000

# A media's id, sha256, has_thumbnail and has_strip.
MediaRow = Row[int, str, bool, bool]


@dataclass(slots=True)
class BlobCheckReport:
    """The result of a blob store check: counts of what it read, and its findings."""

    media: int = 0
    # Media chosen at random to re-hash, or None when every one was.
    sample: int | None = None
    originals_checked: int = 0
    derived_checked: int = 0
    # Key files whose blob is gone: left by an interrupted write, harmless.
    lone_key_files: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding | None) -> None:
        """Count a finding and keep it, unless MAX_LISTED are kept already."""
        if finding is None:
            return
        self.counts[finding.kind] += 1
        if len(self.findings) < MAX_LISTED:
            self.findings.append(finding)

    @property
    def problems(self) -> int:
        """Return the number of findings of every kind."""
        return sum(self.counts.values())

    @property
    def intact(self) -> bool:
        """Whether no blob is missing, altered, unreadable, in plaintext or orphan."""
        return self.problems == 0

    def summary(self) -> dict[str, Any]:
        """Return the counts, for the audit event and for JSON output."""
        return {
            "media": self.media,
            "sample": self.sample,
            "originals_checked": self.originals_checked,
            "derived_checked": self.derived_checked,
            "lone_key_files": self.lone_key_files,
            **self.counts,
        }


@dataclass(slots=True)
class _Unconfirmed:
    """Missing and orphan findings by SHA-256, until the rows are read again."""

    missing: list[tuple[str, Finding]] = field(default_factory=list)
    orphans: list[tuple[str, Finding]] = field(default_factory=list)


class BlobCheckFailed(ScutError):
    """Raised when the blob store check finds problems; ``report`` lists them."""

    def __init__(self, report: BlobCheckReport) -> None:
        counts = ", ".join(
            f"{count} {kind}" for kind, count in report.counts.items() if count
        )
        super().__init__(
            f"the blob store check found {report.problems} problems: {counts}"
        )
        self.report = report


def _store_target(report: BlobCheckReport, *_: object, **__: object) -> Target:
    return Target("blob_store", detail=report.summary())


@operation(STORE_VERIFY, after=_store_target)
def verify_blobs(
    database: Database,
    store: EncryptedBlobStore,
    *,
    caller: Caller,
    sample: int | None = None,
    progress: Progress | None = None,
) -> BlobCheckReport:
    """Re-hash the originals (all, or ``sample`` chosen at random) and list problems.

    Raises BlobCheckFailed, after recording the check as failed in the
    audit log, when any blob is missing, altered, undecryptable, in
    plaintext or an orphan.
    """
    if sample is not None and sample < 1:
        raise ScutError(f"invalid sample size {sample}; it must be at least 1")
    report = BlobCheckReport(sample=sample)
    unconfirmed = _Unconfirmed()
    with database.session() as session:
        report.media = int(session.scalar(select(func.count()).select_from(Media)) or 0)
        chosen = _sample_ids(session, sample) if sample is not None else None
        _walk(session, store, report, unconfirmed, chosen, progress)
    with database.session() as session:
        _confirm(session, unconfirmed, report)
    log.info("Checked the blob store: %s", report.summary())
    if not report.intact:
        record_separately(
            database,
            caller,
            STORE_VERIFY,
            outcome=FAILED,
            object_type="blob_store",
            detail=report.summary(),
        )
        raise BlobCheckFailed(report)
    return report


def _walk(
    session: Session,
    store: EncryptedBlobStore,
    report: BlobCheckReport,
    unconfirmed: _Unconfirmed,
    chosen: set[int] | None,
    progress: Progress | None,
) -> None:
    unexpected: list[str] = []
    entries = scan_store(store.root, unexpected)
    entry = next(entries, None)
    for done, row in enumerate(_media_rows(session), start=1):
        while entry is not None and entry.sha256 < row.sha256:
            _report_orphans(entry, report, unconfirmed)
            entry = next(entries, None)
        stored = None
        if entry is not None and entry.sha256 == row.sha256:
            stored, entry = entry, next(entries, None)
        rehash = chosen is None or row.id in chosen
        _check_media(store, row, stored, rehash, report, unconfirmed)
        if progress is not None:
            progress(done, report.media)
    while entry is not None:
        _report_orphans(entry, report, unconfirmed)
        entry = next(entries, None)
    for path in unexpected:
        report.add(Finding(ORPHAN, path, "not a blob name the store reads"))


def _check_media(
    store: EncryptedBlobStore,
    row: MediaRow,
    stored: StoredMedia | None,
    rehash: bool,
    report: BlobCheckReport,
    unconfirmed: _Unconfirmed,
) -> None:
    sha256 = row.sha256
    if stored is None or not stored.original:
        reason = f"media {row.id}: the original is not stored"
        unconfirmed.missing.append((sha256, Finding(MISSING, sha256, reason)))
    elif rehash:
        report.originals_checked += 1
        report.add(check_original(store, sha256))
    expected = set()
    if row.has_thumbnail:
        expected.add(THUMBNAIL_NAME)
    if row.has_strip:
        expected.add(STRIP_NAME)
    present = stored.derived if stored is not None else set()
    for name in sorted(expected - present):
        finding = Finding(MISSING, f"{sha256}.{name}", f"media {row.id}: not stored")
        unconfirmed.missing.append((sha256, finding))
    if rehash:
        for name in sorted(present):
            report.derived_checked += 1
            report.add(check_derived(store, sha256, name))
    if stored is not None:
        report.lone_key_files += len(stored.lone_key_files())


def _report_orphans(
    entry: StoredMedia, report: BlobCheckReport, unconfirmed: _Unconfirmed
) -> None:
    reason = "no media row has this SHA-256"
    sha256 = entry.sha256
    if entry.original:
        unconfirmed.orphans.append((sha256, Finding(ORPHAN, sha256, reason)))
    for name in sorted(entry.derived):
        finding = Finding(ORPHAN, f"{sha256}.{name}", reason)
        unconfirmed.orphans.append((sha256, finding))
    report.lone_key_files += len(entry.lone_key_files())


def _confirm(
    session: Session, unconfirmed: _Unconfirmed, report: BlobCheckReport
) -> None:
    """Report the missing blobs whose rows remain and the orphans still without one."""
    digests = sorted(
        {sha256 for sha256, _ in unconfirmed.missing + unconfirmed.orphans}
    )
    recorded: set[str] = set()
    for start in range(0, len(digests), ROW_BATCH):
        chunk = digests[start : start + ROW_BATCH]
        query = select(Media.sha256).where(Media.sha256.in_(chunk))
        recorded.update(session.scalars(query))
    for sha256, finding in unconfirmed.missing:
        if sha256 in recorded:
            report.add(finding)
    for sha256, finding in unconfirmed.orphans:
        if sha256 not in recorded:
            report.add(finding)


def _media_rows(session: Session) -> Iterator[MediaRow]:
    """Yield (id, sha256, has_thumbnail, has_strip) by SHA-256, a batch at a time."""
    ordered = _byte_order(session, Media.sha256)
    last = ""
    while True:
        rows = session.execute(
            select(Media.id, Media.sha256, Media.has_thumbnail, Media.has_strip)
            .where(ordered > last)
            .order_by(ordered)
            .limit(ROW_BATCH)
        ).all()
        yield from rows
        if len(rows) < ROW_BATCH:
            return
        last = rows[-1].sha256


def _byte_order(session: Session, column: Any) -> ColumnElement[str]:
    # The walk compares digests as Python strings; PostgreSQL's default
    # collation could sort them otherwise, so it sorts by bytes ("C").
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")  # type: ignore[no-any-return]
    return column  # type: ignore[no-any-return]


def _sample_ids(session: Session, size: int) -> set[int]:
    chosen = session.scalars(select(Media.id).order_by(func.random()).limit(size))
    return set(chosen)
