"""Content-addressed blob store: one copy of each original, by SHA-256.

Originals live under ``originals/ab/cd/<sha256>`` and derived images
(thumbnails, video strips) under ``derived/ab/cd/<sha256>.<name>``. Writes go
to a temporary file in the store's own ``tmp/`` folder and are renamed into
place, so a reader never sees half a blob and a crash leaves only temporary
files, which :meth:`FileBlobStore.remove_stale_temporaries` clears.

``BlobStore`` is the interface the rest of Scut uses. ``FileBlobStore``
keeps plaintext; ``scut.storage.encrypted.EncryptedBlobStore`` seals every
blob in the same layout, and ``scut.storage.open_blob_store`` opens it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from scut.processes import process_alive

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DERIVED_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,40}$")


def _check_sha256(sha256: str) -> None:
    # fullmatch, because with match() the "$" also accepts a trailing newline.
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"invalid SHA-256 for the blob store: {sha256!r}")


class BlobStore(ABC):
    """Storage of originals and their derived images."""

    @abstractmethod
    def has_original(self, sha256: str) -> bool:
        """Return whether the original with this SHA-256 is stored."""

    @abstractmethod
    def put_original(self, sha256: str, data: bytes) -> bool:
        """Store ``data`` as the original ``sha256``; return False if it was there."""

    @abstractmethod
    def adopt_original(self, sha256: str, temporary: Path) -> bool:
        """Move a file written by :meth:`temporary_file` in as ``sha256``.

        Returns False, and deletes the temporary file, if the original was
        already stored.
        """

    @abstractmethod
    def open_original(self, sha256: str) -> BinaryIO:
        """Open the stored original for reading."""

    @abstractmethod
    def put_derived(self, sha256: str, name: str, data: bytes) -> None:
        """Store a derived image ``name`` (for example ``thumb.jpg``) of a media."""

    @abstractmethod
    def read_derived(self, sha256: str, name: str) -> bytes:
        """Return a derived image stored by :meth:`put_derived`."""

    @abstractmethod
    def original_file(self, sha256: str) -> contextlib.AbstractContextManager[Path]:
        """Return a context whose value is a path to the original's plaintext.

        For libraries that open files by path (archives, PyAV). The path may
        stop working when the context exits. The path's name is ``sha256``.
        """

    @abstractmethod
    def temporary_file(
        self,
    ) -> contextlib.AbstractContextManager[tuple[BinaryIO, Path]]:
        """Open a new temporary file inside the store, deleted unless adopted."""

    @abstractmethod
    def sync(self) -> None:
        """Make every blob written so far durable on disk."""

    @abstractmethod
    def iter_originals(self) -> Iterator[str]:
        """Yield the SHA-256 of every stored original."""

    @abstractmethod
    def delete_original(self, sha256: str) -> None:
        """Delete a stored original and its derived images, if present."""


class Spool:
    """A temporary file in a store's tmp folder that another process reads by path.

    ``key`` is None when the file contains plaintext. An encrypting store
    seals the content under ``key``, a random key that exists only in
    memory, so a spool left by a killed process cannot be read.
    """

    def __init__(self, handle: BinaryIO, path: Path, key: bytes | None = None) -> None:
        self.handle = handle
        self.path = path
        self.key = key

    def write(self, data: bytes | bytearray) -> None:
        """Append bytes to the spool."""
        self.handle.write(data)

    def close(self) -> None:
        """Finish and close the file; it stays on disk for its reader."""
        self.handle.close()


class FileBlobStore(BlobStore):
    """A blob store in a folder of the local file system, in plaintext."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def original_path(self, sha256: str) -> Path:
        """Return where the original ``sha256`` is, or would be, stored."""
        _check_sha256(sha256)
        return self.root / "originals" / sha256[:2] / sha256[2:4] / sha256

    def derived_path(self, sha256: str, name: str) -> Path:
        """Return where the derived image ``name`` of ``sha256`` is stored."""
        _check_sha256(sha256)
        if not _DERIVED_NAME.fullmatch(name):
            raise ValueError(f"invalid derived blob name: {name!r}")
        return self.root / "derived" / sha256[:2] / sha256[2:4] / f"{sha256}.{name}"

    def has_original(self, sha256: str) -> bool:
        return self.original_path(sha256).exists()

    def put_original(self, sha256: str, data: bytes) -> bool:
        target = self.original_path(sha256)
        if target.exists():
            return False
        self._write_atomically(target, data)
        return True

    def adopt_original(self, sha256: str, temporary: Path) -> bool:
        target = self.original_path(sha256)
        if target.exists():
            temporary.unlink(missing_ok=True)
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.fsync:
            # The writer only closed the file, so its bytes are flushed here
            # before the rename, as _write_atomically does.
            _fsync_path(temporary)
        os.replace(temporary, target)
        if self.fsync:
            _fsync_path(target.parent)
        return True

    def open_original(self, sha256: str) -> BinaryIO:
        return self.original_path(sha256).open("rb")

    def put_derived(self, sha256: str, name: str, data: bytes) -> None:
        self._write_atomically(self.derived_path(sha256, name), data)

    def read_derived(self, sha256: str, name: str) -> bytes:
        return self.derived_path(sha256, name).read_bytes()

    @contextlib.contextmanager
    def original_file(self, sha256: str) -> Iterator[Path]:
        yield self.original_path(sha256)

    def new_spool(self, prefix: str) -> Spool:
        """Create a spool file in the tmp folder; its name starts with ``prefix``.

        The prefix starts with the process id, so that
        :meth:`remove_stale_temporaries` leaves spools of running processes.
        """
        descriptor, name = tempfile.mkstemp(dir=self.tmp_dir, prefix=prefix)
        return Spool(os.fdopen(descriptor, "wb"), Path(name))

    @contextlib.contextmanager
    def temporary_file(self) -> Iterator[tuple[BinaryIO, Path]]:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below)
            dir=self.tmp_dir, prefix=f"{os.getpid()}-", delete=False
        )
        path = Path(handle.name)
        try:
            yield handle, path  # type: ignore[misc]
        finally:
            handle.close()
            path.unlink(missing_ok=True)

    def iter_originals(self) -> Iterator[str]:
        folder = self.root / "originals"
        if not folder.exists():
            return
        for path in folder.glob("*/*/*"):
            if _SHA256.fullmatch(path.name):
                yield path.name

    def delete_original(self, sha256: str) -> None:
        self.original_path(sha256).unlink(missing_ok=True)
        derived = self.derived_path(sha256, "x").parent
        for path in derived.glob(f"{sha256}.*"):
            path.unlink(missing_ok=True)

    def sync(self) -> None:
        # One syncfs for a whole batch of blobs costs far less than one
        # fsync per blob, and it covers the renames into place too.
        descriptor = os.open(self.root, os.O_RDONLY)
        try:
            if _LIBC is not None and _LIBC.syncfs(descriptor) == 0:
                return
            os.sync()
        finally:
            os.close(descriptor)

    def remove_stale_temporaries(self) -> int:
        """Delete temporary files and folders left by processes that no longer run."""
        removed = 0
        for path in self.tmp_dir.iterdir():
            pid_text = path.name.split("-", 1)[0]
            if pid_text.isdigit() and process_alive(int(pid_text)):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        if removed:
            log.info("Removed %d temporary files left by stopped runs", removed)
        return removed

    def _write_atomically(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=self.tmp_dir, prefix=f"{os.getpid()}-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(name, target)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        if self.fsync:
            _fsync_path(target.parent)


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "syncfs") else None


_LIBC = _load_libc()


def _fsync_path(path: Path) -> None:
    """Flush a file, or a folder after a rename into it, to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
