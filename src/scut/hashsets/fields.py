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
import re
import string
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO

from scut.hashsets.items import BadRecord

# Lengths in hex digits of the digests that have a fixed size.
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}

# A PhotoDNA hash is 144 bytes: 288 hex digits or 192 base64 characters.
PHOTODNA_BYTES = 144

# The largest size stored: hash_entries.media_size is a signed 64-bit
# BigInteger on SQLite and PostgreSQL.
MAX_SIZE = 2**63 - 1
# Every whole number a reader takes (sizes, category codes) has fewer
# digits than this; see ``whole_number``.
MAX_WHOLE_DIGITS = 19
_HUGE: int = 10**MAX_WHOLE_DIGITS

_HEX_DIGITS = frozenset(string.hexdigits)
_WHOLE_TEXT = re.compile(r"-?[0-9]+")
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


class FieldError(ValueError):
    """Raised for a field value that a reader cannot use."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _shorten(value: str, limit: int = 80) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def quote_value(value: object) -> str:
    """Return ``value`` for a message: a string quoted, anything clipped to 80."""
    if isinstance(value, str):
        return _shorten(value)
    text = str(value)
    return text if len(text) <= 80 else text[:80] + "..."


def whole_number(value: object) -> int | None:
    """Return ``value`` as an int when it is a whole number, else None.

    Takes an int (not a bool), an integral Decimal as ijson gives for
    ``2.0`` or ``1e3``, or a string of ASCII digits with an optional
    leading "-". A magnitude of 10^19 or more comes back as 10^19 or
    -10^19, which is out of range for every field read here, so that
    ``1e999999999`` is never expanded into a billion-digit int.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return _whole_decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if _WHOLE_TEXT.fullmatch(text) is None:
            return None
        if len(text.lstrip("-").lstrip("0")) > MAX_WHOLE_DIGITS:
            return -_HUGE if text[0] == "-" else _HUGE
        return int(text)
    return None


def _whole_decimal(value: Decimal) -> int | None:
    if not value.is_finite():
        return None
    if value.is_zero():
        return 0
    if value.adjusted() >= MAX_WHOLE_DIGITS:
        return -_HUGE if value < 0 else _HUGE
    if value != value.to_integral_value():
        return None
    return int(value)


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
    raise FieldError(field, f"invalid yes/no value {quote_value(value)}")


def parse_size(field: str, value: object) -> int | None:
    """Return a size in bytes from a number or a numeric string, None if empty.

    Raises FieldError for a negative, fractional or non-numeric value, and
    for a size above MAX_SIZE, which the database cannot store.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = whole_number(value)
    if number is None or number < 0:
        raise FieldError(
            field, f"invalid size {quote_value(value)}: expected a whole number"
        )
    if number > MAX_SIZE:
        raise FieldError(
            field,
            f"size {quote_value(value)} is out of range: the largest size "
            f"stored is 2^63 - 1 = {MAX_SIZE} bytes",
        )
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

    A quoted field may hold line breaks, but a quote left open swallows the
    rows after it. So when a row runs over several lines and fails, or a
    line after its first has at least as many delimiters as a row of the
    header's width, the quote is taken as unbalanced: the row's first line
    comes as a BadRecord and reading starts again at the line after it.
    """
    lines = _LineFeed(handle)
    reader = csv.reader(lines, delimiter=delimiter)
    width: int | None = None
    while True:
        lines.start_row()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if len(lines.row_lines) > 1:
                yield lines.unbalanced_quote(f"where the csv module failed: {error}")
            else:
                location = f"line {lines.last_number}"
                yield location, BadRecord(location, f"unreadable CSV row: {error}")
            continue
        if width is not None and lines.runs_into_rows(width - 1, delimiter):
            yield lines.unbalanced_quote("over lines that read as rows of their own")
            continue
        if any(cell.strip() for cell in row):
            width = width or len(row)
            yield f"line {lines.last_number}", row


class _LineFeed:
    """The lines of a text file for csv.reader, numbered, with a way back.

    ``row_lines`` contains the numbered lines of the row being read, so that a row
    found broken can be read again from its second line.
    """

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self._count = 0
        self._again: deque[tuple[int, str]] = deque()
        self.row_lines: list[tuple[int, str]] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self._again:
            numbered = self._again.popleft()
        else:
            line = next(self._handle)  # StopIteration ends the reader
            self._count += 1
            numbered = (self._count, line)
        self.row_lines.append(numbered)
        return numbered[1]

    @property
    def last_number(self) -> int:
        return self.row_lines[-1][0] if self.row_lines else self._count

    def start_row(self) -> None:
        self.row_lines = []

    def runs_into_rows(self, delimiters: int, delimiter: str) -> bool:
        """Return whether a line after the row's first has ``delimiters`` or more."""
        return any(
            line.count(delimiter) >= delimiters for _, line in self.row_lines[1:]
        )

    def unbalanced_quote(self, evidence: str) -> tuple[str, BadRecord]:
        """Report the row's first line and queue the lines after it again.

        ``evidence`` is what shows the quote to be unbalanced, for the message.
        """
        first, last = self.row_lines[0][0], self.row_lines[-1][0]
        self._again.extendleft(reversed(self.row_lines[1:]))
        location = f"line {first}"
        return location, BadRecord(
            location,
            f"unbalanced quote: a quoted field starts on this line and runs on "
            f"to line {last}, {evidence}; this line is left out and reading goes on "
            f"at line {first + 1}",
        )


def read_head(path: Path, size: int = 65536) -> bytes:
    """Return the first ``size`` bytes of ``path`` for format detection."""
    with path.open("rb") as handle:
        return handle.read(size)
