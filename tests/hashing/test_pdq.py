"""PDQ hashes: hex form, Hamming distance, and robustness on drawn pictures."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from scut.hashing.pdq import (
    PDQ_INPUT_SIZE,
    bits_to_hex,
    hamming_distance,
    hex_to_bits,
    pdq_of_image,
)


def _landscape(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """Draw sky, sun and three mountain ridges, placed by the seed."""
    rng = random.Random(seed)
    width, height = size
    picture = Image.new("RGB", size)
    draw = ImageDraw.Draw(picture)
    zenith = (rng.randrange(30, 110), rng.randrange(70, 150), rng.randrange(170, 255))
    for row in range(height):
        share = row / height
        draw.line(
            [(0, row), (width, row)],
            fill=tuple(int(c + (230 - c) * share) for c in zenith),
        )
    radius = height // 10
    sun_x = rng.randrange(radius, width - radius)
    sun_y = rng.randrange(radius, height // 3)
    draw.ellipse(
        [sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius],
        fill=(255, 215, 110),
    )
    for ridge in range(3):
        base = height * (0.5 + 0.12 * ridge)
        outline = [(0, height)]
        for x in range(0, width + width // 8, width // 8):
            outline.append((x, base - rng.randrange(0, height // 4)))
        outline.append((width, height))
        green = 70 + 50 * ridge
        draw.polygon(outline, fill=(green // 2, green, green // 3))
    return picture


def _reencoded(picture: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    reopened = Image.open(buffer)
    reopened.load()
    return reopened


def test_hex_round_trip_keeps_bits() -> None:
    bits = np.random.default_rng(7).integers(0, 2, 256, dtype=np.uint8)
    assert np.array_equal(hex_to_bits(bits_to_hex(bits)), bits)


def test_hex_of_hash_round_trips() -> None:
    value = pdq_of_image(_landscape(1)).hex
    assert bits_to_hex(hex_to_bits(value)) == value


def test_hex_has_64_lowercase_digits() -> None:
    value = pdq_of_image(_landscape(1)).hex
    assert len(value) == 64
    assert value == value.lower()
    assert int(value, 16) >= 0


def test_hex_puts_first_bit_first() -> None:
    # PDQ tools exchange hashes most significant bit first: bit vector
    # element 0 is the top bit of the first hex digit.
    bits = np.zeros(256, dtype=np.uint8)
    bits[0] = 1
    assert bits_to_hex(bits) == "8" + "0" * 63


def test_hex_to_bits_rejects_short() -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        hex_to_bits("ab" * 31)


def test_distance_of_opposites_is_256() -> None:
    assert hamming_distance("0" * 64, "f" * 64) == 256


def test_distance_counts_single_bit() -> None:
    assert hamming_distance("0" * 64, "0" * 63 + "1") == 1


def test_distance_to_itself_is_zero() -> None:
    value = pdq_of_image(_landscape(3)).hex
    assert hamming_distance(value, value) == 0


def test_distance_is_symmetric() -> None:
    left, right = pdq_of_image(_landscape(1)).hex, pdq_of_image(_landscape(2)).hex
    assert hamming_distance(left, right) == hamming_distance(right, left)


def test_jpeg_quality_70_keeps_hash() -> None:
    picture = _landscape(1)
    original = pdq_of_image(picture).hex
    reencoded = pdq_of_image(_reencoded(picture, 70)).hex
    assert hamming_distance(original, reencoded) <= 10


def test_different_landscapes_far_apart() -> None:
    first = pdq_of_image(_landscape(1)).hex
    second = pdq_of_image(_landscape(2)).hex
    assert hamming_distance(first, second) > 60


def test_detailed_picture_has_quality() -> None:
    assert pdq_of_image(_landscape(4)).quality >= 50


def test_flat_picture_has_no_quality() -> None:
    flat = Image.new("RGB", (300, 200), (120, 140, 160))
    assert pdq_of_image(flat).quality == 0


def test_grey_picture_hashes_like_rgb() -> None:
    # Non-RGB input is converted first, so a grey copy hashes the same way.
    picture = _landscape(5).convert("L")
    assert pdq_of_image(picture) == pdq_of_image(picture.convert("RGB"))


def test_input_size_does_not_change_hash() -> None:
    # Hashes are taken at PDQ_INPUT_SIZE, so a picture already that size and
    # a larger copy of it land within a few bits.
    small = _landscape(6, (PDQ_INPUT_SIZE, PDQ_INPUT_SIZE))
    large = small.resize((2 * PDQ_INPUT_SIZE, 2 * PDQ_INPUT_SIZE))
    distance = hamming_distance(pdq_of_image(small).hex, pdq_of_image(large).hex)
    assert distance <= 10
