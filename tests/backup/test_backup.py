"""Backup, restore and the restore check, on SQLite and on PostgreSQL.

Each test ingests three drawn pictures into the installation of the
``database`` fixture, backs it up and restores it into a second, empty
target: a SQLite file of its own, or a second PostgreSQL database that is
created for the test and dropped after it.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import URL, delete, make_url, select

from drawn_pictures import draw_picture
from scut.backup.databases import database_contents
from scut.backup.manifest import BackupError, Manifest
from scut.backup.service import (
    RestoreCheckFailed,
    check_restore,
    create_backup,
    restore_backup,
)
from scut.db.models import AuditEvent, Media, Occurrence
from scut.db.session import Database
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.integrity import BlobCheckFailed, verify_blobs
from scut.security.access import AccessDenied
from scut.security.audit import verify_log, write_anchor
from scut.security.caller import Caller, local_operator
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.keys import Keyring, key_id_of, write_key_file
from scut.storage.segments import MAGIC

OPERATOR = local_operator("scut")
CHECKS = [
    "schema revision",
    "row counts",
    "audit chain",
    "audit anchors",
    "blob files",
    "blob sample",
]


def write_master_key(path: Path) -> Path:
    """Write a key file with one new master key; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(uuid.uuid4().bytes).digest()
    write_key_file(Keyring(key_id_of(key), {key_id_of(key): key}, path))
    return path


