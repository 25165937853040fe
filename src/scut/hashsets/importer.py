"""Importing, listing and removing hash sets.

An import streams the file through its reader and replaces the set's
entries in one transaction. A set is replaced whole or not at all, so a
failed re-import leaves the previous version in place. Readers see the
old version until the new one is complete.

On a SQLite file the entries are written to a staging file while the set
is read, and copied in by that one transaction (see scut.hashsets.staging),
so an ingest or match is blocked only for the copy, not for the reading.
On PostgreSQL writers do not block each other, and the entries are
written inside the replacing transaction as they are read.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from scut.db.models import HashEntry, HashSet
from scut.db.session import Database
from scut.db.upsert import insert_for
from scut.errors import ConfigurationError, ScutError
from scut.hashsets.formats import open_hash_set
from scut.hashsets.items import BadRecord, HashSetSource, KnownItem
from scut.hashsets.staging import COPY_ENTRIES, StagingFile, attached, staging_folder

log = logging.getLogger(__name__)

HASH_SET_KINDS = ("known-abuse", "alert", "known-good")
BATCH_SIZE = 5000
# Rejected records named in the report; the rest are only counted.
MAX_REJECTED_SHOWN = 20

# Called with (bytes read, total bytes) as the import goes on.
ImportProgress = Callable[[int, int], None]


class HashSetImportError(ScutError):
    """Raised when a file yields nothing to import, or the import cannot finish."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Counts of an import: items and hashes kept, records left out."""

    name: str
    kind: str
    format: str
    items: int
    entries: int
    rejected: int
    rejected_examples: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Request:
    """The arguments of an import and the file it opened."""

    path: Path
    name: str
    kind: str
    source: str
    version: str
    opened: HashSetSource


