"""Envelope encryption of the blob store: each blob sealed under its own data key.

Every original and derived image is a sealed file (see
``scut.storage.segments``) under a random 256-bit data key. The data key,
wrapped with AES-256-GCM under the current master key
(``scut.storage.keys``), lies beside the blob in ``<blob>.key``, so a
rotation of the master key rewrites only these key files.

A writer holds an exclusive ``flock`` on the blob's folder while it puts a
key file and its blob in place, and a reader a shared one while it opens
the pair, so no reader pairs a blob with another writer's key file.

Temporary plaintext never gets a name on disk. :meth:`temporary_file` and
:meth:`original_file` use unnamed files (``O_TMPFILE`` in the tmp folder,
else ``memfd_create``), which the kernel frees when the process ends, even
by SIGKILL. Spools of archive members, which worker processes open by
path, are sealed under a key that exists only in memory.

NOTE: the kernel frees the blocks of an unnamed file but does not wipe
them; only encryption of the volume itself protects those blocks.

A store from before encryption holds plaintext blobs. They are read as
they are (a sealed file starts with the magic bytes, a plaintext one does
not) until :meth:`EncryptedBlobStore.seal_existing` seals them in place.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scut.storage.blobs import FileBlobStore, Spool, _fsync_path
from scut.storage.keyfiles import (
    KEY_FILE_SUFFIX,
    WrappedKey,
    key_file_path,
    read_key_file,
    unwrap_data_key,
    wrap_data_key,
)
from scut.storage.keys import Keyring, KeyringError, reload_if_changed
from scut.storage.segments import (
    HEADER_BYTES,
    SEGMENT_SIZE,
    BlobError,
    SealedHeader,
    SegmentWriter,
    is_sealed,
    open_sealed,
    open_sealed_path,
)

log = logging.getLogger(__name__)

# The name bound into the segments of member spools, which are not blobs.
SPOOL_NAME = "spool"
COPY_CHUNK = 1024 * 1024
# errno values of a file system or kernel without O_TMPFILE.
_NO_TMPFILE = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL})

# Called with (files done, files in all).
Progress = Callable[[int, int], None]


@dataclass
class StoreCensus:
    """Counts of a store's blobs by the way they are sealed, from one pass."""

    files: int = 0
    # Sealed blobs, by the id of the master key that wraps their data key.
    sealed_by_key: dict[str, int] = field(default_factory=dict)
    # Every key file, by master key id, those without a blob included.
    key_files_by_key: dict[str, int] = field(default_factory=dict)
    plaintext: int = 0
    # Sealed blobs without a key file that belongs to them: unreadable.
    unpaired: list[str] = field(default_factory=list)
    # Key files whose blob is gone, left by an interrupted write.
    orphan_key_files: int = 0


@dataclass
class MaintenanceReport:
    """Outcome of a re-wrapping or sealing pass, file by file."""

    done: int = 0
    skipped: int = 0
    removed: int = 0
    # "<file name>: <reason>" for each file the pass could not handle.
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Sealed:
    temporary: Path
    data_key: bytes
    blob_id: bytes


