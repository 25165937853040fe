"""EXIF and XMP fields read with exiv2, checked file by file against exiftool.

The ground truth is ``camera_exif_summary.csv`` in the shared corpus,
written by exiftool 12.57. exiftool decodes more maker notes than exiv2,
so Scut cannot read a few of its values. Those are listed below with the
reason. The list must stay exact, so that it shrinks when exiv2 or Scut
learn to read one of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from scut.ingest.metadata import (
    MAX_TAG_CHARS,
    Metadata,
    jpeg_header,
    metadata_from_tags,
    read_metadata,
)

GPS_TOLERANCE = 1e-4
_TRAILING_OFFSET = re.compile(r"([+-]\d{2}:\d{2})$")

# Values exiftool reads that exiv2 (and so Scut) cannot, as (file, field).
KNOWN_GAPS: dict[tuple[str, str], str] = {
    # Reconyx trail cameras keep serial and date in their own maker note,
    # which exiv2 does not decode.
    (
        "camera/exif-samples/Reconyx_HC500_Hyperfire.jpg",
        "serial",
    ): "Reconyx maker note",
    ("camera/exif-samples/Reconyx_HC500_Hyperfire.jpg", "date"): "Reconyx maker note",
    (
        "camera/metadata-extractor-images/Reconyx HC500 firmware 3.3.0.jpg",
        "serial",
    ): "Reconyx maker note",
    (
        "camera/metadata-extractor-images/Reconyx HC500 firmware 3.3.0.jpg",
        "date",
    ): "Reconyx maker note",
    (
        "camera/metadata-extractor-images/Reconyx HF2 Pro Covert.jpg",
        "serial",
    ): "Reconyx maker note",
    # This file also comes from a Reconyx HC500, but its EXIF date is readable.
    ("camera/metadata-extractor-images/Issue 211.jpg", "serial"): "Reconyx maker note",
    # FLIR thermal cameras put serial, subsecond date with offset and (on
    # the iPhone add-on) GPS in FLIR's APP1 record, which exiv2 ignores.
    ("camera/exiftool/FLIR.jpg", "serial"): "FLIR APP1 record",
    ("camera/exiftool/FLIR.jpg", "offset"): "FLIR APP1 record",
    (
        "camera/metadata-extractor-images/FLIR Vue Pro 640.jpg",
        "serial",
    ): "FLIR APP1 record",
    ("camera/metadata-extractor-images/FLIR Vue Pro 640.jpg", "date"): "FLIR record",
    ("camera/metadata-extractor-images/FLIR Vue Pro 640.jpg", "offset"): "FLIR record",
    (
        "camera/metadata-extractor-images/FLIR iPhone device.jpg",
        "serial",
    ): "FLIR APP1 record",
    ("camera/metadata-extractor-images/FLIR iPhone device.jpg", "gps"): "FLIR record",
    ("camera/metadata-extractor-images/FLIR iPhone device.jpg", "date"): "FLIR record",
    (
        "camera/metadata-extractor-images/FLIR iPhone device.jpg",
        "offset",
    ): "FLIR record",
    # Pentax keeps this serial inside the CameraInfo block, which exiv2
    # shows only as a run of numbers.
    ("camera/exiftool/Pentax.jpg", "serial"): "Pentax CameraInfo",
    # Canon and Olympus maker-note serials that exiv2 does not decode for
    # these bodies.
    (
        "camera/metadata-extractor-images/Canon EOS REBEL T3i.jpg",
        "serial",
    ): "Canon maker note",
    ("camera/metadata-extractor-images/Issue 339.jpg", "serial"): "Olympus maker note",
    # exiftool takes make, model and date of this test file from a second
    # EXIF block, while exiv2 reads the first one (FUJIFILM FinePix2400Zoom).
    ("camera/exiftool/ExifTool.jpg", "make"): "second EXIF block",
    ("camera/exiftool/ExifTool.jpg", "model"): "second EXIF block",
    ("camera/exiftool/ExifTool.jpg", "date"): "second EXIF block",
    # Orientation is only in IFD1, the thumbnail's directory. exiftool
    # reports it, but it does not describe the main picture.
    ("camera/metadata-extractor-images/Nikon D5000.jpg", "orientation"): "IFD1 only",
}

# Invalid values that exiftool prints and Scut drops with a note naming the
# tag, as (file, field) -> text the note must contain.
REJECTED: dict[tuple[str, str], str] = {
    ("camera/metadata-extractor-images/Issue 609.jpg", "date"): "year 0",
    ("camera/metadata-extractor-images/Olympus C860L.jpg", "date"): "year 0",
    ("camera/metadata-extractor-images/FujiFilm SP-2500.jpg", "date"): "form",
    ("camera/pillow/exif_gps.jpg", "gps"): "GPSLatitude",
}

HOSTILE_EXIF = (
    "hostile/generated/"
    "exif_gps_zero_denominator_zero_date_orientation9_cp1251_usercomment.jpg"
)


def _expected(row: dict[str, str]) -> dict[str, object]:
    """Return the fields the CSV gives a value for, in Scut's form."""
    expected: dict[str, object] = {}
    for field in ("make", "model"):
        if row[field].strip():
            expected[field] = row[field].strip()
    serial = row["serial_number(any_group)"].strip()
    if serial:
        # Nikon writes "NO= 20025585", and the prefix is not part of the serial.
        expected["serial"] = serial.removeprefix("NO=").strip()
    if row["gps_lat"].strip() or row["gps_lon"].strip():
        expected["gps"] = (row["gps_lat"].strip(), row["gps_lon"].strip())
    if row["orientation"].strip():
        expected["orientation"] = int(row["orientation"])
    date = row["datetime_original"]
    if date.strip():
        expected["date"] = date[:19]
        offset = _TRAILING_OFFSET.search(date)
        if offset:
            expected["offset"] = offset.group(1)
    return expected


