"""Tests of the demo evidence generator against the files it writes.

The checks read the output back with the same tools an investigator would use
(zipfile, tarfile, Pillow, PyAV), not with the generator's own tables.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path

import av
import pytest
from PIL import ExifTags, Image

from scut.demo.generate import DemoEvidence, generate_demo

# The fictional cameras: each make and model has one body serial number.
CAMERA_SERIALS = {
    ("Demo Optics", "DO-100"): "DO100-000123",
    ("Demo Optics", "DO-200 Pro"): "DO200-004517",
    ("Sample Devices", "SD Phone 7"): "SDP7-9A31C04",
}
# A box around the Republic of Moldova, in decimal degrees.
MOLDOVA_LATITUDE = (45.4, 48.5)
MOLDOVA_LONGITUDE = (26.6, 30.3)

SHA256_LINE = re.compile(r"^[0-9a-f]{64}  \S.*$")
MD5_LINE = re.compile(r"^[0-9a-f]{32}  \S.*$")
NOT_PICTURES = (".zip", ".tar.gz", ".mp4", ".mov")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoEvidence:
    """One demo evidence folder, shared by the read-only tests."""
    return generate_demo(tmp_path_factory.mktemp("demo"))


def read_tree(root: Path) -> dict[str, bytes]:
    """Return every file under ``root`` by its POSIX path relative to ``root``."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def archive_members(name: str, data: bytes) -> list[tuple[str, bytes]]:
    """Return the members of a zip or tar.gz archive, nested archives unpacked.

    A member of a nested archive is named ``outer-member!inner-member``.
    """
    members: list[tuple[str, bytes]] = []
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [
                (info.filename, archive.read(info)) for info in archive.infolist()
            ]
    elif name.endswith(".tar.gz"):
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for info in archive.getmembers():
                extracted = archive.extractfile(info)
                assert extracted is not None, f"{info.name} in {name} is not a file"
                members.append((info.name, extracted.read()))

    nested = [
        (f"{member}!{inner}", blob)
        for member, data in members
        for inner, blob in archive_members(member, data)
    ]
    return members + nested


def all_contents(evidence_dir: Path) -> dict[str, bytes]:
    """Return loose files and archive members, members named ``archive!member``."""
    contents = read_tree(evidence_dir)
    for name, data in list(contents.items()):
        for member, blob in archive_members(name, data):
            contents[f"{name}!{member}"] = blob
    return contents


def exif_of(data: bytes) -> tuple[str | None, Image.Exif]:
    """Return the format Pillow detects and the EXIF of an encoded picture."""
    with Image.open(io.BytesIO(data)) as image:
        return image.format, image.getexif()


def gps_degrees(value: tuple[float, float, float]) -> float:
    degrees, minutes, seconds = (float(part) for part in value)
    return degrees + minutes / 60 + seconds / 3600


def test_same_seed_writes_same_bytes(demo: DemoEvidence, tmp_path: Path) -> None:
    second = generate_demo(tmp_path)

    first_files = read_tree(demo.evidence_dir.parent)
    second_files = read_tree(tmp_path)
    assert sorted(first_files) == sorted(second_files)
    changed = [name for name in first_files if first_files[name] != second_files[name]]
    assert changed == []
    assert second.known_sha256 == demo.known_sha256


def test_other_seed_changes_pictures(demo: DemoEvidence, tmp_path: Path) -> None:
    other = generate_demo(tmp_path, seed=7)

    name = "DCIM/100DEMO/IMG_0001.JPG"
    first = (demo.evidence_dir / name).read_bytes()
    assert (other.evidence_dir / name).read_bytes() != first


def test_counts_match_files_on_disk(demo: DemoEvidence) -> None:
    loose = read_tree(demo.evidence_dir)
    contents = all_contents(demo.evidence_dir)
    members = len(contents) - len(loose)
    distinct = {hashlib.sha256(data).hexdigest() for data in contents.values()}

    assert demo.file_count == len(loose)
    assert demo.member_count == members
    assert demo.distinct_sha256 == len(distinct)
    # Duplicates exist, so there are fewer distinct contents than files.
    assert demo.distinct_sha256 < demo.file_count + demo.member_count


