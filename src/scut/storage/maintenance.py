"""Key maintenance as declared operations: status, rotation, retiring, sealing.

The command line (``scut keys``) calls these. Each is the operation
``keys.manage`` of the access matrix, so only an administrator (or the
local operator) runs them. Each leaves an audit event with what it
changed. Rotation, retiring and sealing take the maintenance lock of the
data directory, so two of them never run at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from scut.db.models import User
from scut.db.session import Database
from scut.security.access import Target, operation
from scut.security.caller import Caller
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.encrypted import MaintenanceReport, Progress, StoreCensus, census
from scut.storage.keys import (
    Keyring,
    KeyringError,
    SealedTextError,
    add_master_key,
    check_retirable,
    default_key_file,
    finish_rotation,
    load_keyring,
    maintenance_lock,
    open_text,
    retire_master_key,
    seal_text,
    sealed_text_key_id,
)

log = logging.getLogger(__name__)

# The key id under which user secrets that cannot be read are counted.
DAMAGED = "(damaged)"


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """The keyring, the store's blobs by key, and user secrets by key."""

    keyring: Keyring | None
    census: StoreCensus
    secrets_by_key: dict[str, int]


@dataclass(slots=True)
class RotationResult:
    """The outcome of one rotation run: the key, its file and the counts."""

    key_id: str
    key_file: Path | None
    # The key was added by this run (False: an unfinished rotation resumed).
    added: bool
    rewrapped: MaintenanceReport = field(default_factory=MaintenanceReport)
    resealed_secrets: int = 0

    @property
    def finished(self) -> bool:
        """Whether every data key was re-wrapped and the rotation closed."""
        return not self.rewrapped.failures


@dataclass(frozen=True, slots=True)
class RetireResult:
    """The key retired and the keys left in the key file."""

    key_id: str
    key_file: Path | None
    remaining: tuple[str, ...]


def _detail(**values: Any) -> Target:
    return Target("master_key", detail=values)


def _status_target(result: KeyStatus, *_: object, **__: object) -> Target:
    current = result.keyring.current_id if result.keyring else None
    return _detail(current=current, blob_files=result.census.files)


@operation("keys.manage", after=_status_target)
def key_status(
    database: Database,
    settings: Settings,
    *,
    caller: Caller,
    progress: Progress | None = None,
) -> KeyStatus:
    """Return the keyring, the store's census and the user secrets by key."""
    keyring = load_keyring(settings)
    found = census(settings.data_dir / "blobs", progress)
    return KeyStatus(keyring, found, secrets_by_key(database))


def _rotation_target(result: RotationResult, *_: object, **__: object) -> Target:
    return Target(
        "master_key",
        [result.key_id],
        detail={
            "action": "rotate",
            "added": result.added,
            "rewrapped": result.rewrapped.done,
            "skipped": result.rewrapped.skipped,
            "failures": len(result.rewrapped.failures),
            "resealed_secrets": result.resealed_secrets,
        },
    )


@operation("keys.manage", after=_rotation_target)
def rotate_keys(
    database: Database,
    settings: Settings,
    *,
    caller: Caller,
    progress: Progress | None = None,
) -> RotationResult:
    """Add a current master key, unless a rotation is unfinished, and re-wrap.

    Every data key and user secret is wrapped again under the current key.
    A run that could not re-wrap every data key leaves the rotation open
    (``finished`` is False), so the next run resumes it without adding
    another key. Raises KeyringError when no key file is configured or
    another key command holds the lock.
    """
    with maintenance_lock(settings):
        # Read under the lock, so it is the key file the last run wrote.
        keyring = required_keyring(settings)
        added = not keyring.rotating
        if added:
            keyring = add_master_key(keyring)
            log.info("Added master key %s to %s", keyring.current_id, keyring.path)
        store = open_blob_store(settings, fsync=True)
        report = store.rewrap_keys(progress)
        result = RotationResult(keyring.current_id, keyring.path, added, report)
        result.resealed_secrets = reseal_secrets(database, keyring)
        if result.finished:
            finish_rotation(keyring)
        return result


