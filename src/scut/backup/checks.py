"""The restore check: does the restored target hold what the backup recorded?

Each check compares the target with the manifest, right after a restore:

- schema revision: the target's Alembic revision is the manifest's;
- row counts: every table has the manifest's row count. The audit table
  is counted up to the manifest's last event, because a restore and every
  check append events of their own after it;
- audit chain: every event's hash and link verify, and the event the
  manifest names as the last one has the hash it records;
- audit anchors: the signing key configured here is the one whose public
  key the backup holds, and every restored anchor verifies;
- blob files: every blob file of the backup is in the restored store;
- blob sample: originals chosen at random decrypt under the master keys
  configured here and re-hash to their names.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scut.backup.databases import AUDIT_TABLE, DatabaseState, read_state
from scut.backup.manifest import BLOBS_FOLDER, Manifest, read_checksums
from scut.db.models import AuditEvent
from scut.db.session import Database
from scut.errors import ScutError
from scut.security.audit import (
    anchor_file,
    load_signing_key,
    verify_anchors,
    verify_chain,
)
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.check import check_original

DEFAULT_SAMPLE = 50
# Tables, files or blobs named in one message; the rest are counted.
MAX_LISTED = 10


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check of a restored target."""

    name: str
    passed: bool
    message: str


def run_checks(
    database: Database,
    settings: Settings,
    source: Path,
    manifest: Manifest,
    sample: int = DEFAULT_SAMPLE,
) -> list[CheckResult]:
    """Run every check of the module docstring on the target; return each result."""
    check_sample_size(sample)
    with database.engine.connect() as connection:
        state = read_state(connection)
        audit_rows = None
        if manifest.last_event_id is not None and AUDIT_TABLE in state.row_counts:
            audit_rows = connection.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.id <= manifest.last_event_id)
            ).scalar_one()
    results = [
        _schema_revision(manifest, state),
        _row_counts(manifest, state, audit_rows),
    ]
    with database.session() as session:
        results.append(_audit_chain(manifest, session))
        results.append(_audit_anchors(manifest, session, settings, source))
    results.append(_blob_files(settings, source))
    results.append(_blob_sample(settings, source, sample))
    return results


def check_sample_size(sample: int) -> None:
    """Raise ScutError for a sample of fewer than one original."""
    if sample < 1:
        raise ScutError(f"invalid sample size {sample}; it must be at least 1")


def _schema_revision(manifest: Manifest, state: DatabaseState) -> CheckResult:
    name = "schema revision"
    if state.schema_revision == manifest.schema_revision:
        return CheckResult(name, True, f"{state.schema_revision}")
    return CheckResult(
        name,
        False,
        f"the target is at {state.schema_revision}, the backup at "
        f"{manifest.schema_revision}",
    )


def _row_counts(
    manifest: Manifest, state: DatabaseState, audit_rows: int | None
) -> CheckResult:
    counts = dict(state.row_counts)
    if audit_rows is not None:
        counts[AUDIT_TABLE] = audit_rows
    differences = [
        f"{table}: {expected} in the backup, {counts.get(table, 'no table')} restored"
        for table, expected in sorted(manifest.row_counts.items())
        if counts.get(table) != expected
    ]
    differences += [
        f"{table}: not in the backup"
        for table in sorted(set(counts) - set(manifest.row_counts))
    ]
    name = "row counts"
    if differences:
        return CheckResult(name, False, _listed(differences))
    rows = sum(manifest.row_counts.values())
    return CheckResult(name, True, f"{len(counts)} tables, {rows} rows")