def _actual(metadata: Metadata, field: str) -> object:
    if field == "serial":
        return metadata.body_serial
    if field == "gps":
        return (metadata.gps_latitude, metadata.gps_longitude)
    if field == "date":
        taken_at = metadata.taken_at
        return taken_at.strftime("%Y:%m:%d %H:%M:%S") if taken_at else None
    if field == "offset":
        return metadata.taken_at_offset
    return getattr(metadata, field)


def _agrees(field: str, expected: object, actual: object) -> bool:
    if field != "gps":
        return expected == actual
    assert isinstance(expected, tuple) and isinstance(actual, tuple)
    pairs = zip(expected, actual, strict=True)
    return all(
        got is not None and want != "" and abs(float(want) - got) <= GPS_TOLERANCE
        for want, got in pairs
    )


@pytest.fixture(scope="module")
def summary(shared_data: Path) -> list[dict[str, str]]:
    with (shared_data / "camera_exif_summary.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def camera_metadata(
    shared_data: Path, summary: list[dict[str, str]]
) -> dict[str, Metadata]:
    return {
        row["path"]: read_metadata((shared_data / row["path"]).read_bytes())
        for row in summary
    }


@pytest.fixture(scope="module")
def disagreements(
    summary: list[dict[str, str]], camera_metadata: dict[str, Metadata]
) -> dict[tuple[str, str], str]:
    """Every (file, field) where Scut and exiftool differ, with both values."""
    found: dict[tuple[str, str], str] = {}
    for row in summary:
        metadata = camera_metadata[row["path"]]
        for field, expected in _expected(row).items():
            actual = _actual(metadata, field)
            if not _agrees(field, expected, actual):
                found[(row["path"], field)] = (
                    f"{row['path']}: {field} exiftool={expected!r} scut={actual!r}"
                )
    return found


def _read(shared_data: Path, path: str) -> Metadata:
    return read_metadata((shared_data / path).read_bytes())


def test_summary_covers_camera_folder(
    shared_data: Path, summary: list[dict[str, str]]
) -> None:
    on_disk = {
        path.relative_to(shared_data).as_posix()
        for path in (shared_data / "camera").rglob("*")
        if path.is_file()
    }
    assert {row["path"] for row in summary} == on_disk


