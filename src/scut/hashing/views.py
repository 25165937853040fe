"""The PDQ hashes Scut takes of one picture: as shown, trimmed and cropped.

Plain PDQ misses copies that were letterboxed, padded, framed or cropped:
the change moves every DCT coefficient. Scut therefore also hashes the
picture with its uniform borders trimmed, and its central 90% and 80%.
Every view is indexed and every view searches, so a copy cropped by 5% on
each side (the original's central 90%) meets its original whichever of
the two arrived first.

A picture also gets probes, which only search and are not indexed. Some
are windows placed where the original's central 80% would sit if one side
of the picture had been cut by 5% or 10%. The others leave out a band at
the top or bottom that looks like a caption strip: rows of one colour
with some text on them.

Each hash comes with its eight dihedral variants (rotations and mirrors),
computed from one DCT. A query searches with all eight, because a rotated
picture's hash is close to, but not the same as, a variant of the
original's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pdqhash
from PIL import Image

from scut.hashing.pdq import PDQ_INPUT_SIZE, bits_to_hex, fit_for_pdq

log = logging.getLogger(__name__)

# PDQ's own rule: hashes of lower quality are too flat to match on.
MIN_MATCH_QUALITY = 50
# A hash with fewer or more one-bits than this comes from a nearly uniform
# picture. Its median threshold is noise, so such hashes match each other.
MIN_ONE_BITS = 64
MAX_ONE_BITS = 192

# A row or column belongs to a border when this share of its pixels lies
# within BORDER_TOLERANCE of the border's colour on every channel.
BORDER_SHARE = 0.9
BORDER_TOLERANCE = 24
# Borders thinner than this share of the side are left alone: JPEG edges
# and one-pixel frames do not move the hash.
MIN_BORDER_SHARE = 0.02
# Trimming must leave this share of each side.
MIN_CONTENT_SHARE = 0.2
# Central crops hashed besides the whole, as shares of each side.
CENTRAL_CROPS = {"center90": 0.9, "center80": 0.8}
TRIMMED = "trimmed"
VIEW_NAMES = (TRIMMED, *CENTRAL_CROPS)
# Views other than the whole picture and probes are hashed from a copy
# fitted to this size: PDQ reduces every input to 64x64, and a quarter of
# the pixels makes each hash four times cheaper.
VIEW_INPUT_SIZE = 256
# Probes: (name, side cut, share cut) and (name, band side, band share).
SIDE_CUTS = tuple(
    (f"cut-{side}-{round(share * 100)}", side, share)
    for side in ("left", "right", "top", "bottom")
    for share in (0.05, 0.1)
)
# A caption band is found by its rows: from the edge inwards, rows where at
# least BAND_SHARE of the pixels have the edge's colour (text leaves the
# rest), or the last row of the edge's colour before the picture starts.
# A band must take between MIN_BAND and MAX_BAND of the height.
BAND_SHARE = 0.5
MIN_BAND = 0.05
MAX_BAND = 0.35


@dataclass(frozen=True, slots=True)
class PdqView:
    """One PDQ hash of a picture, its quality and its eight dihedral variants.

    ``variants[0]`` is the hash itself; the others are the hashes of the
    picture turned by 90, 180 and 270 degrees and mirrored four ways.
    """

    hex: str
    quality: int
    variants: tuple[str, ...]

    @property
    def matchable(self) -> bool:
        """Whether this hash is good enough to search with or to index."""
        return matchable(self.hex, self.quality)


@dataclass(frozen=True, slots=True)
class PictureHashes:
    """The hash of a picture as shown, and of its further views by name."""

    full: PdqView
    views: dict[str, PdqView]
    # The box kept by trimming, as (left, top, right, bottom) shares of the
    # picture; None when nothing was trimmed.
    trim_box: tuple[float, float, float, float] | None
    # Query-only hashes by name, as (hex, quality); see the module notes.
    probes: dict[str, tuple[str, int]] = field(default_factory=dict)

    def all_views(self) -> list[tuple[str, PdqView]]:
        """Return every view with its name, the whole picture first."""
        return [("full", self.full), *self.views.items()]


def matchable(value: str, quality: int | None) -> bool:
    """Return whether a PDQ hash passes the quality and balance gates."""
    if quality is None or quality < MIN_MATCH_QUALITY:
        return False
    ones = int(value, 16).bit_count()
    return MIN_ONE_BITS <= ones <= MAX_ONE_BITS


def picture_hashes(image: Image.Image, views: bool = True) -> PictureHashes:
    """Hash an RGB picture as shown, inside its borders and its central crops.

    With ``views`` false only the picture as shown is hashed: about a
    third of the cost, but crops, padding and captions go unmatched.
    """
    pixels = np.asarray(fit_for_pdq(image, PDQ_INPUT_SIZE))
    full = _view(pixels)
    if not views:
        return PictureHashes(full, {}, None)
    small = _fit(pixels, VIEW_INPUT_SIZE)
    extra: dict[str, PdqView] = {}
    box = _content_box(small)
    shares = None
    if box is not None:
        left, top, right, bottom = box
        height, width = small.shape[:2]
        extra[TRIMMED] = _view(np.ascontiguousarray(small[top:bottom, left:right]))
        shares = (left / width, top / height, right / width, bottom / height)
    # Crops and probes are taken of the whole picture: trimming depends on
    # content (a plain sky can pass for a band), so a copy and its original
    # may be trimmed differently, while their frames are cut alike.
    for name, share in CENTRAL_CROPS.items():
        cropped = _central(small, share)
        if cropped is not None:
            extra[name] = _view(cropped)
    return PictureHashes(full, extra, shares, _probes(small))


def _probes(pixels: np.ndarray) -> dict[str, tuple[str, int]]:
    probes = {}
    for name, box in [*_cut_boxes(), *_band_boxes(pixels)]:
        window = _window(pixels, box)
        if window is None:
            continue
        bits, quality = pdqhash.compute(window)
        probes[name] = (bits_to_hex(bits), int(quality))
    return probes


def _cut_boxes() -> list[tuple[str, tuple[float, float, float, float]]]:
    """Return each cut probe's window as (left, top, right, bottom) shares."""
    inner = CENTRAL_CROPS["center80"]
    low, high = (1 - inner) / 2, (1 + inner) / 2
    boxes = []
    for name, side, cut in SIDE_CUTS:
        # Where the original's central 80% lies in a copy cut on one side.
        near_side = ((low - cut) / (1 - cut), (high - cut) / (1 - cut))
        far_side = (low / (1 - cut), high / (1 - cut))
        span = near_side if side in ("left", "top") else far_side
        if side in ("left", "right"):
            boxes.append((name, (span[0], low, span[1], high)))
        else:
            boxes.append((name, (low, span[0], high, span[1])))
    return boxes