def import_hash_set(
    database: Database,
    path: Path,
    *,
    name: str,
    kind: str,
    fmt: str | None = None,
    algorithm: str | None = None,
    source: str = "",
    version: str = "",
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Import the hash set file at ``path`` as the set ``name``.

    The format is found from the content unless ``fmt`` names it.
    Importing the same name again replaces its entries. Records the reader
    cannot use are left out and reported; a file with no usable record
    raises HashSetImportError and changes nothing. So does a SQLite
    database that another command keeps locked for longer than its busy
    timeout when the entries are copied in.
    """
    if kind not in HASH_SET_KINDS:
        raise ConfigurationError(
            f"unknown hash set kind {kind!r}; use one of {', '.join(HASH_SET_KINDS)}"
        )
    if not name.strip():
        raise ConfigurationError("a hash set needs a name")
    opened = open_hash_set(path, fmt, algorithm)
    request = _Request(path, name, kind, source, version, opened)

    def report_progress() -> None:
        if progress is not None:
            progress(opened.bytes_read(), opened.total_bytes)

    writer = _EntryWriter(report_progress)
    folder = staging_folder(database)
    if folder is None:
        entries = _import_directly(database, request, writer)
    else:
        entries = _import_staged(database, folder, request, writer)
    if progress is not None:
        progress(opened.total_bytes, opened.total_bytes)
    log.info(
        "Imported hash set %s (%s): %d items, %d hashes, %d rejected",
        name,
        opened.format,
        writer.items,
        entries,
        writer.rejected_count,
    )
    return ImportReport(
        name=name,
        kind=kind,
        format=opened.format,
        items=writer.items,
        entries=entries,
        rejected=writer.rejected_count,
        rejected_examples=writer.rejected,
        details=dict(opened.details),
    )


def _import_directly(
    database: Database, request: _Request, writer: _EntryWriter
) -> int:
    """Write the entries inside the transaction that replaces the set."""
    with database.session() as session, session.begin():
        hash_set = _replace_set(session, request)
        statement = insert_for(session, HashEntry).on_conflict_do_nothing(
            index_elements=["hash_set_id", "algorithm", "value"]
        )

        def insert(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                row["hash_set_id"] = hash_set.id
            session.execute(statement, rows)

        writer.write(_records(request), insert)
        entries = session.scalar(
            select(func.count()).where(HashEntry.hash_set_id == hash_set.id)
        )
        if not entries:
            raise _nothing_usable(request.path, writer)
        _record_counts(hash_set, request, writer)
    return int(entries)


def _import_staged(
    database: Database, folder: Path, request: _Request, writer: _EntryWriter
) -> int:
    """Stage the entries in a scratch file, then swap them in at once."""
    label = Path(str(database.engine.url.database)).name
    try:
        with StagingFile(folder, label) as staging:
            writer.write(_records(request), staging.insert)
            entries = staging.finish()
            if not entries:
                raise _nothing_usable(request.path, writer)
            _swap_in(database, staging.path, request, writer)
    except (OSError, sqlite3.Error) as error:
        raise HashSetImportError(
            f"{request.path}: the staging file in {folder} failed: {error}; "
            "nothing was imported. Check the free space and permissions there."
        ) from error
    return entries


def _swap_in(
    database: Database, staged: Path, request: _Request, writer: _EntryWriter
) -> None:
    """Replace the set's entries with the staged ones in one transaction."""
    try:
        with (
            database.engine.connect() as connection,
            attached(connection, staged),
            Session(bind=connection) as session,
            session.begin(),
        ):
            # Take the write lock now, waiting out the busy timeout, so that
            # no other writer commits between the read and the write.
            session.execute(text("BEGIN IMMEDIATE"))
            hash_set = _replace_set(session, request)
            session.execute(COPY_ENTRIES, {"hash_set_id": hash_set.id})
            _record_counts(hash_set, request, writer)
    except OperationalError as error:
        if "locked" not in str(error.orig):
            raise
        raise HashSetImportError(
            f"{request.path}: the database stayed locked by another Scut "
            "command (an ingest, match or import) past the busy timeout, so "
            "nothing was imported; run the import again when it ends"
        ) from error


def _records(request: _Request) -> Iterator[KnownItem | BadRecord]:
    """Yield the file's records, turning a read error into HashSetImportError."""
    try:
        yield from request.opened.items
    except OSError as error:
        raise HashSetImportError(
            f"{request.path}: reading the file failed: {error}; nothing was imported"
        ) from error


def _replace_set(session: Session, request: _Request) -> HashSet:
    """Create or update the set's row and delete its old entries."""
    hash_set = session.scalars(
        select(HashSet).where(HashSet.name == request.name)
    ).one_or_none()
    if hash_set is None:
        hash_set = HashSet(name=request.name, kind=request.kind)
        session.add(hash_set)
    opened = request.opened
    hash_set.kind = request.kind
    hash_set.format = opened.format
    hash_set.source = (request.source or str(request.path))[:200]
    hash_set.version = (request.version or opened.details.get("version", ""))[:100]
    hash_set.imported_at = dt.datetime.now(dt.UTC)
    session.flush()
    session.execute(delete(HashEntry).where(HashEntry.hash_set_id == hash_set.id))
    return hash_set


def _record_counts(hash_set: HashSet, request: _Request, writer: _EntryWriter) -> None:
    # Readers add case numbers and the like to details as they read, so
    # details are stored once the file has been read.
    hash_set.details = dict(request.opened.details)
    hash_set.item_count = writer.items
    hash_set.rejected_count = writer.rejected_count


def _nothing_usable(path: Path, writer: _EntryWriter) -> HashSetImportError:
    reason = f"; first problem: {writer.rejected[0]}" if writer.rejected else ""
    return HashSetImportError(
        f"{path}: no usable hashes found, nothing was imported{reason}"
    )


class _EntryWriter:
    """Turns items into entry rows and hands them to an insert in batches."""

    def __init__(self, tick: Callable[[], None]) -> None:
        self.tick = tick
        self.items = 0
        self.rejected_count = 0
        self.rejected: list[str] = []

    def write(
        self,
        records: Iterable[KnownItem | BadRecord],
        insert: Callable[[list[dict[str, Any]]], None],
    ) -> None:
        rows: list[dict[str, Any]] = []
        for record in records:
            if isinstance(record, BadRecord):
                self._reject(record)
                continue
            self.items += 1
            rows.extend(self._rows(record))
            if len(rows) >= BATCH_SIZE:
                insert(rows)
                rows = []
                self.tick()
        if rows:
            insert(rows)
        self.tick()

    def _reject(self, record: BadRecord) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTED_SHOWN:
            self.rejected.append(f"{record.location}: {record.reason}")
        log.debug("Rejected %s: %s", record.location, record.reason)

    def _rows(self, item: KnownItem) -> list[dict[str, Any]]:
        shared = {
            "item": self.items,
            "category_scheme": item.category.scheme if item.category else None,
            "category": item.category.code if item.category else None,
            "series": _clip(item.series, 200),
            "victim_identified": item.victim_identified,
            "offender_identified": item.offender_identified,
            "is_distributed": item.is_distributed,
            "baseline": item.baseline,
            "tags": item.tags,
            "comments": item.comments,
            "media_size": item.media_size,
            "mime_type": _clip(item.mime_type, 100),
            "file_name": item.file_name,
        }
        return [
            {**shared, "algorithm": algorithm, "value": value}
            for algorithm, value in item.hashes
        ]


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None


def import_plain_list(
    database: Database,
    path: Path,
    *,
    name: str,
    kind: str,
    source: str = "",
    version: str = "",
) -> ImportReport:
    """Import an md5sum, sha1sum or sha256sum list as the set ``name``."""
    return import_hash_set(
        database,
        path,
        name=name,
        kind=kind,
        fmt="plain",
        source=source,
        version=version,
    )


def remove_hash_set(database: Database, name: str) -> int:
    """Remove the set ``name`` and its entries; return how many entries went.

    Raises ConfigurationError when there is no such set. Verdicts already
    given keep their wording; ``scut match`` renews them.
    """
    with database.session() as session, session.begin():
        hash_set = session.scalars(
            select(HashSet).where(HashSet.name == name)
        ).one_or_none()
        if hash_set is None:
            raise ConfigurationError(f"no hash set named {name!r}")
        removed = session.execute(
            delete(HashEntry).where(HashEntry.hash_set_id == hash_set.id)
        )
        session.delete(hash_set)
    count = int(getattr(removed, "rowcount", 0) or 0)
    log.info("Removed hash set %s with %d entries", name, count)
    return count


@dataclass(frozen=True, slots=True)
class HashSetRow:
    """A hash set as listed by ``scut hashsets list``."""

    name: str
    kind: str
    format: str
    items: int
    entries: int
    rejected: int
    version: str
    source: str
    imported_at: dt.datetime


def list_hash_sets(database: Database) -> list[HashSetRow]:
    """Return every hash set with its number of entries, by name."""
    with database.session() as session:
        counts = dict(
            session.execute(
                select(HashEntry.hash_set_id, func.count()).group_by(
                    HashEntry.hash_set_id
                )
            ).all()
        )
        sets = session.scalars(select(HashSet).order_by(HashSet.name)).all()
        return [
            HashSetRow(
                name=hash_set.name,
                kind=hash_set.kind,
                format=hash_set.format,
                items=hash_set.item_count,
                entries=counts.get(hash_set.id, 0),
                rejected=hash_set.rejected_count,
                version=hash_set.version,
                source=hash_set.source,
                imported_at=hash_set.imported_at,
            )
            for hash_set in sets
        ]
