"""The sealed file format: content in AES-256-GCM segments under one data key.

A sealed file is a header followed by segments::

    header   magic "SCUTBLOB" | format version (1 byte) |
             segment size (4 bytes, big-endian) | blob id (16 random bytes)
    segment  AES-GCM ciphertext of ``segment size`` plaintext bytes + 16-byte tag
    ...
    last     AES-GCM ciphertext of 0 to ``segment size - 1`` bytes + tag

Segment ``i`` is sealed with nonce ``blob id[:8] | i`` (4 bytes, big-endian)
and associated data ``header | name | i | last flag``. The name is the
file name of the blob (``<sha256>`` or ``<sha256>.thumb.jpg``), so a
segment moved to another place in the file or to another file fails its
tag. So does a file cut short: its new last segment was sealed without the
last flag, and the last segment is never full. Each file has its own random
data key, so a segment copied from another file fails too.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scut.errors import ScutError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

MAGIC = b"SCUTBLOB"
FORMAT_VERSION = 1
SEGMENT_SIZE = 1024 * 1024
MIN_SEGMENT_SIZE = 1024
MAX_SEGMENT_SIZE = 64 * 1024 * 1024
TAG_BYTES = 16
BLOB_ID_BYTES = 16
DATA_KEY_BYTES = 32
# The segment counter in the nonce has 4 bytes: 2**32 segments of 1 MiB
# make 4 PiB.
MAX_SEGMENTS = 2**32

_HEADER = struct.Struct(">8sBI16s")
HEADER_BYTES = _HEADER.size


class BlobError(ScutError, OSError):
    """Raised when a sealed file is damaged, truncated, altered or has no data key.

    It is an OSError as well, so that callers which treat an unreadable
    blob as a missing one (the matcher's thumbnails, rematch's originals)
    log it and go on, while the command line reports it as a ScutError.
    """


@dataclass(frozen=True, slots=True)
class SealedHeader:
    """The header of a sealed file: segment size and the random blob id."""

    segment_size: int
    blob_id: bytes

    def pack(self) -> bytes:
        """Return the header's bytes as they start the file."""
        return _HEADER.pack(MAGIC, FORMAT_VERSION, self.segment_size, self.blob_id)

    @classmethod
    def parse(cls, raw: bytes, name: str) -> SealedHeader:
        """Read a header; raise BlobError naming the file when it is invalid."""
        if len(raw) < HEADER_BYTES or not raw.startswith(MAGIC):
            raise BlobError(f"sealed blob {name} has no valid header")
        _magic, version, segment_size, blob_id = _HEADER.unpack(raw[:HEADER_BYTES])
        if version != FORMAT_VERSION:
            raise BlobError(
                f"sealed blob {name} has format version {version}; this Scut "
                f"reads version {FORMAT_VERSION} only, so upgrade Scut"
            )
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
            raise BlobError(
                f"sealed blob {name} has an invalid segment size of "
                f"{segment_size} bytes; its header is damaged"
            )
        return cls(segment_size, blob_id)


def is_sealed(head: bytes) -> bool:
    """Return whether bytes read from the start of a file begin a sealed file."""
    return head.startswith(MAGIC)


class SegmentWriter:
    """Writer that seals the plaintext written to it into segments on ``target``.

    The header is written at once. :meth:`finish` writes the last segment;
    ``sha256`` and ``size`` then describe the plaintext.
    """

    def __init__(
        self,
        target: BinaryIO,
        data_key: bytes,
        name: str,
        *,
        segment_size: int = SEGMENT_SIZE,
    ) -> None:
        self.target = target
        self.header = SealedHeader(segment_size, os.urandom(BLOB_ID_BYTES))
        self.size = 0
        self._aead = AESGCM(data_key)
        self._packed = self.header.pack()
        self._name = name.encode("utf-8")
        self._pending = bytearray()
        self._index = 0
        self._digest = hashlib.sha256()
        self._finished = False
        target.write(self._packed)

    @property
    def sha256(self) -> str:
        """Return the SHA-256 of the plaintext written so far, in hex."""
        return self._digest.hexdigest()

    def write(self, data: ReadableBuffer) -> None:
        """Add plaintext; every full segment is sealed and written at once."""
        if self._finished:
            raise ValueError("write to a finished sealed file")
        view = memoryview(data).cast("B")
        self._digest.update(view)
        self.size += len(view)
        segment_size = self.header.segment_size
        start = 0
        if self._pending:
            start = min(segment_size - len(self._pending), len(view))
            self._pending += view[:start]
            if len(self._pending) == segment_size:
                self._seal(self._pending, last=False)
                self._pending = bytearray()
        while len(view) - start >= segment_size:
            self._seal(view[start : start + segment_size], last=False)
            start += segment_size
        self._pending += view[start:]

    def finish(self) -> None:
        """Seal and write the last segment, which may be empty."""
        if not self._finished:
            self._seal(self._pending, last=True)
            self._pending = bytearray()
            self._finished = True

    def _seal(self, plain: ReadableBuffer, *, last: bool) -> None:
        if self._index >= MAX_SEGMENTS:
            raise BlobError(
                f"sealed blob {self._name.decode()} would need more than "
                f"{MAX_SEGMENTS} segments"
            )
        nonce, associated = _segment_inputs(
            self.header.blob_id, self._packed, self._name, self._index, last
        )
        self.target.write(self._aead.encrypt(nonce, bytes(plain), associated))
        self._index += 1