def test_layout_has_expected_kinds(demo: DemoEvidence) -> None:
    loose = read_tree(demo.evidence_dir)
    formats = [
        exif_of(data)[0]
        for name, data in loose.items()
        if not name.endswith(NOT_PICTURES)
    ]

    assert formats.count("JPEG") >= 18
    assert formats.count("PNG") >= 2
    for single in ("WEBP", "GIF", "BMP", "TIFF"):
        assert formats.count(single) == 1, single
    assert exif_of(loose["Downloads/holiday.png"])[0] == "JPEG"
    assert exif_of(loose["AppData/cache/blob_0001.dat"])[0] == "JPEG"
    assert "phone.zip" in loose
    assert "laptop_backup.tar.gz" in loose


def test_nested_zip_inside_phone_zip(demo: DemoEvidence) -> None:
    contents = all_contents(demo.evidence_dir)

    assert "phone.zip!backup/old.zip" in contents
    assert any(name.startswith("phone.zip!DCIM/") for name in contents)
    nested = [name for name in contents if name.startswith("phone.zip!backup/old.zip!")]
    assert nested != []

    loose_hashes = {
        hashlib.sha256(data).hexdigest()
        for data in read_tree(demo.evidence_dir).values()
    }
    dcim = [data for name, data in contents.items() if "!DCIM/" in name]
    assert any(hashlib.sha256(data).hexdigest() in loose_hashes for data in dcim)


def test_zip_member_dates_are_fixed(demo: DemoEvidence) -> None:
    with zipfile.ZipFile(demo.evidence_dir / "phone.zip") as archive:
        dates = {info.date_time for info in archive.infolist()}
    assert dates == {(2025, 9, 1, 12, 0, 0)}


def test_every_jpeg_has_camera_exif(demo: DemoEvidence) -> None:
    jpegs = 0
    for name, data in all_contents(demo.evidence_dir).items():
        if name.endswith(NOT_PICTURES):
            continue
        picture_format, exif = exif_of(data)
        if picture_format != "JPEG":
            continue
        jpegs += 1

        camera = (exif.get(ExifTags.Base.Make), exif.get(ExifTags.Base.Model))
        assert camera in CAMERA_SERIALS, name
        details = exif.get_ifd(ExifTags.IFD.Exif)
        assert details.get(ExifTags.Base.BodySerialNumber) == CAMERA_SERIALS[camera]
        assert details.get(ExifTags.Base.OffsetTimeOriginal) == "+03:00", name
        date_time_original = details.get(ExifTags.Base.DateTimeOriginal)
        timestamp = r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d"
        assert re.fullmatch(timestamp, date_time_original), name
        assert exif.get(ExifTags.Base.Software), name
    assert jpegs >= 20


def test_about_half_have_gps_in_moldova(demo: DemoEvidence) -> None:
    originals = sorted((demo.evidence_dir / "DCIM" / "100DEMO").glob("*.JPG"))
    positions = []
    for path in originals:
        gps = exif_of(path.read_bytes())[1].get_ifd(ExifTags.IFD.GPSInfo)
        if gps:
            assert gps[ExifTags.GPS.GPSLatitudeRef] == "N", path.name
            assert gps[ExifTags.GPS.GPSLongitudeRef] == "E", path.name
            assert float(gps[ExifTags.GPS.GPSAltitude]) > 0, path.name
            latitude = gps_degrees(gps[ExifTags.GPS.GPSLatitude])
            longitude = gps_degrees(gps[ExifTags.GPS.GPSLongitude])
            positions.append((latitude, longitude))

    assert len(originals) == 14
    assert 5 <= len(positions) <= 9
    for latitude, longitude in positions:
        assert MOLDOVA_LATITUDE[0] < latitude < MOLDOVA_LATITUDE[1]
        assert MOLDOVA_LONGITUDE[0] < longitude < MOLDOVA_LONGITUDE[1]


def test_picture_sizes_in_range(demo: DemoEvidence) -> None:
    for name, data in read_tree(demo.evidence_dir).items():
        if name.endswith(NOT_PICTURES):
            continue
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        assert 640 <= width <= 2000, name
        assert 480 <= height <= 1500, name


