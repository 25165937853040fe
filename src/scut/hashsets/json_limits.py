"""A byte filter that rejects JSON too deep or with over-long numbers.

ijson's C backend (yajl2_c, ijson 3.6.0) is unsafe on some valid JSON:

- An integer of more than 4,300 digits makes it crash with SIGSEGV,
  because CPython refuses to convert so long a string to int and the
  backend does not check for that error.
- Every level of nesting adds a prefix string that contains the whole
  path, so memory grows with the square of the depth: a 120 KB file of nested
  brackets takes 8.9 GB.

``LimitedJsonReader`` wraps the binary file that ijson reads and checks
each chunk before ijson parses it. It tracks string state, nesting depth and
the length of the number token in progress across chunks, so its memory
does not depend on the file. The common path handles a chunk with a few
bytes methods (split, translate) and one numpy cumulative sum. Only a
chunk that breaks a limit is walked byte by byte, to find the exact
position for the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, NoReturn

import numpy as np

from scut.hashsets.formats import HashSetFormatError

# A VICS case export nests 7 levels (document, value, case, Media, media,
# MediaFiles, file), so 64 leaves room for writers' extensions while it
# bounds ijson's prefix memory.
MAX_DEPTH = 64
# VICS numbers (Category, MediaSize, flags as 0/1, MediaID) fit in 20
# digits; 100 characters also admits a long decimal fraction.
MAX_NUMBER_CHARS = 100

_QUOTE = ord('"')
_BACKSLASH = ord("\\")
_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")
_NUMBER_CHARS = b"+-.0123456789Ee"
_NUMBER_BYTES = frozenset(_NUMBER_CHARS)

# A complete string. The lookbehind skips a quote after a backslash, which
# in valid JSON is an escaped quote inside a string that this chunk does
# not close. Trying a match from each of those would make a chunk of
# escaped quotes take quadratic time.
_COMPLETE_STRING = re.compile(rb'(?<!\\)"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# The rest of a string that began in an earlier chunk, up to its closing
# quote, a backslash that ends the chunk, or the chunk's end.
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
# Number characters become "9" and all other bytes a space, so a token too
# long is a substring search.
_NUMBER_MASK = bytes(
    ord("9") if byte in _NUMBER_CHARS else ord(" ") for byte in range(256)
)
_TOO_LONG = b"9" * (MAX_NUMBER_CHARS + 1)
# Bytes deleted to leave only the brackets of a chunk.
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_DEPTH_STEP = np.zeros(256, dtype=np.int64)
_DEPTH_STEP[list(b"[{")] = 1
_DEPTH_STEP[list(b"]}")] = -1


@dataclass(frozen=True, slots=True)
class _ScanState:
    """Scanner state after the bytes read so far."""

    in_string: bool = False
    # The previous byte was a backslash inside a string.
    escaped: bool = False
    depth: int = 0
    # Length of the number token that the last chunk ended in.
    number_run: int = 0


class JsonLimitError(HashSetFormatError):
    """Raised when a JSON file nests too deep or has a number too long to parse."""


class LimitedJsonReader:
    """A binary reader for ijson that raises JsonLimitError on unsafe JSON.

    ``handle`` is read from its current position; ``offset`` is that
    position in the file, so messages give file offsets.
    """

    def __init__(self, handle: IO[bytes], path: Path, offset: int = 0) -> None:
        self._handle = handle
        self._path = path
        self._offset = offset
        self._state = _ScanState()

    def read(self, size: int = -1) -> bytes:
        """Read and check up to ``size`` bytes, as ``IO.read`` does."""
        chunk = self._handle.read(size)
        if chunk:
            self._state = self._check(chunk, self._state)
            self._offset += len(chunk)
        return chunk

    def _check(self, chunk: bytes, state: _ScanState) -> _ScanState:
        """Return the state after ``chunk``, or raise at a broken limit."""
        # Most chunks of a hash set have no backslash, so a quote always
        # opens or closes a string and bytes.split finds the strings.
        plain = b"\\" not in chunk
        start, number_run = 0, state.number_run
        if state.in_string:
            start = _string_end(chunk, 1 if state.escaped else 0, plain)
            if start == len(chunk):
                return replace(state, escaped=False)
            if chunk[start] != _QUOTE:
                return replace(state, escaped=True)  # a backslash ends the chunk
            start, number_run = start + 1, 0

        outside, unclosed = _outside_strings(chunk[start:], plain)
        depth = state.depth
        brackets = outside.translate(None, _NOT_BRACKETS)
        if brackets:
            steps = _DEPTH_STEP[np.frombuffer(brackets, dtype=np.uint8)]
            depths = depth + np.cumsum(steps)
            if int(depths.max()) > MAX_DEPTH:
                return self._locate_breach(chunk, state)
            depth = int(depths[-1])

        numbers = outside.translate(_NUMBER_MASK)
        head = len(numbers) - len(numbers.lstrip(b"9"))
        if number_run + head > MAX_NUMBER_CHARS or _TOO_LONG in numbers:
            return self._locate_breach(chunk, state)
        if head == len(numbers) and not unclosed:
            number_run += head
        else:
            number_run = len(numbers) - len(numbers.rstrip(b"9"))

        if not unclosed:
            return _ScanState(depth=depth, number_run=number_run)
        trailing = len(chunk) - len(chunk.rstrip(b"\\"))
        return _ScanState(True, trailing % 2 == 1, depth, 0)

    def _locate_breach(self, chunk: bytes, state: _ScanState) -> _ScanState:
        """Walk ``chunk`` byte by byte and raise at the first broken limit.

        The fast check in ``_check`` may flag JSON that is already invalid
        before the breach. yajl stops at the invalid byte, so when this walk
        finds no breach it returns the exact state and reading goes on.
        """
        in_string, escaped = state.in_string, state.escaped
        depth, run = state.depth, state.number_run
        for position, byte in enumerate(chunk):
            if in_string:
                if escaped:
                    escaped = False
                elif byte == _BACKSLASH:
                    escaped = True
                elif byte == _QUOTE:
                    in_string = False
                continue
            if byte in _NUMBER_BYTES:
                run += 1
                if run > MAX_NUMBER_CHARS:
                    self._raise_number(chunk, position - run + 1)
                continue
            run = 0
            if byte == _QUOTE:
                in_string = True
            elif byte in _OPENERS:
                depth += 1
                if depth > MAX_DEPTH:
                    self._raise_depth(chunk, position)
            elif byte in _CLOSERS:
                depth -= 1
        return _ScanState(in_string, escaped, depth, run)

    def _where(self, chunk: bytes, position: int) -> str:
        """Return "line L, byte B" for ``position`` in ``chunk``, from 1.

        ``position`` is negative for a number that began in an earlier
        chunk. Lines are counted here, on the error path only, by reading
        the file again up to that byte.
        """
        offset = self._offset + position
        lines = 0
        with self._path.open("rb") as handle:
            while offset - handle.tell() > 0:
                block = handle.read(min(1 << 20, offset - handle.tell()))
                if not block:
                    break
                lines += block.count(b"\n")
        return f"line {lines + 1}, byte {offset + 1}"

    def _raise_depth(self, chunk: bytes, position: int) -> NoReturn:
        raise JsonLimitError(
            f"{self._path}: JSON nested deeper than {MAX_DEPTH} levels at "
            f"{self._where(chunk, position)}; VICS needs fewer than 10, so the "
            "file was rejected"
        )

    def _raise_number(self, chunk: bytes, position: int) -> NoReturn:
        raise JsonLimitError(
            f"{self._path}: a JSON number longer than {MAX_NUMBER_CHARS} "
            f"characters at {self._where(chunk, position)}; VICS numbers have at "
            "most 20 digits, so the file was rejected"
        )


def _string_end(chunk: bytes, start: int, plain: bool) -> int:
    """Return where the string that ``chunk`` starts inside ends.

    That is the index of its closing quote, of a backslash that ends the
    chunk, or ``len(chunk)`` when the string goes on past the chunk.
    """
    if plain:
        end = chunk.find(b'"', start)
        return len(chunk) if end < 0 else end
    return _STRING_REST.match(chunk, start).end()  # type: ignore[union-attr]


def _outside_strings(text: bytes, plain: bool) -> tuple[bytes, bool]:
    """Return ``text`` with each complete string replaced by "S", up to an
    unclosed string, and whether such a string ends ``text``.
    """
    if plain:
        parts = text.split(b'"')
        # Parts at even indexes lie outside strings; an even count of
        # parts means an odd count of quotes, so the last string is open.
        return b"S".join(parts[0::2]), len(parts) % 2 == 0
    outside = _COMPLETE_STRING.sub(b"S", text)
    unclosed = outside.find(b'"')
    if unclosed < 0:
        return outside, False
    return outside[:unclosed], True
