"""The media grid: filters, keyset pages, blurred previews, reveal, categorisation.

The grid page lists media through ``media.list`` (audited, naming every
media listed). Each tile shows a blurred greyscale preview; a click
reveals the thumbnail through ``media.reveal``, one audited event per
reveal. The keyboard and the bulk bar categorise through
``media.categorise``. Without JavaScript the filters, the next page link
and the bulk bar (with the tiles' check boxes) still work.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Form, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import NoResultFound
from starlette.requests import Request

from scut.hashsets.categories import PROJECTVIC
from scut.hashsets.items import Category
from scut.matching.verdicts import VERDICTS
from scut.media.categorise import CategoryChange, categorise
from scut.media.grid import (
    DEFAULT_PAGE_SIZE,
    GRID_KINDS,
    MAX_PAGE_SIZE,
    NO_CATEGORY,
    PROJECTVIC_CODES,
    GridFilterError,
    GridPage,
    media_grid,
)
from scut.media.lookup import MediaNotFound
from scut.media.preview import blurred_preview
from scut.media.view import ThumbnailUnavailable, reveal_thumbnail
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.labels import category_label
from scut.web.media.common import (
    MAX_MEDIA_ID,
    WITH_GPS,
    WITHOUT_GPS,
    GridRequest,
    blob_store,
    check_media_id,
    jpeg_response,
    page_filters,
    read_grid_request,
)
from scut.web.media.routes import router
from scut.web.navigation import NavigationItem, add_link
from scut.web.rendering import render_page

log = logging.getLogger(__name__)

add_link(NavigationItem(N_("Media"), "/media", operation="media.list", order=20))

PAGE_SIZES = (24, 48, 96, 192)
# Most media one categorisation request may change.
MAX_BULK = 1000
JSON_TYPE = "application/json"

# Explanations of the filter errors, by the field that GridFilterError names.
FILTER_ERRORS = {
    "verdict": N_("Choose a verdict from the list."),
    "category": N_("Choose a category from the list."),
    "kind": N_("Choose pictures or videos."),
    "series": N_("Give the exact name of an existing series."),
    "camera_serial": N_(
        "Give the camera serial number as the metadata records it, "
        "up to 200 characters."
    ),
    "gps": N_("Choose whether the media must have a GPS position."),
    "submission": N_("Give the number of an existing submission."),
    "case": N_("Give the reference of an existing case."),
    "size": N_("Choose a page size from the list."),
    "after": N_("The position in the list is not valid. Start again from the top."),
}
# The form fields that show each error; the position has no field.
ERROR_FIELDS = {"kind": "type", "camera_serial": "camera", "after": "size"}
CATEGORY_SET = N_("Category set: %(category)s. Media changed: %(count)s.")
CATEGORY_CONFLICT = N_(
    "The sources of some of these media disagree on their category. "
    "Their detail pages show which."
)
CATEGORY_FAILED = N_(
    "The category was not set: a media of the selection no longer exists. "
    "Reload the page."
)


@router.get("/media", response_class=HTMLResponse)
def grid_page(request: Request, caller: PageCaller) -> HTMLResponse:
    """Show the grid's filters and its first page (or the page after ``after``)."""
    try:
        grid_request = read_grid_request(request.query_params)
        page = _grid(request, grid_request, caller)
    except GridFilterError as error:
        log.info("media grid filter rejected: %s", error)
        field = ERROR_FIELDS.get(error.field, error.field)
        return render_page(
            request,
            "media/grid.html",
            status_code=400,
            errors={field: FILTER_ERRORS.get(error.field, FILTER_ERRORS["size"])},
            **_form_values(dict(request.query_params)),
        )
    return render_page(
        request,
        "media/grid.html",
        errors={},
        page=page,
        next_query=_next_query(grid_request, page),
        **_form_values(grid_request.parameters),
    )


@router.get("/media/tiles", response_class=HTMLResponse)
def grid_tiles(request: Request, caller: PageCaller) -> HTMLResponse:
    """Return the tiles of the next page, for HTMX to append to the grid.

    An invalid filter ends in the 400 error page, which HTMX does not swap in.
    """
    grid_request = read_grid_request(request.query_params)
    page = _grid(request, grid_request, caller)
    return render_page(
        request,
        "media/tiles.html",
        page=page,
        next_query=_next_query(grid_request, page),
    )


def _grid(request: Request, grid_request: GridRequest, caller: Any) -> GridPage:
    with context_of(request).database.session() as session, session.begin():
        return media_grid(
            session,
            grid_request.filters,
            caller=caller,
            after=grid_request.after,
            size=grid_request.size,
        )


