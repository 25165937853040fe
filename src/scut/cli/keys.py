"""``scut keys``: the master keys, their rotation, and sealing of plaintext blobs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from scut.cli.common import caller, fail, open_database, settings, stderr, stdout
from scut.cli.progress import CountProgress
from scut.db.session import Database
from scut.errors import ScutError
from scut.security.access import AccessDenied, record_denial
from scut.settings import Settings
from scut.storage.encrypted import MaintenanceReport, StoreCensus
from scut.storage.keys import Keyring, KeyringError, default_key_file, load_keyring
from scut.storage.maintenance import (
    DAMAGED,
    KeyStatus,
    RetireResult,
    RotationResult,
    key_status,
    retire_key,
    rotate_keys,
    seal_existing_blobs,
)

log = logging.getLogger(__name__)

keys_app = typer.Typer(
    help="Master keys of the blob store: status, rotation, sealing of old blobs.",
    no_args_is_help=True,
)

# Failures listed after a pass; the rest are counted.
MAX_LISTED_FAILURES = 20

T = TypeVar("T")


def _run(work: Callable[[Database, Settings], T]) -> T:
    """Run a key operation, recording a denial and turning errors into messages."""
    loaded = settings()
    database = open_database(loaded)
    try:
        return work(database, loaded)
    except AccessDenied as denied:
        record_denial(database, caller(loaded), denied)
        raise fail(denied) from denied
    except ScutError as error:
        raise fail(error) from error


@keys_app.command("status")
def status() -> None:
    """Print the master keys, the blobs sealed under each, and plaintext blobs."""

    def work(database: Database, loaded: Settings) -> KeyStatus:
        with CountProgress(stderr, "Reading key files") as progress:
            return key_status(
                database, loaded, caller=caller(loaded), progress=progress.update
            )

    found = _run(work)
    keyring = found.keyring
    if keyring is None:
        stdout.print(
            "No master key yet: none is configured and there is no key file at "
            f"{escape(str(default_key_file()))}; the first ingest creates one.",
            soft_wrap=True,
        )
    else:
        stdout.print(f"Master keys from {escape(keyring.source)}:", soft_wrap=True)
    stdout.print(_key_table(keyring, found.census, found.secrets_by_key))
    _print_store_state(keyring, found.census)


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
    keyring = load_keyring(loaded) if retire is not None else None
    # Retiring finishes an open rotation first, and adds no key.
    if retire is None or (keyring is not None and keyring.rotating):
        _rotate()
    if retire is not None:
        _retire(retire)


def _rotate() -> None:
    def work(database: Database, loaded: Settings) -> RotationResult:
        with CountProgress(stderr, "Re-wrapping data keys") as progress:
            return rotate_keys(
                database, loaded, caller=caller(loaded), progress=progress.update
            )

    result = _run(work)
    if result.added:
        stderr.print(
            f"Added master key {result.key_id} as current. Back up "
            f"{escape(str(result.key_file))} now: blobs sealed from now on need it.",
            soft_wrap=True,
        )
    report = result.rewrapped
    stdout.print(
        f"Re-wrapped {report.done} data keys under {result.key_id}; "
        f"{report.skipped} were under it already; removed {report.removed} key "
        f"files without a blob; re-sealed {result.resealed_secrets} user secrets."
    )
    if not result.finished:
        _print_failures(report)
        raise fail(
            KeyringError(
                f"{len(report.failures)} data keys could not be re-wrapped, so the "
                "rotation is not finished; restore those key files and run "
                "scut keys rotate again"
            )
        )


def _retire(key_id: str) -> None:
    def work(database: Database, loaded: Settings) -> RetireResult:
        with CountProgress(stderr, "Checking key files") as progress:
            return retire_key(
                database,
                loaded,
                key_id,
                caller=caller(loaded),
                progress=progress.update,
            )

    retired = _run(work)
    stdout.print(
        f"Retired master key {key_id}; {escape(str(retired.key_file))} keeps "
        f"{', '.join(retired.remaining)}.",
        soft_wrap=True,
    )


@keys_app.command("seal-existing")
def seal_existing() -> None:
    """Seal every plaintext blob of a store written before encryption, in place."""

    def work(database: Database, loaded: Settings) -> MaintenanceReport:
        with CountProgress(stderr, "Sealing plaintext blobs") as progress:
            return seal_existing_blobs(
                database, loaded, caller=caller(loaded), progress=progress.update
            )

    report = _run(work)
    stdout.print(
        f"Sealed {report.done} plaintext blobs; {report.skipped} were sealed already."
    )
    if report.failures:
        _print_failures(report)
        raise typer.Exit(code=1)


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