def test_edited_copies_match_their_edit(demo: DemoEvidence) -> None:
    def open_size(name: str) -> tuple[tuple[int, int], int | None]:
        with Image.open(demo.evidence_dir / name) as image:
            return image.size, image.getexif().get(ExifTags.Base.Orientation)

    (width, height), _ = open_size("DCIM/100DEMO/IMG_0004.JPG")
    assert open_size("Pictures/Edited/IMG_0004_half.jpg")[0] == (
        width // 2,
        height // 2,
    )

    (width, height), _ = open_size("DCIM/100DEMO/IMG_0005.JPG")
    assert open_size("Pictures/Edited/IMG_0005_rot90.jpg") == ((height, width), 1)

    size, _ = open_size("DCIM/100DEMO/IMG_0006.JPG")
    assert open_size("Pictures/Edited/IMG_0006_orient6.jpg") == (size, 6)

    (width, height), _ = open_size("DCIM/100DEMO/IMG_0007.JPG")
    (crop_width, crop_height), _ = open_size("Pictures/Edited/IMG_0007_crop.jpg")
    assert crop_width == pytest.approx(width * 0.92, abs=2)
    assert crop_height == pytest.approx(height * 0.92, abs=2)

    original = (demo.evidence_dir / "DCIM/100DEMO/IMG_0003.JPG").stat().st_size
    smaller = (demo.evidence_dir / "Pictures/Edited/IMG_0003_q35.jpg").stat().st_size
    assert smaller < original


def test_video_decodes_with_requested_duration(demo: DemoEvidence) -> None:
    path = demo.evidence_dir / "Videos" / "VID_0001.mp4"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        size = (stream.codec_context.width, stream.codec_context.height)
        frames = sum(1 for _ in container.decode(stream))
        duration = container.duration

    expected_codec = "h264" if "libx264" in av.codecs_available else "mpeg4"
    assert codec == expected_codec
    assert size == (640, 360)
    # VID_0001 is requested as 3 seconds at 12 frames per second.
    assert frames == 36
    assert duration is not None
    assert duration / av.time_base == pytest.approx(3.0, abs=0.1)


def test_every_video_decodes(demo: DemoEvidence) -> None:
    videos = [
        path
        for path in sorted((demo.evidence_dir / "Videos").rglob("*"))
        if path.suffix in (".mp4", ".mov")
    ]
    suffixes = {path.suffix for path in videos}

    assert len(videos) >= 4
    assert suffixes == {".mp4", ".mov"}
    for path in videos:
        with av.open(str(path)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert frames >= 20, path.name

    copy = demo.evidence_dir / "Videos" / "Sent" / "clip_copy.mp4"
    original = demo.evidence_dir / "Videos" / "VID_0002.mp4"
    assert copy.read_bytes() == original.read_bytes()


def test_known_list_lines_hash_real_files(demo: DemoEvidence) -> None:
    contents = all_contents(demo.evidence_dir)
    sha256_by_name = {
        name: hashlib.sha256(data).hexdigest() for name, data in contents.items()
    }
    lines = demo.known_list.read_text(encoding="utf-8").splitlines()

    for line in lines:
        assert SHA256_LINE.match(line), line
    listed = {line.split("  ", 1)[0] for line in lines}
    assert listed == demo.known_sha256
    assert listed <= set(sha256_by_name.values())
    assert 0.25 <= len(listed) / demo.distinct_sha256 <= 0.4

    videos = {sha256_by_name[name] for name in sha256_by_name if name.endswith(".mp4")}
    assert listed & videos


def test_known_good_list_hashes_real_files(demo: DemoEvidence) -> None:
    contents = all_contents(demo.evidence_dir)
    md5_values = {hashlib.md5(data).hexdigest() for data in contents.values()}
    lines = demo.known_good_list.read_text(encoding="utf-8").splitlines()

    assert len(lines) == 2
    for line in lines:
        assert MD5_LINE.match(line), line
    listed = {line.split("  ", 1)[0] for line in lines}
    assert listed == demo.known_good_md5
    assert listed <= md5_values

    known_good_sha256 = {
        hashlib.sha256(data).hexdigest()
        for data in contents.values()
        if hashlib.md5(data).hexdigest() in listed
    }
    assert known_good_sha256.isdisjoint(demo.known_sha256)


def test_existing_evidence_raises(demo: DemoEvidence) -> None:
    pattern = re.escape(str(demo.evidence_dir))
    with pytest.raises(FileExistsError, match=pattern):
        generate_demo(demo.evidence_dir.parent)


def test_overwrite_replaces_evidence(tmp_path: Path) -> None:
    stale = tmp_path / "evidence" / "stale.txt"
    stale.parent.mkdir()
    stale.write_text("left from an earlier run", encoding="utf-8")

    result = generate_demo(tmp_path, overwrite=True)

    assert not stale.exists()
    assert result.file_count == len(read_tree(result.evidence_dir))


def test_empty_evidence_folder_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "evidence").mkdir()

    result = generate_demo(tmp_path)

    assert result.file_count == len(read_tree(result.evidence_dir))
