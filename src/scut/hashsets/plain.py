"""Plain hash lists: md5sum, sha1sum and sha256sum output, or one hash per line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scut.errors import ConfigurationError, ScutError
from scut.hashsets.fields import HEX_LENGTHS, ByteProgress, open_text
from scut.hashsets.items import BadRecord, HashSetSource, KnownItem

log = logging.getLogger(__name__)

ALGORITHM_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
# Algorithms a caller may force for every line of a list.
PLAIN_ALGORITHMS = ("md5", "sha1", "sha256", "pdq")
_LINE = re.compile(
    r"^\\?([0-9A-Fa-f]{32}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})(?:\s+\*?(.*))?$"
)


@dataclass(frozen=True, slots=True)
class PlainEntry:
    """One hash from a plain list, with the file name beside it if any."""

    algorithm: str
    value: str
    name: str | None
    line_number: int


class HashListError(ScutError):
    """Raised for a line of a hash list that is not a hash."""


def is_plain_line(text: str) -> bool:
    """Return whether ``text`` (one stripped line) reads as a plain list entry."""
    return _LINE.match(text) is not None


def _check_algorithm(algorithm: str | None) -> str | None:
    if algorithm is None:
        return None
    name = algorithm.strip().lower()
    if name not in PLAIN_ALGORITHMS:
        raise ConfigurationError(
            f"unknown algorithm {algorithm!r} for a plain hash list; use one of "
            f"{', '.join(PLAIN_ALGORITHMS)}"
        )
    return name


def read_plain_records(
    path: Path, algorithm: str | None = None, progress: ByteProgress | None = None
) -> Iterator[PlainEntry | BadRecord]:
    """Yield the hashes of a plain list, streaming it line by line.

    Blank lines and lines starting with ``#`` are skipped. A line that is
    not a hash becomes a BadRecord ("line N: ...") and reading goes on.
    The algorithm follows from the hash length (32 MD5, 40 SHA-1, 64
    SHA-256) unless ``algorithm`` names one of PLAIN_ALGORITHMS, in which
    case a line of another length is a BadRecord. Raises ConfigurationError
    for an unknown ``algorithm`` before reading.
    """
    forced = _check_algorithm(algorithm)
    return _read_records(path, forced, progress or ByteProgress())


def _read_records(
    path: Path, forced: str | None, progress: ByteProgress
) -> Iterator[PlainEntry | BadRecord]:
    with path.open("rb") as raw, open_text(raw) as handle:
        progress.attach(raw)
        try:
            for number, line in enumerate(handle, start=1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                yield _parse_line(text, number, forced)
        finally:
            progress.detach()


def _parse_line(text: str, number: int, forced: str | None) -> PlainEntry | BadRecord:
    location = f"line {number}"
    match = _LINE.match(text)
    if match is None:
        return BadRecord(location, f"not an MD5, SHA-1 or SHA-256 hash: {text[:80]!r}")
    value = match.group(1).lower()
    algorithm = forced or ALGORITHM_BY_LENGTH[len(value)]
    if len(value) != HEX_LENGTHS[algorithm]:
        return BadRecord(
            location,
            f"expected a {algorithm.upper()} hash of {HEX_LENGTHS[algorithm]} hex "
            f"digits, got {len(value)}: {value!r}",
        )
    return PlainEntry(algorithm, value, match.group(2), number)


def read_plain_list(path: Path) -> Iterator[PlainEntry]:
    """Yield the hashes of a plain list, streaming it line by line.

    Blank lines and lines starting with ``#`` are skipped. Raises
    HashListError naming the file and line for anything else, after the
    entries before it were yielded.
    """
    for record in read_plain_records(path):
        if isinstance(record, BadRecord):
            raise HashListError(f"{path}, {record.location}: {record.reason}")
        yield record


def open_plain_list(path: Path, algorithm: str | None = None) -> HashSetSource:
    """Open a plain hash list as a HashSetSource of KnownItem and BadRecord.

    ``algorithm`` forces the algorithm of every line, as in
    ``read_plain_records``. Raises ConfigurationError for an unknown one.
    """
    progress = ByteProgress()
    records = read_plain_records(path, algorithm, progress)
    details = {"algorithm": algorithm.strip().lower()} if algorithm else {}
    return HashSetSource(
        format="plain",
        items=_to_items(records),
        total_bytes=path.stat().st_size,
        bytes_read=progress,
        details=details,
    )


def _to_items(
    records: Iterator[PlainEntry | BadRecord],
) -> Iterator[KnownItem | BadRecord]:
    for record in records:
        if isinstance(record, BadRecord):
            yield record
            continue
        yield KnownItem(
            hashes=[(record.algorithm, record.value)],
            file_name=record.name,
            location=f"line {record.line_number}",
        )
