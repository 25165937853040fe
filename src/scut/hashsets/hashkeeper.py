"""HashKeeper hash sets: a ``.hsh`` file of MD5s and its ``.hke`` description.

The ``.hsh`` file is a comma-separated table with the header
``"file_id","hashset_id","file_name","directory","hash","file_size",
"date_modified","time_modified","time_zone","comments","date_accessed",
"time_accessed"``; ``hash`` is an MD5 in upper-case hex. The ``.hke``
file of the same name beside it describes the set in one row under
``"hashset_id","name","vendor","package","version","authenicated_flag",
"notable_flag","initials","num_of_files","description","date_loaded"``
(the misspelt "authenicated" is the real header). Its fields go into
``details`` when it is there.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator
from pathlib import Path

from scut.hashsets.fields import (
    ByteProgress,
    FieldError,
    csv_rows,
    open_text,
    parse_hex_digest,
    parse_size,
    parse_text,
)
from scut.hashsets.formats import HashSetFormatError
from scut.hashsets.items import BadRecord, HashSetSource, KnownItem

log = logging.getLogger(__name__)

# .hke columns copied into details, under the same names.
DESCRIPTION_FIELDS = (
    "hashset_id",
    "name",
    "vendor",
    "package",
    "version",
    "notable_flag",
    "num_of_files",
    "description",
    "date_loaded",
)


def open_hashkeeper(path: Path) -> HashSetSource:
    """Open a HashKeeper ``.hsh`` file for streaming its rows as KnownItem.

    Raises HashSetFormatError naming the file when its header has no
    ``hash`` column.
    """
    columns = _read_columns(path)
    if "hash" not in columns:
        raise HashSetFormatError(
            f"{path}: not a HashKeeper .hsh file: the header has no 'hash' column"
        )
    details = _read_description(path)
    progress = ByteProgress()
    return HashSetSource(
        format="hashkeeper",
        items=_read_rows(path, columns, progress),
        total_bytes=path.stat().st_size,
        bytes_read=progress,
        details=details,
    )


def _read_columns(path: Path) -> dict[str, int]:
    """Return the first row's names in lower case, mapped to their index."""
    with path.open("rb") as raw, open_text(raw) as handle:
        first = next(csv_rows(handle), None)
    if first is None or isinstance(first[1], BadRecord):
        return {}
    return {name.strip().lower(): index for index, name in enumerate(first[1])}


def _find_description(path: Path) -> Path | None:
    """Return the ``.hke`` file beside ``path``, in any letter case."""
    for candidate in path.parent.glob(glob.escape(path.stem) + ".*"):
        if candidate.suffix.lower() == ".hke" and candidate.is_file():
            return candidate
    return None


def _read_description(path: Path) -> dict[str, str]:
    description = _find_description(path)
    if description is None:
        log.info("HashKeeper set %s has no .hke file beside it", path)
        return {}
    columns = _read_columns(description)
    with description.open("rb") as raw, open_text(raw) as handle:
        rows = csv_rows(handle)
        next(rows, None)  # the header
        first = next(rows, None)
    if first is None or isinstance(first[1], BadRecord):
        log.warning("HashKeeper description %s has no readable row", description)
        return {}
    row = first[1]
    details = {"description_file": description.name}
    for name in DESCRIPTION_FIELDS:
        index = columns.get(name)
        if index is not None and index < len(row) and row[index].strip():
            details[name] = row[index].strip()
    return details


def _read_rows(
    path: Path, columns: dict[str, int], progress: ByteProgress
) -> Iterator[KnownItem | BadRecord]:
    with path.open("rb") as raw, open_text(raw) as handle:
        progress.attach(raw)
        try:
            rows = csv_rows(handle)
            next(rows, None)  # the header
            for location, row in rows:
                if isinstance(row, BadRecord):
                    yield row
                else:
                    yield _parse_row(row, columns, location)
        finally:
            progress.detach()


def _parse_row(
    row: list[str], columns: dict[str, int], location: str
) -> KnownItem | BadRecord:
    def cell(name: str) -> str | None:
        index = columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    try:
        md5 = parse_hex_digest("hash", cell("hash"), "md5")
        item = KnownItem(
            hashes=[("md5", md5)] if md5 else [],
            file_name=parse_text("file_name", cell("file_name")),
            media_size=parse_size("file_size", cell("file_size")),
            comments=parse_text("comments", cell("comments")),
            location=location,
        )
    except FieldError as error:
        return BadRecord(location, str(error))
    if not item.hashes:
        return BadRecord(location, "no MD5 in the 'hash' column")
    return item
