"""The backup folder's format: its manifest, its checksum list and its file order.

SHA256SUMS lists every file of the backup but manifest.json and itself,
one ``<sha256>  <path>`` line each, so ``sha256sum -c SHA256SUMS`` checks
a backup without Scut. The lines follow the order of :func:`backup_files`,
so a restore compares the list with the folder line by line, and finds
files added to or removed from the folder without holding either list in
memory. manifest.json records the SHA-256 of SHA256SUMS.

NOTE: manifest.json is not signed. It reveals damage and edits of single
files, but not someone who rewrites files, SHA256SUMS and manifest
together. The signed audit anchors still reveal a rewritten audit log.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from scut.errors import ScutError

# Format 2 seals the database copy; format 1 held it in plaintext.
FORMAT = 2
MANIFEST_NAME = "manifest.json"
CHECKSUMS_NAME = "SHA256SUMS"
ANCHORS_NAME = "audit-anchors.jsonl"
PUBLIC_KEY_NAME = "audit-signing-key.pub.pem"
BLOBS_FOLDER = "blobs"
SQLITE_NAME = "database.sqlite.sealed"
DUMP_NAME = "database.dump.sealed"
CHUNK = 1024 * 1024
# The master key id counted for key files that cannot be parsed.
DAMAGED_KEY_FILE = "(damaged)"

_CHECKSUM_LINE = re.compile(r"^(?P<sha256>[0-9a-f]{64})  (?P<path>[^\n\\]+)$")
_KEY_ID = re.compile(r"^[0-9a-f]{12}$")


class BackupError(ScutError):
    """Raised when a backup cannot be written, read, verified or restored."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """The content of manifest.json: the facts a restore checks a backup against."""

    scut_version: str
    created_at: str
    # sqlite or postgresql, and the sealed database copy in the backup.
    dialect: str
    database_file: str
    # The id of the master key that wraps the database copy's data key.
    database_master_key: str
    schema_revision: str | None
    row_counts: dict[str, int]
    # The audit chain's last event when the database was copied.
    last_event_id: int | None
    last_event_hash: str | None
    checksums_sha256: str
    # Files listed in SHA256SUMS, and how many of them are under blobs/.
    file_count: int
    blob_files: int
    # Key files by the id of the master key that wraps their data key.
    data_keys_by_master_key: dict[str, int] = field(default_factory=dict)
    current_master_key: str | None = None
    anchors_file: str | None = None
    signing_public_key: str | None = None
    # PostgreSQL only: the server's version and pg_dump's major version.
    server_version: str | None = None
    pg_dump_major: int | None = None

    def write(self, path: Path) -> None:
        """Write the manifest as indented JSON and flush it to disk."""
        document = {"format": FORMAT, **asdict(self)}
        with path.open("w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """Read a backup's manifest; raise BackupError naming what is wrong."""
        path = folder / MANIFEST_NAME
        try:
            document: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise BackupError(
                f"{folder} is not a complete Scut backup: {MANIFEST_NAME} is "
                "missing (an interrupted backup has none)"
            ) from error
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BackupError(f"cannot read the manifest {path}: {error}") from error
        if isinstance(document, dict) and document.get("format") == 1:
            raise BackupError(
                f"{path} is of format 1, written before Scut sealed the database "
                f"copy, and this Scut restores format {FORMAT} only; restore it "
                "with the Scut that wrote it, then back up again"
            )
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise BackupError(
                f"{path} is not a Scut backup manifest of format {FORMAT}; a newer "
                "Scut may have written it"
            )
        document.pop("format")
        try:
            manifest = cls(**document)
        except TypeError as error:
            raise BackupError(f"manifest {path} is invalid: {error}") from error
        manifest._check(path)
        return manifest

    def _check(self, path: Path) -> None:
        problems = []
        if self.dialect not in ("sqlite", "postgresql"):
            problems.append(f"unknown database kind {self.dialect!r}")
        if self.database_file not in (SQLITE_NAME, DUMP_NAME):
            problems.append(f"unknown database file {self.database_file!r}")
        if not isinstance(self.database_master_key, str) or not _KEY_ID.fullmatch(
            self.database_master_key
        ):
            problems.append(
                f"invalid database master key id {self.database_master_key!r}"
            )
        if not isinstance(self.row_counts, dict) or not all(
            isinstance(count, int) for count in self.row_counts.values()
        ):
            problems.append("row_counts is not a table of integers")
        if not isinstance(self.checksums_sha256, str):
            problems.append("checksums_sha256 is missing")
        if problems:
            raise BackupError(f"manifest {path} is invalid: {'; '.join(problems)}")


class ChecksumWriter:
    """Writer of SHA256SUMS that hashes its own content as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._digest = hashlib.sha256()
        self._handle = path.open("wb")

    def add(self, relative: str, sha256: str) -> None:
        """List a file of the backup by its path relative to the backup folder."""
        if "\n" in relative or "\\" in relative:
            raise BackupError(
                f"file name {relative!r} contains a newline or a backslash, which "
                "SHA256SUMS cannot list; rename or remove it"
            )
        line = f"{sha256}  {relative}\n".encode()
        self._handle.write(line)
        self._digest.update(line)
        self.count += 1

    def close(self) -> str:
        """Close the list; return its SHA-256 for the manifest."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        return self._digest.hexdigest()

    def __enter__(self) -> ChecksumWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Closes the file of a backup that failed; close() already did otherwise.
        self._handle.close()


def read_checksums(folder: Path) -> Iterator[tuple[str, str]]:
    """Yield (sha256, relative path) from a backup's SHA256SUMS.

    Raises BackupError for a line that is not of the form sha256sum writes,
    or a path that leaves the backup folder.
    """
    path = folder / CHECKSUMS_NAME
    with path.open("r", encoding="utf-8", newline="\n") as handle:
        for number, line in enumerate(handle, start=1):
            matched = _CHECKSUM_LINE.fullmatch(line.rstrip("\n"))
            relative = matched["path"] if matched else ""
            parts = relative.split("/")
            if matched is None or relative.startswith("/") or ".." in parts:
                raise BackupError(
                    f"line {number} of {path} is not '<sha256>  <path>' with a "
                    f"path inside the backup: {line[:120]!r}"
                )
            yield matched["sha256"], relative


def backup_files(folder: Path) -> Iterator[str]:
    """Yield the relative path of every file in a backup folder, in list order.

    The order is a depth-first walk with the names of each folder sorted.
    manifest.json and SHA256SUMS are left out. Links and other entries
    that are not folders are yielded too, so that a restore rejects them.
    """
    yield from _walk(folder, "", top=True)


def sorted_files(folder: Path, names: tuple[str, ...]) -> Iterator[str]:
    """Yield the files under the subfolders ``names`` of ``folder`` in list order."""
    for name in sorted(names):
        if (folder / name).is_dir():
            yield from _walk(folder / name, f"{name}/", top=False)


def _walk(folder: Path, prefix: str, *, top: bool) -> Iterator[str]:
    entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    for entry in entries:
        if top and entry.name in (MANIFEST_NAME, CHECKSUMS_NAME):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), f"{prefix}{entry.name}/", top=False)
        else:
            yield f"{prefix}{entry.name}"


def copy_hashed(source: BinaryIO, target: BinaryIO) -> tuple[str, int]:
    """Copy an open file to another; return the SHA-256 and size of what was copied."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def hash_file(path: Path) -> str:
    """Return the SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
