"""Walking the folders and files given to ``scut ingest``.

Each file gets its path inside the exhibit: relative to the folder when one
folder is given, or starting with each source's own name when several
sources (or a single file) are given. Symbolic links are never followed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scut.errors import SourceError
from scut.ingest.analyse import FileTask

log = logging.getLogger(__name__)


# Folders deeper than this are reported, not walked: the walk recurses, and
# no real file system layout comes near it.
MAX_FOLDER_DEPTH = 200


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """A directory entry that is not read, with the reason."""

    path: str
    stage: str
    reason: str


@dataclass(frozen=True, slots=True)
class Source:
    """A file or folder to ingest and the prefix its paths get in the exhibit."""

    path: Path
    prefix: str


def plan_sources(paths: list[Path]) -> list[Source]:
    """Check the source paths and choose the exhibit path prefix of each.

    Raises SourceError for a path that does not exist or is not a regular
    file or folder, and when two sources would give the same exhibit paths.
    """
    if not paths:
        raise SourceError("no source given: name at least one file or folder")
    sources: list[Source] = []
    for path in paths:
        if not path.exists():
            raise SourceError(f"source not found: {path}")
        if not (path.is_dir() or path.is_file()):
            raise SourceError(f"source is not a regular file or folder: {path}")
        # The prefix is an exhibit path itself, so it is escaped the same way.
        sources.append(Source(path, printable(path.resolve().name)))
    if len(sources) == 1 and sources[0].path.is_dir():
        return [Source(sources[0].path, "")]
    prefixes = [source.prefix for source in sources]
    duplicates = sorted({prefix for prefix in prefixes if prefixes.count(prefix) > 1})
    if duplicates:
        raise SourceError(
            f"several sources are named {', '.join(duplicates)}; "
            "ingest them as separate exhibits or rename one"
        )
    return sources


def count_files(sources: list[Source]) -> int:
    """Count what :func:`walk_sources` will yield, for the progress bar.

    That is every entry that is not a folder (regular files, links, pipes
    and the like) plus one for each folder that cannot be listed, each of
    which the walk reports once.
    """
    total = 0
    for source in sources:
        if source.path.is_file():
            total += 1
            continue
        folders = [source.path]
        while folders:
            try:
                with os.scandir(folders.pop()) as listing:
                    entries = list(listing)
            except OSError:
                total += 1
                continue
            for entry in entries:
                try:
                    is_folder = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_folder = False
                if is_folder:
                    folders.append(Path(entry.path))
                else:
                    total += 1
    return total


def walk_sources(sources: list[Source]) -> Iterator[FileTask | SkippedEntry]:
    """Yield a task for each regular file under the sources, in sorted order."""
    for source in sources:
        if source.path.is_file():
            yield _file_task(source.path, source.prefix)
            continue
        yield from _walk_folder(source.path, source.path, source.prefix, 0)


def _walk_folder(
    root: Path, folder: Path, prefix: str, depth: int
) -> Iterator[FileTask | SkippedEntry]:
    if depth > MAX_FOLDER_DEPTH:
        reason = f"folder nested more than {MAX_FOLDER_DEPTH} deep; not read"
        yield SkippedEntry(_exhibit_path(root, folder, prefix), "read", reason)
        return
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        yield SkippedEntry(
            _exhibit_path(root, folder, prefix), "read", _os_reason(error)
        )
        return
    for entry in entries:
        path = Path(entry.path)
        exhibit_path = _exhibit_path(root, path, prefix)
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as error:
            yield SkippedEntry(exhibit_path, "read", _os_reason(error))
            continue
        if stat.S_ISLNK(mode):
            try:
                target = os.readlink(path)
            except OSError as error:
                yield SkippedEntry(exhibit_path, "read", _os_reason(error))
                continue
            yield SkippedEntry(
                exhibit_path, "read", f"symbolic link to {target!r}; not followed"
            )
        elif stat.S_ISDIR(mode):
            yield from _walk_folder(root, path, prefix, depth + 1)
        elif stat.S_ISREG(mode):
            yield _file_task(path, exhibit_path)
        else:
            yield SkippedEntry(
                exhibit_path, "read", "special file (device, pipe or socket); not read"
            )


def _file_task(path: Path, exhibit_path: str) -> FileTask:
    try:
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except (OSError, OverflowError, ValueError):
        modified = None
    return FileTask(path=exhibit_path, source_path=path, modified_at=modified)


def _exhibit_path(root: Path, path: Path, prefix: str) -> str:
    relative = path.relative_to(root).as_posix()
    if relative == ".":
        relative = ""
    parts = [part for part in (prefix, relative) if part]
    return printable("/".join(parts) or root.name)


def printable(name: str) -> str:
    """Return a name that any database can store, keeping odd bytes visible.

    Bytes that are not valid UTF-8 (from file systems and archives) become
    ``\\xNN`` escapes, and a NUL, which PostgreSQL text cannot hold, becomes
    ``\\x00``.
    """
    escaped = name.encode("utf-8", "surrogateescape").decode(
        "utf-8", "backslashreplace"
    )
    return escaped.replace("\x00", "\\x00")


def _os_reason(error: OSError) -> str:
    return f"{type(error).__name__}: {error.strerror or error}"