def _retire_target(result: RetireResult, *_: object, **__: object) -> Target:
    return Target(
        "master_key",
        [result.key_id],
        detail={"action": "retire", "remaining": list(result.remaining)},
    )


@operation("keys.manage", after=_retire_target)
def retire_key(
    database: Database,
    settings: Settings,
    key_id: str,
    *,
    caller: Caller,
    progress: Progress | None = None,
) -> RetireResult:
    """Remove an old master key from the key file once nothing needs it.

    Raises KeyringError for the current key, an unknown one, a rotation
    that is not finished, or a key that still wraps data keys or seals
    user secrets.
    """
    with maintenance_lock(settings):
        keyring = required_keyring(settings)
        check_retirable(keyring, key_id)
        if keyring.rotating:
            raise KeyringError(
                "a rotation is not finished; run scut keys rotate before retiring a key"
            )
        found = census(settings.data_dir / "blobs", progress)
        key_files = found.key_files_by_key.get(key_id, 0)
        secrets = secrets_by_key(database).get(key_id, 0)
        if key_files or secrets:
            raise KeyringError(
                f"master key {key_id!r} still wraps {key_files} data keys and "
                f"seals {secrets} user secrets; run scut keys rotate first, with "
                "no ingest running"
            )
        retired = retire_master_key(keyring, key_id)
        return RetireResult(key_id, retired.path, tuple(sorted(retired.keys)))


def _sealing_target(result: MaintenanceReport, *_: object, **__: object) -> Target:
    return _detail(
        action="seal-existing",
        sealed=result.done,
        skipped=result.skipped,
        failures=len(result.failures),
    )


@operation("keys.manage", after=_sealing_target)
def seal_existing_blobs(
    database: Database,
    settings: Settings,
    *,
    caller: Caller,
    progress: Progress | None = None,
) -> MaintenanceReport:
    """Seal every plaintext blob of a store written before encryption, in place."""
    with maintenance_lock(settings):
        store = open_blob_store(settings, fsync=True)
        return store.seal_existing(progress)


def required_keyring(settings: Settings) -> Keyring:
    """Return the configured keyring, or raise KeyringError saying how to make one."""
    keyring = load_keyring(settings)
    if keyring is None:
        raise KeyringError(
            f"no master key is configured and there is no key file at "
            f"{default_key_file()}; run scut ingest or scut keys seal-existing "
            "once to create one"
        )
    return keyring


def secrets_by_key(database: Database) -> dict[str, int]:
    """Count the users' sealed TOTP secrets by the master key that seals them."""
    counts: dict[str, int] = {}
    with database.session() as session:
        for sealed in session.scalars(
            select(User.totp_secret_sealed).where(User.totp_secret_sealed.is_not(None))
        ):
            try:
                key_id = sealed_text_key_id(sealed or "")
            except SealedTextError:
                key_id = DAMAGED
            counts[key_id] = counts.get(key_id, 0) + 1
    return counts


def reseal_secrets(database: Database, keyring: Keyring) -> int:
    """Seal every user's TOTP secret under the current key; return how many changed."""
    changed = 0
    with database.session() as session, session.begin():
        users = session.scalars(
            select(User).where(User.totp_secret_sealed.is_not(None))
        ).all()
        for user in users:
            sealed = user.totp_secret_sealed or ""
            try:
                if sealed_text_key_id(sealed) == keyring.current_id:
                    continue
                user.totp_secret_sealed = seal_text(keyring, open_text(keyring, sealed))
            except (SealedTextError, KeyringError) as error:
                # The secret stays as it is, so retiring its key is rejected.
                log.warning("TOTP secret of user %d not re-sealed: %s", user.id, error)
                continue
            changed += 1
    return changed
