"""Blurred greyscale previews of thumbnails, for the media grid.

A preview keeps at most PREVIEW_CELLS brightness values across the
thumbnail's short side (a few dozen values for a picture), enlarged and
blurred, so it shows where the picture is light or dark and nothing
that can be recognised. Colour is dropped. A video's frame strip is
treated alike, so each of its frames keeps a few cells.

The preview is made in memory from the sealed thumbnail on each request
and never stored. Revealing the thumbnail itself is the audited
``media.reveal`` operation of scut.media.view.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageFilter, ImageOps
from sqlalchemy.orm import Session

from scut.db.models import Media
from scut.ingest.analyse import STRIP_NAME, THUMBNAIL_NAME
from scut.media.lookup import MediaNotFound
from scut.media.view import ThumbnailUnavailable
from scut.security.access import argument, operation
from scut.security.caller import Caller
from scut.storage.blobs import BlobStore

log = logging.getLogger(__name__)

# Brightness values kept across the short side of the thumbnail.
PREVIEW_CELLS = 6
# Height of the preview's short side, in pixels.
PREVIEW_PIXELS = 96
# Maximum length of a preview side, in pixels, reached by wide frame strips.
MAX_PREVIEW_PIXELS = 16 * PREVIEW_PIXELS
JPEG_QUALITY = 70


def blur_thumbnail(jpeg: bytes) -> bytes:
    """Return a blurred greyscale JPEG preview of a thumbnail's JPEG bytes.

    Raises ThumbnailUnavailable when the bytes are not a picture Pillow reads.
    """
    try:
        with Image.open(io.BytesIO(jpeg)) as opened:
            # Let the JPEG decoder scale down in the DCT domain: only a few
            # cells are kept, so full resolution is never needed.
            opened.draft("L", (PREVIEW_CELLS * 8, PREVIEW_CELLS * 8))
            grey = ImageOps.grayscale(opened)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ThumbnailUnavailable(
            f"the thumbnail cannot be decoded for a preview: {error}"
        ) from error

    scale = PREVIEW_CELLS / max(1, min(grey.size))
    cells = (_at_least_one(grey.width * scale), _at_least_one(grey.height * scale))
    reduced = grey.resize(cells, Image.Resampling.BOX)

    pixels_per_cell = PREVIEW_PIXELS / PREVIEW_CELLS
    size = (
        min(MAX_PREVIEW_PIXELS, round(cells[0] * pixels_per_cell)),
        min(MAX_PREVIEW_PIXELS, round(cells[1] * pixels_per_cell)),
    )
    enlarged = reduced.resize(size, Image.Resampling.BILINEAR)
    blurred = enlarged.filter(ImageFilter.GaussianBlur(radius=pixels_per_cell * 0.6))
    output = io.BytesIO()
    blurred.save(output, format="JPEG", quality=JPEG_QUALITY)
    return output.getvalue()


def _at_least_one(value: float) -> int:
    return max(1, round(value))


# Not audited: see the media.preview rule in scut.security.access.
@operation("media.preview", before=argument("media", position=2))
def blurred_preview(
    session: Session, store: BlobStore, media_id: int, *, caller: Caller
) -> bytes:
    """Return the blurred greyscale preview of a media's thumbnail or frame strip.

    Raises MediaNotFound for an unknown media number, and
    ThumbnailUnavailable when the media has no thumbnail or it cannot be read.
    """
    media = session.get(Media, media_id)
    if media is None:
        raise MediaNotFound(f"no media number {media_id}")
    if media.has_thumbnail:
        name = THUMBNAIL_NAME
    elif media.has_strip:
        name = STRIP_NAME
    else:
        raise ThumbnailUnavailable(
            f"media {media_id} ({media.kind}, {media.mime_type}) has no thumbnail "
            "to preview"
        )
    try:
        thumbnail = store.read_derived(media.sha256, name)
    except OSError as error:
        raise ThumbnailUnavailable(
            f"the thumbnail of media {media_id} cannot be read from the blob "
            f"store: {error}; run `scut verify` to check the store"
        ) from error
    return blur_thumbnail(thumbnail)
