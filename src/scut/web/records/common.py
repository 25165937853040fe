"""Rendering, dates and redirects shared by the records' pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from babel import Locale
from babel.dates import format_date, format_skeleton
from fastapi import HTTPException, Path, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import Request

from scut.persons.dates import InvalidDate, parse_partial_date
from scut.web.records.justification import session_justification
from scut.web.records.labels import record_label
from scut.web.rendering import language_of, render_page

# Series media shown per page of a series, as tiles.
TILES_PER_PAGE = 60
# The largest record number: the row ids are PostgreSQL integers. A larger
# number in an address is rejected as invalid before it reaches the database.
MAX_ID = 2**31 - 1
# A record number in a page's or endpoint's path.
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]


def render(
    request: Request, template: str, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """Render a page of the records with the label, country and date functions."""
    language = language_of(request)
    territories = Locale.parse(language).territories

    def country_name(code: str | None) -> str:
        if not code:
            return ""
        return str(territories.get(code.upper(), code))

    def partial_date(text: str | None) -> str:
        return format_partial_date(text, language)

    values.setdefault("record_label", record_label)
    values.setdefault("country_name", country_name)
    values.setdefault("partial_date", partial_date)
    values.setdefault("as_date", as_date)
    values.setdefault("given_justification", session_justification(request))
    return render_page(request, template, status_code=status_code, **values)


def format_partial_date(text: str | None, language: str) -> str:
    """Write a whole or partial date (YYYY, YYYY-MM, YYYY-MM-DD) as ``language`` does.

    A value that is no such date is returned as it is.
    """
    if not text:
        return ""
    try:
        partial = parse_partial_date(text, allow_future=True)
    except InvalidDate:
        return text
    full = partial.as_date()
    if full is not None:
        return str(format_date(full, "long", locale=language))
    if partial.month is not None:
        first = dt.date(partial.year, partial.month, 1)
        return str(format_skeleton("yMMMM", first, locale=language))
    return str(partial.year)


def as_date(text: str | None) -> dt.date | None:
    """Return the date of a service's ISO text, for the ``date`` filter."""
    if not text:
        return None
    return dt.date.fromisoformat(text)


def moment(text: str | None) -> dt.datetime | None:
    """Return the time of a service's ISO text, for the ``datetime`` filter."""
    if not text:
        return None
    return dt.datetime.fromisoformat(text)


def not_found() -> HTTPException:
    """Return the error that shows the not-found page."""
    return HTTPException(status.HTTP_404_NOT_FOUND)


def see_other(path: str, request: Request) -> Response:
    """Redirect after a form, or tell HTMX to load ``path`` as a whole page."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": path})
    return RedirectResponse(path, status_code=303)
