"""Decode pictures once, small: dimensions, PDQ hash and a thumbnail.

JPEGs are decoded in draft mode, where libjpeg scales by 1/2, 1/4 or 1/8
inside the DCT, so a 12 MP photo is never decoded at full size. The PDQ
hash and the thumbnail are taken from the picture as it is displayed,
after its EXIF orientation is applied.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from scut.errors import FileFailure
from scut.hashing.pdq import PDQ_INPUT_SIZE, PdqHash, pdq_of_image

log = logging.getLogger(__name__)

THUMBNAIL_QUALITY = 80
ORIENTATION_TAG = 0x0112


@dataclass(frozen=True, slots=True)
class ImageAnalysis:
    """What decoding a picture produced."""

    format: str
    width: int
    height: int
    pdq: PdqHash
    thumbnail_jpeg: bytes


def analyse_image(data: bytes, thumbnail_size: int) -> ImageAnalysis:
    """Decode a picture and return its size, PDQ hash and thumbnail.

    Raises FileFailure with stage "decode" when the picture cannot be
    decoded, including a size over Pillow's MAX_IMAGE_PIXELS.
    """
    image, width, height, image_format = _decode_small(data)
    try:
        image = _displayed(image)
        pdq = pdq_of_image(image)
        thumbnail = _thumbnail(image, thumbnail_size)
    finally:
        image.close()
    return ImageAnalysis(image_format, width, height, pdq, thumbnail)


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
                image.draft("RGB", (PDQ_INPUT_SIZE, PDQ_INPUT_SIZE))
            image.load()
    except Image.DecompressionBombError as error:
        raise FileFailure("decode", f"picture too large to decode: {error}") from error
    except UnidentifiedImageError as error:
        raise FileFailure("decode", "not a picture Pillow can identify") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise FileFailure("decode", f"{type(error).__name__}: {error}") from error
    return image, width, height, image_format


def _displayed(image: Image.Image) -> Image.Image:
    try:
        orientation = image.getexif().get(ORIENTATION_TAG, 1)
        needs_turn = orientation in range(2, 9)
        oriented = ImageOps.exif_transpose(image) if needs_turn else image
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):
        # A corrupt EXIF block must not cost the picture its hash.
        oriented = image
    if oriented is not image:
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
