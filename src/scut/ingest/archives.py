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
import tarfile
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


class ExpansionBudget:
    """Bytes one archive, its nested archives included, may still expand to."""

    def __init__(self, settings: Settings) -> None:
        self.remaining = settings.archive_max_total_bytes
        self.limit = settings.archive_max_total_bytes

    def spend(self, count: int) -> None:
        """Count ``count`` more decompressed bytes; raise once over the limit."""
        self.remaining -= count
        if self.remaining < 0:
            raise ArchiveError(
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
        handle = (
            self.store.tmp_dir
            / f"{os.getpid()}-member-{threading.get_ident()}-{id(self)}"
        )
        self.spool_path = handle
        self.spool = handle.open("wb")
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
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise ArchiveError(f"unreadable zip: {error}") from error
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
        except ArchiveError as error:
            if "in total" in error.reason:
                raise
            return RejectedMember(name, error.reason)
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            ValueError,
            NotImplementedError,
            zlib.error,
        ) as error:
            return RejectedMember(
                name, f"unreadable member: {type(error).__name__}: {error}"
            )

    def _tar_members(self, path: Path) -> Iterator[ArchiveEvent]:
        try:
            archive = tarfile.open(path, mode="r|*")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise ArchiveError(f"unreadable tar: {error}") from error
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
            except (
                tarfile.TarError,
                OSError,
                EOFError,
                zlib.error,
                lzma.LZMAError,
            ) as error:
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
        modified = dt.datetime.fromtimestamp(info.mtime, dt.UTC) if info.mtime else None
        try:
            # Tar members carry no compressed size; the archive's size bounds it.
            return self._read_stream(name, stream, archive_size, modified)
        except ArchiveError as error:
            if "in total" in error.reason:
                raise
            return RejectedMember(name, error.reason)

    def _compressed_members(self, path: Path) -> Iterator[ArchiveEvent]:
        if _is_tar(path):
            yield from self._tar_members(path)
            return
        openers = {
            ".gz": gzip.open,
            ".tgz": gzip.open,
            ".bz2": bz2.open,
            ".xz": lzma.open,
        }
        suffix = path.suffix.lower()
        opener = openers.get(suffix) or _opener_by_magic(path)
        name = path.stem if suffix in openers else f"{path.name}.out"
        try:
            with opener(path, "rb") as stream:
                yield self._read_stream(name, stream, path.stat().st_size, None)
        except ArchiveError as error:
            if "in total" in error.reason:
                raise
            yield RejectedMember(name, error.reason)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as error:
            raise ArchiveError(f"unreadable compressed stream: {error}") from error

    def _7z_members(self, path: Path) -> Iterator[ArchiveEvent]:
        try:
            archive = py7zr.SevenZipFile(path, mode="r")
        except py7zr.exceptions.PasswordRequired as error:
            raise ArchiveError(
                "encrypted 7z archive (names encrypted); not read"
            ) from error
        except (
            py7zr.exceptions.ArchiveError,
            OSError,
            EOFError,
            ValueError,
            KeyError,
        ) as error:
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

    def _extract(self) -> None:
        factory = _SinkFactory(self)
        try:
            self.archive.extract(targets=self.targets, factory=factory)
            factory.flush_pending()
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
    def __init__(self, pump: _SevenZipPump) -> None:
        self.pump = pump
        self.pending: _SevenZipWriter | None = None

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        self.flush_pending()
        sink = self.pump.reader._sink(
            safe_member_name(filename), self.pump.archive_size
        )
        self.pending = _SevenZipWriter(sink, self)
        return self.pending

    def flush_pending(self) -> None:
        # py7zr may not call close() on every writer, so a member is handed
        # on when the next one starts or extraction ends.
        if self.pending is not None and not self.pending.handed_on:
            self.pending.hand_on()


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


def _zip_time(value: tuple[int, int, int, int, int, int]) -> dt.datetime | None:
    try:
        return dt.datetime(*value)
    except ValueError:
        return None


def _is_tar(path: Path) -> bool:
    try:
        with tarfile.open(path, mode="r|*") as archive:
            archive.next()
        return True
    except (tarfile.TarError, OSError, EOFError, lzma.LZMAError, zlib.error):
        return False


def _opener_by_magic(path: Path) -> Callable[..., IO[bytes]]:
    with path.open("rb") as handle:
        head = handle.read(6)
    if head.startswith(b"\x1f\x8b"):
        return gzip.open
    if head.startswith(b"BZh"):
        return bz2.open
    return lzma.open
