"""Reader of GeoNames gazetteer files: the postal-code and the main place export.

Both are UTF-8, tab-separated and without a header
(https://download.geonames.org/export/zip/readme.txt and
https://download.geonames.org/export/dump/readme.txt). The format is found
from the column count of the first data line:

- 12 columns, the postal-code export: country code, postal code, place
  name, admin name1, admin code1, admin name2, admin code2, admin name3,
  admin code3, latitude, longitude, accuracy;
- 19 columns, the main export: geonameid, name, asciiname, alternatenames
  (comma-separated), latitude, longitude, feature class, feature code,
  country code, cc2, admin1 code to admin4 code, population, elevation,
  dem, timezone, modification date. Only populated places (feature class
  P) are kept; the other rows are counted as skipped.

The file is read as a stream. A line that cannot be used is yielded as
``Rejected`` with its number and the reason, and reading goes on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from scut.geo.files import GeoFileError, Rejected, check_file, coordinate_problem
from scut.persons.names import normalise_name

log = logging.getLogger(__name__)

POSTAL = "geonames-postal"
PLACES = "geonames-places"
COLUMNS = {12: POSTAL, 19: PLACES}
POPULATED = "P"
MAX_NAME_LENGTH = 200
# GeoNames' accuracy codes of postal-code coordinates: 1 estimated, 4 from
# the geonameid, 6 centroid of addresses or shape.
ACCURACY_RANGE = range(1, 7)


@dataclass(frozen=True, slots=True)
class PlaceRecord:
    """One usable gazetteer line."""

    line: int
    name: str
    latitude: float
    longitude: float
    country: str = ""
    admin_name: str = ""
    admin_code: str = ""
    postal_code: str | None = None
    accuracy: int | None = None
    geonames_id: int | None = None
    feature_code: str | None = None
    population: int | None = None
    alternate_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    """A line of the main export that is not a populated place."""

    line: int


class _LineProblem(Exception):
    """A reason to reject one line; caught and reported by the reader."""


# Reads the columns of one line of a known format.
_Parser = Callable[[int, list[str]], PlaceRecord | Skipped]


class Gazetteer:
    """An open gazetteer file whose format is known; iterate to read its lines."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.size = check_file(path, max_bytes)
        self.bytes_read = 0
        self.format = self._detect_format()

    def _detect_format(self) -> str:
        with self._open() as handle:
            for raw in handle:
                line = _strip(raw)
                if not line.strip():
                    continue
                columns = line.count(b"\t") + 1
                if columns in COLUMNS:
                    return COLUMNS[columns]
                raise GeoFileError(
                    f"{self.path}: the first line has {columns} tab-separated "
                    "columns; a GeoNames postal-code file has 12 and a GeoNames "
                    "place file has 19"
                )
        raise GeoFileError(f"{self.path}: the file contains no data lines")

    def _open(self) -> BinaryIO:
        try:
            return self.path.open("rb")
        except OSError as error:
            raise GeoFileError(f"{self.path}: cannot read the file: {error}") from error

    def records(self) -> Iterator[PlaceRecord | Rejected | Skipped]:
        """Yield each data line as a place, a rejected line or a skipped line.

        Blank lines are passed over. Raises GeoFileError when the file grows
        past the size limit or reading fails.
        """
        parse = _postal_record if self.format == POSTAL else _place_record
        expected = 12 if self.format == POSTAL else 19
        self.bytes_read = 0
        with self._open() as handle:
            try:
                for number, raw in enumerate(handle, start=1):
                    self.bytes_read += len(raw)
                    if self.bytes_read > self.max_bytes:
                        raise GeoFileError(
                            f"{self.path}: the file grew past the limit of "
                            f"{self.max_bytes:,} bytes while it was read"
                        )
                    item = _read_line(raw, number, expected, parse)
                    if item is not None:
                        yield item
            except OSError as error:
                raise GeoFileError(
                    f"{self.path}: reading failed at byte {self.bytes_read}: {error}"
                ) from error


def _strip(raw: bytes) -> bytes:
    line = raw.rstrip(b"\r\n")
    return line[3:] if line.startswith(b"\xef\xbb\xbf") else line