def _next_query(grid_request: GridRequest, page: GridPage) -> str | None:
    """Return the query string of the next page, None after the last page."""
    if page.next_after is None:
        return None
    return grid_request.query(after=page.next_after)


def _form_values(given: dict[str, str]) -> dict[str, Any]:
    """Return what the filter form shows: the values given and every choice."""
    return {
        "given": given,
        "verdicts": VERDICTS,
        "category_codes": PROJECTVIC_CODES,
        "no_category": NO_CATEGORY,
        "kinds": GRID_KINDS,
        "gps_choices": (WITH_GPS, WITHOUT_GPS),
        "page_sizes": PAGE_SIZES,
        "default_page_size": DEFAULT_PAGE_SIZE,
        "max_page_size": MAX_PAGE_SIZE,
        "projectvic": PROJECTVIC,
    }


@router.get("/media/{media_id:int}/preview")
def preview(request: Request, media_id: int, caller: PageCaller) -> Response:
    """Return the blurred greyscale preview of a media's thumbnail as a JPEG."""
    check_media_id(media_id)
    store = blob_store(request)
    try:
        with context_of(request).database.session() as session, session.begin():
            data = blurred_preview(session, store, media_id, caller=caller)
    except (MediaNotFound, ThumbnailUnavailable) as error:
        log.info("no preview of media %d: %s", media_id, error)
        raise HTTPException(404) from None
    return jpeg_response(data, f"media-{media_id}-preview.jpg")


@router.post("/media/{media_id:int}/reveal")
def reveal(request: Request, media_id: int, caller: PageCaller) -> Response:
    """Return a media's thumbnail (a video's frame strip), as one audited reveal.

    A POST, so that the CSRF check applies and no link or prefetch can
    reveal a thumbnail.
    """
    check_media_id(media_id)
    store = blob_store(request)
    try:
        with context_of(request).database.session() as session, session.begin():
            data = reveal_thumbnail(session, store, media_id, caller=caller)
    except (MediaNotFound, ThumbnailUnavailable) as error:
        log.info("thumbnail of media %d not revealed: %s", media_id, error)
        raise HTTPException(404) from None
    return jpeg_response(data, f"media-{media_id}.jpg")


@router.post("/media/category", response_model=None)
def categorise_media(
    request: Request,
    caller: PageCaller,
    media: Annotated[list[int], Form()],
    code: Annotated[str, Form(max_length=10)],
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "/media",
) -> Response:
    """Set the Project VIC category of the media given, as the caller's decision.

    A request that accepts JSON (the page's script) gets the changes with
    their labels in the request's language; a plain form post returns to
    ``next``.
    """
    if code not in PROJECTVIC_CODES or not 1 <= len(media) <= MAX_BULK:
        raise HTTPException(400)
    if not all(1 <= media_id <= MAX_MEDIA_ID for media_id in media):
        raise HTTPException(404)
    wants_json = request.headers.get("accept", "").startswith(JSON_TYPE)
    ids = list(dict.fromkeys(media))
    try:
        with context_of(request).database.session() as session, session.begin():
            changes = categorise(
                session, ids, Category(PROJECTVIC, code), caller=caller
            )
    except NoResultFound:
        log.info("categorisation of media %s rejected: a media does not exist", ids)
        if wants_json:
            message = page_filters(request)["translate"](CATEGORY_FAILED)
            return JSONResponse({"message": message}, status_code=404)
        raise HTTPException(404) from None
    if wants_json:
        return JSONResponse(_changes_json(request, changes, code))
    return RedirectResponse(_grid_path(next_path), status_code=303)


def _changes_json(
    request: Request, changes: list[CategoryChange], code: str
) -> dict[str, Any]:
    filters = page_filters(request)
    translate = filters["translate"]
    label = translate(category_label(PROJECTVIC, code) or code)
    count = filters["number"](len(changes))
    message = translate(CATEGORY_SET) % {"category": label, "count": count}
    if any(change.conflict for change in changes):
        message = f"{message} {translate(CATEGORY_CONFLICT)}"
    return {
        "changed": [
            {
                "media": change.media_id,
                "code": change.category.code,
                "label": label,
                "conflict": change.conflict,
            }
            for change in changes
        ],
        "message": message,
    }


def _grid_path(path: str) -> str:
    """Return ``path`` when it is a page of this area, else the grid.

    Only a path under /media is followed, so the form cannot redirect
    to another site or to a page outside the area.
    """
    in_area = path == "/media" or path.startswith(("/media?", "/media/"))
    plain = "\\" not in path and all(char.isprintable() for char in path)
    return path if in_area and plain else "/media"