def _audit_chain(manifest: Manifest, session: Session) -> CheckResult:
    name = "audit chain"
    report = verify_chain(session)
    if not report.intact:
        return CheckResult(name, False, report.message)
    if manifest.last_event_id is None:
        return CheckResult(
            name, True, f"{report.events_checked} events; the backup had none"
        )
    stored = session.get(AuditEvent, manifest.last_event_id)
    if stored is None or stored.hash != manifest.last_event_hash:
        found = "is missing" if stored is None else f"has hash {stored.hash}"
        return CheckResult(
            name,
            False,
            f"event {manifest.last_event_id}, the last one in the backup, {found}; "
            f"the manifest records {manifest.last_event_hash}",
        )
    return CheckResult(
        name,
        True,
        f"{report.events_checked} events; event {manifest.last_event_id} has the "
        "manifest's hash",
    )


def _audit_anchors(
    manifest: Manifest, session: Session, settings: Settings, source: Path
) -> CheckResult:
    name = "audit anchors"
    if manifest.anchors_file is None:
        return CheckResult(name, True, "the backup has no anchors")
    if not anchor_file(settings).exists():
        return CheckResult(name, False, f"{anchor_file(settings)} was not restored")
    try:
        if manifest.signing_public_key is not None:
            _check_signing_key(settings, source / manifest.signing_public_key)
        report = verify_anchors(session, settings)
    except ScutError as error:
        return CheckResult(name, False, str(error))
    if not report.intact:
        return CheckResult(name, False, report.message)
    return CheckResult(name, True, f"{report.anchors_checked} signed anchors")


def _check_signing_key(settings: Settings, public_key_file: Path) -> None:
    """Raise ScutError unless the configured signing key is the backup's one."""
    configured = load_signing_key(settings, create=False).public_key()
    pem = configured.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if pem != public_key_file.read_bytes():
        raise ScutError(
            "the audit signing key configured here is not the one that signed the "
            f"backup's anchors (its public key is {public_key_file}); set "
            "SCUT_AUDIT_SIGNING_KEY_FILE to the key kept apart from the backup"
        )


def _blob_files(settings: Settings, source: Path) -> CheckResult:
    store = settings.data_dir / "blobs"
    missing = []
    count = 0
    for relative in _blob_paths(source):
        count += 1
        if not (store / relative).is_file():
            missing.append(relative)
    name = "blob files"
    if missing:
        return CheckResult(
            name, False, f"{len(missing)} of {count} are missing: {_listed(missing)}"
        )
    return CheckResult(name, True, f"{count} files, key files included")


def _blob_sample(settings: Settings, source: Path, size: int) -> CheckResult:
    name = "blob sample"
    chosen = _sample(_original_names(source), size)
    if not chosen:
        return CheckResult(name, True, "the backup has no originals")
    try:
        store = open_blob_store(settings)
    except ScutError as error:
        return CheckResult(name, False, str(error))
    problems = [
        str(finding) for sha256 in chosen if (finding := check_original(store, sha256))
    ]
    if problems:
        return CheckResult(
            name, False, f"{len(problems)} of {len(chosen)}: {_listed(problems)}"
        )
    return CheckResult(name, True, f"{len(chosen)} originals decrypt and re-hash")


def _blob_paths(source: Path) -> Iterator[str]:
    """Yield each blob file SHA256SUMS lists, relative to the blob store."""
    prefix = f"{BLOBS_FOLDER}/"
    for _sha256, relative in read_checksums(source):
        if relative.startswith(prefix):
            yield relative.removeprefix(prefix)


def _original_names(source: Path) -> Iterator[str]:
    for relative in _blob_paths(source):
        parts = relative.split("/")
        if parts[0] == "originals" and len(parts) == 4 and "." not in parts[3]:
            yield parts[3]


def _sample(names: Iterator[str], size: int) -> list[str]:
    """Choose up to ``size`` names uniformly at random in one pass (reservoir)."""
    chooser = random.SystemRandom()
    chosen: list[str] = []
    for seen, name in enumerate(names):
        if seen < size:
            chosen.append(name)
        else:
            slot = chooser.randrange(seen + 1)
            if slot < size:
                chosen[slot] = name
    return chosen


def _listed(items: list[str]) -> str:
    more = f"; and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return "; ".join(items[:MAX_LISTED]) + more
