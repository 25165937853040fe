"""NIST NSRL RDS: the version 3 SQLite database and the legacy NSRLFile.txt.

NSRL items are known-good files, so they carry no category. Each item
keeps its hashes, file name and file size.

- Version 3 (2022 on): the table or view named FILE (any case) is read
  with whichever of the columns sha256, sha1 and md5 it has, so the
  "minimal" edition, whose FILE contains only sha256, reads too. The database
  is opened read-only. ``details`` contains the VERSION table's version and
  description when the database has one.
- Legacy RDS 2.x text: a quoted CSV with CRLF line ends and the header
  ``"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode",
  "OpSystemCode","SpecialCode"``, upper-case hex.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scut.hashsets.fields import (
    ByteProgress,
    FieldError,
    csv_rows,
    open_text,
    parse_hex_digest,
    parse_size,
    parse_text,
    read_head,
)
from scut.hashsets.formats import SQLITE_MAGIC, HashSetFormatError
from scut.hashsets.items import BadRecord, HashSetSource, KnownItem

log = logging.getLogger(__name__)

# Hash columns of the version 3 FILE table, in the order items list them.
V3_HASH_COLUMNS = ("sha256", "sha1", "md5")
# Rows fetched from SQLite at a time.
FETCH_ROWS = 5000
# FILE may be a view, which SQLite computes as it is read, so a recursive
# view can yield rows without end. A stored row contains at least one hex
# digest of 32 characters, and the RDS v3 FILE view yields about one row per
# stored file. So more rows than one per 16 bytes of the database file
# cannot come from stored data. MIN_ROW_LIMIT keeps small test files usable.
# NOTE: the limit follows from that reasoning; no full RDS release was read
# to check it.
BYTES_PER_ROW_LIMIT = 16
MIN_ROW_LIMIT = 10_000
# Legacy header names mapped to algorithms.
LEGACY_HASH_COLUMNS = {"SHA-1": "sha1", "MD5": "md5"}


def open_nsrl(path: Path, max_rows: int | None = None) -> HashSetSource:
    """Open an NSRL RDS file, version 3 SQLite or legacy text, by its content.

    ``max_rows`` applies to version 3 (see ``open_rds_v3``). Raises
    HashSetFormatError naming the file when it is neither a SQLite
    database with a FILE table or view nor a text file with the legacy
    header.
    """
    if read_head(path, len(SQLITE_MAGIC)) == SQLITE_MAGIC:
        return open_rds_v3(path, max_rows)
    return open_rds_legacy(path)


@dataclass(frozen=True, slots=True)
class _FileTable:
    """The FILE table or view of an RDS version 3 database and its columns."""

    name: str
    # "table" or "view", for messages.
    kind: str
    hash_columns: tuple[str, ...]
    name_column: str | None
    size_column: str | None
    # Highest rowid of a table, for a progress estimate; None for a view.
    max_rowid: int | None


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def open_rds_v3(path: Path, max_rows: int | None = None) -> HashSetSource:
    """Open an NSRL RDS version 3 SQLite database, read-only.

    Raises HashSetFormatError naming the file when it is not a SQLite
    database or has no FILE table or view with a sha256, sha1 or md5
    column. Reading the items raises HashSetFormatError when SQLite fails
    on a row (a corrupt page, a view that fails as it runs) and when FILE
    yields more than ``max_rows`` rows; by default the file's size in bytes
    over BYTES_PER_ROW_LIMIT, and at least MIN_ROW_LIMIT.
    """
    try:
        with contextlib.closing(_connect(path)) as connection:
            table = _find_file_table(connection, path)
            details = _version_details(connection)
    except sqlite3.DatabaseError as error:
        raise HashSetFormatError(
            f"{path}: not a readable NSRL RDS SQLite database: {error}"
        ) from error
    details["rds_format"] = "sqlite"
    details["hash_columns"] = ", ".join(table.hash_columns)
    log.info("Reading NSRL RDS v3 %s, FILE columns %s", path, details["hash_columns"])
    total = path.stat().st_size
    if max_rows is None:
        max_rows = max(MIN_ROW_LIMIT, total // BYTES_PER_ROW_LIMIT)
    progress = _RowProgress(total, table.max_rowid)
    return HashSetSource(
        format="nsrl",
        items=_read_v3(path, table, progress, max_rows),
        total_bytes=total,
        bytes_read=progress,
        details=details,
    )


def _find_file_table(connection: sqlite3.Connection, path: Path) -> _FileTable:
    found = connection.execute(
        "SELECT name, type FROM sqlite_master "
        "WHERE type IN ('table', 'view') AND lower(name) = 'file'"
    ).fetchone()
    if found is None:
        raise HashSetFormatError(
            f"{path}: not an NSRL RDS version 3 database: no FILE table or view"
        )
    name, kind = found
    columns = {
        row[1].lower(): row[1]
        for row in connection.execute(f"PRAGMA table_info({_quote(name)})")
    }
    hash_columns = tuple(columns[c] for c in V3_HASH_COLUMNS if c in columns)
    if not hash_columns:
        raise HashSetFormatError(
            f"{path}: the NSRL FILE {kind} has no sha256, sha1 or md5 column"
        )
    max_rowid = None
    if kind == "table":
        with contextlib.suppress(sqlite3.OperationalError):
            # Instant on a rowid table (the last B-tree key); a table
            # WITHOUT ROWID raises and gets no estimate.
            max_rowid = connection.execute(
                f"SELECT max(rowid) FROM {_quote(name)}"
            ).fetchone()[0]
    return _FileTable(
        name,
        kind,
        hash_columns,
        columns.get("file_name"),
        columns.get("file_size"),
        max_rowid,
    )


def _version_details(connection: sqlite3.Connection) -> dict[str, str]:
    found = connection.execute(
        "SELECT name FROM sqlite_master "
        "WHERE type IN ('table', 'view') AND lower(name) = 'version'"
    ).fetchone()
    if found is None:
        return {}
    row = connection.execute(f"SELECT * FROM {_quote(found[0])} LIMIT 1")
    names = [column[0].lower() for column in row.description]
    values = row.fetchone() or ()
    return {
        key: str(value)
        for key, value in zip(names, values, strict=False)
        if key in ("version", "description") and value is not None
    }


class _RowProgress:
    """An estimate of bytes read from how many rows of FILE have been read.

    SQLite pages are not read in file order, so the estimate scales the file
    size by rows read over the highest rowid. A view has no rowid and
    reports 0 until the end.
    """

    def __init__(self, total_bytes: int, max_rowid: int | None) -> None:
        self.total_bytes = total_bytes
        self.max_rowid = max_rowid
        self.rows = 0
        self.done = False

    def __call__(self) -> int:
        if self.done:
            return self.total_bytes
        if not self.max_rowid:
            return 0
        return min(self.total_bytes, self.total_bytes * self.rows // self.max_rowid)


def _read_v3(
    path: Path, table: _FileTable, progress: _RowProgress, max_rows: int
) -> Iterator[KnownItem | BadRecord]:
    optional = [c for c in (table.name_column, table.size_column) if c is not None]
    selected = ", ".join(_quote(c) for c in (*table.hash_columns, *optional))
    algorithms = [c.lower() for c in table.hash_columns]
    with contextlib.closing(_connect(path)) as connection:
        for rows in _fetch_rows(connection, path, table, selected, progress):
            for row in rows:
                progress.rows += 1
                if progress.rows > max_rows:
                    raise HashSetFormatError(
                        f"{path}: the NSRL FILE {table.kind} yields more than "
                        f"{max_rows} rows, more than a file of "
                        f"{progress.total_bytes} bytes can hold, so reading "
                        "stopped; check that FILE is not a recursive view"
                    )
                yield _v3_item(row, algorithms, table, f"row {progress.rows}")
    progress.done = True
    log.info("NSRL RDS v3 %s: %d rows read", path, progress.rows)


def _fetch_rows(
    connection: sqlite3.Connection,
    path: Path,
    table: _FileTable,
    selected: str,
    progress: _RowProgress,
) -> Iterator[list[Any]]:
    """Yield batches of FILE rows, raising HashSetFormatError if SQLite fails."""
    try:
        cursor = connection.execute(f"SELECT {selected} FROM {_quote(table.name)}")
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield rows
    except sqlite3.DatabaseError as error:
        raise HashSetFormatError(
            f"{path}: reading the NSRL FILE {table.kind} failed after row "
            f"{progress.rows}: {error}; the database may be damaged"
        ) from error


def _v3_item(
    row: Sequence[object], algorithms: list[str], table: _FileTable, location: str
) -> KnownItem | BadRecord:
    extra = iter(row[len(algorithms) :])
    try:
        hashes = _hashes(
            zip(table.hash_columns, algorithms, row[: len(algorithms)], strict=True)
        )
        file_name = parse_text("file_name", next(extra)) if table.name_column else None
        size = parse_size("file_size", next(extra)) if table.size_column else None
    except FieldError as error:
        return BadRecord(location, str(error))
    if not hashes:
        return BadRecord(location, "no sha256, sha1 or md5 value")
    return KnownItem(
        hashes=hashes, file_name=file_name, media_size=size, location=location
    )


def _hashes(values: Iterable[tuple[str, str, object]]) -> list[tuple[str, str]]:
    """Return (algorithm, digest) for each (field, algorithm, value) not empty."""
    hashes = []
    for field, algorithm, value in values:
        digest = parse_hex_digest(field, value, algorithm)
        if digest is not None:
            hashes.append((algorithm, digest))
    return hashes


def open_rds_legacy(path: Path) -> HashSetSource:
    """Open a legacy NSRL RDS NSRLFile.txt for streaming its rows.

    Raises HashSetFormatError naming the file when its header has no
    "SHA-1" or "MD5" column.
    """
    columns = _legacy_header(path)
    log.info("Reading legacy NSRL RDS text %s", path)
    progress = ByteProgress()
    return HashSetSource(
        format="nsrl",
        items=_read_legacy(path, columns, progress),
        total_bytes=path.stat().st_size,
        bytes_read=progress,
        details={"rds_format": "text"},
    )


def _legacy_header(path: Path) -> dict[str, int]:
    with path.open("rb") as raw, open_text(raw) as handle:
        first = next(csv_rows(handle), None)
    header = first[1] if first is not None else None
    columns = (
        {}
        if header is None or isinstance(header, BadRecord)
        else {name.strip().upper(): index for index, name in enumerate(header)}
    )
    if not columns.keys() & LEGACY_HASH_COLUMNS.keys():
        raise HashSetFormatError(
            f"{path}: not an NSRL RDS file: neither SQLite nor a text file whose "
            'header has "SHA-1" or "MD5" columns'
        )
    return columns


def _read_legacy(
    path: Path, columns: dict[str, int], progress: ByteProgress
) -> Iterator[KnownItem | BadRecord]:
    read = 0
    with path.open("rb") as raw, open_text(raw) as handle:
        progress.attach(raw)
        try:
            rows = csv_rows(handle)
            next(rows, None)  # the header
            for location, row in rows:
                read += 1
                yield (
                    row
                    if isinstance(row, BadRecord)
                    else _legacy_item(row, columns, location)
                )
        finally:
            progress.detach()
    log.info("Legacy NSRL RDS %s: %d rows read", path, read)


def _legacy_item(
    row: list[str], columns: dict[str, int], location: str
) -> KnownItem | BadRecord:
    def cell(name: str) -> str | None:
        index = columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    try:
        hashes = _hashes(
            (name, algorithm, cell(name))
            for name, algorithm in LEGACY_HASH_COLUMNS.items()
        )
        file_name = parse_text("FileName", cell("FILENAME"))
        size = parse_size("FileSize", cell("FILESIZE"))
    except FieldError as error:
        return BadRecord(location, str(error))
    if not hashes:
        return BadRecord(location, "no SHA-1 or MD5 value")
    return KnownItem(
        hashes=hashes, file_name=file_name, media_size=size, location=location
    )
