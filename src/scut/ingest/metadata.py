"""EXIF and XMP of pictures, read with exiv2 (through pyexiv2).

Camera make, model and serial numbers, the original date with its offset,
GPS position and orientation are lifted into fields; every tag read is kept
too, cut to a bounded size. Malformed values are dropped with a note, never
guessed: an analyst must be able to trust each field that is filled.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pyexiv2

log = logging.getLogger(__name__)

pyexiv2.set_log_level(4)  # exiv2 would print warnings on hostile files to stderr

# Maximum length of a tag value kept in the stored tag dictionary, in characters.
MAX_TAG_CHARS = 512
# Tags that hold binary blobs or whole embedded documents.
_SKIPPED_TAGS = ("Exif.Photo.MakerNote", "Exif.Thumbnail.", "Xmp.xmpNote.")

# Body serial number tags, most specific first: the EXIF 2.3 tag, then the
# maker notes exiv2 decodes, then XMP.
BODY_SERIAL_TAGS = (
    "Exif.Photo.BodySerialNumber",
    "Exif.Canon.SerialNumber",
    "Exif.Nikon3.SerialNumber",
    "Exif.Nikon3.SerialNO",
    "Exif.OlympusEq.SerialNumber",
    "Exif.Olympus.SerialNumber2",
    "Exif.Olympus.SerialNumber",
    "Exif.Fujifilm.SerialNumber",
    "Exif.Pentax.SerialNumber",
    "Exif.PentaxDng.SerialNumber",
    "Exif.Sony1.SerialNumber",
    "Exif.Samsung2.SerialNumber",
    "Exif.Panasonic.InternalSerialNumber",
    "Exif.Image.CameraSerialNumber",
    "Xmp.exifEX.BodySerialNumber",
    "Xmp.aux.SerialNumber",
)
LENS_SERIAL_TAGS = (
    "Exif.Photo.LensSerialNumber",
    "Exif.OlympusEq.LensSerialNumber",
    "Exif.Canon.LensSerialNumber",
    "Xmp.exifEX.LensSerialNumber",
    "Xmp.aux.LensSerialNumber",
)
# Serial values that cameras write when they have none.
_EMPTY_SERIALS = {"", "0", "0000000000", "none", "unknown"}
_EXIF_DATE = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_START_OF_SCAN = 0xDA
# Markers without a length field: SOI, TEM and the restart markers.
_STANDALONE_MARKERS = frozenset({0xD8, 0x01, *range(0xD0, 0xD8)})
_RATIONAL = re.compile(r"-?[0-9]{1,20}(?:/[0-9]{1,20})?")
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


@dataclass
class Metadata:
    """The fields Scut uses from a file's metadata, and the tags they came from."""

    make: str | None = None
    model: str | None = None
    body_serial: str | None = None
    lens_serial: str | None = None
    software: str | None = None
    taken_at: dt.datetime | None = None
    taken_at_offset: str | None = None
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    gps_altitude: float | None = None
    orientation: int | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    # Values that were present but malformed, as "Tag: reason".
    notes: list[str] = field(default_factory=list)


def read_metadata(data: bytes) -> Metadata:
    """Read EXIF and XMP from a picture's bytes.

    Raises RuntimeError (from exiv2) when the container cannot be parsed.
    """
    with pyexiv2.ImageData(jpeg_header(data)) as image:
        notes: list[str] = []
        try:
            exif = image.read_exif()
        except UnicodeDecodeError:
            exif = image.read_exif(encoding="latin-1")
            notes.append("EXIF: text is not valid UTF-8; read as Latin-1")
        try:
            xmp = image.read_xmp()
        except UnicodeDecodeError:
            xmp = image.read_xmp(encoding="latin-1")
            notes.append("XMP: text is not valid UTF-8; read as Latin-1")
        if not xmp and image.read_raw_xmp(encoding="latin-1").strip():
            # exiv2 drops an XMP packet it cannot parse, such as one that is
            # not UTF-8, without raising. The note records that it exists.
            notes.append("XMP: packet present but could not be parsed")
    metadata = metadata_from_tags({**exif, **xmp})
    metadata.notes[:0] = notes
    return metadata


def jpeg_header(data: bytes) -> bytes:
    """Return a JPEG's segments before its first scan, closed with EOI.

    EXIF, XMP and maker notes sit in the APPn segments before the scan, and
    exiv2 stops reading at the scan. Leaving out the compressed picture saved
    7 of the 8 ms of a metadata read on a 4 MB photo (pyinstrument).
    Anything that is not a well-formed JPEG header is returned whole.
    """
    if not data.startswith(b"\xff\xd8"):
        return data
    offset = 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
        elif marker == _START_OF_SCAN:
            return data[:offset] + b"\xff\xd9"
        elif marker in _STANDALONE_MARKERS:
            offset += 2
        else:
            offset += 2 + int.from_bytes(data[offset + 2 : offset + 4], "big")
    return data


def metadata_from_tags(tags: dict[str, Any]) -> Metadata:
    """Lift Scut's fields out of exiv2 tag names and values."""
    result = Metadata(tags=_bounded_tags(tags))
    result.make = _text(tags, "Exif.Image.Make", "Xmp.tiff.Make")
    result.model = _text(tags, "Exif.Image.Model", "Xmp.tiff.Model")
    result.software = _text(tags, "Exif.Image.Software", "Xmp.xmp.CreatorTool")
    result.body_serial = _serial(tags, BODY_SERIAL_TAGS)
    result.lens_serial = _serial(tags, LENS_SERIAL_TAGS)
    _read_date(tags, result)
    _read_gps(tags, result)
    _read_orientation(tags, result)
    return result