def test_camera_fields_match_exiftool(
    disagreements: dict[tuple[str, str], str],
) -> None:
    unexplained = [
        message
        for key, message in sorted(disagreements.items())
        if key not in KNOWN_GAPS and key not in REJECTED
    ]
    assert not unexplained, "\n".join(unexplained)


def test_known_gaps_still_open(disagreements: dict[tuple[str, str], str]) -> None:
    closed = sorted(set(KNOWN_GAPS) - set(disagreements))
    assert not closed, f"Scut now reads these; remove them from KNOWN_GAPS: {closed}"


def test_rejected_values_still_differ(
    disagreements: dict[tuple[str, str], str],
) -> None:
    assert not sorted(set(REJECTED) - set(disagreements))


@pytest.mark.parametrize(("key", "fragment"), sorted(REJECTED.items()))
def test_rejected_value_dropped_with_note(
    camera_metadata: dict[str, Metadata], key: tuple[str, str], fragment: str
) -> None:
    path, field = key
    metadata = camera_metadata[path]
    assert _actual(metadata, field) in (None, (None, None)), path
    assert any(fragment in note for note in metadata.notes), metadata.notes


def test_ten_files_fully_checked(
    summary: list[dict[str, str]], disagreements: dict[tuple[str, str], str]
) -> None:
    # A file counts when exiftool gives make, model, date and a serial or a
    # position, and every one of those was compared and agreed.
    checked = []
    for row in summary:
        expected = _expected(row)
        fields = {"make", "model", "date"} | ({"serial", "gps"} & set(expected))
        if not {"make", "model", "date"} <= set(expected) or len(fields) < 4:
            continue
        if all((row["path"], field) not in disagreements for field in fields):
            checked.append(row["path"])
    assert len(checked) >= 10, checked


def test_nikon_zero_seconds_latitude(shared_data: Path) -> None:
    metadata = _read(shared_data, "camera/metadata-extractor-images/Nikon D5000.jpg")
    assert metadata.gps_latitude is not None
    assert abs(metadata.gps_latitude - 48.888726) <= GPS_TOLERANCE


def test_nikon_zero_seconds_longitude(shared_data: Path) -> None:
    metadata = _read(shared_data, "camera/metadata-extractor-images/Nikon D5000.jpg")
    assert metadata.gps_longitude is not None
    assert abs(metadata.gps_longitude - 21.043252) <= GPS_TOLERANCE


def test_nikon_zero_seconds_noted(shared_data: Path) -> None:
    metadata = _read(shared_data, "camera/metadata-extractor-images/Nikon D5000.jpg")
    zero_notes = [note for note in metadata.notes if "0/0 read as 0" in note]
    assert len(zero_notes) == 2, metadata.notes


def test_zero_denominator_gps_dropped(shared_data: Path) -> None:
    metadata = _read(shared_data, HOSTILE_EXIF)
    assert (metadata.gps_latitude, metadata.gps_longitude) == (None, None)
    assert any("GPSLatitude" in note and "zero" in note for note in metadata.notes)
    assert any("GPSLongitude" in note and "zero" in note for note in metadata.notes)


def test_year_zero_date_dropped(shared_data: Path) -> None:
    metadata = _read(shared_data, HOSTILE_EXIF)
    assert metadata.taken_at is None
    assert any("DateTimeOriginal" in note for note in metadata.notes)


def test_orientation_nine_dropped(shared_data: Path) -> None:
    metadata = _read(shared_data, HOSTILE_EXIF)
    assert metadata.orientation is None
    assert any("Orientation '9'" in note for note in metadata.notes)


def test_cp1251_comment_noted(shared_data: Path) -> None:
    metadata = _read(shared_data, HOSTILE_EXIF)
    assert any("not valid UTF-8" in note for note in metadata.notes)
    assert "\x00" not in metadata.tags["Exif.Photo.UserComment"]


