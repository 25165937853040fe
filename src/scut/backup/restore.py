"""Restoring a backup into an empty database and an empty data directory.

Every file of the backup is first copied into a staging folder inside the
target's data directory and hashed on the way. The SHA-256 of SHA256SUMS
must equal the manifest's, and each file's the one SHA256SUMS lists;
otherwise the staging folder is removed and nothing is restored. Only then
is the database loaded from the staged copy and the staged blobs renamed
into place, so the restore uses exactly the bytes that were checked.

The staged database copy is still sealed. A SQLite copy is unsealed into
the staging folder, which is in the target's data directory, and moved
into place. A PostgreSQL dump is read to its end once, so that every
segment's tag is checked before pg_restore starts, and then unsealed again
straight into pg_restore's standard input.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from scut.backup.databases import (
    database_contents,
    restore_postgres,
    restore_sqlite,
)
from scut.backup.manifest import (
    ANCHORS_NAME,
    BLOBS_FOLDER,
    CHECKSUMS_NAME,
    DAMAGED_KEY_FILE,
    SQLITE_NAME,
    BackupError,
    Manifest,
    backup_files,
    copy_hashed,
    hash_file,
    read_checksums,
)
from scut.backup.sealing import authenticate_copy, open_database_copy, unseal_copy
from scut.db.session import Database, alembic_config
from scut.security.audit import anchor_file
from scut.settings import Settings
from scut.storage.keys import Keyring, load_keyring

log = logging.getLogger(__name__)

# Called with (files done, files in all).
Progress = Callable[[int, int], None]
# Files named in a message about a changed backup; the rest are counted.
MAX_LISTED = 10
# The unsealed SQLite copy in the staging folder.
PLAIN_SQLITE_NAME = SQLITE_NAME.removesuffix(".sealed")


@dataclass(frozen=True, slots=True)
class RestoredFiles:
    """Counts of the files a restore copied from the backup into the target."""

    files: int
    size: int


def read_verified_manifest(source: Path) -> Manifest:
    """Read a backup's manifest and check the SHA-256 of its SHA256SUMS."""
    manifest = Manifest.read(source)
    checksums = source / CHECKSUMS_NAME
    try:
        actual = hash_file(checksums)
    except FileNotFoundError as error:
        raise BackupError(
            f"{checksums} is missing, so the backup cannot be checked"
        ) from error
    if actual != manifest.checksums_sha256:
        raise BackupError(
            f"{checksums} has SHA-256 {actual}, not the {manifest.checksums_sha256} "
            "its manifest records: the list of files was changed"
        )
    return manifest


def restore_into(
    database: Database,
    settings: Settings,
    source: Path,
    manifest: Manifest,
    progress: Progress | None = None,
) -> RestoredFiles:
    """Verify and restore the backup at ``source`` into an empty target.

    Raises BackupError, restoring nothing, when the target is not empty, the
    backup is of another database kind or of an unknown schema, or its
    master keys are not configured. It raises BackupError too when a file
    of the backup was changed or the database copy fails authentication.
    """
    _check_compatible(database, manifest)
    keyring = _check_master_keys(settings, manifest)
    _check_empty(database, settings)
    data_dir = settings.data_dir
    created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / f".restore-{os.getpid()}"
    staging.mkdir()
    try:
        restored = _stage(source, staging, manifest, progress)
        _restore_database(database, keyring, staging, manifest)
        if (staging / BLOBS_FOLDER).is_dir():
            os.rename(staging / BLOBS_FOLDER, data_dir / "blobs")
        if manifest.anchors_file is not None:
            target = anchor_file(settings)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.move(staging / ANCHORS_NAME, target)
            target.chmod(0o600)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(data_dir.iterdir()):
            data_dir.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
    log.info("Restored %d files from %s", restored.files, source)
    return restored


def _check_compatible(database: Database, manifest: Manifest) -> None:
    dialect = database.engine.dialect.name
    if dialect != manifest.dialect:
        raise BackupError(
            f"the backup contains a {manifest.dialect} database, but SCUT_DATABASE_URL "
            f"names a {dialect} one; restore into a {manifest.dialect} database"
        )
    if manifest.schema_revision is None:
        return
    script = ScriptDirectory.from_config(
        alembic_config(database.engine.url.render_as_string(hide_password=False))
    )
    known = {revision.revision for revision in script.walk_revisions()}
    if manifest.schema_revision not in known:
        raise BackupError(
            f"the backup's schema revision {manifest.schema_revision!r} is unknown "
            f"to this Scut; Scut {manifest.scut_version} made the backup, so "
            "restore it with that version or a newer one"
        )


