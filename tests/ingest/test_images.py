"""Decoding pictures small: size, PDQ hash as displayed, thumbnail, bombs."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from scut.errors import FileFailure
from scut.hashing.pdq import hamming_distance, pdq_of_image
from scut.ingest.images import analyse_image
from scut.settings import Settings

HUGE_JPEG = "formats/generated/huge_12000x8000_gradient_progressive.jpg"
ORIENTATION = "camera/exif-samples/orientation"


def _landscape(width: int, height: int) -> Image.Image:
    """Draw a sky gradient, a sun, hills and a lake at any size."""
    rng = random.Random(11)
    picture = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(picture)
    for row in range(height // 2):
        share = row / (height / 2)
        draw.line(
            [(0, row), (width, row)],
            fill=(int(60 + 150 * share), int(110 + 110 * share), 235),
        )
    radius = height // 12
    draw.ellipse(
        [width // 5, height // 8, width // 5 + 2 * radius, height // 8 + 2 * radius],
        fill=(255, 225, 120),
    )
    outline = [(0, height)]
    for x in range(0, width + width // 10, width // 10):
        outline.append((x, height // 2 - rng.randrange(0, height // 5)))
    outline.append((width, height))
    draw.polygon(outline, fill=(50, 120, 60))
    draw.rectangle([0, int(height * 0.75), width, height], fill=(40, 80, 150))
    return picture


def _jpeg(picture: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _peak_rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1))


def _reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
    Path("/proc/self/clear_refs").write_text("5")


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    return _jpeg(_landscape(4000, 3000))


@pytest.fixture
def worker_pixel_limit(sqlite_settings: Settings) -> Iterator[int]:
    """Set Pillow's limit as init_worker does, and put the old one back."""
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = sqlite_settings.image_max_pixels // 2
    yield Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = previous


def _file(shared_data: Path, path: str) -> bytes:
    return (shared_data / path).read_bytes()


def test_draft_keeps_original_size(big_jpeg: bytes) -> None:
    analysis = analyse_image(big_jpeg, 320)
    assert (analysis.width, analysis.height) == (4000, 3000)


def test_draft_reports_jpeg_format(big_jpeg: bytes) -> None:
    assert analyse_image(big_jpeg, 320).format == "JPEG"


def test_draft_hash_near_full_decode(big_jpeg: bytes) -> None:
    with Image.open(io.BytesIO(big_jpeg)) as full:
        full.load()
        full_hash = pdq_of_image(full).hex
    draft_hash = analyse_image(big_jpeg, 320).pdq.hex
    assert hamming_distance(draft_hash, full_hash) <= 8


def test_thumbnail_is_small_jpeg(big_jpeg: bytes) -> None:
    thumbnail = analyse_image(big_jpeg, 160).thumbnail_jpeg
    with Image.open(io.BytesIO(thumbnail)) as opened:
        assert opened.format == "JPEG"
        assert max(opened.size) <= 160


def test_thumbnail_keeps_aspect(big_jpeg: bytes) -> None:
    with Image.open(io.BytesIO(analyse_image(big_jpeg, 160).thumbnail_jpeg)) as opened:
        assert opened.size == (160, 120)


def test_tiny_picture_not_enlarged(shared_data: Path) -> None:
    analysis = analyse_image(_file(shared_data, "camera/exiftool/Canon.jpg"), 160)
    with Image.open(io.BytesIO(analysis.thumbnail_jpeg)) as opened:
        assert opened.size == (analysis.width, analysis.height)


@pytest.mark.parametrize("limit", ["pillow default", "worker"])
def test_huge_jpeg_decodes_quietly(
    shared_data: Path, sqlite_settings: Settings, limit: str
) -> None:
    # 96 MP is over Pillow's default warning limit of 89.5 MP. Warnings are
    # errors in this test run, so a DecompressionBombWarning would fail it.
    previous = Image.MAX_IMAGE_PIXELS
    if limit == "worker":
        Image.MAX_IMAGE_PIXELS = sqlite_settings.image_max_pixels // 2
    try:
        analysis = analyse_image(_file(shared_data, HUGE_JPEG), 320)
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    assert (analysis.width, analysis.height) == (12000, 8000)
    assert analysis.pdq.quality > 0


def test_huge_jpeg_skips_full_raster(shared_data: Path) -> None:
    data = _file(shared_data, HUGE_JPEG)
    pixels = 12000 * 8000
    _reset_peak_rss()
    before = _peak_rss_kib()
    analyse_image(data, 320)
    growth = (_peak_rss_kib() - before) * 1024
    # At any scale, libjpeg keeps the coefficients of a whole progressive
    # JPEG (2 bytes per pixel of this grey picture). A full decode adds a
    # 1 byte per pixel raster on top, which draft decoding must avoid.
    assert growth < pixels * 2.5