@pytest.fixture
def evidence(tmp_path: Path) -> dict[str, bytes]:
    """Three small drawn pictures in tmp_path/evidence, by SHA-256."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    pictures = {}
    for number in range(3):
        path = folder / f"IMG_{number}.jpg"
        draw_picture(number, (200, 150)).save(path, quality=90)
        pictures[hashlib.sha256(path.read_bytes()).hexdigest()] = path.read_bytes()
    return pictures


@pytest.fixture
def source(
    tmp_path: Path,
    settings: Settings,
    database: Database,
    evidence: dict[str, bytes],
) -> Settings:
    """Settings of an installation with the evidence ingested, audited and anchored."""
    keyed = settings.model_copy(
        update={
            "master_key_file": write_master_key(tmp_path / "keys" / "master.json"),
            "workers": 1,
        }
    )
    origin = Origin(case="B1", exhibit="E1", unit="Police")
    IngestJob(database, keyed, [tmp_path / "evidence"], origin).run()
    verify_log(database, OPERATOR, keyed)
    with database.session() as session:
        write_anchor(session, keyed)
    return keyed


@pytest.fixture
def target(tmp_path: Path, source: Settings) -> Iterator[Settings]:
    """Settings of an empty target with the source's master key and signing key."""
    data_dir = tmp_path / "restored"
    if source.resolved_database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'restored.db'}"
        yield source.model_copy(update={"data_dir": data_dir, "database_url": url})
        return
    server = make_url(source.database_url)
    name = f"scut_restore_{uuid.uuid4().hex[:12]}"
    with _admin(server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    yield source.model_copy(update={"data_dir": data_dir, "database_url": url})
    with _admin(server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def target_database(target: Settings) -> Iterator[Database]:
    """The target's database, not migrated: a restore needs it empty."""
    restored = Database(target)
    yield restored
    restored.dispose()


def _admin(server: URL) -> psycopg.Connection:
    return psycopg.connect(
        host=server.host,
        port=server.port or 5432,
        user=server.username,
        password=server.password,
        dbname="postgres",
        autocommit=True,
    )


def back_up(database: Database, source: Settings, tmp_path: Path) -> Path:
    destination = tmp_path / "backups" / "monday"
    create_backup(database, source, destination, caller=OPERATOR)
    return destination


def last_event(database: Database) -> AuditEvent:
    with database.session() as session:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
        return session.scalars(query).one()


def flip_last_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[-1] ^= 0x01
    path.write_bytes(bytes(content))


def test_restore_passes_check(
    tmp_path: Path,
    database: Database,
    source: Settings,
    target: Settings,
    target_database: Database,
    evidence: dict[str, bytes],
) -> None:
    backup = back_up(database, source, tmp_path)

    report = restore_backup(target_database, target, backup, caller=OPERATOR)

    assert [check.name for check in report.checks] == CHECKS
    assert report.passed, report.checks
    manifest = Manifest.read(backup)
    assert manifest.row_counts["media"] == 3
    assert manifest.blob_files == 12  # three originals and thumbnails, with keys
    assert report.restored is not None
    assert report.restored.files == manifest.file_count
    store = open_blob_store(target)
    for sha256, content in evidence.items():
        with store.open_original(sha256) as handle:
            assert handle.read() == content
    assert last_event(database).action == "backup.run"
    restored_event = last_event(target_database)
    assert restored_event.action == "restore.run"
    assert restored_event.outcome == "succeeded"
    assert restored_event.id == manifest.last_event_id + 1
    # Run again on its own, the check allows the events appended since.
    again = check_restore(target_database, target, backup, caller=OPERATOR)
    assert again.passed, again.checks


def test_backup_holds_no_plaintext(
    tmp_path: Path,
    database: Database,
    source: Settings,
    evidence: dict[str, bytes],
) -> None:
    backup = back_up(database, source, tmp_path)

    files = [path for path in backup.rglob("*") if path.is_file()]
    blobs = [path for path in files if "blobs" in path.parts]
    assert len(blobs) == 12
    for path in blobs:
        if path.suffix != ".key":
            assert path.read_bytes().startswith(MAGIC), path
    windows = [content[600:648] for content in evidence.values()]
    for path in files:
        content = path.read_bytes()
        assert not any(window in content for window in windows), path
    assert not (backup / "master-key.json").exists()
    assert backup.stat().st_mode & 0o077 == 0
    partials = [path.name for path in backup.parent.iterdir() if path != backup]
    assert partials == []


def test_changed_backup_rejected(
    tmp_path: Path,
    database: Database,
    source: Settings,
    target: Settings,
    target_database: Database,
) -> None:
    backup = back_up(database, source, tmp_path)
    manifest = Manifest.read(backup)
    original = next((backup / "blobs" / "originals").glob("*/*/*[0-9a-f]"))
    changes = {
        "blob": lambda copy: flip_last_byte(copy / original.relative_to(backup)),
        "database": lambda copy: flip_last_byte(copy / manifest.database_file),
        "added": lambda copy: (copy / "blobs" / "extra").write_bytes(b"x"),
        "removed": lambda copy: (copy / "audit-anchors.jsonl").unlink(),
    }
    expected = {
        "blob": original.name,
        "database": manifest.database_file,
        "added": "not listed in SHA256SUMS: blobs/extra",
        "removed": "listed but missing: audit-anchors.jsonl",
    }
    for name, change in changes.items():
        copy = tmp_path / f"changed-{name}"
        shutil.copytree(backup, copy)
        change(copy)

        with pytest.raises(BackupError, match="nothing was restored") as raised:
            restore_backup(target_database, target, copy, caller=OPERATOR)

        assert expected[name] in str(raised.value), name
        assert not target.data_dir.exists(), name
        assert database_contents(target_database) == [], name


def test_changed_blob_caught_after_restore(
    tmp_path: Path,
    database: Database,
    source: Settings,
    target: Settings,
    target_database: Database,
) -> None:
    backup = back_up(database, source, tmp_path)
    restore_backup(target_database, target, backup, caller=OPERATOR)
    store = open_blob_store(target)
    changed = next(iter(store.iter_originals()))
    flip_last_byte(store.original_path(changed))

    with pytest.raises(BlobCheckFailed) as raised:
        verify_blobs(target_database, store, caller=OPERATOR)

    report = raised.value.report
    assert report.counts["undecryptable"] == 1
    assert [finding.name for finding in report.findings] == [changed]
    with pytest.raises(RestoreCheckFailed) as failed:
        check_restore(target_database, target, backup, caller=OPERATOR)
    failures = [check.name for check in failed.value.report.checks if not check.passed]
    assert failures == ["blob sample"]


def test_deleted_row_fails_row_counts(
    tmp_path: Path,
    database: Database,
    source: Settings,
    target: Settings,
    target_database: Database,
) -> None:
    backup = back_up(database, source, tmp_path)
    restore_backup(target_database, target, backup, caller=OPERATOR)
    with target_database.session() as session, session.begin():
        removed = session.scalars(select(Occurrence.id).limit(1)).one()
        session.execute(delete(Occurrence).where(Occurrence.id == removed))

    with pytest.raises(RestoreCheckFailed) as raised:
        check_restore(target_database, target, backup, caller=OPERATOR)

    checks = raised.value.report.checks
    failed = [check for check in checks if not check.passed]
    assert [check.name for check in failed] == ["row counts"]
    assert "occurrences: 3 in the backup, 2 restored" in failed[0].message
    recorded = last_event(target_database)
    assert (recorded.action, recorded.outcome) == ("restore.run", "failed")
    assert recorded.detail["failed_checks"] == ["row counts"]


def test_non_empty_target_refused(
    tmp_path: Path,
    database: Database,
    source: Settings,
    target: Settings,
    target_database: Database,
) -> None:
    backup = back_up(database, source, tmp_path)
    target.data_dir.mkdir()
    (target.data_dir / "notes.txt").write_text("kept")

    with pytest.raises(BackupError, match="notes.txt"):
        restore_backup(target_database, target, backup, caller=OPERATOR)

    (target.data_dir / "notes.txt").unlink()
    target_database.upgrade()
    with pytest.raises(BackupError, match="not empty") as raised:
        restore_backup(target_database, target, backup, caller=OPERATOR)
    if target_database.engine.dialect.name == "sqlite":
        assert "the SQLite file" in str(raised.value)
    else:
        assert "public.audit_events" in str(raised.value)
    assert list(target.data_dir.iterdir()) == []
    with target_database.session() as session:
        assert session.scalars(select(Media)).all() == []


def test_restore_needs_backed_up_master_key(
    tmp_path: Path,
    database: Database,
    source: Settings,
    target: Settings,
    target_database: Database,
) -> None:
    backup = back_up(database, source, tmp_path)
    other = write_master_key(tmp_path / "other-keys" / "master.json")
    wrong_key = target.model_copy(update={"master_key_file": other})

    with pytest.raises(BackupError, match="sealed under master key"):
        restore_backup(target_database, wrong_key, backup, caller=OPERATOR)

    assert not target.data_dir.exists()


def test_backup_destination_checked(
    tmp_path: Path, database: Database, source: Settings
) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "old.txt").write_text("x")

    with pytest.raises(BackupError, match="is not empty"):
        create_backup(database, source, used, caller=OPERATOR)
    with pytest.raises(BackupError, match="inside the data directory"):
        create_backup(database, source, source.data_dir / "b", caller=OPERATOR)
    plain = source.data_dir / "blobs" / "originals" / "00" / "00" / ("0" * 64)
    plain.parent.mkdir(parents=True)
    plain.write_bytes(b"plain picture bytes")
    with pytest.raises(BackupError, match="plaintext"):
        create_backup(database, source, tmp_path / "new", caller=OPERATOR)

    assert not (tmp_path / "new").exists()
    assert sorted(path.name for path in tmp_path.iterdir() if "new" in path.name) == []


def test_admin_role_needed(
    tmp_path: Path, database: Database, source: Settings
) -> None:
    analyst = Caller(user="ana", roles=frozenset({"analyst"}))

    with pytest.raises(AccessDenied, match="may not call backup.run"):
        create_backup(database, source, tmp_path / "b", caller=analyst)

    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (None, "pg_dump was not found on PATH"),
        ("pg_dump (PostgreSQL) 9.6.24", "older than the PostgreSQL server"),
    ],
)
def test_pg_dump_checked_before_dump(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    version: str | None,
    message: str,
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    if version is not None:
        # A stand-in that only reports an old version, as pg_dump --version does.
        fake = tools / "pg_dump"
        fake.write_text(f"#!/bin/sh\necho '{version}'\n")
        fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    database = Database(settings)
    database.upgrade()

    try:
        with pytest.raises(BackupError, match=message):
            create_backup(database, settings, tmp_path / "b", caller=OPERATOR)
    finally:
        database.dispose()

    assert not (tmp_path / "b").exists()