class SegmentReader(io.RawIOBase):
    """Reader of a sealed file's plaintext, which opens one segment at a time.

    Seeking is cheap: only the segment that holds the position is read and
    authenticated. Memory stays at one segment whatever the file's size.
    Raises BlobError on the first segment that fails authentication.
    """

    def __init__(
        self,
        source: BinaryIO,
        data_key: bytes,
        name: str,
        header: SealedHeader,
        file_size: int,
    ) -> None:
        super().__init__()
        self.source = source
        self.name_text = name
        self.header = header
        self._aead = AESGCM(data_key)
        self._packed = header.pack()
        self._name = name.encode("utf-8")
        self._unit = header.segment_size + TAG_BYTES
        body = file_size - HEADER_BYTES
        self._count = body // self._unit + 1
        if body < 0 or body % self._unit < TAG_BYTES:
            raise BlobError(
                f"sealed blob {name} is truncated: {file_size} bytes cannot end "
                "in a last segment; restore it from a backup"
            )
        self.plaintext_size = body - self._count * TAG_BYTES
        self._position = 0
        self._cached_index = -1
        self._cached = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self.plaintext_size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        if self._position >= self.plaintext_size or not len(target):
            return 0
        index, offset = divmod(self._position, self.header.segment_size)
        plain = self._segment(index)
        count = min(len(target), len(plain) - offset)
        target[:count] = plain[offset : offset + count]
        self._position += count
        return count

    def readall(self) -> bytes:
        parts: list[bytes] = []
        while self._position < self.plaintext_size:
            index, offset = divmod(self._position, self.header.segment_size)
            part = self._segment(index)[offset:]
            parts.append(part)
            self._position += len(part)
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            self.source.close()
        super().close()

    def _segment(self, index: int) -> bytes:
        if index == self._cached_index:
            return self._cached
        self.source.seek(HEADER_BYTES + index * self._unit)
        sealed = self.source.read(self._unit)
        last = index == self._count - 1
        nonce, associated = _segment_inputs(
            self.header.blob_id, self._packed, self._name, index, last
        )
        try:
            plain = self._aead.decrypt(nonce, sealed, associated)
        except InvalidTag as error:
            raise BlobError(
                f"sealed blob {self.name_text}: segment {index + 1} of "
                f"{self._count} failed authentication, so the file is damaged, "
                "truncated or was altered; restore it from a backup"
            ) from error
        self._cached_index, self._cached = index, plain
        return plain


def open_sealed(source: BinaryIO, data_key: bytes, name: str) -> BinaryIO:
    """Return a buffered plaintext reader over an open sealed file.

    The reader closes ``source`` when it is closed. Raises BlobError when
    the header or the file's length is invalid.
    """
    source.seek(0)
    header = SealedHeader.parse(source.read(HEADER_BYTES), name)
    size = os.fstat(source.fileno()).st_size
    return io.BufferedReader(SegmentReader(source, data_key, name, header, size))


def open_sealed_path(path: Path, data_key: bytes, name: str) -> BinaryIO:
    """Open the sealed file at ``path`` for reading; see :func:`open_sealed`."""
    source = path.open("rb")
    try:
        return open_sealed(source, data_key, name)
    except BaseException:
        source.close()
        raise


def _segment_inputs(
    blob_id: bytes, header: bytes, name: bytes, index: int, last: bool
) -> tuple[bytes, bytes]:
    nonce = blob_id[:8] + index.to_bytes(4, "big")
    associated = b"".join(
        (
            header,
            len(name).to_bytes(2, "big"),
            name,
            index.to_bytes(8, "big"),
            b"\x01" if last else b"\x00",
        )
    )
    return nonce, associated
