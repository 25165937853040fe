"""Writing a backup folder: anchors, sealed database, sealed blobs, then the manifest.

The order matters for a backup taken while Scut runs. The anchors file is
copied before the database, so every anchor in it names an event the
database copy contains (an anchor is written after its event commits). The
blobs are copied after the database, so every media row of the copy has
its blob in the backup (a blob is stored before its row commits).

NOTE: a case erased while a backup runs can break this, because erasure
deletes the blobs after its rows are gone. If the copy still has the rows
but the blobs were deleted before the blob copy reached them, a restore
of it lists them as missing in ``scut verify --blobs``.

The database copy is sealed as it is read (``scut.backup.sealing``), so
no plaintext of it reaches the backup folder. Everything is written into a
hidden folder beside the destination,
``.<name>.partial-<pid>``, which is renamed to the destination only once
the manifest is on disk: an interrupted backup never has the name asked
for, nor a manifest.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization

import scut
from scut.backup.databases import (
    DatabaseCopy,
    copy_sqlite,
    dump_postgres,
    remove_stale_copies,
)
from scut.backup.manifest import (
    ANCHORS_NAME,
    BLOBS_FOLDER,
    CHECKSUMS_NAME,
    DAMAGED_KEY_FILE,
    DUMP_NAME,
    MANIFEST_NAME,
    PUBLIC_KEY_NAME,
    SQLITE_NAME,
    BackupError,
    ChecksumWriter,
    Manifest,
    copy_hashed,
    hash_file,
    sorted_files,
)
from scut.backup.sealing import DatabaseSealer, SealedCopy, database_key_file
from scut.db.session import Database
from scut.security.audit import anchor_file, load_signing_key, signing_key_path
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.encrypted import EncryptedBlobStore
from scut.storage.keyfiles import KEY_FILE_SUFFIX, WrappedKey
from scut.storage.keys import Keyring
from scut.storage.segments import HEADER_BYTES, BlobError, is_sealed

log = logging.getLogger(__name__)

STORE_FOLDERS = ("originals", "derived")
# Called with (files done, files in all).
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class BackupReport:
    """A finished backup: where it is, its manifest, and what it copied."""

    destination: Path
    manifest: Manifest
    bytes_copied: int = 0
    # Where the master key and signing key come from, for the message on
    # where they must be kept; None when there is none.
    master_key_source: str | None = None
    signing_key: Path | None = None
    damaged_key_files: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _BlobTally:
    files: int = 0
    size: int = 0
    by_master_key: dict[str, int] = field(default_factory=dict)
    damaged: list[str] = field(default_factory=list)


def write_backup(
    database: Database,
    settings: Settings,
    destination: Path,
    progress: Progress | None = None,
) -> BackupReport:
    """Write a complete backup to ``destination``, which must be new or empty.

    Raises BackupError when the destination is unusable, a blob is stored
    in plaintext, or the database cannot be copied, and KeyringError when
    the master key cannot be loaded. With no master key configured, one is
    created as the blob store does (see :func:`scut.storage.open_blob_store`).
    """
    destination = destination.absolute()
    _check_destination(destination, settings)
    store = open_blob_store(settings)
    remove_stale_copies(store.tmp_dir)
    partial = destination.parent / f".{destination.name}.partial-{os.getpid()}"
    # Only the owner may list the backup or open its files.
    partial.mkdir(mode=0o700)
    try:
        report = _write(database, settings, store, partial, destination, progress)
        # One sync for every file written, before the rename makes it whole.
        os.sync()
        _rename_into_place(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info("Backup written to %s", destination)
    return report


def _write(
    database: Database,
    settings: Settings,
    store: EncryptedBlobStore,
    partial: Path,
    destination: Path,
    progress: Progress | None,
) -> BackupReport:
    dialect = database.engine.dialect.name
    database_name = SQLITE_NAME if dialect == "sqlite" else DUMP_NAME
    keyring = store.keyring
    with ChecksumWriter(partial / CHECKSUMS_NAME) as checksums:
        anchors = _copy_anchors(settings, partial, checksums)
        signing_key = _write_public_key(settings, partial, checksums)
        copied, sealed = _copy_database(
            database, partial, database_name, keyring, store.tmp_dir
        )
        blobs = _copy_blobs(store.root, partial / BLOBS_FOLDER, checksums, progress)
        # The sealed copy and its key file come last in the list, where the
        # folder walk puts them.
        checksums.add(database_name, sealed.sha256)
        checksums.add(database_key_file(database_name), sealed.key_file_sha256)
        checksums_sha256 = checksums.close()
    manifest = Manifest(
        scut_version=scut.__version__,
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        dialect=dialect,
        database_file=database_name,
        schema_revision=copied.state.schema_revision,
        row_counts=copied.state.row_counts,
        last_event_id=copied.state.last_event_id,
        last_event_hash=copied.state.last_event_hash,
        checksums_sha256=checksums_sha256,
        file_count=checksums.count,
        blob_files=blobs.files,
        data_keys_by_master_key=blobs.by_master_key,
        current_master_key=keyring.current_id,
        database_master_key=sealed.master_key,
        anchors_file=ANCHORS_NAME if anchors else None,
        signing_public_key=PUBLIC_KEY_NAME if signing_key is not None else None,
        server_version=copied.server_version,
        pg_dump_major=copied.pg_dump_major,
    )
    manifest.write(partial / MANIFEST_NAME)
    return BackupReport(
        destination,
        manifest,
        blobs.size,
        keyring.source,
        signing_key,
        blobs.damaged,
    )


def _check_destination(destination: Path, settings: Settings) -> None:
    data_dir = settings.data_dir.resolve()
    if destination.resolve() == data_dir or destination.resolve().is_relative_to(
        data_dir
    ):
        raise BackupError(
            f"backup folder {destination} is inside the data directory {data_dir}; "
            "write backups to another disk"
        )
    if destination.exists() and not destination.is_dir():
        raise BackupError(
            f"backup destination {destination} exists and is not a folder"
        )
    if destination.is_dir() and any(destination.iterdir()):
        raise BackupError(
            f"backup folder {destination} is not empty; give a new or empty folder"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)


def _copy_anchors(settings: Settings, partial: Path, checksums: ChecksumWriter) -> bool:
    source = anchor_file(settings)
    try:
        handle = source.open("rb")
    except FileNotFoundError:
        return False
    with handle, (partial / ANCHORS_NAME).open("wb") as target:
        # The writer appends under an exclusive lock, so no half line is copied.
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        sha256, _size = copy_hashed(handle, target)
    checksums.add(ANCHORS_NAME, sha256)
    return True


def _write_public_key(
    settings: Settings, partial: Path, checksums: ChecksumWriter
) -> Path | None:
    path = signing_key_path(settings)
    if not path.exists():
        return None
    public = load_signing_key(settings, create=False).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (partial / PUBLIC_KEY_NAME).write_bytes(pem)
    checksums.add(PUBLIC_KEY_NAME, hash_file(partial / PUBLIC_KEY_NAME))
    return path


def _copy_database(
    database: Database, partial: Path, name: str, keyring: Keyring, tmp_dir: Path
) -> tuple[DatabaseCopy, SealedCopy]:
    dialect = database.engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(
            f"cannot back up a {dialect} database; Scut supports SQLite and PostgreSQL"
        )
    sealer = DatabaseSealer(partial, name, keyring)
    try:
        if dialect == "sqlite":
            copied = copy_sqlite(database, sealer.write, tmp_dir)
        else:
            copied = dump_postgres(database, sealer.write)
    except BaseException:
        sealer.close()
        raise
    return copied, sealer.finish()


def _copy_blobs(
    root: Path, target: Path, checksums: ChecksumWriter, progress: Progress | None
) -> _BlobTally:
    tally = _BlobTally()
    total = sum(1 for _ in sorted_files(root, STORE_FOLDERS))
    done = 0
    locked: tuple[Path, int] | None = None
    try:
        for relative in sorted_files(root, STORE_FOLDERS):
            source = root / relative
            if locked is None or locked[0] != source.parent:
                locked = _lock_folder(source.parent, locked)
            _copy_blob(
                source,
                target / relative,
                f"{BLOBS_FOLDER}/{relative}",
                checksums,
                tally,
            )
            done += 1
            if progress is not None:
                progress(done, total)
    finally:
        if locked is not None:
            os.close(locked[1])
    return tally


def _lock_folder(folder: Path, previous: tuple[Path, int] | None) -> tuple[Path, int]:
    """Hold a shared lock on a blob folder, as the store's readers do.

    Writers hold an exclusive one while they put a key file and its blob in
    place, so the copy never pairs a blob with another writer's key file.
    """
    if previous is not None:
        os.close(previous[1])
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    return folder, descriptor


def _copy_blob(
    source: Path,
    target: Path,
    relative: str,
    checksums: ChecksumWriter,
    tally: _BlobTally,
) -> None:
    if source.is_symlink() or not source.is_file():
        raise BackupError(
            f"{source} in the blob store is not a regular file; remove it and "
            "back up again"
        )
    try:
        handle = source.open("rb")
    except FileNotFoundError:
        log.info("Blob %s was deleted during the backup; it is left out", source)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with handle:
        if source.name.endswith(KEY_FILE_SUFFIX):
            _count_key_file(handle.read(), source, tally)
            handle.seek(0)
        elif not is_sealed(handle.read(HEADER_BYTES)):
            raise BackupError(
                f"blob {source} is stored in plaintext, and a backup must hold "
                "ciphertext only; run scut keys seal-existing, then back up again"
            )
        handle.seek(0)
        with target.open("wb") as copy:
            sha256, size = copy_hashed(handle, copy)
    checksums.add(relative, sha256)
    tally.files += 1
    tally.size += size


def _count_key_file(raw: bytes, path: Path, tally: _BlobTally) -> None:
    try:
        key_id = WrappedKey.from_json(raw, path).key_id
    except BlobError as error:
        log.warning("%s", error)
        tally.damaged.append(path.name)
        key_id = DAMAGED_KEY_FILE
    tally.by_master_key[key_id] = tally.by_master_key.get(key_id, 0) + 1


def _rename_into_place(partial: Path, destination: Path) -> None:
    try:
        # rename() replaces an empty folder and fails on one that is not.
        os.rename(partial, destination)
    except OSError as error:
        raise BackupError(
            f"cannot rename the finished backup {partial} to {destination}: "
            f"{error.strerror}; the folder may have been filled meanwhile"
        ) from error
    descriptor = os.open(destination.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
