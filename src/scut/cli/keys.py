"""``scut keys``: the master keys, their rotation, and sealing of plaintext blobs."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from scut.cli.common import fail, open_database, settings, stderr, stdout
from scut.cli.progress import CountProgress
from scut.db.models import User
from scut.db.session import Database
from scut.errors import ScutError
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.encrypted import MaintenanceReport, StoreCensus, census
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

keys_app = typer.Typer(
    help="Master keys of the blob store: status, rotation, sealing of old blobs.",
    no_args_is_help=True,
)

# Failures listed after a pass; the rest are counted.
MAX_LISTED_FAILURES = 20
DAMAGED = "(damaged)"


@keys_app.command("status")
def status() -> None:
    """Print the master keys, the blobs sealed under each, and plaintext blobs."""
    loaded = settings()
    try:
        keyring = load_keyring(loaded)
        with CountProgress(stderr, "Reading key files") as progress:
            found = census(loaded.data_dir / "blobs", progress.update)
        secrets = _secrets_by_key(open_database(loaded))
    except ScutError as error:
        raise fail(error) from error
    if keyring is None:
        stdout.print(
            "No master key yet: none is configured and there is no key file at "
            f"{escape(str(default_key_file()))}; the first ingest creates one.",
            soft_wrap=True,
        )
    else:
        stdout.print(f"Master keys from {escape(keyring.source)}:", soft_wrap=True)
    stdout.print(_key_table(keyring, found, secrets))
    _print_store_state(keyring, found)


@keys_app.command("rotate")
def rotate(
    retire: Annotated[
        str | None,
        typer.Option(
            "--retire",
            metavar="OLD_ID",
            help="Instead of adding a key, remove this old master key from the "
            "key file once no blob and no user secret needs it.",
        ),
    ] = None,
) -> None:
    """Add a new current master key and re-wrap every data key under it.

    An interrupted rotation is resumed by running the command again: data
    keys already under the new key are skipped and no further key is added.
    """
    loaded = settings()
    try:
        # The key file is read under the lock, so it is the one the last
        # rotation wrote.
        with maintenance_lock(loaded):
            keyring = _required_keyring(loaded)
            database = open_database(loaded)
            if retire is None and not keyring.rotating:
                keyring = add_master_key(keyring)
                stderr.print(
                    f"Added master key {keyring.current_id} as current. Back up "
                    f"{escape(str(keyring.path))} now: blobs sealed from now on "
                    "need it.",
                    soft_wrap=True,
                )
            if keyring.rotating:
                keyring = _rewrap(loaded, keyring, database)
            if retire is not None:
                _retire(loaded, keyring, database, retire)
    except ScutError as error:
        raise fail(error) from error


@keys_app.command("seal-existing")
def seal_existing() -> None:
    """Seal every plaintext blob of a store written before encryption, in place."""
    loaded = settings()
    try:
        with maintenance_lock(loaded):
            store = open_blob_store(loaded, fsync=True)
            with CountProgress(stderr, "Sealing plaintext blobs") as progress:
                report = store.seal_existing(progress.update)
    except ScutError as error:
        raise fail(error) from error
    stdout.print(
        f"Sealed {report.done} plaintext blobs; {report.skipped} were sealed already."
    )
    if report.failures:
        _print_failures(report)
        raise typer.Exit(code=1)


def _required_keyring(loaded: Settings) -> Keyring:
    keyring = load_keyring(loaded)
    if keyring is None:
        raise KeyringError(
            f"no master key is configured and there is no key file at "
            f"{default_key_file()}; run scut ingest or scut keys seal-existing "
            "once to create one"
        )
    return keyring


def _rewrap(loaded: Settings, keyring: Keyring, database: Database) -> Keyring:
    store = open_blob_store(loaded, fsync=True)
    with CountProgress(stderr, "Re-wrapping data keys") as progress:
        report = store.rewrap_keys(progress.update)
    resealed = _reseal_secrets(database, keyring)
    stdout.print(
        f"Re-wrapped {report.done} data keys under {keyring.current_id}; "
        f"{report.skipped} were under it already; removed {report.removed} key "
        f"files without a blob; re-sealed {resealed} user secrets."
    )
    if report.failures:
        _print_failures(report)
        raise KeyringError(
            f"{len(report.failures)} data keys could not be re-wrapped, so the "
            "rotation is not finished; restore those key files and run "
            "scut keys rotate again"
        )
    return finish_rotation(keyring)


def _retire(
    loaded: Settings, keyring: Keyring, database: Database, key_id: str
) -> Keyring:
    check_retirable(keyring, key_id)
    if keyring.rotating:
        raise KeyringError(
            "a rotation is not finished; run scut keys rotate before retiring a key"
        )
    with CountProgress(stderr, "Checking key files") as progress:
        found = census(loaded.data_dir / "blobs", progress.update)
    key_files = found.key_files_by_key.get(key_id, 0)
    secrets = _secrets_by_key(database).get(key_id, 0)
    if key_files or secrets:
        raise KeyringError(
            f"master key {key_id!r} still wraps {key_files} data keys and seals "
            f"{secrets} user secrets; run scut keys rotate first, with no ingest "
            "running"
        )
    retired = retire_master_key(keyring, key_id)
    stdout.print(
        f"Retired master key {key_id}; {escape(str(retired.path))} keeps "
        f"{', '.join(sorted(retired.keys))}.",
        soft_wrap=True,
    )
    return retired


def _secrets_by_key(database: Database) -> dict[str, int]:
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


def _reseal_secrets(database: Database, keyring: Keyring) -> int:
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


def _key_table(
    keyring: Keyring | None, found: StoreCensus, secrets: dict[str, int]
) -> Table:
    table = Table("key id", "state", "sealed blobs", "key files", "user secrets")
    known = dict(keyring.keys) if keyring is not None else {}
    key_ids = sorted(
        set(known) | set(found.key_files_by_key) | set(found.sealed_by_key)
    )
    for key_id in key_ids:
        if keyring is not None and key_id == keyring.current_id:
            state = "current"
        elif key_id in known:
            state = "old"
        elif key_id == DAMAGED:
            state = "damaged key files"
        else:
            state = "MISSING from the keyring"
        table.add_row(
            key_id,
            state,
            str(found.sealed_by_key.get(key_id, 0)),
            str(found.key_files_by_key.get(key_id, 0)),
            str(secrets.get(key_id, 0)),
        )
    return table


def _print_store_state(keyring: Keyring | None, found: StoreCensus) -> None:
    stdout.print(f"Blob files: {found.files}; plaintext: {found.plaintext}.")
    if found.plaintext:
        stdout.print("Run scut keys seal-existing to seal the plaintext blobs.")
    if found.unpaired:
        listed = ", ".join(found.unpaired[:MAX_LISTED_FAILURES])
        stdout.print(
            f"{len(found.unpaired)} sealed blobs have no key file of their own and "
            f"cannot be read: {listed}",
            soft_wrap=True,
        )
    if found.orphan_key_files:
        stdout.print(
            f"{found.orphan_key_files} key files have no blob; scut keys rotate "
            "removes them."
        )
    if keyring is not None and keyring.rotating:
        stdout.print(
            f"A rotation to {keyring.current_id} is not finished; run scut keys "
            "rotate to finish it."
        )


def _print_failures(report: MaintenanceReport) -> None:
    for failure in report.failures[:MAX_LISTED_FAILURES]:
        stderr.print(f"  {escape(failure)}", soft_wrap=True)
    more = len(report.failures) - MAX_LISTED_FAILURES
    if more > 0:
        stderr.print(f"  and {more} more")