class EncryptedBlobStore(FileBlobStore):
    """The blob store of :class:`FileBlobStore`'s layout, with every blob sealed."""

    def __init__(
        self,
        root: Path,
        keyring: Keyring,
        *,
        fsync: bool = True,
        segment_size: int = SEGMENT_SIZE,
    ) -> None:
        super().__init__(root, fsync=fsync)
        self.keyring = keyring
        self.segment_size = segment_size

    def derived_path(self, sha256: str, name: str) -> Path:
        if name.endswith(KEY_FILE_SUFFIX):
            raise ValueError(
                f"invalid derived blob name: {name!r} ends in {KEY_FILE_SUFFIX}, "
                "the suffix of key files"
            )
        return super().derived_path(sha256, name)

    def put_original(self, sha256: str, data: bytes) -> bool:
        target = self.original_path(sha256)
        if target.exists():
            return False
        return self._seal(target, [data], expected_sha256=sha256, replace=False)

    def adopt_original(self, sha256: str, temporary: Path) -> bool:
        """Seal the plaintext of a file from :meth:`temporary_file` as ``sha256``.

        The temporary file must be flushed. It stays readable until its
        context exits. Raises BlobError, storing nothing, when its SHA-256
        is not ``sha256``.
        """
        target = self.original_path(sha256)
        try:
            if target.exists():
                return False
            with temporary.open("rb") as source:
                chunks = iter(lambda: source.read(COPY_CHUNK), b"")
                return self._seal(target, chunks, expected_sha256=sha256, replace=False)
        finally:
            if not _is_unnamed(temporary):
                temporary.unlink(missing_ok=True)

    def open_original(self, sha256: str) -> BinaryIO:
        handle, _sealed = self._open(self.original_path(sha256), sha256)
        return handle

    def put_derived(self, sha256: str, name: str, data: bytes) -> None:
        self._seal(
            self.derived_path(sha256, name), [data], expected_sha256=None, replace=True
        )

    def read_derived(self, sha256: str, name: str) -> bytes:
        handle, _sealed = self._open(self.derived_path(sha256, name), None)
        with handle:
            return handle.read()

    @contextlib.contextmanager
    def original_file(self, sha256: str) -> Iterator[Path]:
        """Yield a path to the original's plaintext, kept in an unnamed file.

        The path is a symbolic link named ``sha256`` in a folder of the
        tmp folder, to ``/proc/self/fd/N`` of the unnamed file, so only this
        process can open it. A plaintext blob of an old store is given as is.
        """
        source, sealed = self._open(self.original_path(sha256), sha256)
        with source:
            if not sealed:
                yield self.original_path(sha256)
                return
            with _unnamed_file(self.tmp_dir) as copy:
                shutil.copyfileobj(source, copy, COPY_CHUNK)
                copy.flush()
                folder = Path(
                    tempfile.mkdtemp(dir=self.tmp_dir, prefix=f"{os.getpid()}-view-")
                )
                try:
                    link = folder / sha256
                    link.symlink_to(f"/proc/self/fd/{copy.fileno()}")
                    yield link
                finally:
                    shutil.rmtree(folder, ignore_errors=True)

    @contextlib.contextmanager
    def temporary_file(self) -> Iterator[tuple[BinaryIO, Path]]:
        """Open an unnamed temporary file; the path is ``/proc/self/fd/N``."""
        with _unnamed_file(self.tmp_dir) as handle:
            yield handle, Path(f"/proc/self/fd/{handle.fileno()}")

    def new_spool(self, prefix: str) -> Spool:
        descriptor, name = tempfile.mkstemp(dir=self.tmp_dir, prefix=prefix)
        key = AESGCM.generate_key(bit_length=256)
        handle = os.fdopen(descriptor, "wb")
        return _SealedSpool(handle, Path(name), key, self.segment_size)

    def delete_original(self, sha256: str) -> None:
        target = self.original_path(sha256)
        if target.parent.is_dir():
            with _locked(target.parent):
                target.unlink(missing_ok=True)
                key_file_path(target).unlink(missing_ok=True)
        # Derived images and their key files share the "<sha256>." prefix.
        super().delete_original(sha256)

    def rewrap_keys(self, progress: Progress | None = None) -> MaintenanceReport:
        """Wrap every data key under the current master key.

        A key file already under it is skipped, so an interrupted pass
        resumes where it stopped. Key files whose blob is gone are removed.
        """
        report = MaintenanceReport()
        keyring = self._fresh_keyring()
        for path, _names in _walk(self.root, progress):
            if path.name.endswith(KEY_FILE_SUFFIX):
                self._rewrap_one(path, keyring, report)
        return report

    def seal_existing(self, progress: Progress | None = None) -> MaintenanceReport:
        """Seal every plaintext blob in place, each one atomically.

        An original whose content does not match its SHA-256 is left as it
        is and listed in the report's failures.
        """
        report = MaintenanceReport()
        for path, _names in _walk(self.root, progress):
            if not path.name.endswith(KEY_FILE_SUFFIX):
                self._seal_in_place(path, report)
        return report

    # Writing.

    def _seal(
        self,
        target: Path,
        chunks: Iterable[bytes],
        *,
        expected_sha256: str | None,
        replace: bool,
    ) -> bool:
        target.parent.mkdir(parents=True, exist_ok=True)
        sealed = self._encrypt(chunks, target.name, expected_sha256)
        try:
            with _locked(target.parent):
                if not replace and target.exists():
                    return False
                self._install(target, sealed)
        finally:
            sealed.temporary.unlink(missing_ok=True)
        if self.fsync:
            _fsync_path(target.parent)
        return True

    def _encrypt(
        self, chunks: Iterable[bytes], name: str, expected_sha256: str | None
    ) -> _Sealed:
        data_key = AESGCM.generate_key(bit_length=256)
        descriptor, temporary = tempfile.mkstemp(
            dir=self.tmp_dir, prefix=f"{os.getpid()}-"
        )
        try:
            with os.fdopen(descriptor, "wb") as handle:
                writer = SegmentWriter(
                    handle, data_key, name, segment_size=self.segment_size
                )
                for chunk in chunks:
                    writer.write(chunk)
                writer.finish()
                if expected_sha256 is not None and writer.sha256 != expected_sha256:
                    raise BlobError(
                        f"content given for blob {expected_sha256} has SHA-256 "
                        f"{writer.sha256}, so it was not stored; the file changed "
                        "after it was hashed, or its digest is wrong"
                    )
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return _Sealed(Path(temporary), data_key, writer.header.blob_id)

    def _install(self, target: Path, sealed: _Sealed) -> None:
        # The key file goes first: a crash between the two renames leaves a
        # key file without its blob, which the next write replaces, and
        # never a blob whose data key is lost.
        keyring = self._fresh_keyring()
        wrapped = wrap_data_key(keyring, sealed.data_key, sealed.blob_id, target.name)
        self._write_key_file(key_file_path(target), wrapped)
        os.replace(sealed.temporary, target)

    def _write_key_file(self, path: Path, wrapped: WrappedKey) -> None:
        descriptor, temporary = tempfile.mkstemp(
            dir=self.tmp_dir, prefix=f"{os.getpid()}-"
        )
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(wrapped.to_json())
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    # Reading.

    def _open(self, path: Path, expected_sha256: str | None) -> tuple[BinaryIO, bool]:
        """Open a blob; return a plaintext reader and whether the blob is sealed."""
        with _locked(path.parent, shared=True):
            source, wrapped = _inspect(path, expected_sha256)
        if wrapped is None:
            return source, False
        try:
            data_key = self._unwrap(wrapped, path.name, key_file_path(path))
            return open_sealed(source, data_key, path.name), True
        except BaseException:
            source.close()
            raise

    def _unwrap(self, wrapped: WrappedKey, name: str, key_path: Path) -> bytes:
        keyring = self.keyring
        if wrapped.key_id not in keyring.keys:
            # A rotation in another process may have added the key since.
            keyring = self._fresh_keyring()
        return unwrap_data_key(keyring, wrapped, name, key_path)

    def _fresh_keyring(self) -> Keyring:
        self.keyring = reload_if_changed(self.keyring)
        return self.keyring

    # Maintenance passes.

    def _rewrap_one(
        self, key_path: Path, keyring: Keyring, report: MaintenanceReport
    ) -> None:
        blob = key_path.with_name(key_path.name[: -len(KEY_FILE_SUFFIX)])
        with _locked(key_path.parent):
            if not blob.exists():
                key_path.unlink(missing_ok=True)
                report.removed += 1
                return
            try:
                wrapped = read_key_file(key_path)
                if wrapped is None or wrapped.key_id == keyring.current_id:
                    report.skipped += 1
                    return
                data_key = self._unwrap(wrapped, blob.name, key_path)
            except (BlobError, KeyringError) as error:
                report.failures.append(f"{blob.name}: {error}")
                return
            rewrapped = wrap_data_key(keyring, data_key, wrapped.blob_id, blob.name)
            self._write_key_file(key_path, rewrapped)
            report.done += 1

    def _seal_in_place(self, path: Path, report: MaintenanceReport) -> None:
        expected = _expected_sha256(path)
        with _locked(path.parent):
            try:
                source, wrapped = _inspect(path, expected)
            except FileNotFoundError:
                return
            except BlobError as error:
                report.failures.append(f"{path.name}: {error}")
                return
            with source:
                if wrapped is not None:
                    report.skipped += 1
                    return
                chunks = iter(lambda: source.read(COPY_CHUNK), b"")
                try:
                    prepared = self._encrypt(chunks, path.name, expected)
                except BlobError as error:
                    report.failures.append(f"{path.name}: {error}")
                    return
            try:
                self._install(path, prepared)
            finally:
                prepared.temporary.unlink(missing_ok=True)
        if self.fsync:
            _fsync_path(path.parent)
        report.done += 1


