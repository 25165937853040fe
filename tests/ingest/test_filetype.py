"""Tests of file type detection by content and of name mismatches."""

from __future__ import annotations

import random
from pathlib import Path

import av
import numpy as np
import pytest

from scut.ingest.filetype import SNIFF_BYTES, detect, kind_of, mime_of_name


def head_of(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


@pytest.mark.parametrize(
    ("name", "mime_type", "claimed"),
    [
        ("png_named.jpg", "image/png", "image/jpeg"),
        ("jpeg_named.txt", "image/jpeg", "text/plain"),
        ("gif_named.mp4", "image/gif", "video/mp4"),
        ("text_named.png", "text/plain", "image/png"),
        ("zero_bytes.jpg", "application/x-empty", "image/jpeg"),
    ],
)
def test_hostile_type_mismatch(
    name: str, mime_type: str, claimed: str, shared_data: Path
) -> None:
    detected = detect(head_of(shared_data / "hostile/generated" / name), name)

    assert detected.mime_type == mime_type
    assert detected.extension_mime_type == claimed
    assert detected.mismatch


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("IMG_5195.HEIC", "IMG_5195.heif"),
        ("samplefilehub.heif", "samplefilehub.heic"),
        ("cheers_1440x960.heic", "cheers.HEIC"),
        ("cheers_1440x960.heic", "cheers.heif"),
    ],
)
def test_heic_heif_no_mismatch(source: str, name: str, shared_data: Path) -> None:
    detected = detect(head_of(shared_data / "formats/heic" / source), name)

    assert detected.kind == "image"
    assert not detected.mismatch


def test_jpeg_named_dat_mismatch(shared_data: Path) -> None:
    head = head_of(shared_data / "camera/exiftool/GPS.jpg")

    detected = detect(head, "holiday.dat")

    assert detected.mime_type == "image/jpeg"
    assert detected.extension_mime_type is None
    assert detected.mismatch


def test_text_without_extension_matches() -> None:
    detected = detect(b"meeting notes\n", "README")

    assert detected.kind == "other"
    assert not detected.mismatch


def test_corpus_formats_match(shared_data: Path) -> None:
    folder = shared_data / "formats"
    mismatched = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        detected = detect(head_of(path), path.name)
        if detected.mismatch:
            mismatched.append(
                f"{path.relative_to(folder)}: content {detected.mime_type}, "
                f"name {detected.extension_mime_type}"
            )

    assert mismatched == []


def expected_kind(relative: Path) -> str:
    """Return the kind of a file under formats/, from its folder and suffix."""
    if relative.parts[0] == "archives":
        return "archive"
    if relative.parts[0] == "video" or relative.suffix == ".mp4":
        return "video"
    return "image"


def test_corpus_formats_kinds(shared_data: Path) -> None:
    folder = shared_data / "formats"
    wrong = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(folder)
        kind = detect(head_of(path), path.name).kind
        if kind != expected_kind(relative):
            wrong.append(f"{relative}: {kind}")

    assert wrong == []


@pytest.mark.parametrize(
    ("mime_type", "kind"),
    [
        ("image/jpeg", "image"),
        ("image/heic", "image"),
        ("video/quicktime", "video"),
        ("video/mp2t", "video"),
        ("application/x-7z-compressed", "archive"),
        ("application/gzip", "archive"),
        ("application/pdf", "other"),
        ("text/plain", "other"),
    ],
)
def test_kind_of_mime(mime_type: str, kind: str) -> None:
    assert kind_of(mime_type) == kind


@pytest.mark.parametrize(
    ("name", "mime_type"),
    [
        ("IMG_0001.JPG", "image/jpeg"),
        ("photo.jpeg", "image/jpeg"),
        ("scan.tif", "image/tiff"),
        ("card.tar.gz", "application/gzip"),
        ("backup.7z", "application/x-7z-compressed"),
        ("clip.MTS", "video/mp2t"),
        ("clip.m2ts", "video/mp2t"),
        ("movie.ts", "video/mp2t"),
        ("VTS_01_1.VOB", "video/mpeg"),
        ("README", None),
        ("archive.", None),
    ],
)
def test_mime_of_name(name: str, mime_type: str | None) -> None:
    assert mime_of_name(name) == mime_type


def write_transport_stream(path: Path, *, m2ts: bool) -> None:
    """Write a short MPEG transport stream of grey frames."""
    options = {"mpegts_m2ts_mode": "1"} if m2ts else {}
    with av.open(str(path), "w", format="mpegts", options=options) as container:
        stream = container.add_stream("mpeg2video", rate=25)
        stream.width = 64
        stream.height = 48
        stream.pix_fmt = "yuv420p"
        for index in range(10):
            pixels = np.full((48, 64, 3), index * 20, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


@pytest.mark.parametrize(
    ("name", "m2ts"),
    [("00001.MTS", True), ("00001.m2ts", True), ("broadcast.ts", False)],
)
def test_transport_stream_video(name: str, m2ts: bool, tmp_path: Path) -> None:
    path = tmp_path / name
    write_transport_stream(path, m2ts=m2ts)

    detected = detect(head_of(path), name)

    assert detected.mime_type == "video/mp2t"
    assert detected.kind == "video"
    assert not detected.mismatch


def test_random_bytes_not_video() -> None:
    detected = detect(random.Random(0).randbytes(4096), "blob.bin")

    assert detected.mime_type == "application/octet-stream"
    assert detected.kind == "other"


def test_text_aliases_not_a_mismatch() -> None:
    script = b"#!/usr/bin/env python3\nimport sys\n\nprint(sys.argv)\n"

    detected = detect(script, "setup.py")

    assert detected.kind == "other"
    assert not detected.mismatch
