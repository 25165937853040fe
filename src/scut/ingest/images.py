"""Decode pictures once, small: dimensions, PDQ hash and a thumbnail.

JPEGs are decoded in draft mode, where libjpeg scales by 1/2, 1/4 or 1/8
inside the DCT, so a 12 MP photo is never decoded at full size. The PDQ
hash and the thumbnail are taken from the picture as it is displayed,
after its EXIF orientation is applied.
"""

from __future__ import annotations

import io
import logging
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from scut.errors import FileFailure
from scut.hashing.pdq import PdqHash
from scut.hashing.views import PictureHashes, picture_hashes

log = logging.getLogger(__name__)

THUMBNAIL_QUALITY = 80
# Draft mode picks the strongest DCT scaling that keeps both sides at least
# this long. PDQ reduces every picture to 64x64, and on 12 MP photos a 1/8
# decode gave the same hash as a 1/4 one, at about 80% of the decode time.
DRAFT_MIN_SIZE = 256
# NOTE: draft mode does not help progressive JPEGs much. libjpeg keeps the
# coefficients of the whole picture, 2 bytes per sample (about 190 MB for
# the 96 MP grey test file), before it scales anything down.
ORIENTATION_TAG = 0x0112
# How to turn stored pixels into the displayed picture, per EXIF Orientation.
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Exceptions that mean the picture's data is damaged. The AVIF decoder
# raises RuntimeError ("Decoding of color planes failed"). The last three
# are what Image.open() catches from format plugins while it identifies a
# file, so a plugin's load() can raise them as well.
_DECODER_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    RuntimeError,
    MemoryError,
    struct.error,
    IndexError,
    TypeError,
)


@dataclass(frozen=True, slots=True)
class ImageAnalysis:
    """Result of decoding a picture: format, size, PDQ hashes and thumbnail."""

    format: str
    width: int
    height: int
    hashes: PictureHashes
    thumbnail_jpeg: bytes

    @property
    def pdq(self) -> PdqHash:
        """The PDQ hash of the picture as shown."""
        return PdqHash(self.hashes.full.hex, self.hashes.full.quality)


def analyse_image(
    data: bytes, thumbnail_size: int, views: bool = True
) -> ImageAnalysis:
    """Decode a picture and return its size, PDQ hashes and thumbnail.

    Without ``views`` only the hash of the whole picture and its variants
    are taken (see scut.hashing.views).

    Raises FileFailure with stage "decode" when the picture cannot be
    decoded, including a size over Pillow's MAX_IMAGE_PIXELS.
    """
    image, width, height, image_format = _decode_small(data)
    try:
        image = _displayed(image)
        hashes = picture_hashes(image, views=views)
        thumbnail = _thumbnail(image, thumbnail_size)
    finally:
        image.close()
    return ImageAnalysis(image_format, width, height, hashes, thumbnail)


def _decode_small(data: bytes) -> tuple[Image.Image, int, int, str]:
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS / 2; draft mode keeps the
            # decode small, and above MAX_IMAGE_PIXELS Pillow raises anyway.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            image_format = image.format or "unknown"
            if image_format in ("JPEG", "MPO"):
                image.draft("RGB", (DRAFT_MIN_SIZE, DRAFT_MIN_SIZE))
            image.load()
    except Image.DecompressionBombError as error:
        raise FileFailure("decode", f"picture too large to decode: {error}") from error
    except UnidentifiedImageError as error:
        raise FileFailure("decode", "not a picture Pillow can identify") from error
    except _DECODER_ERRORS as error:
        raise FileFailure("decode", f"{type(error).__name__}: {error}") from error
    return image, width, height, image_format


def _displayed(image: Image.Image) -> Image.Image:
    try:
        # Pillow's getexif also takes tiff:Orientation from XMP.
        orientation = image.getexif().get(ORIENTATION_TAG, 1)
    except _DECODER_ERRORS as error:
        # A corrupt EXIF block must not cost the picture its hash.
        log.debug("EXIF orientation unreadable, hashing as stored: %s", error)
        orientation = 1
    # The pixels are turned directly: ImageOps.exif_transpose also writes
    # the EXIF block back out, which fails on a damaged one (struct.error).
    method = (
        _TRANSPOSE_FOR_ORIENTATION.get(orientation)
        if isinstance(orientation, int)
        else None
    )
    if method is None:
        return _as_rgb(image)
    oriented = image.transpose(method)
    image.close()
    return _as_rgb(oriented)


def _as_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # Scale the full range down to 8 bits; a plain convert clips it.
        pixels = np.asarray(image, dtype=np.float64)
        low, high = float(pixels.min()), float(pixels.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        grey = ((pixels - low) * scale).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Flatten onto white, as viewers show transparent pixels.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _thumbnail(image: Image.Image, size: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    output = io.BytesIO()
    copy.save(output, format="JPEG", quality=THUMBNAIL_QUALITY)
    return output.getvalue()