def _band_boxes(
    pixels: np.ndarray,
) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Return windows that leave out what may be a caption band."""
    height = pixels.shape[0]
    signed = pixels.astype(np.int16)
    boxes = []
    for side, lines in (("top", signed), ("bottom", signed[::-1])):
        for depth in sorted(_band_depths(lines, height)):
            share = depth / height
            box = (
                (0.0, share, 1.0, 1.0) if side == "top" else (0.0, 0.0, 1.0, 1 - share)
            )
            boxes.append((f"band-{side}-{depth}", box))
    return boxes


def _band_depths(lines: np.ndarray, height: int) -> set[int]:
    reach = int(MAX_BAND * height)
    colour = np.median(lines[0], axis=0)
    close = np.all(
        np.abs(lines[: reach + 1] - colour) <= BORDER_TOLERANCE, axis=2
    ).mean(axis=1)
    depths = {_leading(close >= BAND_SHARE)}
    uniform = close >= BORDER_SHARE
    edges = np.nonzero(uniform[:-1] & ~uniform[1:])[0]
    if edges.size:
        depths.add(int(edges[-1]) + 1)
    return {depth for depth in depths if MIN_BAND * height <= depth <= reach}


def _window(
    pixels: np.ndarray, box: tuple[float, float, float, float]
) -> np.ndarray | None:
    height, width = pixels.shape[:2]
    left, top = round(box[0] * width), round(box[1] * height)
    right, bottom = round(min(box[2], 1.0) * width), round(min(box[3], 1.0) * height)
    if right - left < 16 or bottom - top < 16:
        return None
    return np.ascontiguousarray(pixels[top:bottom, left:right])


def _central(pixels: np.ndarray, share: float) -> np.ndarray | None:
    height, width = pixels.shape[:2]
    margin_y = round(height * (1 - share) / 2)
    margin_x = round(width * (1 - share) / 2)
    if height - 2 * margin_y < 16 or width - 2 * margin_x < 16:
        return None
    return np.ascontiguousarray(
        pixels[margin_y : height - margin_y, margin_x : width - margin_x]
    )


def _fit(pixels: np.ndarray, size: int) -> np.ndarray:
    if max(pixels.shape[:2]) <= size:
        return pixels
    return np.asarray(fit_for_pdq(Image.fromarray(pixels), size))


def _view(pixels: np.ndarray) -> PdqView:
    hashes, quality = pdqhash.compute_dihedral(pixels)
    variants = tuple(bits_to_hex(bits) for bits in hashes)
    return PdqView(variants[0], int(quality), variants)


def _content_box(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    """Return the box inside uniform borders, or None if there are none."""
    height, width = pixels.shape[:2]
    if height < 16 or width < 16:
        return None
    signed = pixels.astype(np.int16)
    top = _border_depth(signed, height)
    bottom = height - _border_depth(signed[::-1], height)
    columns = signed.transpose(1, 0, 2)
    left = _border_depth(columns, width)
    right = width - _border_depth(columns[::-1], width)
    if bottom - top < MIN_CONTENT_SHARE * height:
        return None
    if right - left < MIN_CONTENT_SHARE * width:
        return None
    if (top, left, bottom, right) == (0, 0, height, width):
        return None
    return left, top, right, bottom


def _border_depth(lines: np.ndarray, side: int) -> int:
    """Count the leading lines (rows of ``lines``) of the first line's colour.

    The border's colour is the median of the outermost line, so a frame of
    any colour counts, not only black. Bands that hold text (captions) are
    left to the band probes: a looser rule here would also cut plain skies,
    and cut a copy and its original differently. Lines are read in growing
    blocks, since most pictures have no border and stop at the first few.
    """
    colour = np.median(lines[0], axis=0)
    depth = 0
    block = 8
    while depth < len(lines):
        chunk = lines[depth : depth + block]
        close = np.all(np.abs(chunk - colour) <= BORDER_TOLERANCE, axis=2).mean(axis=1)
        uniform = _leading(close >= BORDER_SHARE)
        depth += uniform
        if uniform < len(chunk):
            break
        block *= 2
    if depth < MIN_BORDER_SHARE * side:
        return 0
    return depth


def _leading(flags: np.ndarray) -> int:
    return int(np.argmin(flags)) if not flags.all() else len(flags)
