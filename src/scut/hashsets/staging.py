"""A scratch SQLite file that contains a hash set's entries while it is read.

SQLite lets one connection write at a time. An import that wrote straight
into the database would hold that lock for as long as the file takes to
read (minutes for an NSRL set). An ingest or match that ran meanwhile
would fail after its 30 s busy timeout. The importer therefore writes the
entries here, which locks nothing in the database, and copies them in
with one INSERT ... SELECT inside the transaction that replaces the set.

The file lies beside the database, on the same disk, and takes about as
much space as the entries will take there. It is removed when the import
ends, whether it succeeded or not.

NOTE: the copy still holds the write lock. Measured with the VICS file of
bench/index_bench.py on a 2-core machine under a load average of 14 to
17, the copy took 2.8 to 3.3 s for 100,000 media (4.7 to 5.0 s to replace
them), but 57 s for 1,000,000 media (98 s to replace them). That is longer
than the 30 s that other commands wait for the lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, TextClause, text

from scut.db.session import Database

# The name the staging file is attached under in the database connection.
STAGING_SCHEMA = "scut_staging"
# Columns of hash_entries that an import fills, apart from hash_set_id.
ENTRY_COLUMNS = (
    "algorithm",
    "value",
    "item",
    "category_scheme",
    "category",
    "series",
    "victim_identified",
    "offender_identified",
    "is_distributed",
    "baseline",
    "tags",
    "comments",
    "media_size",
    "mime_type",
    "file_name",
)
_COLUMN_LIST = ", ".join(ENTRY_COLUMNS)
# Rows are copied sorted as both indexes of hash_entries are, which made
# the copy of 200,000 entries take 2.8 s rather than 10 s in file order.
COPY_ENTRIES: TextClause = text(
    f"INSERT INTO hash_entries (hash_set_id, {_COLUMN_LIST}) "
    f"SELECT :hash_set_id, {_COLUMN_LIST} FROM {STAGING_SCHEMA}.entries "
    "ORDER BY algorithm, value"
)


def staging_folder(database: Database) -> Path | None:
    """Return the folder for staging files, None unless on a SQLite file.

    An in-memory SQLite database has no other connection to block, and
    PostgreSQL does not block other writers, so they take the entries in
    the replacing transaction itself.
    """
    url = database.engine.url
    if url.get_backend_name() != "sqlite":
        return None
    if url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve().parent


class StagingFile:
    """An empty staging file, created in ``folder``, open for writing entries.

    Use it as a context manager, so the file is removed at the end.
    """

    def __init__(self, folder: Path, label: str) -> None:
        handle, name = tempfile.mkstemp(
            prefix=f"{label}.import-", suffix=".tmp", dir=folder
        )
        os.close(handle)
        self.path = Path(name)
        # Autocommit, so that BEGIN and COMMIT below are the only ones.
        self._connection: sqlite3.Connection | None = sqlite3.connect(
            self.path, isolation_level=None
        )
        # A scratch file: nothing to recover after a crash, so no journal.
        self._connection.execute("PRAGMA journal_mode=OFF")
        self._connection.execute("PRAGMA synchronous=OFF")
        self._connection.execute(
            f"CREATE TABLE entries ({_COLUMN_LIST}, UNIQUE (algorithm, value))"
        )
        self._connection.execute("BEGIN")
        marks = ", ".join(f":{column}" for column in ENTRY_COLUMNS)
        self._insert = (
            f"INSERT OR IGNORE INTO entries ({_COLUMN_LIST}) VALUES ({marks})"
        )

    def __enter__(self) -> StagingFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()
        self.path.unlink(missing_ok=True)

    def insert(self, rows: list[dict[str, Any]]) -> None:
        """Insert entry rows, skipping any whose algorithm and value are in already.

        Keys of ``rows`` other than ENTRY_COLUMNS are ignored.
        """
        assert self._connection is not None, "the staging file is closed"
        self._connection.executemany(self._insert, rows)

    def finish(self) -> int:
        """Commit and close the file, and return its number of entries."""
        assert self._connection is not None, "the staging file is closed"
        self._connection.execute("COMMIT")
        count = int(
            self._connection.execute("SELECT count(*) FROM entries").fetchone()[0]
        )
        self._close()
        return count

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@contextlib.contextmanager
def attached(connection: Connection, path: Path) -> Iterator[None]:
    """Attach the staging file at ``path`` to a SQLite ``connection``.

    Must be entered outside a transaction, because SQLite refuses ATTACH and
    DETACH inside one.
    """
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the database connection is closed")
    driver.execute(f"ATTACH DATABASE ? AS {STAGING_SCHEMA}", (str(path),))
    try:
        yield
    finally:
        driver.execute(f"DETACH DATABASE {STAGING_SCHEMA}")
