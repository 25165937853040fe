"""Reading members of zip, 7z, tar and compressed files without extracting them.

Members are read into memory, or spooled into the blob store's temporary
folder when larger than the in-memory limit; nothing is written under a
name taken from the archive. Names that climb out of the archive
(``../``), absolute names, links, encrypted members and members that
expand past the size or ratio limits are reported as rejected members and
not read.
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import logging
import lzma
import os
import queue
import re
import stat
import struct
import tarfile
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import py7zr
import py7zr.exceptions
import py7zr.io

from scut.errors import ArchiveError
from scut.settings import Settings
from scut.storage.blobs import FileBlobStore

log = logging.getLogger(__name__)

READ_CHUNK = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")

# tarfile reads a pax or GNU long-name header into memory whole, so a
# header that claims more than this is rejected before it is read.
TAR_HEADER_MAX_BYTES = 16 * 1024 * 1024
_TAR_HEADER_TYPES = frozenset(
    {
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
    }
)
# What zipfile raises on damaged archives and members besides BadZipFile.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
)
# tarfile's stream reader (CPython 3.11) raises TypeError on a truncated
# gzip header.
_TAR_ERRORS = (
    tarfile.TarError,
    OSError,
    EOFError,
    TypeError,
    zlib.error,
    lzma.LZMAError,
)


@dataclass(frozen=True, slots=True)
class Member:
    """A member read from an archive: in memory, or in a temporary spool file."""

    name: str
    data: bytes | None
    spool_path: Path | None
    modified_at: dt.datetime | None


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
        self.remaining = settings.archive_max_total_bytes
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


class _Sink:
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
        self.spool: IO[bytes] | None = None
        self.spool_path: Path | None = None

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
        # already handed on stay until their consumer deletes them.
        descriptor, name = tempfile.mkstemp(
            dir=self.store.tmp_dir, prefix=f"{os.getpid()}-member-"
        )
        self.spool_path = Path(name)
        self.spool = os.fdopen(descriptor, "wb")
        self.spool.write(self.buffer)
        self.buffer = bytearray()

    def finish(self, modified_at: dt.datetime | None) -> Member:
        if self.spool is not None:
            self.spool.close()
            return Member(self.name, None, self.spool_path, modified_at)
        return Member(self.name, bytes(self.buffer), None, modified_at)

    def discard(self) -> None:
        if self.spool is not None:
            self.spool.close()
        if self.spool_path is not None:
            self.spool_path.unlink(missing_ok=True)


class ArchiveReader:
    """Iterates over the members of one archive file on disk."""

    def __init__(
        self, settings: Settings, store: FileBlobStore, budget: ExpansionBudget
    ) -> None:
        self.settings = settings
        self.store = store
        self.budget = budget

    def members(self, path: Path, mime_type: str) -> Iterator[ArchiveEvent]:
        """Yield the members of the archive at ``path`` in stored order.

        Raises ArchiveError when the archive as a whole cannot be read
        (corrupt, encrypted names, over the total limit); members yielded
        before that stay valid.
        """
        readers: dict[str, Callable[[Path], Iterator[ArchiveEvent]]] = {
            "application/zip": self._zip_members,
            "application/x-7z-compressed": self._7z_members,
            "application/x-tar": self._tar_members,
            "application/gzip": self._compressed_members,
            "application/x-bzip2": self._compressed_members,
            "application/x-xz": self._compressed_members,
        }
        reader = readers.get(mime_type)
        if reader is None:
            raise ArchiveError(f"no reader for archives of type {mime_type}")
        yield from reader(path)

    def _sink(self, name: str, compressed_size: int | None) -> _Sink:
        return _Sink(name, self.settings, self.store, self.budget, compressed_size)

    def _read_stream(
        self,
        name: str,
        stream: IO[bytes],
        compressed_size: int | None,
        modified_at: dt.datetime | None,
    ) -> Member:
        sink = self._sink(name, compressed_size)
        try:
            while chunk := stream.read(READ_CHUNK):
                sink.write(chunk)
        except BaseException:
            sink.discard()
            raise
        return sink.finish(modified_at)

    def _zip_members(self, path: Path) -> Iterator[ArchiveEvent]:
        try:
            archive = zipfile.ZipFile(path)
        except _ZIP_ERRORS as error:
            raise ArchiveError(
                f"unreadable zip: {type(error).__name__}: {error}"
            ) from error
        with archive:
            infos = archive.infolist()
            self._check_member_count(len(infos))
            for info in infos:
                if info.is_dir():
                    continue
                yield self._zip_member(archive, info)

    def _zip_member(
        self, archive: zipfile.ZipFile, info: zipfile.ZipInfo
    ) -> ArchiveEvent:
        try:
            name = safe_member_name(info.filename)
        except ArchiveError as error:
            return RejectedMember(info.filename, error.reason)
        if info.flag_bits & 0x1:
            return RejectedMember(
                name, "encrypted member; not read (no password is guessed)"
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            return RejectedMember(name, "symbolic link; not followed")
        modified = _zip_time(info.date_time)
        try:
            with archive.open(info) as stream:
                return self._read_stream(name, stream, info.compress_size, modified)
        except BudgetExceeded:
            raise
        except ArchiveError as error:
            return RejectedMember(name, error.reason)
        except _ZIP_ERRORS as error:
            return RejectedMember(
                name, f"unreadable member: {type(error).__name__}: {error}"
            )

    def _tar_members(self, path: Path) -> Iterator[ArchiveEvent]:
        try:
            archive = tarfile.open(  # noqa: SIM115 (closed by the with below)
                path, mode="r|*", tarinfo=_CheckedTarInfo
            )
        except _TAR_ERRORS as error:
            raise ArchiveError(
                f"unreadable tar: {type(error).__name__}: {error}"
            ) from error
        archive_size = path.stat().st_size
        expanded = 0
        count = 0
        with archive:
            try:
                for info in archive:
                    count += 1
                    self._check_member_count(count)
                    event = self._tar_member(archive, info, archive_size)
                    if isinstance(event, Member):
                        expanded += info.size
                        self._check_archive_ratio(path, expanded, archive_size)
                    if event is not None:
                        yield event
            except _TAR_ERRORS as error:
                raise ArchiveError(
                    f"tar stream broken after {count} members: {error}"
                ) from error

    def _tar_member(
        self, archive: tarfile.TarFile, info: tarfile.TarInfo, archive_size: int
    ) -> ArchiveEvent | None:
        try:
            name = safe_member_name(info.name)
        except ArchiveError as error:
            return RejectedMember(info.name, error.reason)
        if info.isdir():
            return None
        if info.issym() or info.islnk():
            return RejectedMember(name, f"link to {info.linkname!r}; not followed")
        if not info.isfile():
            return RejectedMember(name, "special file (device or pipe); not read")
        stream = archive.extractfile(info)
        if stream is None:
            return RejectedMember(name, "member has no data")
        modified = _tar_time(info.mtime)
        try:
            # Tar members carry no compressed size; the archive's size bounds it.
            return self._read_stream(name, stream, archive_size, modified)
        except BudgetExceeded:
            raise
        except ArchiveError as error:
            return RejectedMember(name, error.reason)

    def _compressed_members(self, path: Path) -> Iterator[ArchiveEvent]:
        if _is_tar(path):
            yield from self._tar_members(path)
            return
        suffix = path.suffix.lower()
        name = path.stem if suffix in _COMPRESSED_SUFFIXES else f"{path.name}.out"
        try:
            # The content, not the name, decides how to decompress, because
            # the name may be wrong.
            opener = _opener_by_magic(path)
            with opener(path, "rb") as stream:
                member = self._read_stream(name, stream, path.stat().st_size, None)
        except BudgetExceeded:
            raise
        except ArchiveError as error:
            yield RejectedMember(name, error.reason)
            return
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as error:
            raise ArchiveError(f"unreadable compressed stream: {error}") from error
        yield member

    def _7z_members(self, path: Path) -> Iterator[ArchiveEvent]:
        try:
            handle = path.open("rb")
        except OSError as error:
            raise ArchiveError(f"unreadable 7z: {error}") from error
        with handle:
            # Given an open file rather than a path, py7zr 1.1 decompresses
            # the folders one after another in one thread. Each member then
            # reaches its writer whole and in stored order.
            try:
                archive = py7zr.SevenZipFile(handle, mode="r")
            except py7zr.exceptions.PasswordRequired as error:
                raise ArchiveError(
                    "encrypted 7z archive (names encrypted); not read"
                ) from error
            except Exception as error:  # noqa: BLE001 (py7zr raises many kinds)
                raise ArchiveError(
                    f"unreadable 7z: {type(error).__name__}: {error}"
                ) from error
            with archive:
                if archive.needs_password():
                    raise ArchiveError(
                        "encrypted 7z archive; not read (no password is guessed)"
                    )
                yield from self._7z_listed(archive, path)

    def _7z_listed(
        self, archive: py7zr.SevenZipFile, path: Path
    ) -> Iterator[ArchiveEvent]:
        entries = archive.list()
        self._check_member_count(len(entries))
        targets: list[str] = []
        for entry in entries:
            if entry.is_directory:
                continue
            try:
                safe_member_name(entry.filename)
            except ArchiveError as error:
                yield RejectedMember(entry.filename, error.reason)
                continue
            if entry.is_symlink:
                yield RejectedMember(entry.filename, "symbolic link; not followed")
                continue
            targets.append(entry.filename)
        if targets:
            yield from _SevenZipPump(
                self, archive, targets, path.stat().st_size
            ).events()

    def _check_archive_ratio(
        self, path: Path, expanded: int, archive_size: int
    ) -> None:
        if expanded <= self.settings.archive_ratio_floor_bytes:
            return
        if expanded > self.settings.archive_max_ratio * max(1, archive_size):
            raise ArchiveError(
                f"{path.name} expands more than {self.settings.archive_max_ratio} "
                f"times its size ({archive_size} bytes): a likely archive bomb"
            )

    def _check_member_count(self, count: int) -> None:
        if count > self.settings.archive_max_members:
            raise ArchiveError(
                f"archive has more than {self.settings.archive_max_members} members "
                "(SCUT_ARCHIVE_MAX_MEMBERS)"
            )


class _SevenZipPump:
    """Runs py7zr's push-style extraction in a thread and yields its members.

    py7zr writes each member through a factory-made writer; the writer
    passes finished members through a small queue, so at most a few
    members are held at once and the generator can stop extraction early.
    """

    _DONE = object()

    def __init__(
        self,
        reader: ArchiveReader,
        archive: py7zr.SevenZipFile,
        targets: list[str],
        archive_size: int,
    ) -> None:
        self.reader = reader
        self.archive = archive
        self.targets = targets
        self.archive_size = archive_size
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.stopped = threading.Event()

    def events(self) -> Iterator[ArchiveEvent]:
        worker = threading.Thread(target=self._extract, name="7z-extract", daemon=True)
        worker.start()
        try:
            while True:
                item = self.queue.get()
                if item is self._DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stopped.set()
            _drain(self.queue)
            worker.join()
            # The worker may have queued one more member between the first
            # drain and seeing the stop.
            _drain(self.queue)

    def _extract(self) -> None:
        # py7zr checks each member name against the destination folder and
        # follows symbolic links there. Without a destination it checks the
        # current folder, where a link named like a member's folder fails the
        # whole archive. The factory's writers keep every byte, so nothing is
        # written to the destination.
        destination = Path(os.path.abspath(self.reader.store.tmp_dir))
        factory = _SinkFactory(self, destination.as_posix())
        try:
            try:
                self.archive.extract(
                    path=destination, targets=self.targets, factory=factory
                )
                factory.flush_pending()
            finally:
                # A member cut short by an error or a stop is never handed on.
                factory.discard_pending()
        except ArchiveError as error:
            self._put(error)
        except _Stopped:
            pass
        except Exception as error:  # noqa: BLE001 (py7zr raises many kinds)
            self._put(
                ArchiveError(f"7z extraction failed: {type(error).__name__}: {error}")
            )
        self._put(self._DONE)

    def _put(self, item: Any) -> None:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        if item is not self._DONE and not isinstance(item, BaseException):
            if isinstance(item, Member) and item.spool_path is not None:
                item.spool_path.unlink(missing_ok=True)
            raise _Stopped


class _Stopped(Exception):
    pass


class _SinkFactory(py7zr.io.WriterFactory):
    def __init__(self, pump: _SevenZipPump, destination: str) -> None:
        self.pump = pump
        self.prefix = destination.rstrip("/") + "/"
        self.pending: _SevenZipWriter | None = None

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        self.flush_pending()
        # py7zr 1.1 passes the destination joined with the member name.
        name = safe_member_name(filename.removeprefix(self.prefix))
        sink = self.pump.reader._sink(name, self.pump.archive_size)
        self.pending = _SevenZipWriter(sink, self)
        return self.pending

    def flush_pending(self) -> None:
        # py7zr may not call close() on every writer, so a member is handed
        # on when the next one starts or extraction ends.
        if self.pending is not None and not self.pending.handed_on:
            self.pending.hand_on()

    def discard_pending(self) -> None:
        """Delete the spool of a member that was started but not handed on."""
        if self.pending is not None and not self.pending.handed_on:
            self.pending.handed_on = True
            self.pending.sink.discard()
        self.pending = None


class _SevenZipWriter(py7zr.io.Py7zIO):
    def __init__(self, sink: _Sink, factory: _SinkFactory) -> None:
        self.sink = sink
        self.factory = factory
        self.handed_on = False

    def write(self, s: bytes | bytearray) -> int:
        if self.factory.pump.stopped.is_set():
            raise _Stopped
        self.sink.write(bytes(s))
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self.sink.size

    def close(self) -> None:
        if not self.handed_on:
            self.hand_on()

    def hand_on(self) -> None:
        self.handed_on = True
        self.factory.pump._put(self.sink.finish(None))


def _drain(items: queue.Queue[Any]) -> None:
    while True:
        try:
            item = items.get_nowait()
        except queue.Empty:
            return
        if isinstance(item, Member) and item.spool_path is not None:
            item.spool_path.unlink(missing_ok=True)


class _CheckedTarInfo(tarfile.TarInfo):
    """Tar header parser that rejects pax and GNU long-name headers over the limit."""

    # tarfile documents _proc_member() as the method a subclass overrides.
    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _TAR_HEADER_TYPES and self.size > TAR_HEADER_MAX_BYTES:
            raise ArchiveError(
                f"tar extended header of {self.size} bytes is over the limit of "
                f"{TAR_HEADER_MAX_BYTES} bytes; the rest of the archive is not read"
            )
        result: tarfile.TarInfo = super()._proc_member(archive)  # type: ignore[misc]
        return result


def _zip_time(value: tuple[int, int, int, int, int, int]) -> dt.datetime | None:
    try:
        return dt.datetime(*value)
    except ValueError:
        return None


def _tar_time(mtime: float) -> dt.datetime | None:
    if not mtime:
        return None
    try:
        return dt.datetime.fromtimestamp(mtime, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


_COMPRESSED_SUFFIXES = frozenset({".gz", ".tgz", ".bz2", ".xz"})


def _is_tar(path: Path) -> bool:
    """Return whether the decompressed file starts with a tar member header.

    A stream that starts with zero blocks would read as an empty tar. It
    counts as no tar, so its bytes are kept as a single member.
    """
    try:
        with tarfile.open(path, mode="r|*", tarinfo=_CheckedTarInfo) as archive:
            return archive.next() is not None
    except _TAR_ERRORS:
        return False


def _opener_by_magic(path: Path) -> Callable[..., Any]:
    with path.open("rb") as handle:
        head = handle.read(6)
    if head.startswith(b"\x1f\x8b"):
        return gzip.open
    if head.startswith(b"BZh"):
        return bz2.open
    return lzma.open