def _bounded_tags(tags: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in tags.items():
        if key.startswith(_SKIPPED_TAGS):
            continue
        text = value if isinstance(value, str) else repr(value)
        # PostgreSQL text cannot hold NUL, and cameras pad strings with it.
        kept[key] = text.replace("\x00", "")[:MAX_TAG_CHARS]
    return kept


def _text(tags: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = _first_string(tags.get(key))
        if value is not None:
            cleaned = value.replace("\x00", "").strip()
            if cleaned:
                return cleaned[:200]
    return None


def _first_string(value: Any) -> str | None:
    """Return a tag's text, or the first non-empty text of a repeated tag."""
    if isinstance(value, dict):  # XMP language alternatives
        value = next(iter(value.values()), None)
    if isinstance(value, list):
        # exiv2 gives a list when a tag occurs twice in one IFD, as in a
        # Canon PowerShot S330 file that writes Orientation twice.
        value = next((item for item in value if isinstance(item, str) and item), None)
    return value if isinstance(value, str) else None


def _serial(tags: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = _text(tags, key)
        if value is None:
            continue
        if key.endswith("InternalSerialNumber") and re.fullmatch(r"[\d ]+", value):
            # exiv2 prints Panasonic's serial as the decimal codes of its bytes.
            value = _decode_byte_list(value)
        if value.startswith("NO="):  # Nikon writes "NO= 20025585"
            value = value[3:].strip()
        if value.lower() not in _EMPTY_SERIALS:
            return value
    return None


def _decode_byte_list(value: str) -> str:
    codes = [int(part) for part in value.split()]
    return bytes(code for code in codes if 32 <= code < 127).decode("ascii").strip()


def _read_date(tags: dict[str, Any], result: Metadata) -> None:
    raw = _text(tags, "Exif.Photo.DateTimeOriginal", "Exif.Image.DateTimeOriginal")
    if raw is None:
        _read_xmp_date(tags, result)
        return
    match = _EXIF_DATE.match(raw)
    try:
        if match is None:
            raise ValueError("not in YYYY:MM:DD HH:MM:SS form")
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        result.taken_at = dt.datetime(year, month, day, hour, minute, second)
    except ValueError as error:
        result.notes.append(f"DateTimeOriginal {raw!r}: {error}")
        return
    offset = _text(tags, "Exif.Photo.OffsetTimeOriginal", "Exif.Photo.OffsetTime")
    if offset is not None and _OFFSET.match(offset):
        result.taken_at_offset = offset


def _read_xmp_date(tags: dict[str, Any], result: Metadata) -> None:
    # XMP dates are ISO 8601, with the offset inside the value when known.
    raw = _text(tags, "Xmp.exif.DateTimeOriginal", "Xmp.photoshop.DateCreated")
    if raw is None:
        return
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError as error:
        result.notes.append(f"XMP date {raw!r}: {error}")
        return
    result.taken_at = parsed.replace(tzinfo=None)
    result.taken_at_offset = format_offset(parsed.utcoffset())


def format_offset(offset: dt.timedelta | None) -> str | None:
    """Return a UTC offset in EXIF's ``+HH:MM`` form, or None if unknown."""
    if offset is None:
        return None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _read_gps(tags: dict[str, Any], result: Metadata) -> None:
    latitude = _coordinate(tags, "Latitude", "S", 90.0, result.notes)
    longitude = _coordinate(tags, "Longitude", "W", 180.0, result.notes)
    if latitude is None or longitude is None:
        return
    result.gps_latitude = latitude
    result.gps_longitude = longitude
    altitude = _rational(_first_string(tags.get("Exif.GPSInfo.GPSAltitude")) or "")
    if altitude is not None:
        below_sea = _text(tags, "Exif.GPSInfo.GPSAltitudeRef") == "1"
        result.gps_altitude = -float(altitude) if below_sea else float(altitude)


def _coordinate(
    tags: dict[str, Any], axis: str, negative_ref: str, limit: float, notes: list[str]
) -> float | None:
    key = f"Exif.GPSInfo.GPS{axis}"
    raw = _first_string(tags.get(key))
    if not raw:
        return None
    parts = raw.split()
    values: list[Fraction] = []
    for index, part in enumerate(parts[:3]):
        numerator, _, denominator = part.partition("/")
        if denominator.strip() == "0":
            # Cameras write 0/0 for unused seconds; a zero denominator on the
            # degrees or a non-zero numerator over zero is unusable.
            if index == 0 or numerator.strip() != "0":
                notes.append(f"{key} {raw!r}: zero denominator")
                return None
            notes.append(f"{key} {raw!r}: 0/0 read as 0")
            values.append(Fraction(0))
            continue
        parsed = _rational(part)
        if parsed is None:
            notes.append(f"{key} {raw!r}: not a rational")
            return None
        values.append(parsed)
    degrees = sum(value / 60**power for power, value in enumerate(values))
    if not 0 <= degrees <= limit:
        notes.append(f"{key} {raw!r}: out of range")
        return None
    reference = (_text(tags, f"Exif.GPSInfo.GPS{axis}Ref") or "").upper()
    sign = -1.0 if reference.startswith(negative_ref) else 1.0
    return round(sign * float(degrees), 7)


def _rational(text: str) -> Fraction | None:
    # Only "n" or "n/d" as EXIF writes them: Fraction also takes exponents,
    # and "1e999999999" would take minutes to expand.
    if not _RATIONAL.fullmatch(text.strip()):
        return None
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        return None
    return value


def _read_orientation(tags: dict[str, Any], result: Metadata) -> None:
    raw = _text(tags, "Exif.Image.Orientation", "Xmp.tiff.Orientation")
    if raw is None:
        return
    if raw in {"1", "2", "3", "4", "5", "6", "7", "8"}:
        result.orientation = int(raw)
    else:
        result.notes.append(f"Orientation {raw!r}: not in 1-8")