@pytest.mark.parametrize(
    "path",
    [
        "hostile/generated/png_bomb_65535x65535_1bit.png",
        "hostile/pillow/decompression_bomb.gif",
    ],
)
def test_bomb_fails_decode(
    shared_data: Path, worker_pixel_limit: int, path: str
) -> None:
    with pytest.raises(FileFailure) as caught:
        analyse_image(_file(shared_data, path), 320)
    assert caught.value.stage == "decode"
    assert "too large" in caught.value.reason


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("gradient_LA.png", "LA"),
        ("gradient_L.jpg", "L"),
        ("gradient_1bit.png", "1"),
        ("gradient_CMYK.jpg", "CMYK"),
        ("gradient_16bit.png", "I;16"),
        ("gradient_palette.gif", "P"),
        ("gradient_progressive.jpg", "RGB"),
    ],
)
def test_every_mode_hashes(shared_data: Path, name: str, mode: str) -> None:
    data = _file(shared_data, f"formats/generated/{name}")
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.mode == mode
    assert analyse_image(data, 320).pdq.quality > 0


def test_16bit_range_not_clipped(shared_data: Path) -> None:
    # A plain convert("L") clips 16-bit values to white. The hash must be
    # that of the gradient scaled down to 8 bits.
    data = _file(shared_data, "formats/generated/gradient_16bit.png")
    with Image.open(io.BytesIO(data)) as deep:
        values = np.asarray(deep, dtype=np.uint32)
    scaled = Image.fromarray((values * 255 // values.max()).astype(np.uint8))
    expected = pdq_of_image(scaled.convert("RGB")).hex
    assert hamming_distance(analyse_image(data, 64).pdq.hex, expected) <= 4


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientation_hashed_as_displayed(shared_data: Path, orientation: int) -> None:
    upright = analyse_image(_file(shared_data, f"{ORIENTATION}/landscape_1.jpg"), 64)
    turned = analyse_image(
        _file(shared_data, f"{ORIENTATION}/landscape_{orientation}.jpg"), 64
    )
    assert hamming_distance(upright.pdq.hex, turned.pdq.hex) <= 31


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_stored_pixels_differ_from_upright(shared_data: Path, orientation: int) -> None:
    # The check above means something only if the stored pixels, hashed
    # without their orientation, are far from the upright picture.
    upright = analyse_image(_file(shared_data, f"{ORIENTATION}/landscape_1.jpg"), 64)
    with Image.open(shared_data / ORIENTATION / f"landscape_{orientation}.jpg") as raw:
        stored = pdq_of_image(raw)
    assert hamming_distance(upright.pdq.hex, stored.hex) > 31


def test_orientation_six_thumbnail_portrait(shared_data: Path) -> None:
    analysis = analyse_image(_file(shared_data, f"{ORIENTATION}/portrait_6.jpg"), 64)
    with Image.open(io.BytesIO(analysis.thumbnail_jpeg)) as opened:
        assert opened.height > opened.width


def test_damaged_exif_keeps_orientation(shared_data: Path) -> None:
    # One byte changed in IFD0 makes Pillow's exif_transpose raise
    # struct.error when it writes the EXIF block back. The Orientation (8)
    # is intact, so the picture must still be hashed upright.
    data = bytearray(_file(shared_data, "camera/exiftool/Pentax.jpg"))
    data[39] = 0xD1
    intact = analyse_image(_file(shared_data, "camera/exiftool/Pentax.jpg"), 64)
    with pytest.warns(UserWarning, match="Corrupt EXIF"):
        damaged = analyse_image(bytes(data), 64)
    assert damaged.pdq == intact.pdq


def test_damaged_avif_fails_decode(shared_data: Path) -> None:
    # Overwriting part of the coded picture makes the AVIF decoder raise
    # RuntimeError ("Decoding of color planes failed").
    data = bytearray(_file(shared_data, "formats/avif/pillow-exif.avif"))
    data[16014:16030] = b"\xff" * 16
    with pytest.raises(FileFailure) as caught:
        analyse_image(bytes(data), 64)
    assert caught.value.stage == "decode"


@pytest.mark.parametrize(
    "path",
    [
        "hostile/generated/truncated_half.jpg",
        "hostile/generated/jpeg_soi_only.jpg",
        "hostile/metadata-extractor-images/beach.jpg",
        "hostile/pillow/truncated_jpeg.jpg",
    ],
)
def test_broken_picture_fails_decode(shared_data: Path, path: str) -> None:
    with pytest.raises(FileFailure) as caught:
        analyse_image(_file(shared_data, path), 64)
    assert caught.value.stage == "decode"
