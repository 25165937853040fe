"""MD5, SHA-1 and SHA-256 computed together over one pass of the bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Digests:
    """The three digests of a file, as lower-case hex."""

    md5: str
    sha1: str
    sha256: str


class DigestSet:
    """Feeds the same chunks to MD5, SHA-1 and SHA-256."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        """Add ``chunk`` to the three digests."""
        self._md5.update(chunk)
        self._sha1.update(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    def result(self) -> Digests:
        """Return the digests of everything added so far."""
        return Digests(
            md5=self._md5.hexdigest(),
            sha1=self._sha1.hexdigest(),
            sha256=self._sha256.hexdigest(),
        )


def digest_bytes(data: bytes | bytearray | memoryview) -> Digests:
    """Return the three digests of ``data``."""
    digests = DigestSet()
    digests.update(data)
    return digests.result()
