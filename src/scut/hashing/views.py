"""The PDQ hashes Scut takes of one picture: as shown, trimmed and cropped.

Plain PDQ misses copies that were letterboxed, padded, framed or cropped:
the change moves every DCT coefficient. Scut therefore also hashes the
picture with its uniform borders trimmed, and the central 90% and 80% of
its content. Every view is indexed and every view searches, so a copy
cropped by 5% on each side (the original's central 90%) meets its original
whichever of the two arrived first.

Each hash comes with its eight dihedral variants (rotations and mirrors),
computed from one DCT. A query searches with all eight, because a rotated
picture's hash is close to, but not the same as, a variant of the
original's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pdqhash
from PIL import Image

from scut.hashing.pdq import PDQ_INPUT_SIZE, bits_to_hex

log = logging.getLogger(__name__)

# PDQ's own rule: hashes of lower quality are too flat to match on.
MIN_MATCH_QUALITY = 50
# A hash with fewer or more one-bits than this comes from a nearly uniform
# picture; its median threshold is noise, and such hashes match each other.
MIN_ONE_BITS = 64
MAX_ONE_BITS = 192

# A row or column belongs to a border when this share of its pixels lies
# within BORDER_TOLERANCE of the border's colour on every channel.
BORDER_SHARE = 0.9
BORDER_TOLERANCE = 24
# Borders thinner than this share of the side are left alone: JPEG edges
# and one-pixel frames do not move the hash.
MIN_BORDER_SHARE = 0.02
# What is left after trimming must keep this share of each side.
MIN_CONTENT_SHARE = 0.2
# Central crops hashed besides the whole, as shares of each side.
CENTRAL_CROPS = {"center90": 0.9, "center80": 0.8}
TRIMMED = "trimmed"
VIEW_NAMES = (TRIMMED, *CENTRAL_CROPS)


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

    def all_views(self) -> list[tuple[str, PdqView]]:
        """Return every view with its name, the whole picture first."""
        return [("full", self.full), *self.views.items()]


def matchable(value: str, quality: int | None) -> bool:
    """Return whether a PDQ hash passes the quality and balance gates."""
    if quality is None or quality < MIN_MATCH_QUALITY:
        return False
    ones = int(value, 16).bit_count()
    return MIN_ONE_BITS <= ones <= MAX_ONE_BITS


def picture_hashes(image: Image.Image) -> PictureHashes:
    """Hash an RGB picture as shown, inside its borders and its central crops."""
    pixels = _pdq_input(image)
    full = _view(pixels)
    views: dict[str, PdqView] = {}
    box = _content_box(pixels)
    content = pixels
    shares = None
    if box is not None:
        left, top, right, bottom = box
        height, width = pixels.shape[:2]
        content = np.ascontiguousarray(pixels[top:bottom, left:right])
        views[TRIMMED] = _view(content)
        shares = (left / width, top / height, right / width, bottom / height)
    for name, share in CENTRAL_CROPS.items():
        cropped = _central(content, share)
        if cropped is not None:
            views[name] = _view(cropped)
    return PictureHashes(full, views, shares)


def _central(pixels: np.ndarray, share: float) -> np.ndarray | None:
    height, width = pixels.shape[:2]
    margin_y = round(height * (1 - share) / 2)
    margin_x = round(width * (1 - share) / 2)
    if height - 2 * margin_y < 16 or width - 2 * margin_x < 16:
        return None
    return np.ascontiguousarray(
        pixels[margin_y : height - margin_y, margin_x : width - margin_x]
    )


def _pdq_input(image: Image.Image) -> np.ndarray:
    if image.mode != "RGB":
        image = image.convert("RGB")
    longer = max(image.size)
    if longer > PDQ_INPUT_SIZE:
        scale = PDQ_INPUT_SIZE / longer
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(image)


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
    """Count the leading lines (rows of ``lines``) that share the first line's colour.

    The border's colour is the median of the outermost line, so a frame of
    any colour counts, not only black.
    """
    colour = np.median(lines[0], axis=0)
    close = np.all(np.abs(lines - colour) <= BORDER_TOLERANCE, axis=2)
    uniform = close.mean(axis=1) >= BORDER_SHARE
    depth = int(np.argmin(uniform)) if not uniform.all() else len(uniform)
    if depth < MIN_BORDER_SHARE * side:
        return 0
    return depth
