"""Blurred previews: greyscale, a few cells, no fine detail, from the sealed store."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat
from sqlalchemy import select

from drawn_pictures import draw_picture
from records_helpers import add_media, analyst
from scut.db.models import AuditEvent, Media
from scut.db.session import Database
from scut.media.lookup import MediaNotFound
from scut.media.preview import (
    PREVIEW_CELLS,
    PREVIEW_PIXELS,
    blur_thumbnail,
    blurred_preview,
)
from scut.media.view import ThumbnailUnavailable
from scut.security.access import AccessDenied
from scut.security.caller import Caller
from scut.settings import Settings
from scut.storage import open_blob_store


def _jpeg(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=92)
    return output.getvalue()


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _mean_difference(first: bytes, second: bytes) -> float:
    difference = ImageChops.difference(_open(first), _open(second))
    return float(ImageStat.Stat(difference).mean[0])


def _max_difference(first: bytes, second: bytes) -> int:
    difference = ImageChops.difference(_open(first), _open(second))
    return int(difference.getextrema()[1])


def test_preview_is_small_greyscale_jpeg() -> None:
    preview = _open(blur_thumbnail(_jpeg(draw_picture(3, (320, 240)))))
    assert preview.format == "JPEG"
    assert preview.mode == "L"
    assert preview.size == (8 * PREVIEW_PIXELS // PREVIEW_CELLS, PREVIEW_PIXELS)


def test_strip_keeps_cells_per_frame() -> None:
    strip = Image.new("RGB", (480, 90), "white")
    preview = _open(blur_thumbnail(_jpeg(strip)))
    assert preview.size == (32 * PREVIEW_PIXELS // PREVIEW_CELLS, PREVIEW_PIXELS)


def test_fine_pattern_blurs_to_flat() -> None:
    """A checkerboard of 4-pixel squares and flat grey of its mean look alike."""
    board = Image.new("L", (320, 240), 0)
    draw = ImageDraw.Draw(board)
    for top in range(0, 240, 4):
        for left in range((top // 4 % 2) * 4, 320, 8):
            draw.rectangle((left, top, left + 3, top + 3), fill=255)
    flat = Image.new("L", (320, 240), 128)

    board_preview = blur_thumbnail(_jpeg(board))
    flat_preview = blur_thumbnail(_jpeg(flat))

    assert _mean_difference(board_preview, flat_preview) < 3
    assert ImageStat.Stat(_open(board_preview)).stddev[0] < 3


def test_different_texts_give_same_preview() -> None:
    """Two texts in the same place differ in the picture, not in the preview."""
    base = draw_picture(11, (320, 240))
    first = base.copy()
    second = base.copy()
    ImageDraw.Draw(first).text((40, 100), "NAME 0123 SCHOOL", fill="black")
    ImageDraw.Draw(second).text((40, 100), "BOOK 9876 GARDEN", fill="black")

    in_pictures = _max_difference(_jpeg(first.convert("L")), _jpeg(second.convert("L")))
    in_previews = _max_difference(
        blur_thumbnail(_jpeg(first)), blur_thumbnail(_jpeg(second))
    )

    assert in_pictures > 100
    assert in_previews < 8


def test_large_shapes_still_differ() -> None:
    """The preview keeps where a picture is light or dark, so tiles differ."""
    dark_left = Image.new("L", (320, 240), 230)
    ImageDraw.Draw(dark_left).rectangle((0, 0, 159, 239), fill=20)
    dark_right = dark_left.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    difference = _mean_difference(
        blur_thumbnail(_jpeg(dark_left)), blur_thumbnail(_jpeg(dark_right))
    )

    assert difference > 50


def test_undecodable_thumbnail_raises() -> None:
    with pytest.raises(ThumbnailUnavailable, match="cannot be decoded"):
        blur_thumbnail(b"not a picture at all")


def _stored(database: Database, settings: Settings, thumbnail: bytes | None) -> int:
    store = open_blob_store(settings)
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
        media = session.get_one(Media, media_id)
        if thumbnail is not None:
            media.has_thumbnail = True
            store.put_derived(media.sha256, "thumb.jpg", thumbnail)
    return media_id


def test_service_previews_sealed_thumbnail(
    database: Database, settings: Settings
) -> None:
    thumbnail = _jpeg(draw_picture(5, (320, 240)))
    media_id = _stored(database, settings, thumbnail)

    with database.session() as session, session.begin():
        preview = blurred_preview(
            session, open_blob_store(settings), media_id, caller=analyst("ana")
        )

    assert preview == blur_thumbnail(thumbnail)
    with database.session() as session:
        assert session.scalars(select(AuditEvent)).all() == []


def test_service_without_thumbnail_raises(
    database: Database, settings: Settings
) -> None:
    media_id = _stored(database, settings, None)
    store = open_blob_store(settings)
    with database.session() as session, session.begin():
        with pytest.raises(ThumbnailUnavailable, match="no thumbnail"):
            blurred_preview(session, store, media_id, caller=analyst("ana"))
        with pytest.raises(MediaNotFound, match="no media number 999"):
            blurred_preview(session, store, 999, caller=analyst("ana"))


@pytest.mark.parametrize("role", ["auditor", "admin", "submitter"])
def test_service_denied_to_other_roles(
    database: Database, settings: Settings, role: str
) -> None:
    media_id = _stored(database, settings, _jpeg(draw_picture(5)))
    caller = Caller(user=f"{role}-1", roles=frozenset({role}))
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(AccessDenied, match="may not call media.preview"),
    ):
        blurred_preview(session, open_blob_store(settings), media_id, caller=caller)
