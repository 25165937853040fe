"""``scut backup``, ``scut restore`` and the blob check of ``scut verify --blobs``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from scut.backup.checks import DEFAULT_SAMPLE
from scut.cli.common import (
    call_service,
    caller,
    fail,
    print_json,
    settings,
    stderr,
    stdout,
    text,
)
from scut.cli.progress import CountProgress
from scut.db.session import Database
from scut.errors import ScutError
from scut.security.caller import Caller
from scut.settings import Settings

if TYPE_CHECKING:
    from scut.backup.create import BackupReport
    from scut.backup.service import RestoreReport
    from scut.integrity import BlobCheckReport

log = logging.getLogger(__name__)

# Added to scut's own commands without a group name: scut backup, scut restore.
backup_app = typer.Typer()

# Findings printed on the terminal; --json lists up to integrity.MAX_LISTED.
MAX_PRINTED = 20


@backup_app.command("backup")
def backup(
    destination: Annotated[
        Path,
        typer.Argument(
            help="New or empty folder for the backup, outside the data directory."
        ),
    ],
) -> None:
    """Back up the database, the sealed blob store and the audit anchors.

    The master key and the audit signing key are not copied; keep them
    apart from the backup, because a restore needs both.
    """
    from scut.backup.service import create_backup

    loaded = settings()
    with CountProgress(stderr, "Copying blobs") as progress:
        report = call_service(
            loaded,
            lambda database, who: create_backup(
                database, loaded, destination, caller=who, progress=progress.update
            ),
        )
    _print_backup(report)


@backup_app.command("restore")
def restore(
    source: Annotated[Path, typer.Argument(help="Folder written by scut backup.")],
    check_only: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only run the restore check on a target restored earlier from SOURCE.",
        ),
    ] = False,
    sample: Annotated[
        int,
        typer.Option(
            min=1,
            help="Originals chosen at random to decrypt and re-hash in the check.",
        ),
    ] = DEFAULT_SAMPLE,
) -> None:
    """Restore a backup into an empty database and data directory, then check it.

    The target is SCUT_DATABASE_URL and SCUT_DATA_DIR; a PostgreSQL database
    must exist and be empty. The master key and the audit signing key of the
    backed-up installation must be configured. Exits with status 1 when a
    check fails.
    """
    from scut.backup.service import RestoreCheckFailed, check_restore, restore_backup

    loaded = settings()
    # Not open_database: the schema must stay at the backup's revision until
    # the check has compared it.
    database = Database(loaded)
    try:
        who = caller(loaded)
        if check_only:
            report = check_restore(database, loaded, source, caller=who, sample=sample)
        else:
            with CountProgress(stderr, "Checking and copying files") as progress:
                report = restore_backup(
                    database,
                    loaded,
                    source,
                    caller=who,
                    sample=sample,
                    progress=progress.update,
                )
    except RestoreCheckFailed as failed:
        _print_checks(failed.report)
        stdout.print("[bold red]Restore check FAILED.[/]")
        database.dispose()
        raise typer.Exit(code=1) from failed
    except ScutError as error:
        database.dispose()
        raise fail(error) from error
    _print_checks(report)
    _anchor(database, loaded)
    database.dispose()
    stdout.print(
        f"Restore check passed: {escape(str(source))} "
        + ("matches the target." if check_only else "is restored."),
        soft_wrap=True,
    )
    if not check_only and report.manifest.dialect == "postgresql":
        stdout.print(
            "Table ownership and grants were not restored; if the application "
            "connects as a role of its own, run scut db grants again.",
            soft_wrap=True,
        )


def check_blob_store(
    submission: int | None,
    sample: int | None,
    as_json: bool,
    report_files: list[Path | None],
) -> None:
    """Run ``scut verify --blobs``: re-hash the blob store and list its problems.

    Exits with status 1 when a blob is missing, altered, undecryptable, in
    plaintext or an orphan.
    """
    from scut.integrity import BlobCheckFailed, verify_blobs
    from scut.storage import open_blob_store

    if submission is not None:
        raise typer.BadParameter("give a SUBMISSION number or --blobs, not both")
    if any(path is not None for path in report_files):
        raise typer.BadParameter("--html and --pdf apply to a submission's result only")
    loaded = settings()

    def work(database: Database, who: Caller) -> BlobCheckReport:
        store = open_blob_store(loaded)
        with CountProgress(stderr, "Re-hashing blobs") as progress:
            try:
                return verify_blobs(
                    database, store, caller=who, sample=sample, progress=progress.update
                )
            except BlobCheckFailed as failed:
                return failed.report

    report = call_service(loaded, work)
    if as_json:
        findings = [
            {"kind": item.kind, "name": item.name, "reason": item.reason}
            for item in report.findings
        ]
        print_json({"summary": report.summary(), "findings": findings})
    else:
        _print_blob_report(report)
    if not report.intact:
        raise typer.Exit(code=1)


def _print_backup(report: BackupReport) -> None:
    manifest = report.manifest
    rows = sum(manifest.row_counts.values())
    last_event = manifest.last_event_id or "none"
    stdout.print(
        text(
            f"Backup written to {report.destination}: {len(manifest.row_counts)} "
            f"tables with {rows} rows, {manifest.blob_files} blob files "
            f"({report.bytes_copied} bytes), audit log up to event {last_event}."
        ),
        soft_wrap=True,
    )
    key_ids = set(manifest.data_keys_by_master_key)
    if manifest.database_master_key:
        key_ids.add(manifest.database_master_key)
    listed = ", ".join(sorted(key_ids)) or manifest.current_master_key or "none"
    source = report.master_key_source or "the master key"
    stdout.print(
        text(
            f"The master key ({listed}) is NOT in the backup. Keep {source} apart "
            "from the backup, on other media: a restore needs it through "
            "SCUT_MASTER_KEY_FILE or SCUT_MASTER_KEY, and without it neither the "
            "database nor any original or thumbnail can be read."
        ),
        soft_wrap=True,
    )
    if report.signing_key is not None:
        stdout.print(
            text(
                f"The audit signing key {report.signing_key} is not in the backup "
                "either, only its public key; keep it apart too, because the "
                "restored anchors can only be checked with it."
            ),
            soft_wrap=True,
        )
    if report.damaged_key_files:
        stderr.print(
            text(
                f"{len(report.damaged_key_files)} key files are damaged, so their "
                f"blobs cannot be read: {', '.join(report.damaged_key_files[:10])}"
            ),
            soft_wrap=True,
        )


def _print_checks(report: RestoreReport) -> None:
    table = Table(title="Restore check")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        result = "[green]passed[/]" if check.passed else "[bold red]FAILED[/]"
        table.add_row(check.name, result, text(check.message))
    stdout.print(table)


def _print_blob_report(report: BlobCheckReport) -> None:
    summary = report.summary()
    checked = "every" if report.sample is None else f"a sample of {report.sample}"
    stdout.print(
        f"Blob store: {report.media} media; re-hashed {checked} "
        f"({summary['originals_checked']} originals, {summary['derived_checked']} "
        "thumbnails and strips)."
    )
    table = Table("problem", "count")
    for kind, count in report.counts.items():
        table.add_row(kind, str(count))
    stdout.print(table)
    for finding in report.findings[:MAX_PRINTED]:
        stdout.print(text(f"  {finding.kind}: {finding}"), soft_wrap=True)
    more = report.problems - min(len(report.findings), MAX_PRINTED)
    if more > 0:
        stdout.print(f"  and {more} more (--json lists up to 1000)")
    if report.lone_key_files:
        stdout.print(
            f"{report.lone_key_files} key files have no blob, left by interrupted "
            "writes; scut keys rotate removes them."
        )
    if report.intact:
        stdout.print("[green]Every blob checked is intact.[/]")


def _anchor(database: Database, loaded: Settings) -> None:
    """Sign the restored log's head, now that the restore's event is in it."""
    from scut.security.audit import anchor_if_due

    try:
        with database.session() as session:
            anchor_if_due(session, loaded)
    except (OSError, SQLAlchemyError, ScutError) as error:
        log.error("Could not anchor the restored audit log: %s", error)
