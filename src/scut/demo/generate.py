"""Deterministic, benign demo evidence: a small fake seizure and demo hash lists.

``generate_demo`` writes pictures, videos and archives laid out like a seized
phone and laptop: exact duplicates, files with a wrong extension, edited copies
(recompressed, resized, rotated, cropped, mirrored), nested archives. Scut's
ingest, hashing, EXIF and matching steps can then be shown and tested without
case material. Every picture is drawn by :mod:`scut.demo.drawing` (landscapes,
objects, test charts) and nothing is downloaded.

The same seed gives the same bytes as long as the Pillow, PyAV (FFmpeg, x264)
and zlib builds stay the same.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import random
import shutil
import tarfile
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageOps

from scut.demo import drawing, media
from scut.demo.media import Camera, Capture, Place
from scut.hashing.views import picture_hashes

log = logging.getLogger(__name__)

# Every file and archive member gets this modification time, so two runs write
# identical archives and identical folder listings.
_FIXED_TIME = datetime(2025, 9, 1, 12, 0, 0, tzinfo=UTC)
_FIXED_ZIP_TIME = (2025, 9, 1, 12, 0, 0)
# Capture times are local wall-clock times, written with offset +03:00.
_FIRST_CAPTURE = datetime(2025, 6, 1, 9, 0, 0)


@dataclass(frozen=True)
class DemoEvidence:
    """Paths and counts of one generated demo evidence folder."""

    evidence_dir: Path
    known_list: Path
    known_good_list: Path
    # The same known items as a Project VIC (VICS 2.0) file with categories,
    # series, identification flags and PDQ hashes.
    known_vics: Path
    file_count: int
    member_count: int
    distinct_sha256: int
    known_sha256: frozenset[str]
    known_good_md5: frozenset[str]


@dataclass(frozen=True)
class _PictureSpec:
    name: str
    kind: str
    size: tuple[int, int]


@dataclass(frozen=True)
class _VideoSpec:
    name: str
    size: tuple[int, int]
    fps: int
    seconds: int
    motif: str


# Fictional makes, models and serial numbers, so no real device is implied.
_CAMERAS = (
    Camera("Demo Optics", "DO-100", "DO100-000123", "DO Firmware 1.02"),
    Camera("Demo Optics", "DO-200 Pro", "DO200-004517", "DO Firmware 2.10"),
    Camera("Sample Devices", "SD Phone 7", "SDP7-9A31C04", "SampleOS 14.2"),
)

# Town centres in the Republic of Moldova. The altitudes are rough values for
# the demo, not survey data.
_PLACES = (
    Place("Chișinău", 47.0105, 28.8638, 85.0),
    Place("Bălți", 47.7617, 27.9290, 100.0),
    Place("Cahul", 45.9075, 28.1944, 70.0),
    Place("Orhei", 47.3831, 28.8231, 60.0),
)

# The file name's suffix selects the format. IMG_0015 to IMG_0018 are written
# only inside archives, so some content can be found nowhere else.
_PICTURES = (
    _PictureSpec("IMG_0001.JPG", "landscape", (2000, 1500)),
    _PictureSpec("IMG_0002.JPG", "landscape", (1600, 1200)),
    _PictureSpec("IMG_0003.JPG", "house", (1280, 960)),
    _PictureSpec("IMG_0004.JPG", "landscape", (2000, 1500)),
    _PictureSpec("IMG_0005.JPG", "car", (1024, 768)),
    _PictureSpec("IMG_0006.JPG", "landscape", (1280, 960)),
    _PictureSpec("IMG_0007.JPG", "cup", (1600, 1200)),
    _PictureSpec("IMG_0008.JPG", "landscape", (1920, 1080)),
    _PictureSpec("IMG_0009.JPG", "house", (800, 600)),
    _PictureSpec("IMG_0010.JPG", "landscape", (1024, 768)),
    _PictureSpec("IMG_0011.JPG", "car", (1280, 720)),
    _PictureSpec("IMG_0012.JPG", "landscape", (640, 480)),
    _PictureSpec("IMG_0013.JPG", "cup", (1024, 768)),
    _PictureSpec("IMG_0014.JPG", "landscape", (1500, 1000)),
    _PictureSpec("IMG_0015.JPG", "landscape", (1600, 1200)),
    _PictureSpec("IMG_0016.JPG", "house", (1280, 960)),
    _PictureSpec("IMG_0017.JPG", "landscape", (1024, 768)),
    _PictureSpec("IMG_0018.JPG", "car", (800, 600)),
    _PictureSpec("chart_bars.png", "bars", (1280, 720)),
    _PictureSpec("chart_grid.png", "grid", (1024, 768)),
    _PictureSpec("sticker.webp", "cup", (800, 600)),
    _PictureSpec("banner.gif", "circles", (640, 480)),
    _PictureSpec("wallpaper.bmp", "landscape", (640, 480)),
    _PictureSpec("scan_0001.tif", "grid", (800, 600)),
)
_ARCHIVE_ONLY = frozenset(
    {"IMG_0015.JPG", "IMG_0016.JPG", "IMG_0017.JPG", "IMG_0018.JPG"}
)

# Edited copies: (source picture, name of the copy, edit). "orientation" keeps
# the pixels and only sets EXIF Orientation to 6 (rotate 90 degrees clockwise).
_EDITS = (
    ("IMG_0003.JPG", "IMG_0003_q35.jpg", "recompress"),
    ("IMG_0004.JPG", "IMG_0004_half.jpg", "half"),
    ("IMG_0005.JPG", "IMG_0005_rot90.jpg", "rotate"),
    ("IMG_0006.JPG", "IMG_0006_orient6.jpg", "orientation"),
    ("IMG_0007.JPG", "IMG_0007_crop.jpg", "crop"),
    ("IMG_0008.JPG", "IMG_0008_mirror.jpg", "mirror"),
)

_VIDEOS = (
    _VideoSpec("VID_0001.mp4", (640, 360), 12, 3, "car"),
    _VideoSpec("VID_0002.mp4", (320, 240), 15, 3, "ball"),
    _VideoSpec("VID_0003.mov", (320, 240), 10, 4, "sun"),
)

# Further loose copies: (path under evidence/, content name).
_COPIES = (
    ("Downloads/photo (1).jpg", "IMG_0002.JPG"),
    ("Backup/2025-06/IMG_0002.JPG", "IMG_0002.JPG"),
    ("Pictures/Copies/chart_bars.png", "chart_bars.png"),
    ("Downloads/holiday.png", "IMG_0009.JPG"),
    ("AppData/cache/blob_0001.dat", "IMG_0010.JPG"),
    ("Videos/Sent/clip_copy.mp4", "VID_0002.mp4"),
)

# Archive members: (member name, content name).
_PHONE_ZIP = (
    ("DCIM/Camera/IMG_0001.JPG", "IMG_0001.JPG"),
    ("DCIM/Camera/IMG_0011.JPG", "IMG_0011.JPG"),
    ("DCIM/Camera/IMG_0015.JPG", "IMG_0015.JPG"),
    ("DCIM/Camera/IMG_0016.JPG", "IMG_0016.JPG"),
    ("DCIM/Camera/IMG_0004_half.jpg", "IMG_0004_half.jpg"),
    ("DCIM/Camera/VID_0002.mp4", "VID_0002.mp4"),
    ("backup/old.zip", "old.zip"),
)
_OLD_ZIP = (
    ("IMG_0005.JPG", "IMG_0005.JPG"),
    ("IMG_0017.JPG", "IMG_0017.JPG"),
)
_LAPTOP_TAR = (
    ("home/demo/Pictures/IMG_0006.JPG", "IMG_0006.JPG"),
    ("home/demo/Pictures/IMG_0018.JPG", "IMG_0018.JPG"),
    ("home/demo/Pictures/wallpaper.bmp", "wallpaper.bmp"),
)

# Demo stand-ins for a known-material hash set, not real case data. They are
# the sources of the edited copies (so perceptual matching has near-duplicates
# to find), pictures found only inside archives, and a video that is also
# duplicated: about a third of the distinct contents.
_KNOWN = (
    "IMG_0003.JPG", "IMG_0004.JPG", "IMG_0005.JPG", "IMG_0006.JPG",
    "IMG_0007.JPG", "IMG_0008.JPG", "IMG_0010.JPG", "IMG_0016.JPG",
    "IMG_0017.JPG", "IMG_0018.JPG", "chart_grid.png", "VID_0002.mp4",
)  # fmt: skip
# Demo stand-ins for an NSRL-like known-good set, files an examiner may ignore.
_KNOWN_GOOD = ("banner.gif", "wallpaper.bmp")


def generate_demo(
    destination: Path, *, seed: int = 2026, overwrite: bool = False
) -> DemoEvidence:
    """Write demo evidence to ``destination/evidence`` and hash lists to ``known/``.

    The same ``seed`` gives the same bytes. Raises FileExistsError if the
    evidence folder already exists and is not empty, unless ``overwrite`` is
    true, in which case the folder is deleted first.
    """
    started = time.perf_counter()
    evidence_dir = destination / "evidence"
    _prepare_evidence_dir(evidence_dir, overwrite=overwrite)

    rng = random.Random(seed)
    contents = _render_pictures(rng)
    contents.update(_render_videos(rng))
    archives, members = _build_archives(contents)

    loose = _loose_files(contents) | archives
    _write_files(evidence_dir, loose)

    known_dir = destination / "known"
    known_list = known_dir / "demo_known_sha256.txt"
    known_good_list = known_dir / "demo_known_good_md5.txt"
    known_sha256 = _write_hash_list(known_list, "sha256", _KNOWN, contents)
    known_vics = known_dir / "demo_known_vics.json"
    _write_vics(known_vics, _KNOWN, contents)
    known_good_md5 = _write_hash_list(known_good_list, "md5", _KNOWN_GOOD, contents)

    blobs = [*loose.values(), *members]
    distinct = {hashlib.sha256(data).hexdigest() for data in blobs}
    elapsed = time.perf_counter() - started
    log.info(
        "wrote %d demo evidence files (%d archive members) to %s in %.1f s",
        len(loose),
        len(members),
        evidence_dir,
        elapsed,
    )
    return DemoEvidence(
        evidence_dir=evidence_dir,
        known_list=known_list,
        known_good_list=known_good_list,
        known_vics=known_vics,
        file_count=len(loose),
        member_count=len(members),
        distinct_sha256=len(distinct),
        known_sha256=known_sha256,
        known_good_md5=known_good_md5,
    )


def _prepare_evidence_dir(evidence_dir: Path, *, overwrite: bool) -> None:
    if evidence_dir.exists() and any(evidence_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"demo evidence folder {evidence_dir} already exists and is not "
                "empty. Delete it or pass overwrite=True to replace it."
            )
        log.info("deleting existing demo evidence folder %s", evidence_dir)
        shutil.rmtree(evidence_dir)
    evidence_dir.mkdir(parents=True, exist_ok=True)


def _render_pictures(rng: random.Random) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    for index, spec in enumerate(_PICTURES):
        image = drawing.draw_scene(spec.kind, spec.size, rng)
        if not spec.name.endswith(".JPG"):
            contents[spec.name] = media.encode_picture(image, Path(spec.name).suffix)
            continue

        # Every second JPEG gets a GPS position, so about half carry one.
        capture = _draw_capture(rng, index, with_place=index % 2 == 0)
        contents[spec.name] = media.encode_jpeg(image, media.build_exif(capture))
        for source, name, edit in _EDITS:
            if source == spec.name:
                contents[name] = media.encode_edit(image, capture, edit)
    return contents


def _draw_capture(rng: random.Random, index: int, *, with_place: bool) -> Capture:
    camera = rng.choice(_CAMERAS)
    captured_at = _FIRST_CAPTURE + timedelta(days=index, minutes=rng.randint(0, 600))
    if not with_place:
        return Capture(camera, captured_at, None)

    # Offsets up to about 1 km keep pictures from one town apart but nearby.
    base = rng.choice(_PLACES)
    place = Place(
        base.name,
        round(base.latitude + rng.uniform(-0.01, 0.01), 6),
        round(base.longitude + rng.uniform(-0.01, 0.01), 6),
        base.altitude_m + rng.randint(-5, 15),
    )
    return Capture(camera, captured_at, place)


def _render_videos(rng: random.Random) -> dict[str, bytes]:
    codec = media.video_codec()
    log.debug("encoding demo videos with %s", codec)
    videos: dict[str, bytes] = {}
    for spec in _VIDEOS:
        background = drawing.draw_landscape(spec.size, rng)
        videos[spec.name] = media.encode_video(
            background,
            spec.motif,
            fps=spec.fps,
            seconds=spec.seconds,
            container_format="mov" if spec.name.endswith(".mov") else "mp4",
            codec=codec,
        )
    return videos


def _build_archives(
    contents: Mapping[str, bytes],
) -> tuple[dict[str, bytes], list[bytes]]:
    """Build phone.zip (with backup/old.zip inside) and laptop_backup.tar.gz.

    Returns the archives by path under evidence/ and the bytes of every member,
    nested ones included. old.zip counts as a member, and so do its own members.
    """
    old_members = _resolve(_OLD_ZIP, contents)
    old_zip = _zip_bytes(old_members)
    phone_members = _resolve(_PHONE_ZIP, {**contents, "old.zip": old_zip})
    tar_members = _resolve(_LAPTOP_TAR, contents)

    archives = {
        "phone.zip": _zip_bytes(phone_members),
        "laptop_backup.tar.gz": _tar_gz_bytes(tar_members),
    }
    members = [data for _, data in (*old_members, *phone_members, *tar_members)]
    return archives, members


def _resolve(
    table: Iterable[tuple[str, str]], contents: Mapping[str, bytes]
) -> list[tuple[str, bytes]]:
    return [(name, contents[content]) for name, content in table]


def _zip_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            # ZipInfo records the host system, which would differ on Windows.
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _tar_gz_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with (
        _gzip_writer(buffer) as compressed,
        tarfile.open(
            fileobj=compressed, mode="w", format=tarfile.USTAR_FORMAT
        ) as archive,
    ):
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(_FIXED_TIME.timestamp())
            info.mode = 0o644
            info.uname = info.gname = "demo"
            info.uid = info.gid = 1000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _gzip_writer(buffer: io.BytesIO) -> gzip.GzipFile:
    # The gzip header contains a modification time and a file name, so both are fixed.
    return gzip.GzipFile(
        filename="", mode="wb", fileobj=buffer, mtime=int(_FIXED_TIME.timestamp())
    )


def _loose_files(contents: Mapping[str, bytes]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for spec in _PICTURES:
        if spec.name not in _ARCHIVE_ONLY:
            folder = "DCIM/100DEMO" if spec.name.endswith(".JPG") else "Pictures"
            files[f"{folder}/{spec.name}"] = contents[spec.name]

    for _, name, _ in _EDITS:
        files[f"Pictures/Edited/{name}"] = contents[name]
    for video in _VIDEOS:
        files[f"Videos/{video.name}"] = contents[video.name]
    for path, content in _COPIES:
        files[path] = contents[content]
    return files


def _write_files(evidence_dir: Path, files: Mapping[str, bytes]) -> None:
    fixed = _FIXED_TIME.timestamp()
    for relative, data in sorted(files.items()):
        path = evidence_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (fixed, fixed))


def _write_hash_list(
    path: Path, algorithm: str, names: Iterable[str], contents: Mapping[str, bytes]
) -> frozenset[str]:
    """Write ``<hex digest>  <name>`` lines, the format of sha256sum and md5sum."""
    digests = {
        name: hashlib.new(algorithm, contents[name], usedforsecurity=False).hexdigest()
        for name in names
    }
    lines = [f"{digest}  {name}\n" for name, digest in sorted(digests.items())]

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    return frozenset(digests.values())


# What the demo VICS file says of its items, by position: (category,
# series, victim identified, offender identified). Stand-ins, not case data.
_VICS_LABELS = (
    (1, "DEMO-SERIES-A", True, False),
    (1, "DEMO-SERIES-A", True, False),
    (1, "DEMO-SERIES-B", False, True),
    (3, None, None, None),
)


def _write_vics(
    path: Path, names: Iterable[str], contents: Mapping[str, bytes]
) -> None:
    """Write the known items as a VICS 2.0 media list, PDQ hashes included."""
    media = []
    for position, name in enumerate(sorted(names), start=1):
        data = contents[name]
        category, series, victim, offender = _VICS_LABELS[position % len(_VICS_LABELS)]
        alternative = [
            {"HashName": "SHA256", "HashValue": hashlib.sha256(data).hexdigest()}
        ]
        pdq = _picture_pdq(data)
        if pdq is not None:
            alternative.append({"HashName": "PDQ", "HashValue": pdq})
        media.append(
            {
                "MediaID": position,
                "Category": category,
                "MD5": hashlib.md5(data, usedforsecurity=False).hexdigest().upper(),
                "SHA1": hashlib.sha1(data, usedforsecurity=False).hexdigest().upper(),
                "MediaSize": len(data),
                "Series": series,
                "VictimIdentified": victim,
                "OffenderIdentified": offender,
                "IsDistributed": True,
                "Comments": "scut demo stand-in, not case data",
                "AlternativeHashes": alternative,
            }
        )
    document = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/"
        "2.0.xml/Default/$metadata#Media",
        "value": media,
    }
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")


def _picture_pdq(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            shown = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, SyntaxError, ValueError):
        return None  # a video
    return picture_hashes(shown).full.hex