class _SealedSpool(Spool):
    """A spool whose content is sealed under its own in-memory key."""

    def __init__(
        self, handle: BinaryIO, path: Path, key: bytes, segment_size: int
    ) -> None:
        super().__init__(handle, path, key)
        self.writer = SegmentWriter(handle, key, SPOOL_NAME, segment_size=segment_size)

    def write(self, data: bytes | bytearray) -> None:
        self.writer.write(data)

    def close(self) -> None:
        if not self.handle.closed:
            self.writer.finish()
            self.handle.close()


def census(root: Path, progress: Progress | None = None) -> StoreCensus:
    """Count the blobs under ``root`` by master key, plaintext, and broken pairs.

    Needs no master key: it reads headers and key files only.
    """
    result = StoreCensus()
    for path, names in _walk(root, progress):
        if path.name.endswith(KEY_FILE_SUFFIX):
            _count_key_file(path, names, result)
        else:
            _count_blob(path, result)
    return result


def _walk(root: Path, progress: Progress | None) -> Iterator[tuple[Path, set[str]]]:
    """Yield every file of the blob folders with the names in its folder."""
    total = sum(len(names) for _, names in _folders(root))
    done = 0
    for folder, names in _folders(root):
        for name in sorted(names):
            yield folder / name, names
            done += 1
            if progress is not None:
                progress(done, total)


