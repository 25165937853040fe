"""picture_hashes(): dihedral variants, trimmed and central views, matchable."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from drawn_pictures import draw_picture
from scut.demo.drawing import draw_scene
from scut.hashing.pdq import hamming_distance
from scut.hashing.views import (
    MAX_ONE_BITS,
    MIN_MATCH_QUALITY,
    MIN_ONE_BITS,
    matchable,
    picture_hashes,
)

MATCH_DISTANCE = 31


def _nearest_variant(copy: Image.Image, original_hex: str) -> int:
    """Return the distance from the closest variant of the copy's full view."""
    variants = picture_hashes(copy).full.variants
    return min(hamming_distance(value, original_hex) for value in variants)


def _bars(picture: Image.Image, side: str, thickness: int, colour: int) -> Image.Image:
    """Return the picture framed by two bars, above and below or left and right."""
    width, height = picture.size
    if side == "top-bottom":
        framed = Image.new("RGB", (width, height + 2 * thickness), (colour,) * 3)
        framed.paste(picture, (0, thickness))
    else:
        framed = Image.new("RGB", (width + 2 * thickness, height), (colour,) * 3)
        framed.paste(picture, (thickness, 0))
    return framed


@pytest.fixture(scope="module")
def original() -> Image.Image:
    return draw_picture(11)


TRANSFORMS = {
    "rotated-90": Image.Transpose.ROTATE_90,
    "rotated-180": Image.Transpose.ROTATE_180,
    "rotated-270": Image.Transpose.ROTATE_270,
    "mirrored-left-right": Image.Transpose.FLIP_LEFT_RIGHT,
    "mirrored-top-bottom": Image.Transpose.FLIP_TOP_BOTTOM,
    "transposed": Image.Transpose.TRANSPOSE,
    "transversed": Image.Transpose.TRANSVERSE,
}


def test_full_view_has_eight_variants(original: Image.Image) -> None:
    hashes = picture_hashes(original)

    assert len(hashes.full.variants) == 8
    assert hashes.full.variants[0] == hashes.full.hex
    assert len(set(hashes.full.variants)) == 8
    assert all(len(value) == 64 for value in hashes.full.variants)
    assert hashes.full.matchable


def test_unframed_picture_gets_central_views_only(original: Image.Image) -> None:
    hashes = picture_hashes(original)

    assert set(hashes.views) == {"center90", "center80"}
    assert hashes.trim_box is None
    assert [name for name, _ in hashes.all_views()] == ["full", "center90", "center80"]
    for view in hashes.views.values():
        assert len(view.variants) == 8


def test_identical_copy_matches_exactly(original: Image.Image) -> None:
    assert _nearest_variant(original.copy(), picture_hashes(original).full.hex) == 0


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_turned_copy_matches_some_variant(original: Image.Image, name: str) -> None:
    original_hex = picture_hashes(original).full.hex
    copy = original.transpose(TRANSFORMS[name])

    assert _nearest_variant(copy, original_hex) <= MATCH_DISTANCE
    # Without the variants the copy would be missed.
    copy_hex = picture_hashes(copy).full.hex
    assert hamming_distance(copy_hex, original_hex) > MATCH_DISTANCE


@pytest.mark.parametrize(
    ("side", "colour"),
    [("top-bottom", 0), ("left-right", 0), ("top-bottom", 255)],
)
def test_framed_copy_trimmed_view_matches(
    original: Image.Image, side: str, colour: int
) -> None:
    original_hex = picture_hashes(original).full.hex
    framed = _bars(original, side, 60, colour)

    hashes = picture_hashes(framed)

    assert "trimmed" in hashes.views
    assert hamming_distance(hashes.views["trimmed"].hex, original_hex) <= MATCH_DISTANCE
    assert hamming_distance(hashes.full.hex, original_hex) > MATCH_DISTANCE
    width, height = framed.size
    if side == "top-bottom":
        expected = (0.0, 60 / height, 1.0, (height - 60) / height)
    else:
        expected = (60 / width, 0.0, (width - 60) / width, 1.0)
    assert hashes.trim_box == pytest.approx(expected, abs=0.01)


def test_thin_frame_left_alone(original: Image.Image) -> None:
    # Two pixels on 364 rows is under the 2% a border must reach.
    framed = _bars(original, "top-bottom", 2, 0)

    hashes = picture_hashes(framed)

    assert "trimmed" not in hashes.views
    assert hashes.trim_box is None


