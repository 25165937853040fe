"""Field values shared by the hash set readers: hashes, flags, sizes, text.

Each parser takes the raw value a file gives (a JSON value, a CSV cell or
an SQLite column) and returns the normalised value, or None where the file
left the field empty. A value that cannot be read raises FieldError, which
the reader turns into a BadRecord naming the field.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import string
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO

from scut.hashsets.items import BadRecord

# Lengths in hex digits of the digests that have a fixed size.
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}

# A PhotoDNA hash is 144 bytes: 288 hex digits or 192 base64 characters.
PHOTODNA_BYTES = 144

_HEX_DIGITS = frozenset(string.hexdigits)
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


class FieldError(ValueError):
    """Raised for a field value that a reader cannot use."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _shorten(value: str, limit: int = 80) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _as_text(field: str, value: object) -> str | None:
    """Return ``value`` stripped, None for None or an empty string."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(field, f"expected a string, got {type(value).__name__}")
    text = value.strip()
    return text or None


def parse_hex_digest(field: str, value: object, algorithm: str) -> str | None:
    """Return the lower-case hex digest of ``algorithm``, None if empty.

    Raises FieldError when the value is not exactly as many hex digits as
    the algorithm's digest has (see HEX_LENGTHS).
    """
    text = _as_text(field, value)
    if text is None:
        return None
    length = HEX_LENGTHS[algorithm]
    if len(text) != length or not _HEX_DIGITS.issuperset(text):
        raise FieldError(
            field,
            f"invalid {algorithm.upper()} hash {_shorten(text)}: expected "
            f"{length} hex digits, got {len(text)} characters",
        )
    return text.lower()


def parse_free_hex(field: str, value: object) -> str | None:
    """Return a hex value of any even length in lower case, None if empty.

    For hashes whose length Scut does not check, such as ZZ40.
    """
    text = _as_text(field, value)
    if text is None:
        return None
    if len(text) % 2 or not _HEX_DIGITS.issuperset(text):
        raise FieldError(
            field, f"invalid hex value {_shorten(text)}: expected pairs of hex digits"
        )
    return text.lower()


def parse_photodna(field: str, value: object) -> str | None:
    """Return a PhotoDNA hash as 288 lower-case hex digits, None if empty.

    Accepts the 288 hex digits or the 192 base64 characters of the 144
    hash bytes. Raises FieldError for anything else.
    """
    text = _as_text(field, value)
    if text is None:
        return None
    if len(text) == 2 * PHOTODNA_BYTES and _HEX_DIGITS.issuperset(text):
        return text.lower()
    if len(text) == 4 * PHOTODNA_BYTES // 3:
        try:
            raw = base64.b64decode(text, validate=True)
        except binascii.Error:
            raw = b""
        if len(raw) == PHOTODNA_BYTES:
            return raw.hex()
    raise FieldError(
        field,
        f"invalid PhotoDNA hash {_shorten(text)}: expected {2 * PHOTODNA_BYTES} "
        f"hex digits or {4 * PHOTODNA_BYTES // 3} base64 characters, "
        f"got {len(text)} characters",
    )


def parse_flag(field: str, value: object) -> bool | None:
    """Return a yes/no field as a bool, None when the file left it empty.

    Accepts JSON booleans, 0 and 1, and the words true/false, t/f, yes/no,
    y/n and 1/0 in any case. Raises FieldError for other values.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if not word:
            return None
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise FieldError(field, f"invalid yes/no value {value!r}")


def parse_size(field: str, value: object) -> int | None:
    """Return a size in bytes from a number or a numeric string, None if empty.

    Raises FieldError for a negative, fractional or non-numeric value.
    """
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, Decimal) and value == value.to_integral_value():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.isascii() and text.isdigit():
            number = int(text)
    if number is None or number < 0:
        raise FieldError(field, f"invalid size {value!r}: expected a whole number")
    return number


def parse_text(field: str, value: object) -> str | None:
    """Return a text field stripped, None when it is missing or blank.

    Numbers become their decimal text, and a list of strings is joined
    with ", ". Raises FieldError for other JSON types.
    """
    if value is None or isinstance(value, str):
        return _as_text(field, value)
    if isinstance(value, bool):
        raise FieldError(field, f"expected text, got {value!r}")
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        joined = ", ".join(part.strip() for part in value if part.strip())
        return joined or None
    raise FieldError(field, f"expected text, got {type(value).__name__}")


class ByteProgress:
    """How many bytes of a file a reader has consumed, for ``bytes_read``.

    The reader attaches its binary handle while it reads and detaches it
    when it closes the file, after which the last position is kept.
    """

    def __init__(self) -> None:
        self._handle: IO[bytes] | None = None
        self._position = 0

    def attach(self, handle: IO[bytes]) -> None:
        """Report positions of ``handle`` until ``detach`` is called."""
        self._handle = handle

    def detach(self) -> None:
        """Keep the position reached so far and stop reading the handle."""
        if self._handle is not None and not self._handle.closed:
            self._position = self._handle.tell()
        self._handle = None

    def __call__(self) -> int:
        handle = self._handle
        if handle is not None and not handle.closed:
            return handle.tell()
        return self._position


def open_text(handle: IO[bytes]) -> io.TextIOWrapper:
    """Wrap a binary handle as UTF-8 text for the csv module.

    A UTF-8 BOM is skipped. Bytes that are not UTF-8 become U+FFFD, so one
    badly encoded file name cannot stop a set of millions. Hash fields are
    ASCII and are validated after decoding, so a damaged hash is still
    reported.
    """
    return io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="")


def csv_rows(
    handle: IO[str], delimiter: str = ","
) -> Iterator[tuple[str, list[str] | BadRecord]]:
    """Yield ("line N", row) for each row of a CSV file that is not blank.

    N is the line on which the row ends. A row the csv module rejects
    (such as a field over its size limit) comes as a BadRecord, and reading
    goes on with the next line.
    """
    reader = csv.reader(handle, delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            location = f"line {reader.line_num}"
            yield location, BadRecord(location, f"unreadable CSV row: {error}")
            continue
        if any(cell.strip() for cell in row):
            yield f"line {reader.line_num}", row


def read_head(path: Path, size: int = 65536) -> bytes:
    """Return the first ``size`` bytes of ``path`` for format detection."""
    with path.open("rb") as handle:
        return handle.read(size)
