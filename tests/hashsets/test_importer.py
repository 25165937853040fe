"""Importing hash sets: whole-set replacement, other writers, bad values."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import Session

from scut.db.models import HashEntry, HashSet, Unit
from scut.db.session import Database
from scut.hashsets.importer import BATCH_SIZE, HashSetImportError, import_hash_set
from scut.hashsets.staging import ENTRY_COLUMNS
from scut.settings import Settings


def write_md5_list(path: Path, count: int, start: int = 0) -> Path:
    path.write_text("".join(f"{n:032x}\n" for n in range(start, start + count)))
    return path


@contextmanager
def other_connection(database: Database) -> Iterator[Engine]:
    """An engine apart from Scut's, as another command would have.

    On SQLite it waits 1 s for a lock, not Scut's 30 s, so that a blocked
    write fails fast.
    """
    arguments = {"timeout": 1} if database.url.startswith("sqlite") else {}
    engine = create_engine(database.url, connect_args=arguments)
    try:
        yield engine
    finally:
        engine.dispose()


def entry_count(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        count = session.scalar(
            select(func.count())
            .select_from(HashEntry)
            .join(HashSet, HashSet.id == HashEntry.hash_set_id)
            .where(HashSet.name == name)
        )
    return int(count or 0)


def staging_files(database: Database) -> list[Path]:
    folder = Path(str(database.engine.url.database)).parent
    return sorted(folder.glob("*.import-*.tmp"))


def test_other_writer_not_blocked(database: Database, tmp_path: Path) -> None:
    # An import once held SQLite's write lock from its first batch to its
    # end, so an ingest failed after the busy timeout.
    path = write_md5_list(tmp_path / "big.txt", 3 * BATCH_SIZE)
    written: list[int] = []

    with other_connection(database) as engine:

        def ingest_meanwhile(done: int, total: int) -> None:
            if done < total:
                with Session(engine) as session, session.begin():
                    session.add(Unit(name=f"unit during import {len(written)}"))
                written.append(done)

        report = import_hash_set(
            database,
            path,
            name="big",
            kind="known-good",
            fmt="plain",
            progress=ingest_meanwhile,
        )
        assert entry_count(engine, "big") == 3 * BATCH_SIZE

    assert report.entries == 3 * BATCH_SIZE
    assert len(written) >= 2
    with database.session() as session:
        units = session.scalars(select(Unit.name)).all()
    assert len(units) == len(written)


def test_reimport_replaces_set_at_once(database: Database, tmp_path: Path) -> None:
    first = write_md5_list(tmp_path / "first.txt", 3)
    second = write_md5_list(tmp_path / "second.txt", 2 * BATCH_SIZE, start=100)
    import_hash_set(database, first, name="set", kind="alert", fmt="plain")
    seen: list[int] = []

    with other_connection(database) as engine:

        def look_meanwhile(done: int, total: int) -> None:
            if done < total:
                seen.append(entry_count(engine, "set"))

        import_hash_set(
            database,
            second,
            name="set",
            kind="alert",
            fmt="plain",
            progress=look_meanwhile,
        )
        after = entry_count(engine, "set")

    assert seen
    assert set(seen) == {3}
    assert after == 2 * BATCH_SIZE
    assert staging_files(database) == []


def test_size_above_int64_left_out(database: Database, tmp_path: Path) -> None:
    # A MediaSize of 2^63 once aborted the whole import with OverflowError.
    document: dict[str, Any] = {
        "value": [
            {"MD5": "11" * 16, "MediaSize": 2**63 - 1},
            {"MD5": "22" * 16, "MediaSize": 2**63},
            {"MD5": "33" * 16, "MediaSize": 5},
        ]
    }
    path = tmp_path / "sizes.json"
    path.write_text(json.dumps(document))

    report = import_hash_set(database, path, name="sizes", kind="known-abuse")

    assert report.items == 2
    assert report.entries == 2
    assert report.rejected == 1
    assert report.rejected_examples[0].startswith(
        "item 2: MediaSize: size 9223372036854775808 is out of range"
    )
    with database.session() as session:
        sizes = session.scalars(
            select(HashEntry.media_size).order_by(HashEntry.value)
        ).all()
    assert sizes == [2**63 - 1, 5]


def test_details_stored_after_reading(database: Database, tmp_path: Path) -> None:
    # Case numbers are found while the items are read.
    document = {
        "value": [
            {"CaseNumber": "C-1", "Media": [{"MD5": "11" * 16}]},
            {"CaseNumber": "C-2", "Media": [{"MD5": "22" * 16}]},
        ]
    }
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(document))

    import_hash_set(database, path, name="cases", kind="known-abuse")

    with database.session() as session:
        details = session.scalars(select(HashSet.details)).one()
    assert details["case_numbers"] == "C-1, C-2"
    assert details["cases"] == "2"


def test_empty_result_leaves_no_staging_file(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("not a hash\n")

    with pytest.raises(HashSetImportError, match="no usable hashes found"):
        import_hash_set(database, path, name="bad", kind="alert", fmt="plain")

    assert staging_files(database) == []
    with database.session() as session:
        assert session.scalars(select(HashSet)).all() == []


def test_locked_database_reported_plainly(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    database = Database(sqlite_settings)
    database.upgrade()
    database.dispose()
    # A short busy timeout, so the test waits 0.2 s rather than 30 s.
    event.listen(
        database.engine,
        "connect",
        lambda connection, _: connection.execute("PRAGMA busy_timeout=200"),
    )
    path = write_md5_list(tmp_path / "list.txt", 10)
    holder = sqlite3.connect(str(database.engine.url.database), isolation_level=None)
    try:
        with closing(holder):
            holder.execute("BEGIN IMMEDIATE")
            holder.execute(
                "INSERT INTO units (name, kind, country, created_at) "
                "VALUES ('holder', 'police', 'MD', '2026-12-04')"
            )
            with pytest.raises(HashSetImportError) as raised:
                import_hash_set(database, path, name="l", kind="alert", fmt="plain")
            holder.execute("ROLLBACK")

        message = str(raised.value)
        assert message.startswith(f"{path}: the database stayed locked by another")
        assert "nothing was imported" in message
        assert staging_files(database) == []
        with database.session() as session:
            assert session.scalars(select(HashSet)).all() == []
    finally:
        database.dispose()


def test_staging_columns_match_model() -> None:
    # A column added to hash_entries must be staged and copied too.
    columns = {column.name for column in HashEntry.__table__.columns}

    assert set(ENTRY_COLUMNS) == columns - {"id", "hash_set_id"}
    assert len(ENTRY_COLUMNS) == len(set(ENTRY_COLUMNS))
