"""The declared operations ``backup.run`` and ``restore.run``.

A backup's audit event goes into the database backed up, after the copy,
so the backup itself does not contain it. A restore's event goes into the
restored database after the restore check, and so does the event of a
check run on its own. A failed check is recorded as failed, then raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scut.backup.checks import (
    DEFAULT_SAMPLE,
    CheckResult,
    check_sample_size,
    run_checks,
)
from scut.backup.create import BackupReport, Progress, write_backup
from scut.backup.manifest import Manifest
from scut.backup.restore import RestoredFiles, read_verified_manifest, restore_into
from scut.db.session import Database
from scut.errors import ScutError
from scut.security.access import Target, operation
from scut.security.audit import FAILED, record_separately
from scut.security.caller import Caller
from scut.settings import Settings

log = logging.getLogger(__name__)

BACKUP_RUN = "backup.run"
RESTORE_RUN = "restore.run"


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """A restore, or a check of one: the backup's manifest and each check's result."""

    source: Path
    manifest: Manifest
    checks: list[CheckResult]
    # None for a check run on a target restored earlier.
    restored: RestoredFiles | None = None

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(check.passed for check in self.checks)

    def summary(self) -> dict[str, Any]:
        """Return the outcome of each check, for the audit event."""
        return {
            "source": str(self.source),
            "last_event_id": self.manifest.last_event_id,
            "files": self.restored.files if self.restored is not None else None,
            "failed_checks": [check.name for check in self.checks if not check.passed],
        }


class RestoreCheckFailed(ScutError):
    """Raised when a restored target fails a check; ``report`` has every result."""

    def __init__(self, report: RestoreReport) -> None:
        failed = [check for check in report.checks if not check.passed]
        listed = "; ".join(f"{check.name}: {check.message}" for check in failed)
        super().__init__(f"the restore check failed {len(failed)} checks: {listed}")
        self.report = report


def _backup_target(report: BackupReport, *_: object, **__: object) -> Target:
    manifest = report.manifest
    return Target(
        "backup",
        [str(report.destination)],
        detail={
            "files": manifest.file_count,
            "blob_files": manifest.blob_files,
            "bytes": report.bytes_copied,
            "last_event_id": manifest.last_event_id,
        },
    )


def _restore_target(report: RestoreReport, *_: object, **__: object) -> Target:
    return Target("backup", [str(report.source)], detail=report.summary())


@operation(BACKUP_RUN, after=_backup_target)
def create_backup(
    database: Database,
    settings: Settings,
    destination: Path,
    *,
    caller: Caller,
    progress: Progress | None = None,
) -> BackupReport:
    """Write a backup of the database, blob store and audit anchors to a new folder."""
    report = write_backup(database, settings, destination, progress)
    log.info("%s backed up Scut to %s", caller.name, report.destination)
    return report


@operation(RESTORE_RUN, after=_restore_target)
def restore_backup(
    database: Database,
    settings: Settings,
    source: Path,
    *,
    caller: Caller,
    sample: int = DEFAULT_SAMPLE,
    progress: Progress | None = None,
) -> RestoreReport:
    """Restore a backup into the empty target of ``settings``, then check it.

    Raises BackupError, restoring nothing, when the backup was changed or
    the target is not empty, and RestoreCheckFailed when the restored
    target fails a check.
    """
    check_sample_size(sample)
    manifest = read_verified_manifest(source)
    restored = restore_into(database, settings, source, manifest, progress)
    checks = run_checks(database, settings, source, manifest, sample)
    report = RestoreReport(source, manifest, checks, restored)
    return _passed_or_recorded(database, caller, report)


@operation(RESTORE_RUN, after=_restore_target)
def check_restore(
    database: Database,
    settings: Settings,
    source: Path,
    *,
    caller: Caller,
    sample: int = DEFAULT_SAMPLE,
) -> RestoreReport:
    """Run the restore check on a target restored earlier from ``source``.

    Raises RestoreCheckFailed when a check fails.
    """
    manifest = read_verified_manifest(source)
    checks = run_checks(database, settings, source, manifest, sample)
    return _passed_or_recorded(
        database, caller, RestoreReport(source, manifest, checks)
    )


def _passed_or_recorded(
    database: Database, caller: Caller, report: RestoreReport
) -> RestoreReport:
    if report.passed:
        return report
    try:
        record_separately(
            database,
            caller,
            RESTORE_RUN,
            outcome=FAILED,
            object_type="backup",
            object_ids=[str(report.source)],
            detail=report.summary(),
        )
    except ScutError as error:
        # A target that fails its checks may lack the audit table itself.
        log.error("Could not record the failed restore check: %s", error)
    raise RestoreCheckFailed(report)
