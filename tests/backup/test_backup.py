"""Backup, restore and the restore check, on SQLite and on PostgreSQL.

Each test ingests three drawn pictures and records one person into the
installation of the ``database`` fixture, then backs it up. Most restore
the backup into a second, empty target: a SQLite file of its own, or a
second PostgreSQL database that is created for the test and dropped after it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import URL, delete, make_url, select

from drawn_pictures import draw_picture
from records_helpers import analyst
from scut.backup.databases import database_contents
from scut.backup.manifest import BackupError, Manifest, hash_file
from scut.backup.sealing import database_key_file, open_database_copy
from scut.backup.service import (
    RestoreCheckFailed,
    check_restore,
    create_backup,
    restore_backup,
)
from scut.db.models import AuditEvent, Media, Occurrence, Person
from scut.db.session import Database
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.integrity import BlobCheckFailed, verify_blobs
from scut.persons.service import PersonInput, create_person
from scut.security.access import AccessDenied
from scut.security.audit import verify_log, write_anchor
from scut.security.caller import Caller, local_operator
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.keys import Keyring, key_id_of, load_keyring, write_key_file
from scut.storage.segments import HEADER_BYTES, MAGIC

OPERATOR = local_operator("scut")
CHECKS = [
    "schema revision",
    "row counts",
    "audit chain",
    "audit anchors",
    "blob files",
    "blob sample",
]
# A victim recorded before each backup; no backup file may contain these.
LAST_NAME = "Vrabievschi"
IDNP = "2002042123459"
SQLITE_HEADER = b"SQLite format 3"
PG_DUMP_MAGIC = b"PGDMP"


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
    victim = PersonInput(
        last_name=LAST_NAME, first_name="Dorina", categories=["victim"], idnp=IDNP
    )
    with database.session() as session, session.begin():
        create_person(session, victim, caller=analyst("ana"))
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
    flip_byte(path, -1)


def flip_byte(path: Path, offset: int) -> None:
    content = bytearray(path.read_bytes())
    content[offset] ^= 0x01
    path.write_bytes(bytes(content))


def rewrite_checksums(backup: Path) -> None:
    """Make SHA256SUMS and the manifest match the files again, as a forger can."""
    sums = backup / "SHA256SUMS"
    lines = []
    for line in sums.read_text().splitlines():
        _old, relative = line.split("  ", 1)
        lines.append(f"{hash_file(backup / relative)}  {relative}\n")
    sums.write_text("".join(lines))
    manifest = backup / "manifest.json"
    document = json.loads(manifest.read_text())
    document["checksums_sha256"] = hash_file(sums)
    manifest.write_text(json.dumps(document))


def alter_wrapped_key(path: Path) -> None:
    document = json.loads(path.read_text())
    wrapped = bytearray(base64.b64decode(document["wrapped_key"]))
    wrapped[0] ^= 0x01
    document["wrapped_key"] = base64.b64encode(bytes(wrapped)).decode("ascii")
    path.write_text(json.dumps(document))


def database_plaintext(backup: Path, settings: Settings) -> bytes:
    """Unseal the backup's database copy with the master key of ``settings``."""
    manifest = Manifest.read(backup)
    keyring = load_keyring(settings)
    assert keyring is not None
    sealed = backup / manifest.database_file
    with open_database_copy(sealed, keyring, manifest.database_master_key) as copy:
        return copy.read()


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
    with target_database.session() as session:
        person = session.scalars(select(Person).where(Person.idnp == IDNP)).one()
        assert person.last_name == LAST_NAME
    source_keyring = load_keyring(source)
    assert source_keyring is not None
    assert manifest.database_master_key == source_keyring.current_id
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
        assert LAST_NAME.encode() not in content, path
        assert IDNP.encode() not in content, path
        assert SQLITE_HEADER not in content, path
        assert PG_DUMP_MAGIC not in content, path
    # The searches above would find the plaintext that the sealed copy contains.
    plaintext = database_plaintext(backup, source)
    if database.engine.dialect.name == "sqlite":
        assert plaintext.startswith(SQLITE_HEADER)
        assert LAST_NAME.encode() in plaintext
        assert IDNP.encode() in plaintext
    else:
        assert plaintext.startswith(PG_DUMP_MAGIC)
    tmp_dir = source.data_dir / "blobs" / "tmp"
    assert list(tmp_dir.glob("*backup-database*")) == []
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
    key_file = database_key_file(manifest.database_file)
    changes = {
        "blob": lambda copy: flip_last_byte(copy / original.relative_to(backup)),
        "database": lambda copy: flip_last_byte(copy / manifest.database_file),
        "database key": lambda copy: flip_last_byte(copy / key_file),
        "added": lambda copy: (copy / "blobs" / "extra").write_bytes(b"x"),
        "removed": lambda copy: (copy / "audit-anchors.jsonl").unlink(),
    }
    expected = {
        "blob": original.name,
        "database": manifest.database_file,
        "database key": key_file,
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
    key_id = Manifest.read(backup).database_master_key
    other = write_master_key(tmp_path / "other-keys" / "master.json")
    wrong_key = target.model_copy(update={"master_key_file": other})
    no_key = target.model_copy(update={"master_key_file": None})

    with pytest.raises(BackupError, match="sealed under master key") as wrong:
        restore_backup(target_database, wrong_key, backup, caller=OPERATOR)
    with pytest.raises(BackupError, match="sealed under master key") as missing:
        restore_backup(target_database, no_key, backup, caller=OPERATOR)

    assert "database copy and blobs are sealed" in str(wrong.value)
    assert key_id in str(wrong.value)
    assert str(other) in str(wrong.value)
    assert key_id in str(missing.value)
    assert "no configured key" in str(missing.value)
    assert not target.data_dir.exists()
    assert database_contents(target_database) == []


def test_altered_database_copy_rejected(
    tmp_path: Path,
    database: Database,
    source: Settings,
    target: Settings,
    target_database: Database,
) -> None:
    backup = back_up(database, source, tmp_path)
    manifest = Manifest.read(backup)
    key_file = database_key_file(manifest.database_file)
    # Each change comes with SHA256SUMS and the manifest rewritten to match,
    # so only the authentication tags can reveal it.
    changes: dict[str, Callable[[Path], None]] = {
        "segment": lambda copy: flip_byte(copy / manifest.database_file, 100),
        "last tag": lambda copy: flip_last_byte(copy / manifest.database_file),
        "header": lambda copy: flip_byte(
            copy / manifest.database_file, HEADER_BYTES - 1
        ),
        "wrapped key": lambda copy: alter_wrapped_key(copy / key_file),
    }
    expected = {
        "segment": f"the database copy {manifest.database_file} of the backup "
        "fails authentication",
        "last tag": "was damaged or altered after the backup was written",
        "header": "was damaged or altered after the backup was written",
        "wrapped key": f"{key_file}, the key file of the database copy, fails",
    }
    for name, change in changes.items():
        copy = tmp_path / f"altered-{name.replace(' ', '-')}"
        shutil.copytree(backup, copy)
        change(copy)
        rewrite_checksums(copy)

        with pytest.raises(BackupError, match="authentication") as raised:
            restore_backup(target_database, target, copy, caller=OPERATOR)

        assert expected[name] in str(raised.value), name
        assert not target.data_dir.exists(), name
        assert database_contents(target_database) == [], name


def test_database_key_id_mismatch_rejected(
    tmp_path: Path,
    database: Database,
    source: Settings,
    target: Settings,
    target_database: Database,
) -> None:
    backup = back_up(database, source, tmp_path)
    source_keyring = load_keyring(source)
    assert source_keyring is not None
    other_key = hashlib.sha256(b"another master key").digest()
    both = Keyring(
        source_keyring.current_id,
        {**source_keyring.keys, key_id_of(other_key): other_key},
        tmp_path / "both-keys" / "master.json",
    )
    (tmp_path / "both-keys").mkdir()
    write_key_file(both)
    manifest = backup / "manifest.json"
    document = json.loads(manifest.read_text())
    document["database_master_key"] = key_id_of(other_key)
    manifest.write_text(json.dumps(document))
    keyed = target.model_copy(update={"master_key_file": both.path})

    with pytest.raises(BackupError, match="names master key") as raised:
        restore_backup(target_database, keyed, backup, caller=OPERATOR)

    assert f"the manifest records '{key_id_of(other_key)}'" in str(raised.value)
    assert not target.data_dir.exists()
    assert database_contents(target_database) == []


def test_backup_removes_stale_database_copies(
    tmp_path: Path,
    database: Database,
    source: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    tmp_dir = source.data_dir / "blobs" / "tmp"
    stale = [
        tmp_dir / f"{ended.pid}-backup-database-0badc0de.sqlite",
        tmp_dir / f"{ended.pid}-backup-database-0badc0de.sqlite-journal",
    ]
    # A copy whose process still runs belongs to a backup in progress.
    running = tmp_dir / f"{os.getpid()}-backup-database-5eed5eed.sqlite"
    for path in [*stale, running]:
        path.write_bytes(SQLITE_HEADER)

    with caplog.at_level(logging.WARNING, logger="scut.backup.databases"):
        back_up(database, source, tmp_path)

    assert [path for path in stale if path.exists()] == []
    assert running.exists()
    removals = [
        record.getMessage()
        for record in caplog.records
        if "left by a backup that was stopped" in record.getMessage()
    ]
    assert len(removals) == 2
    assert str(stale[0]) in removals[0]


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


def write_tool(folder: Path, name: str, script: str) -> None:
    """Write a stand-in for a PostgreSQL client tool that reports version 99."""
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(
        "#!/bin/sh\n"
        f"if [ \"$1\" = --version ]; then echo '{name} (PostgreSQL) 99.0'; exit 0; fi\n"
        f"{script}\n"
    )
    tool.chmod(0o755)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            "printf PGDMP-partial; echo 'pg_dump: error: connection lost' >&2; exit 1",
            "pg_dump failed with exit status 1 on .*: pg_dump: error: connection lost",
        ),
        (
            "printf PGDMP; echo 'pg_dump: error: query failed' >&2; exit 0",
            "pg_dump failed with exit status 0 on .*: pg_dump: error: query failed",
        ),
        ("echo 'not an archive'", "is not a custom-format archive"),
    ],
)
def test_failed_pg_dump_leaves_no_backup(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    script: str,
    message: str,
) -> None:
    write_tool(tmp_path / "bin", "pg_dump", script)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    database = Database(settings)
    database.upgrade()

    try:
        with pytest.raises(BackupError, match=message):
            create_backup(database, settings, tmp_path / "b" / "1", caller=OPERATOR)
    finally:
        database.dispose()

    assert list((tmp_path / "b").iterdir()) == []


