"""The sealed database copy of a backup: sealing on backup, unsealing on restore.

The copy is sealed as a blob of the store is: AES-256-GCM segments under a
fresh data key (``scut.storage.segments``), and the data key wrapped under
the current master key into a key file beside the copy
(``scut.storage.keyfiles``). The segments and the wrapped key are bound to
the copy's file name, so a sealed blob renamed to the database's name does
not open.

The wrapped key lies in a key file rather than in manifest.json, so the
copy and its key file have the layout and the parser of a blob and its key
file, and SHA256SUMS covers both. manifest.json records the master key id,
so a restore checks that key before it copies anything.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scut.backup.manifest import CHUNK, BackupError
from scut.storage.keyfiles import (
    KEY_FILE_SUFFIX,
    WrappedKey,
    unwrap_data_key,
    wrap_data_key,
)
from scut.storage.keys import Keyring, KeyringError
from scut.storage.segments import BlobError, SegmentWriter, open_sealed_path

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


def database_key_file(name: str) -> str:
    """Return the name of the key file beside the sealed copy ``name``."""
    return name + KEY_FILE_SUFFIX


@dataclass(frozen=True, slots=True)
class SealedCopy:
    """A finished sealed copy: the SHA-256 of its two files and its master key id."""

    sha256: str
    key_file_sha256: str
    master_key: str


class _HashingFile(io.FileIO):
    """Raw file that hashes the bytes written to it, for SHA256SUMS."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "xb", opener=_owner_only)
        self.digest = hashlib.sha256()

    def write(self, data: ReadableBuffer, /) -> int:
        written = super().write(data)
        self.digest.update(memoryview(data).cast("B")[:written])
        return written


class DatabaseSealer:
    """Writer of a sealed database copy and its key file into a backup folder.

    Everything written to :meth:`write` is sealed at once, so no plaintext
    reaches the folder. The key file is written first, because the data
    key is wrapped as soon as the copy's header exists.
    """

    def __init__(self, folder: Path, name: str, keyring: Keyring) -> None:
        self.path = folder / name
        data_key = AESGCM.generate_key(bit_length=256)
        self._raw = _HashingFile(self.path)
        self._file = io.BufferedWriter(self._raw, CHUNK)
        try:
            self.writer = SegmentWriter(self._file, data_key, name)
            wrapped = wrap_data_key(keyring, data_key, self.writer.header.blob_id, name)
            key_file = folder / database_key_file(name)
            content = wrapped.to_json()
            with io.FileIO(key_file, "xb", opener=_owner_only) as handle:
                handle.write(content)
        except BaseException:
            self._file.close()
            raise
        self.master_key = wrapped.key_id
        self._key_file_sha256 = hashlib.sha256(content).hexdigest()

    def write(self, data: ReadableBuffer) -> None:
        """Seal plaintext of the database copy into the backup folder."""
        self.writer.write(data)

    def finish(self) -> SealedCopy:
        """Seal the last segment and close the file; return its checksums."""
        self.writer.finish()
        self._file.close()
        return SealedCopy(
            self._raw.digest.hexdigest(), self._key_file_sha256, self.master_key
        )

    def close(self) -> None:
        """Close the file without sealing the rest, for a backup that failed."""
        self._file.close()


def open_database_copy(sealed: Path, keyring: Keyring, master_key: str) -> BinaryIO:
    """Open a sealed database copy for reading its plaintext.

    ``master_key`` is the id the manifest records. Raises BackupError when
    the key file is missing, damaged or names another master key, when that
    key is not in ``keyring``, or when the copy's header is invalid. A
    segment that fails authentication raises BlobError while it is read.
    """
    key_path = sealed.with_name(database_key_file(sealed.name))
    try:
        wrapped = WrappedKey.from_json(key_path.read_bytes(), key_path)
    except FileNotFoundError as error:
        raise BackupError(
            f"{key_path.name}, the key file of the database copy, is missing from "
            "the backup; use another backup"
        ) from error
    except BlobError as error:
        raise BackupError(
            f"{key_path.name}, the key file of the database copy, is damaged; "
            "use another backup"
        ) from error
    if wrapped.key_id != master_key:
        raise BackupError(
            f"{key_path.name} names master key {wrapped.key_id!r}, but the "
            f"manifest records {master_key!r}: the backup was altered; use "
            "another backup"
        )
    data_key = _unwrap(keyring, wrapped, sealed.name, key_path)
    try:
        return open_sealed_path(sealed, data_key, sealed.name)
    except BlobError as error:
        raise _failed(sealed) from error


def authenticate_copy(sealed: Path, keyring: Keyring, master_key: str) -> None:
    """Read a sealed database copy to its end; raise BackupError if it was altered."""
    with open_database_copy(sealed, keyring, master_key) as reader:
        copy_plaintext(reader, sealed, lambda _chunk: None)


def unseal_copy(sealed: Path, keyring: Keyring, master_key: str, target: Path) -> None:
    """Write the plaintext of a sealed database copy to the new file ``target``.

    The file is created readable by its owner only. Raises BackupError,
    leaving no ``target``, when the copy fails authentication.
    """
    plain = io.FileIO(target, "xb", opener=_owner_only)
    try:
        with plain, open_database_copy(sealed, keyring, master_key) as reader:
            copy_plaintext(reader, sealed, plain.write)
            os.fsync(plain.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def copy_plaintext(
    reader: BinaryIO, sealed: Path, write: Callable[[bytes], object]
) -> None:
    """Pass every plaintext chunk of an open sealed copy to ``write``.

    Raises BackupError when a segment fails authentication.
    """
    try:
        while chunk := reader.read(CHUNK):
            write(chunk)
    except BlobError as error:
        raise _failed(sealed) from error


def _unwrap(keyring: Keyring, wrapped: WrappedKey, name: str, key_path: Path) -> bytes:
    try:
        return unwrap_data_key(keyring, wrapped, name, key_path)
    except KeyringError as error:
        raise BackupError(
            f"the backup's database copy is sealed under master key "
            f"{wrapped.key_id!r}, which is not in {keyring.source}; set "
            "SCUT_MASTER_KEY_FILE (or SCUT_MASTER_KEY) to the master key kept "
            "apart from the backup"
        ) from error
    except BlobError as error:
        raise BackupError(
            f"{key_path.name}, the key file of the database copy, fails "
            f"authentication under master key {wrapped.key_id!r}: it was damaged "
            "or altered after the backup was written; use another backup"
        ) from error


def _failed(sealed: Path) -> BackupError:
    return BackupError(
        f"the database copy {sealed.name} of the backup fails authentication: it "
        "was damaged or altered after the backup was written, so nothing was "
        "restored; use another backup"
    )


def _owner_only(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