def _restore_database(
    database: Database, keyring: Keyring, staging: Path, manifest: Manifest
) -> None:
    sealed = staging / manifest.database_file
    key_id = manifest.database_master_key
    if manifest.dialect == "sqlite":
        plain = staging / PLAIN_SQLITE_NAME
        unseal_copy(sealed, keyring, key_id, plain)
        restore_sqlite(plain, database)
        return
    authenticate_copy(sealed, keyring, key_id)
    with open_database_copy(sealed, keyring, key_id) as archive:
        restore_postgres(archive, database, manifest.pg_dump_major)


def _check_master_keys(settings: Settings, manifest: Manifest) -> Keyring:
    """Return the configured keyring; raise BackupError if it lacks a needed key."""
    sealed: dict[str, list[str]] = {manifest.database_master_key: ["database copy"]}
    for key in manifest.data_keys_by_master_key:
        if key != DAMAGED_KEY_FILE:
            sealed.setdefault(key, []).append("blobs")
    keyring = load_keyring(settings)
    available = set(keyring.keys) if keyring is not None else set()
    missing = sorted(key for key in sealed if key not in available)
    if keyring is None or missing:
        where = keyring.source if keyring is not None else "no configured key"
        sealed_parts = " and ".join(
            dict.fromkeys(part for key in missing for part in sealed[key])
        )
        verb = "is" if sealed_parts == "database copy" else "are"
        raise BackupError(
            f"the backup's {sealed_parts} {verb} sealed under master key "
            f"{', '.join(missing)}, "
            f"which is not in {where}; set SCUT_MASTER_KEY_FILE (or "
            "SCUT_MASTER_KEY) to the master key kept apart from the backup"
        )
    return keyring


def _check_empty(database: Database, settings: Settings) -> None:
    found: list[str] = []
    data_dir = settings.data_dir
    if data_dir.exists() and not data_dir.is_dir():
        found.append(f"{data_dir} (a file, not a folder)")
    elif data_dir.is_dir():
        entries = sorted(entry.name for entry in data_dir.iterdir())
        if entries:
            listed = ", ".join(entries[:MAX_LISTED])
            found.append(f"the data directory {data_dir} (it contains {listed})")
    anchors = anchor_file(settings)
    if anchors.exists() and not anchors.is_relative_to(data_dir):
        found.append(f"the anchors file {anchors}")
    found.extend(database_contents(database))
    if found:
        raise BackupError(
            "a backup is restored only into an empty target, and these are not "
            f"empty: {'; '.join(found)}. Point SCUT_DATA_DIR and SCUT_DATABASE_URL "
            "at a new folder and a new database"
        )


def _stage(
    source: Path, staging: Path, manifest: Manifest, progress: Progress | None
) -> RestoredFiles:
    """Copy every listed file into ``staging``, checking each one's SHA-256."""
    changed: list[str] = []
    count = size = 0
    for (expected, relative), present in _paired(source, manifest):
        if relative != present:
            raise _mismatch_error(source)
        path = source / relative
        if path.is_symlink() or not path.is_file():
            raise BackupError(f"{path} in the backup is not a regular file")
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as handle, target.open("wb") as copy:
            actual, copied = copy_hashed(handle, copy)
        if actual != expected:
            changed.append(relative)
        count += 1
        size += copied
        if progress is not None:
            progress(count, manifest.file_count)
    if changed:
        listed = ", ".join(changed[:MAX_LISTED])
        more = (
            f" and {len(changed) - MAX_LISTED} more"
            if len(changed) > MAX_LISTED
            else ""
        )
        raise BackupError(
            f"{len(changed)} files of the backup {source} no longer have the "
            f"SHA-256 that {CHECKSUMS_NAME} lists, so nothing was restored: "
            f"{listed}{more}"
        )
    return RestoredFiles(count, size)


def _paired(source: Path, manifest: Manifest) -> Iterator[tuple[tuple[str, str], str]]:
    """Yield each SHA256SUMS entry with the file the folder walk finds in its place."""
    listed = read_checksums(source)
    present = backup_files(source)
    while True:
        entry = next(listed, None)
        found = next(present, None)
        if entry is None and found is None:
            return
        if entry is None or found is None:
            raise _mismatch_error(source)
        yield entry, found


def _mismatch_error(source: Path) -> BackupError:
    listed = {relative for _sha256, relative in read_checksums(source)}
    present = set(backup_files(source))
    added = sorted(present - listed)[:MAX_LISTED]
    removed = sorted(listed - present)[:MAX_LISTED]
    details = []
    if added:
        details.append(f"not listed in {CHECKSUMS_NAME}: {', '.join(added)}")
    if removed:
        details.append(f"listed but missing: {', '.join(removed)}")
    if not details:
        details.append(f"{CHECKSUMS_NAME} is not in the order Scut writes")
    return BackupError(
        f"the files of the backup {source} do not match its {CHECKSUMS_NAME}, so "
        f"nothing was restored; {'; '.join(details)}"
    )
