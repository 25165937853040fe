"""Filters, images and translation shared by the media pages and the media API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import HTTPException
from fastapi.responses import Response
from starlette.requests import Request

from scut.media.grid import DEFAULT_PAGE_SIZE, GridFilterError, GridFilters
from scut.storage import open_blob_store
from scut.storage.encrypted import EncryptedBlobStore
from scut.web.context import context_of
from scut.web.rendering import language_of

# Query parameters of the grid, as the filter form and the API name them.
FILTER_PARAMETERS = (
    "verdict",
    "category",
    "type",
    "series",
    "camera",
    "gps",
    "submission",
    "case",
)
# Values of the gps parameter.
WITH_GPS = "yes"
WITHOUT_GPS = "no"
# Maximum length of a query parameter value read; longer ones are invalid anyway.
MAX_PARAMETER = 300
# Highest media number: media.id is a 32-bit integer column, and SQLite
# drivers fail on numbers beyond 64 bits, so larger ones get HTTP 404
# before they reach the database.
MAX_MEDIA_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class GridRequest:
    """The grid's filters, page size and position read from a query string."""

    filters: GridFilters
    size: int
    after: int
    # The filter and size parameters as the request gave them, to fill in
    # the form again and to build the next page's address.
    parameters: dict[str, str] = field(default_factory=dict)

    def query(self, **extra: str | int) -> str:
        """Return the query string of these filters and size, with ``extra``."""
        values: dict[str, str | int] = dict(self.parameters)
        values.update(extra)
        return urlencode(values)


def read_grid_request(
    parameters: Mapping[str, str], *, default_size: int = DEFAULT_PAGE_SIZE
) -> GridRequest:
    """Read the grid's query parameters; empty ones are left out.

    Raises GridFilterError naming the parameter for a value that is not of
    its type. The service checks the rest.
    """
    present = {
        name: parameters[name].strip()[:MAX_PARAMETER]
        for name in (*FILTER_PARAMETERS, "size")
        if parameters.get(name, "").strip()
    }
    filters = GridFilters(
        verdict=present.get("verdict"),
        category=present.get("category"),
        kind=present.get("type"),
        series=present.get("series"),
        camera_serial=present.get("camera"),
        has_gps=_gps(present.get("gps")),
        submission=_number(present.get("submission"), "submission"),
        case=present.get("case"),
    )
    size = _number(present.get("size"), "size")
    after = _number(parameters.get("after", "").strip()[:MAX_PARAMETER], "after")
    return GridRequest(
        filters, size if size is not None else default_size, after or 0, present
    )


def _gps(value: str | None) -> bool | None:
    if value is None:
        return None
    if value not in (WITH_GPS, WITHOUT_GPS):
        raise GridFilterError(
            f"invalid gps value {value[:40]!r}; use {WITH_GPS} or {WITHOUT_GPS}", "gps"
        )
    return value == WITH_GPS


def _number(value: str | None, name: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_MEDIA_ID:
        raise GridFilterError(f"invalid {name} {value[:40]!r}: give a number", name)
    return int(value)


def check_media_id(media_id: int) -> int:
    """Return ``media_id``, or raise HTTP 404 for one no media can have."""
    if not 1 <= media_id <= MAX_MEDIA_ID:
        raise HTTPException(404)
    return media_id


def blob_store(request: Request) -> EncryptedBlobStore:
    """Open the application's blob store, to read sealed thumbnails."""
    return open_blob_store(context_of(request).settings)


def jpeg_response(data: bytes, filename: str) -> Response:
    """Return JPEG bytes as a download, never shown by the browser as a page.

    An ``<img>`` still shows them, since browsers ignore
    Content-Disposition for images embedded in a page.
    """
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def page_filters(request: Request) -> Mapping[str, Callable[..., str]]:
    """Return the template filters of the request's language.

    ``translate`` gives a message in that language and ``number`` formats
    a number by its rules, for texts sent as JSON rather than rendered.
    """
    environment = context_of(request).renderer.environment(language_of(request))
    filters: Mapping[str, Callable[..., str]] = environment.filters
    return filters