def test_unparsable_xmp_noted(shared_data: Path) -> None:
    metadata = _read(shared_data, "hostile/generated/xmp_invalid_utf8.jpg")
    assert any(note.startswith("XMP:") for note in metadata.notes), metadata.notes


@pytest.mark.parametrize(
    ("path", "serial"),
    [
        ("camera/exiftool/Panasonic.jpg", "S000407190102"),
        # This one starts with two NUL bytes before the text.
        ("camera/exif-samples/Panasonic_DMC-FZ30.jpg", "S010604030293"),
        (
            "camera/metadata-extractor-images/Panasonic DMC-LC70 (Lumix).jpg",
            "K020406110058",
        ),
    ],
)
def test_panasonic_serial_decoded(shared_data: Path, path: str, serial: str) -> None:
    # exiv2 prints this serial as decimal byte values; Scut decodes them.
    metadata = _read(shared_data, path)
    assert metadata.tags["Exif.Panasonic.InternalSerialNumber"][0].isdigit()
    assert metadata.body_serial == serial


def test_nikon_serial_prefix_dropped(shared_data: Path) -> None:
    assert _read(shared_data, "camera/exiftool/NikonD70.jpg").body_serial == "20025585"


@pytest.mark.parametrize(
    ("path", "taken_at", "offset"),
    [
        (
            "camera/metadata-extractor-images/Issue 154.jpg",
            dt.datetime(2018, 1, 12, 21, 19, 13),
            None,
        ),
        (
            "camera/metadata-extractor-images/Issue 258 (dotnet).jpg",
            dt.datetime(2019, 10, 16, 19, 1, 0),
            "+00:00",
        ),
    ],
)
def test_xmp_only_date_read(
    shared_data: Path, path: str, taken_at: dt.datetime, offset: str | None
) -> None:
    metadata = _read(shared_data, path)
    assert "Exif.Photo.DateTimeOriginal" not in metadata.tags
    assert (metadata.taken_at, metadata.taken_at_offset) == (taken_at, offset)


def test_repeated_orientation_tag_read(shared_data: Path) -> None:
    # This Canon writes Orientation twice in IFD0, so exiv2 returns a list.
    path = "camera/metadata-extractor-images/Canon PowerShot S330.jpg"
    assert _read(shared_data, path).orientation == 1


def test_repeated_gps_tags_read() -> None:
    tags = {
        "Exif.GPSInfo.GPSLatitude": ["47/1 1/1 30/1", "47/1 1/1 30/1"],
        "Exif.GPSInfo.GPSLatitudeRef": ["N", "N"],
        "Exif.GPSInfo.GPSLongitude": "28/1 51/1 0/1",
        "Exif.GPSInfo.GPSLongitudeRef": "E",
        "Exif.GPSInfo.GPSAltitude": ["85/1", "85/1"],
        "Exif.GPSInfo.GPSAltitudeRef": ["1", "1"],
    }
    metadata = metadata_from_tags(tags)
    assert metadata.gps_latitude == pytest.approx(47.025)
    assert metadata.gps_altitude == -85.0


def test_stored_tags_bounded(camera_metadata: dict[str, Metadata]) -> None:
    values = [
        value for meta in camera_metadata.values() for value in meta.tags.values()
    ]
    assert max(len(value) for value in values) <= MAX_TAG_CHARS
    assert not [value for value in values if "\x00" in value]


def test_maker_note_blob_not_stored(camera_metadata: dict[str, Metadata]) -> None:
    canon = camera_metadata["camera/exif-samples/Canon_40D.jpg"]
    assert "Exif.Photo.MakerNote" not in canon.tags
    assert "Exif.Image.Make" in canon.tags


def test_jpeg_header_keeps_metadata(shared_data: Path) -> None:
    data = (shared_data / "camera" / "exif-samples" / "Canon_40D.jpg").read_bytes()

    header = jpeg_header(data)

    assert len(header) < len(data)
    assert header.endswith(b"\xff\xd9")
    whole, cut = read_metadata(data), read_metadata(header)
    assert cut.tags == whole.tags
    assert jpeg_header(b"not a jpeg") == b"not a jpeg"
