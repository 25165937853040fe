"""The database part of a backup: copies, dumps, restores, and the state to compare.

SQLite is copied with the online backup API of the ``sqlite3`` module,
which reads one consistent snapshot while Scut goes on writing.
PostgreSQL is dumped with ``pg_dump --format=custom`` inside an exported
snapshot (``pg_export_snapshot``), so the row counts and the audit chain
head recorded in the manifest are read from exactly the data dumped.
Either copy is passed chunk by chunk to a writer, which seals it.

The online backup API writes to a file, so the SQLite copy is made in the
blob store's tmp folder, inside the data directory, readable by its owner
only. It is named ``<pid>-backup-database-<random>.sqlite``, and the name
is removed as soon as SQLite has written the copy and its state is read.
A backup killed before that leaves the file behind, and the next backup
removes it.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import (
    URL,
    Connection,
    column,
    create_engine,
    func,
    inspect,
    select,
    table,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from scut.backup.manifest import CHUNK, BackupError
from scut.backup.pgclient import (
    conninfo,
    dump_into,
    pg_tool,
    restore_from,
    safe_url,
)
from scut.db.models import AuditEvent
from scut.db.session import Database
from scut.processes import process_alive

log = logging.getLogger(__name__)

AUDIT_TABLE = "audit_events"
REVISION_TABLE = "alembic_version"
# Relations listed by name in the message about a non-empty target.
MAX_LISTED = 10
# The name of a temporary SQLite copy, after the process id that wrote it.
TEMPORARY_COPY = "backup-database-"
# The files SQLite may put beside a database while it writes it.
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
# Called with each chunk of the database copy's bytes.
Write = Callable[[bytes], object]


@dataclass(frozen=True, slots=True)
class DatabaseState:
    """A database's schema revision, row counts and audit chain head."""

    schema_revision: str | None
    row_counts: dict[str, int]
    last_event_id: int | None
    last_event_hash: str | None


@dataclass(frozen=True, slots=True)
class DatabaseCopy:
    """A database copied into a backup, with the state it holds."""

    state: DatabaseState
    server_version: str | None = None
    pg_dump_major: int | None = None


def read_state(connection: Connection) -> DatabaseState:
    """Read the schema revision, every table's row count and the audit chain head."""
    tables = sorted(inspect(connection).get_table_names())
    counts = {
        name: int(
            connection.execute(
                select(func.count()).select_from(table(name))
            ).scalar_one()
        )
        for name in tables
    }
    revision = None
    if REVISION_TABLE in tables:
        revision = connection.execute(
            select(table(REVISION_TABLE, column("version_num")).c.version_num)
        ).scalar()
    head = None
    if AUDIT_TABLE in tables:
        head = connection.execute(
            select(AuditEvent.id, AuditEvent.hash)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).first()
    return DatabaseState(
        revision,
        counts,
        head.id if head is not None else None,
        head.hash if head is not None else None,
    )


def copy_sqlite(database: Database, write: Write, tmp_dir: Path) -> DatabaseCopy:
    """Copy a live SQLite database with the online backup API; pass it to ``write``.

    The copy is made in a temporary file in ``tmp_dir`` (see the module
    docstring), which is removed before this returns or raises.
    """
    name = f"{os.getpid()}-{TEMPORARY_COPY}{secrets.token_hex(4)}.sqlite"
    temporary = tmp_dir / name
    tmp_dir.mkdir(parents=True, exist_ok=True)
    try:
        # SQLite gives its journal files the mode of the database file.
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _backup_sqlite(sqlite_path(database.engine.url), temporary)
        state = _read_file_state(temporary)
        with temporary.open("rb") as handle:
            # The open handle keeps the content readable without a name.
            temporary.unlink()
            while chunk := handle.read(CHUNK):
                write(chunk)
    finally:
        for path in (temporary, *_side_files(temporary)):
            path.unlink(missing_ok=True)
    return DatabaseCopy(state)


def remove_stale_copies(tmp_dir: Path) -> int:
    """Delete the SQLite copies and journals that killed backups left in ``tmp_dir``.

    Returns how many files were deleted. A file whose process still runs
    belongs to a backup in progress and is kept.
    """
    removed = 0
    for path in sorted(tmp_dir.glob(f"*-{TEMPORARY_COPY}*")):
        pid = path.name.split("-", 1)[0]
        if not path.is_file() or (pid.isdigit() and process_alive(int(pid))):
            continue
        path.unlink(missing_ok=True)
        removed += 1
        log.warning(
            "Removed %s, a plaintext database copy left by a backup that was stopped",
            path,
        )
    return removed


