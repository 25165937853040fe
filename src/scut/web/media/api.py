"""The media API under ``/api/media``: the grid query, one media, category, reveal.

Each endpoint calls the same declared operation as its page, so the
token's caller is checked and audited as a signed-in analyst would be.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import NoResultFound
from starlette.requests import Request

from scut.hashsets.categories import PROJECTVIC
from scut.hashsets.items import Category
from scut.media.categorise import MAX_REASON, categorise
from scut.media.grid import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, GridItem, media_grid
from scut.media.lookup import MediaNotFound
from scut.media.view import ThumbnailUnavailable, media_detail, reveal_thumbnail
from scut.web.callers import ApiCaller
from scut.web.context import context_of
from scut.web.media.common import (
    FILTER_PARAMETERS,
    MAX_MEDIA_ID,
    blob_store,
    jpeg_response,
    read_grid_request,
)
from scut.web.media.routes import api_router


class ProblemOut(BaseModel):
    """The reason a request was rejected."""

    detail: str


# The errors every media endpoint may return, for the OpenAPI description.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemOut, "description": "A filter value is invalid."},
    401: {"model": ProblemOut, "description": "No valid API token was sent."},
    403: {"model": ProblemOut, "description": "The token's roles do not allow it."},
    404: {"model": ProblemOut, "description": "No such media, or no thumbnail."},
}

MediaId = Annotated[int, Path(ge=1, le=MAX_MEDIA_ID, description="The media number.")]
ProjectVicCode = Literal["0", "1", "2", "3", "4"]


class CategoryOut(BaseModel):
    """A category as its scheme and code, such as projectvic 1 or uk A."""

    scheme: str
    code: str


class MediaItemOut(BaseModel):
    """A media as the grid lists it."""

    id: int
    kind: str = Field(description="image or video.")
    mime_type: str
    width: int | None
    height: int | None
    duration_seconds: float | None
    category: CategoryOut | None = Field(description="None while uncategorised.")
    category_conflict: bool
    verdict: str = Field(
        description="The gravest verdict of its occurrences in the filters' "
        "submission or case (known, near, new, known-good); empty for none."
    )
    name: str = Field(description="File name of its first occurrence in scope.")
    series: str | None
    has_preview: bool
    has_gps: bool


class MediaPageOut(BaseModel):
    """One page of the grid query."""

    items: list[MediaItemOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null after the last page."
    )


class MetadataOut(BaseModel):
    """The origin of a file as its EXIF, XMP or container tags record it."""

    model_config = ConfigDict(from_attributes=True)

    camera_make: str | None
    camera_model: str | None
    body_serial: str | None
    lens_serial: str | None
    software: str | None
    taken_at: str | None = Field(description="Local time as the camera wrote it.")
    taken_at_offset: str | None
    gps_latitude: float | None
    gps_longitude: float | None
    gps_altitude: float | None = Field(description="Metres.")
    orientation: int | None
    tags: dict[str, Any] = Field(description="Every tag read, by its name.")


class OccurrenceOut(BaseModel):
    """One place the media was found: a path in one exhibit."""

    model_config = ConfigDict(from_attributes=True)

    occurrence_id: int
    submission_id: int
    case: str
    unit: str
    exhibit: str
    path: str
    verdict: str
    modified_at: str | None
    recorded_at: str
    type_mismatch: bool
    extension_mime_type: str | None


class MatchOut(BaseModel):
    """A hash set entry or earlier media that the media matched."""

    model_config = ConfigDict(from_attributes=True)

    source: str = Field(description="hash-set or case.")
    how: str
    distance: int = Field(description="0 for a digest match, else PDQ Hamming.")
    hash_set: str | None
    media_id: int | None
    category: str | None
    series: str | None


class HistoryOut(BaseModel):
    """One categorisation in the media's history."""

    model_config = ConfigDict(from_attributes=True)

    at: str
    category: str
    previous: str | None
    source: str
    actor: str
    reason: str
    conflict: bool


class MediaDetailOut(BaseModel):
    """Everything recorded about one media."""

    model_config = ConfigDict(from_attributes=True)

    media_id: int
    sha256: str
    sha1: str
    md5: str
    pdq: str | None
    pdq_quality: int | None
    mime_type: str
    kind: str
    size: int
    width: int | None
    height: int | None
    duration_seconds: float | None
    codec: str | None
    first_seen_at: dt.datetime
    has_thumbnail: bool
    metadata: MetadataOut
    category: str | None = Field(description='"scheme code", None if uncategorised.')
    category_source: str | None
    category_conflict: bool
    category_history: list[HistoryOut]
    series: str | None
    series_id: int | None
    occurrences: list[OccurrenceOut]
    matches: list[MatchOut]