def test_pg_dump_warnings_logged(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = "printf PGDMP; echo 'pg_dump: warning: circular foreign keys' >&2"
    write_tool(tmp_path / "bin", "pg_dump", script)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    database = Database(settings)
    database.upgrade()

    try:
        with caplog.at_level(logging.WARNING, logger="scut.backup.pgclient"):
            back_up(database, settings, tmp_path)
    finally:
        database.dispose()

    warnings = [record.getMessage() for record in caplog.records]
    assert any("pg_dump: warning: circular foreign keys" in line for line in warnings)
    assert database_plaintext(tmp_path / "backups" / "monday", settings) == b"PGDMP"


def test_failed_pg_restore_restores_nothing(
    tmp_path: Path,
    database: Database,
    source: Settings,
    target: Settings,
    target_database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("pg_restore loads PostgreSQL backups only")
    backup = back_up(database, source, tmp_path)
    # The stand-in closes its standard input at once, as a pg_restore that
    # stops early does, so the restore's writes meet a broken pipe.
    script = "exec 0<&-; echo 'pg_restore: error: could not connect' >&2; exit 1"
    write_tool(tmp_path / "bin", "pg_restore", script)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")

    with pytest.raises(BackupError, match="pg_restore failed with exit status 1"):
        restore_backup(target_database, target, backup, caller=OPERATOR)

    assert not target.data_dir.exists()
    assert database_contents(target_database) == []


def test_format_1_manifest_rejected(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"format": 1, "scut_version": "0.1.0"}))

    with pytest.raises(BackupError, match="format 1") as raised:
        Manifest.read(tmp_path)

    assert "restore it with the Scut that wrote it" in str(raised.value)
