"""Plain hash lists: md5sum, sha1sum and sha256sum output, or one hash per line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scut.errors import ScutError

log = logging.getLogger(__name__)

ALGORITHM_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
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


def read_plain_list(path: Path) -> Iterator[PlainEntry]:
    """Yield the hashes of a plain list, streaming it line by line.

    Blank lines and lines starting with ``#`` are skipped. Raises
    HashListError naming the file and line for anything else.
    """
    with path.open("r", encoding="utf-8-sig", errors="strict") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            match = _LINE.match(text)
            if match is None:
                raise HashListError(
                    f"{path}, line {number}: not an MD5, SHA-1 or SHA-256 hash: "
                    f"{text[:80]!r}"
                )
            value = match.group(1).lower()
            yield PlainEntry(
                ALGORITHM_BY_LENGTH[len(value)], value, match.group(2), number
            )