def _backup_sqlite(source_path: str, target: Path) -> None:
    """Copy a SQLite database into the empty file ``target``, in rollback mode.

    The copy is left in rollback-journal mode, so it is one self-contained
    file without a ``-wal`` beside it.
    """
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(
            f"cannot copy the SQLite database {source_path}: {error}"
        ) from error
    finally:
        source.close()


def _read_file_state(path: Path) -> DatabaseState:
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return read_state(connection)
    finally:
        engine.dispose()


def _side_files(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES]


def dump_postgres(database: Database, write: Write) -> DatabaseCopy:
    """Dump a PostgreSQL database with pg_dump, from one snapshot, into ``write``.

    Raises BackupError when pg_dump is missing, older than the server, or
    fails; see :func:`scut.backup.pgclient.dump_into`.
    """
    tool, tool_major = pg_tool("pg_dump")
    url = database.engine.url
    with database.engine.connect() as plain:
        connection = plain.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = connection.execute(
                text("SELECT pg_export_snapshot()")
            ).scalar_one()
            version = str(connection.execute(text("SHOW server_version")).scalar_one())
            number = int(
                connection.execute(text("SHOW server_version_num")).scalar_one()
            )
            server_major = number // 10000
            if tool_major < server_major:
                raise BackupError(
                    f"{tool} is version {tool_major}, older than the PostgreSQL "
                    f"server ({version}), and cannot dump it; install the client "
                    f"tools of version {server_major} or later and put them first "
                    "on PATH"
                )
            state = read_state(connection)
            # pg_dump reads inside this transaction's snapshot, so it must run
            # while the transaction is still open. Without --file it writes
            # the archive to its standard output.
            dump_into(
                [
                    tool,
                    "--format=custom",
                    "--no-password",
                    f"--snapshot={snapshot}",
                    f"--dbname={conninfo(url)}",
                ],
                url,
                write,
            )
    return DatabaseCopy(state, version, tool_major)


def restore_sqlite(staged: Path, database: Database) -> None:
    """Put a verified SQLite copy in place as the target's database file."""
    target = Path(sqlite_path(database.engine.url))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(staged, target)
    _fsync_folder(target.parent)


def restore_postgres(
    archive: BinaryIO, database: Database, dump_major: int | None
) -> None:
    """Load a verified dump, read from ``archive``, into the target's empty database.

    Ownership and grants are not restored (``--no-owner --no-privileges``),
    because the roles of the old server may not exist on this one. The whole
    load is one transaction, so a failure leaves the database empty.
    """
    tool, tool_major = pg_tool("pg_restore")
    if dump_major is not None and tool_major < dump_major:
        raise BackupError(
            f"{tool} is version {tool_major}, but the backup was dumped with "
            f"pg_dump {dump_major}; install the client tools of version "
            f"{dump_major} or later and put them first on PATH"
        )
    url = database.engine.url
    # Without a file name, pg_restore reads the archive from standard input.
    restore_from(
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={conninfo(url)}",
        ],
        url,
        archive,
    )


def database_contents(database: Database) -> list[str]:
    """Return what the target database already holds; empty when it is empty.

    Raises BackupError when a PostgreSQL database cannot be reached.
    """
    if database.engine.dialect.name == "sqlite":
        path = Path(sqlite_path(database.engine.url))
        files = (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
        return [f"the SQLite file {file}" for file in files if file.exists()]
    try:
        with database.engine.connect() as connection:
            names = list(
                connection.execute(
                    text(
                        "SELECT n.nspname || '.' || c.relname FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
                        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                        "AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1"
                    )
                ).scalars()
            )
    except SQLAlchemyError as error:
        raise BackupError(
            f"cannot connect to the target database {safe_url(database.engine.url)}: "
            f"{_first_line(error)}; create it first (createdb) and check "
            "SCUT_DATABASE_URL"
        ) from error
    if not names:
        return []
    listed = ", ".join(names[:MAX_LISTED])
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return [f"the database {safe_url(database.engine.url)} (relations {listed}{more})"]


def sqlite_path(url: URL) -> str:
    """Return the file of a SQLite URL; raise BackupError for an in-memory one."""
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise BackupError(
            f"SQLite database {url.render_as_string(hide_password=True)} is not a "
            "plain file path; back up and restore a file-based database"
        )
    return path


def _first_line(error: Exception) -> str:
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