def _folders(root: Path) -> Iterator[tuple[Path, set[str]]]:
    for kind in ("originals", "derived"):
        top = root / kind
        if not top.is_dir():
            continue
        for folder in sorted(top.glob("*/*")):
            if folder.is_dir():
                yield folder, set(os.listdir(folder))


def _count_key_file(path: Path, names: set[str], census: StoreCensus) -> None:
    if path.name[: -len(KEY_FILE_SUFFIX)] not in names:
        census.orphan_key_files += 1
    try:
        wrapped = read_key_file(path)
    except BlobError:
        wrapped = None
    key_id = wrapped.key_id if wrapped is not None else "(damaged)"
    census.key_files_by_key[key_id] = census.key_files_by_key.get(key_id, 0) + 1


def _count_blob(path: Path, census: StoreCensus) -> None:
    try:
        source, wrapped = _inspect(path, _expected_sha256(path))
    except FileNotFoundError:
        return  # deleted since its folder was listed
    except BlobError:
        census.files += 1
        census.unpaired.append(path.name)
        return
    source.close()
    census.files += 1
    if wrapped is None:
        census.plaintext += 1
        return
    count = census.sealed_by_key.get(wrapped.key_id, 0) + 1
    census.sealed_by_key[wrapped.key_id] = count


def _inspect(
    path: Path, expected_sha256: str | None
) -> tuple[BinaryIO, WrappedKey | None]:
    """Open a blob file; return it with its key file, or None for plaintext.

    A caller that needs the blob and key file to match holds the folder's
    lock. Raises BlobError for a sealed blob without a key file of its own.
    """
    source = path.open("rb")
    try:
        head = source.read(HEADER_BYTES)
        if is_sealed(head):
            header = SealedHeader.parse(head, path.name)
            wrapped = read_key_file(key_file_path(path))
            if wrapped is not None and wrapped.blob_id == header.blob_id:
                return source, wrapped
            # A plaintext original may start with the magic bytes by chance.
            if expected_sha256 is None or _sha256_of(source) != expected_sha256:
                raise BlobError(
                    f"sealed blob {path.name} has no key file of its own "
                    f"({key_file_path(path).name} is missing or belongs to another "
                    "copy); restore the blob and its key file from a backup"
                )
        source.seek(0)
        return source, None
    except BaseException:
        source.close()
        raise


@contextlib.contextmanager
def _locked(folder: Path, *, shared: bool = False) -> Iterator[None]:
    # NOTE: flock on a folder is local to one machine; a store on shared
    # storage written by several hosts needs a lock of that storage.
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def open_spool(path: Path, key: bytes) -> BinaryIO:
    """Open a spool written by :meth:`EncryptedBlobStore.new_spool` for reading."""
    return open_sealed_path(path, key, SPOOL_NAME)


def has_sealed_blobs(root: Path) -> bool:
    """Return whether any original under ``root`` has a key file; stops at the first."""
    top = root / "originals"
    if not top.is_dir():
        return False
    return any(True for _ in top.glob(f"*/*/*{KEY_FILE_SUFFIX}"))


def _expected_sha256(path: Path) -> str | None:
    # Originals are named by their SHA-256 under originals/ab/cd/.
    return path.name if path.parent.parent.parent.name == "originals" else None


def _sha256_of(handle: BinaryIO) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    while chunk := handle.read(COPY_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _is_unnamed(path: Path) -> bool:
    return path.parent == Path("/proc/self/fd")


_memory_fallback_logged = False


@contextlib.contextmanager
def _unnamed_file(folder: Path) -> Iterator[BinaryIO]:
    """Open a read-write file without a name, freed when it is closed."""
    global _memory_fallback_logged
    try:
        descriptor = os.open(folder, os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
    except OSError as error:
        if error.errno not in _NO_TMPFILE:
            raise
        if not _memory_fallback_logged:
            _memory_fallback_logged = True
            log.warning(
                "The file system of %s has no unnamed files (O_TMPFILE: %s); "
                "temporary plaintext is kept in memory instead",
                folder,
                error.strerror,
            )
        descriptor = os.memfd_create("scut-temporary", os.MFD_CLOEXEC)
    with os.fdopen(descriptor, "w+b") as handle:
        yield handle