def test_central_crop_matches_center90_view(original: Image.Image) -> None:
    width, height = original.size
    margin_x, margin_y = round(width * 0.05), round(height * 0.05)
    cropped = original.crop((margin_x, margin_y, width - margin_x, height - margin_y))
    views = picture_hashes(original).views

    crop_hex = picture_hashes(cropped).full.hex

    assert hamming_distance(crop_hex, views["center90"].hex) <= MATCH_DISTANCE
    assert (
        hamming_distance(crop_hex, picture_hashes(original).full.hex) > MATCH_DISTANCE
    )


def test_tighter_crop_matches_center80_view(original: Image.Image) -> None:
    width, height = original.size
    margin_x, margin_y = round(width * 0.1), round(height * 0.1)
    cropped = original.crop((margin_x, margin_y, width - margin_x, height - margin_y))
    views = picture_hashes(original).views

    crop_hex = picture_hashes(cropped).full.hex

    assert hamming_distance(crop_hex, views["center80"].hex) <= MATCH_DISTANCE


@pytest.mark.parametrize("kind", ["house", "cup"])
def test_central_crop_of_framed_scene_matches(kind: str) -> None:
    # Trimming takes plain sky, wall and lawn bands for borders and cuts a
    # crop's bands differently. The central views still meet.
    original = draw_scene(kind, (480, 360), random.Random(0))
    width, height = original.size
    margin_x, margin_y = round(width * 0.05), round(height * 0.05)
    cropped = original.crop((margin_x, margin_y, width - margin_x, height - margin_y))
    views = picture_hashes(original).views

    crop_hex = picture_hashes(cropped).full.hex

    assert picture_hashes(original).trim_box is not None
    assert hamming_distance(crop_hex, views["center90"].hex) <= MATCH_DISTANCE


def test_different_pictures_far_apart() -> None:
    first = picture_hashes(draw_picture(1)).full
    second = picture_hashes(draw_picture(2)).full

    nearest = min(hamming_distance(value, second.hex) for value in first.variants)

    assert nearest > 60


def test_small_picture_has_no_further_views() -> None:
    hashes = picture_hashes(draw_picture(3, size=(14, 12)))

    assert hashes.views == {}
    assert hashes.trim_box is None


# The matchable gate.


def test_flat_grey_picture_not_matchable() -> None:
    hashes = picture_hashes(Image.new("RGB", (400, 300), (128, 128, 128)))

    assert hashes.full.quality < MIN_MATCH_QUALITY
    assert not hashes.full.matchable
    for _, view in hashes.all_views():
        assert not view.matchable


def test_nearly_flat_noise_not_matchable() -> None:
    rng = np.random.default_rng(5)
    pixels = 128 + rng.integers(-2, 3, size=(300, 400, 3))

    hashes = picture_hashes(Image.fromarray(pixels.astype(np.uint8), "RGB"))

    assert not hashes.full.matchable


def _hex_with_ones(count: int) -> str:
    return f"{(1 << count) - 1:064x}"


@pytest.mark.parametrize(
    ("ones", "quality", "expected"),
    [
        (128, 100, True),
        (128, MIN_MATCH_QUALITY, True),
        (128, MIN_MATCH_QUALITY - 1, False),
        (128, None, False),
        (MIN_ONE_BITS, 100, True),
        (MIN_ONE_BITS - 1, 100, False),
        (MAX_ONE_BITS, 100, True),
        (MAX_ONE_BITS + 1, 100, False),
        (0, 100, False),
        (256, 100, False),
    ],
)
def test_matchable_gate(ones: int, quality: int | None, expected: bool) -> None:
    assert matchable(_hex_with_ones(ones), quality) is expected


def test_views_off_hashes_only_the_picture_as_shown() -> None:
    picture = Image.new("RGB", (300, 200), (40, 90, 160))
    ImageDraw.Draw(picture).ellipse((40, 30, 200, 170), fill=(230, 200, 40))

    hashes = picture_hashes(picture, views=False)
    complete = picture_hashes(picture)

    assert hashes.views == {}
    assert hashes.probes == {}
    assert hashes.full == complete.full
    assert set(complete.views) >= {"center90", "center80"}