def _read_line(
    raw: bytes, number: int, expected: int, parse: _Parser
) -> PlaceRecord | Rejected | Skipped | None:
    line = _strip(raw)
    if not line.strip():
        return None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return Rejected(
            f"line {number}",
            f"not valid UTF-8 (byte 0x{line[error.start]:02x} at column "
            f"{error.start + 1}); save the file as UTF-8",
        )
    columns = text.split("\t")
    if len(columns) != expected:
        return Rejected(
            f"line {number}", f"{len(columns)} columns where this file has {expected}"
        )
    try:
        return parse(number, columns)
    except _LineProblem as problem:
        return Rejected(f"line {number}", str(problem))


def _postal_record(number: int, columns: list[str]) -> PlaceRecord:
    latitude, longitude = _position(columns[9], columns[10])
    return PlaceRecord(
        line=number,
        name=_place_name(columns[2]),
        latitude=latitude,
        longitude=longitude,
        country=_short(columns[0], 2, "country code"),
        admin_name=_short(normalise_name(columns[3]), MAX_NAME_LENGTH, "admin name1"),
        admin_code=_short(columns[4], 20, "admin code1"),
        postal_code=_short(columns[1], 20, "postal code") or None,
        accuracy=_accuracy(columns[11]),
    )


def _place_record(number: int, columns: list[str]) -> PlaceRecord | Skipped:
    if columns[6].strip() != POPULATED:
        return Skipped(number)
    latitude, longitude = _position(columns[4], columns[5])
    name = _place_name(columns[1])
    alternates = [columns[2], *columns[3].split(",")]
    return PlaceRecord(
        line=number,
        name=name,
        latitude=latitude,
        longitude=longitude,
        country=_short(columns[8], 2, "country code"),
        admin_code=_short(columns[10], 20, "admin1 code"),
        geonames_id=_whole_number(columns[0], "geonameid", required=True),
        feature_code=_short(columns[7], 10, "feature code") or None,
        population=_whole_number(columns[14], "population"),
        alternate_names=_alternate_names(name, alternates),
    )


def _place_name(value: str) -> str:
    name = normalise_name(value)
    if not name:
        raise _LineProblem("the place name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise _LineProblem(
            f"the place name has {len(name)} characters, more than {MAX_NAME_LENGTH}"
        )
    return name


def _alternate_names(name: str, values: list[str]) -> tuple[str, ...]:
    """Return the distinct other names of a place that fit the name column."""
    seen = {name}
    kept: list[str] = []
    for value in values:
        alternate = normalise_name(value)
        if alternate and alternate not in seen and len(alternate) <= MAX_NAME_LENGTH:
            seen.add(alternate)
            kept.append(alternate)
    return tuple(kept)


def _short(value: str, length: int, label: str) -> str:
    cleaned = value.strip()
    if len(cleaned) > length:
        raise _LineProblem(
            f"{label} {cleaned[:40]!r} is longer than {length} characters"
        )
    return cleaned


def _position(latitude_text: str, longitude_text: str) -> tuple[float, float]:
    latitude = _number(latitude_text, "latitude")
    longitude = _number(longitude_text, "longitude")
    problem = coordinate_problem(longitude, latitude)
    if problem is not None:
        raise _LineProblem(problem)
    return latitude, longitude


def _number(value: str, label: str) -> float:
    cleaned = value.strip()
    if not cleaned:
        raise _LineProblem(f"the {label} is missing")
    try:
        number = float(cleaned)
    except ValueError:
        raise _LineProblem(f"{label} {cleaned[:40]!r} is not a number") from None
    if not math.isfinite(number):
        raise _LineProblem(f"{label} {cleaned!r} is not a finite number")
    return number


def _whole_number(value: str, label: str, *, required: bool = False) -> int | None:
    cleaned = value.strip()
    if not cleaned and not required:
        return None
    if not cleaned.isascii() or not cleaned.isdigit():
        raise _LineProblem(f"{label} {cleaned[:40]!r} is not a whole number")
    return int(cleaned)


def _accuracy(value: str) -> int | None:
    accuracy = _whole_number(value, "accuracy")
    if accuracy is not None and accuracy not in ACCURACY_RANGE:
        raise _LineProblem(f"accuracy {accuracy} is not a GeoNames accuracy (1 to 6)")
    return accuracy
