"""The database part of a backup: copies, dumps, restores, and the state to compare.

SQLite is copied with the online backup API of the ``sqlite3`` module,
which reads one consistent snapshot while Scut goes on writing.
PostgreSQL is dumped with ``pg_dump --format=custom`` inside an exported
snapshot (``pg_export_snapshot``), so the row counts and the audit chain
head recorded in the manifest are read from exactly the data dumped.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo
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

from scut.backup.manifest import BackupError, hash_file
from scut.db.models import AuditEvent
from scut.db.session import Database

log = logging.getLogger(__name__)

AUDIT_TABLE = "audit_events"
REVISION_TABLE = "alembic_version"
# Relations listed by name in the message about a non-empty target.
MAX_LISTED = 10
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


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
    sha256: str
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


def copy_sqlite(database: Database, target: Path) -> DatabaseCopy:
    """Copy a live SQLite database to ``target`` with the online backup API.

    The copy is left in rollback-journal mode, so it is one self-contained
    file without a ``-wal`` beside it.
    """
    source_path = sqlite_path(database.engine.url)
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
    engine = create_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            state = read_state(connection)
    finally:
        engine.dispose()
    return DatabaseCopy(state, hash_file(target))


def dump_postgres(database: Database, target: Path) -> DatabaseCopy:
    """Dump a PostgreSQL database to ``target`` with pg_dump, from one snapshot.

    Raises BackupError when pg_dump is missing, older than the server, or fails.
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
            # while the transaction is still open.
            _run(
                [
                    tool,
                    "--format=custom",
                    "--no-password",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={conninfo(url)}",
                ],
                url,
                "pg_dump",
            )
    return DatabaseCopy(state, hash_file(target), version, tool_major)


def restore_sqlite(staged: Path, database: Database) -> None:
    """Put a verified SQLite copy in place as the target's database file."""
    target = Path(sqlite_path(database.engine.url))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(staged, target)
    _fsync_folder(target.parent)


def restore_postgres(staged: Path, database: Database, dump_major: int | None) -> None:
    """Load a verified dump into the target's empty PostgreSQL database.

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
    _run(
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={conninfo(url)}",
            str(staged),
        ],
        url,
        "pg_restore",
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
            f"cannot connect to the target database {_safe(database.engine.url)}: "
            f"{_first_line(error)}; create it first (createdb) and check "
            "SCUT_DATABASE_URL"
        ) from error
    if not names:
        return []
    listed = ", ".join(names[:MAX_LISTED])
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return [f"the database {_safe(database.engine.url)} (relations {listed}{more})"]


def sqlite_path(url: URL) -> str:
    """Return the file of a SQLite URL; raise BackupError for an in-memory one."""
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise BackupError(
            f"SQLite database {url.render_as_string(hide_password=True)} is not a "
            "plain file path; back up and restore a file-based database"
        )
    return path


def pg_tool(name: str) -> tuple[str, int]:
    """Find a PostgreSQL client tool on PATH; return its path and major version."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH; install the PostgreSQL client tools "
            "(Debian: postgresql-client) of the server's major version or later"
        )
    try:
        output = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise BackupError(f"cannot run {path} --version: {error}") from error
    matched = _VERSION.search(output)
    if matched is None:
        raise BackupError(f"cannot read the version of {path} from {output.strip()!r}")
    return path, int(matched.group(1))


def conninfo(url: URL) -> str:
    """Return a libpq connection string for a URL, without its password."""
    parameters: dict[str, str] = {}
    for key, value in url.query.items():
        parameters[key] = value if isinstance(value, str) else value[-1]
    if url.host:
        parameters["host"] = url.host
    if url.port:
        parameters["port"] = str(url.port)
    if url.username:
        parameters["user"] = url.username
    if url.database:
        parameters["dbname"] = url.database
    return make_conninfo("", **parameters)


def _run(command: list[str], url: URL, name: str) -> None:
    environment = dict(os.environ)
    if url.password:
        # In the environment, the password stays out of the process list.
        environment["PGPASSWORD"] = str(url.password)
    log.info("Running %s on %s", name, _safe(url))
    try:
        completed = subprocess.run(
            command, env=environment, capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise BackupError(f"cannot run {command[0]}: {error}") from error
    if completed.returncode != 0:
        reason = completed.stderr.strip().splitlines()[-5:]
        raise BackupError(
            f"{name} failed with exit status {completed.returncode} on "
            f"{_safe(url)}: {' '.join(reason) or 'no message'}"
        )


def _safe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _first_line(error: Exception) -> str:
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
