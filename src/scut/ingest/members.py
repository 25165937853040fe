"""Archive members, rejected members, and the limits every member is read under.

Shared by the readers of zip, tar and compressed files (archives.py) and
of 7z files (sevenzip.py).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from scut.errors import ArchiveError
from scut.settings import Settings
from scut.storage.blobs import FileBlobStore, Spool

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class Member:
    """A member read from an archive: in memory, or in a temporary spool file.

    ``spool_key`` is set when the store seals spools: the spool contains
    ciphertext, which only this key, kept in memory, opens.
    """

    name: str
    data: bytes | None
    spool_path: Path | None
    modified_at: dt.datetime | None
    spool_key: bytes | None = None


@dataclass(frozen=True, slots=True)
class RejectedMember:
    """A member that was not read, with the reason."""

    name: str
    reason: str


ArchiveEvent = Member | RejectedMember


class BudgetExceeded(ArchiveError):
    """Raised when an archive and its nested archives expand past the total limit.

    Unlike a rejected member, this ends the reading of the whole archive.
    """


class ExpansionBudget:
    """Bytes one archive, its nested archives included, may still expand to."""

    def __init__(self, settings: Settings) -> None:
        self.remaining: int = settings.archive_max_total_bytes
        self.limit = settings.archive_max_total_bytes
        # A 7z extraction thread and the reader of a nested archive may
        # spend from the same budget at once.
        self._lock = threading.Lock()

    def spend(self, count: int) -> None:
        """Count ``count`` more decompressed bytes; raise once over the limit."""
        with self._lock:
            self.remaining -= count
            over = self.remaining < 0
        if over:
            raise BudgetExceeded(
                f"archive expands past {self.limit} bytes in total "
                "(SCUT_ARCHIVE_MAX_TOTAL_BYTES); the rest is not read"
            )


def safe_member_name(raw: str) -> str:
    """Return a member name as a relative POSIX path, or raise ArchiveError.

    Backslashes count as separators, since archives made on Windows use them.
    """
    if "\x00" in raw:
        raise ArchiveError(f"member name {raw!r} contains a NUL byte")
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        raise ArchiveError(f"member name {raw!r} is an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"member name {raw!r} climbs out of the archive with '..'")
    if not parts:
        raise ArchiveError(f"member name {raw!r} is empty")
    return "/".join(parts)


class MemberSink:
    """Collects one member's bytes, enforcing the size and ratio limits."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        store: FileBlobStore,
        budget: ExpansionBudget,
        compressed_size: int | None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.store = store
        self.budget = budget
        self.compressed_size = compressed_size
        self.size = 0
        self.buffer = bytearray()
        self.spool: Spool | None = None

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.budget.spend(len(chunk))
        self._check_limits()
        if self.spool is None and self.size > self.settings.in_memory_max_bytes:
            self._start_spool()
        if self.spool is not None:
            self.spool.write(chunk)
        else:
            self.buffer += chunk

    def _check_limits(self) -> None:
        if self.size > self.settings.archive_max_member_bytes:
            raise ArchiveError(
                f"member {self.name!r} expands past "
                f"{self.settings.archive_max_member_bytes} bytes "
                "(SCUT_ARCHIVE_MAX_MEMBER_BYTES)"
            )
        floor = self.settings.archive_ratio_floor_bytes
        if self.compressed_size is None or self.size <= floor:
            return
        if self.size > self.settings.archive_max_ratio * max(1, self.compressed_size):
            raise ArchiveError(
                f"member {self.name!r} expands more than "
                f"{self.settings.archive_max_ratio} times its compressed size "
                f"({self.compressed_size} bytes): a likely archive bomb"
            )

    def _start_spool(self) -> None:
        # Each spool gets a new name, because the spool files of members
        # already handed on stay until their consumer deletes them. The
        # worker that analyses the member opens it by path, so it cannot be
        # an unnamed file; an encrypting store seals it instead.
        self.spool = self.store.new_spool(f"{os.getpid()}-member-")
        self.spool.write(self.buffer)
        self.buffer = bytearray()

    def finish(self, modified_at: dt.datetime | None) -> Member:
        if self.spool is not None:
            self.spool.close()
            return Member(self.name, None, self.spool.path, modified_at, self.spool.key)
        return Member(self.name, bytes(self.buffer), None, modified_at)

    def discard(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool.path.unlink(missing_ok=True)
