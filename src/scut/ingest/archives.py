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
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import py7zr
import py7zr.exceptions

from scut.errors import ArchiveError
from scut.ingest.members import (
    ArchiveEvent,
    BudgetExceeded,
    ExpansionBudget,
    Member,
    MemberSink,
    RejectedMember,
    safe_member_name,
)
from scut.ingest.sevenzip import SevenZipPump
from scut.settings import Settings
from scut.storage.blobs import FileBlobStore

__all__ = [
    "ArchiveEvent",
    "ArchiveReader",
    "BudgetExceeded",
    "ExpansionBudget",
    "Member",
    "RejectedMember",
    "safe_member_name",
]

log = logging.getLogger(__name__)

READ_CHUNK = 1024 * 1024

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
# Exceptions zipfile raises on damaged archives and members, besides BadZipFile.
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
    ValueError,  # a malformed pax sparse map
    TypeError,
    zlib.error,
    lzma.LZMAError,
)


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

    def _sink(self, name: str, compressed_size: int | None) -> MemberSink:
        return MemberSink(name, self.settings, self.store, self.budget, compressed_size)

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
            archive_size = path.stat().st_size
            expanded = 0
            for info in infos:
                if info.is_dir() and info.file_size == 0:
                    continue
                event = self._zip_member(archive, info)
                if isinstance(event, Member):
                    # Declared sizes can lie, and entries can overlap, so the
                    # bytes actually read are held against the file's size.
                    # Measured before the member is handed on: its spool file
                    # may be read and removed as soon as it is yielded.
                    expanded += _event_size(event)
                    try:
                        self._check_archive_ratio(path, expanded, archive_size)
                    except ArchiveError:
                        if event.spool_path is not None:
                            event.spool_path.unlink(missing_ok=True)
                        raise
                yield event

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
                    # The stream reader keeps every header it has read; an
                    # archive of a million entries would keep them all.
                    archive.members = []  # type: ignore[attr-defined]
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
            yield from SevenZipPump(
                self._sink,
                self.store.tmp_dir,
                archive,
                targets,
                path.stat().st_size,
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


def _event_size(member: Member) -> int:
    if member.data is not None:
        return len(member.data)
    if member.spool_path is not None:
        return member.spool_path.stat().st_size
    return 0


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