class CategoryIn(BaseModel):
    """A Project VIC category to set, with the analyst's reason."""

    code: ProjectVicCode
    reason: str = Field(default="", max_length=MAX_REASON)


class CategoryChangeOut(BaseModel):
    """The outcome of categorising a media."""

    media_id: int
    previous: CategoryOut | None
    category: CategoryOut
    conflict: bool = Field(description="Whether the media's sources now disagree.")


def _filter_query(description: str) -> Any:
    return Query(max_length=300, description=description)


@api_router.get("/media", responses=ERROR_RESPONSES)
def list_media_page(
    request: Request,
    caller: ApiCaller,
    verdict: Annotated[
        str | None, _filter_query("known, near, new or known-good.")
    ] = None,
    category: Annotated[
        str | None, _filter_query("A Project VIC code 0-4, or none.")
    ] = None,
    type: Annotated[str | None, _filter_query("image or video.")] = None,  # noqa: A002
    series: Annotated[str | None, _filter_query("The exact series name.")] = None,
    camera: Annotated[str | None, _filter_query("The camera's body serial.")] = None,
    gps: Annotated[str | None, _filter_query("yes or no.")] = None,
    submission: Annotated[str | None, _filter_query("A submission number.")] = None,
    case: Annotated[str | None, _filter_query("A case reference.")] = None,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    after: Annotated[int, Query(ge=0, le=MAX_MEDIA_ID)] = 0,
) -> MediaPageOut:
    """Return one page of pictures and videos that pass the filters, by id.

    The listing is audited, naming every media returned.
    """
    given = {name: request.query_params.get(name, "") for name in FILTER_PARAMETERS}
    grid_request = read_grid_request({**given, "size": str(size), "after": str(after)})
    with context_of(request).database.session() as session, session.begin():
        page = media_grid(
            session,
            grid_request.filters,
            caller=caller,
            after=grid_request.after,
            size=grid_request.size,
        )
    return MediaPageOut(
        items=[_item_out(item) for item in page.items], next_after=page.next_after
    )


def _item_out(item: GridItem) -> MediaItemOut:
    category = (
        CategoryOut(scheme=item.category_scheme or "", code=item.category_code)
        if item.category_code is not None
        else None
    )
    return MediaItemOut(
        id=item.media_id,
        kind=item.kind,
        mime_type=item.mime_type,
        width=item.width,
        height=item.height,
        duration_seconds=item.duration_seconds,
        category=category,
        category_conflict=item.category_conflict,
        verdict=item.verdict,
        name=item.name,
        series=item.series,
        has_preview=item.has_preview,
        has_gps=item.has_gps,
    )


@api_router.get("/media/{media_id}", responses=ERROR_RESPONSES)
def get_media(request: Request, media_id: MediaId, caller: ApiCaller) -> MediaDetailOut:
    """Return everything recorded about one media, as one audited view."""
    try:
        with context_of(request).database.session() as session, session.begin():
            detail = media_detail(session, media_id, caller=caller)
    except MediaNotFound:
        raise HTTPException(404, f"no media number {media_id}") from None
    return MediaDetailOut.model_validate(detail)


@api_router.post("/media/{media_id}/category", responses=ERROR_RESPONSES)
def set_media_category(
    request: Request, media_id: MediaId, body: CategoryIn, caller: ApiCaller
) -> CategoryChangeOut:
    """Set a media's Project VIC category as the caller's decision (audited)."""
    try:
        with context_of(request).database.session() as session, session.begin():
            (change,) = categorise(
                session,
                [media_id],
                Category(PROJECTVIC, body.code),
                caller=caller,
                reason=body.reason.strip(),
            )
    except NoResultFound:
        raise HTTPException(404, f"no media number {media_id}") from None
    previous = change.previous
    return CategoryChangeOut(
        media_id=change.media_id,
        previous=CategoryOut(scheme=previous.scheme, code=previous.code)
        if previous
        else None,
        category=CategoryOut(scheme=change.category.scheme, code=change.category.code),
        conflict=change.conflict,
    )


@api_router.get(
    "/media/{media_id}/thumbnail",
    response_class=Response,
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"image/jpeg": {}}, "description": "The thumbnail."},
    },
)
def get_thumbnail(request: Request, media_id: MediaId, caller: ApiCaller) -> Response:
    """Return the media's thumbnail (a video's frame strip) as an audited reveal.

    The JPEG is sent as an attachment. Each call is one media.reveal event.
    """
    store = blob_store(request)
    try:
        with context_of(request).database.session() as session, session.begin():
            data = reveal_thumbnail(session, store, media_id, caller=caller)
    except MediaNotFound:
        raise HTTPException(404, f"no media number {media_id}") from None
    except ThumbnailUnavailable as error:
        raise HTTPException(404, str(error)) from None
    return jpeg_response(data, f"media-{media_id}.jpg")
