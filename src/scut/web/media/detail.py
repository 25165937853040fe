"""The page of one media: hashes, metadata, map, occurrences, matches, custody.

Opening the page is one audited ``media.view`` and one audited
``media.custody`` read. Every value that comes from the evidence (tags,
paths, names) is rendered escaped by the templates.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Annotated, Any

from fastapi import Form, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session
from starlette.requests import Request

from scut.geo.places import GeoQueryError
from scut.geo.service import areas_geojson, locate_point
from scut.hashsets.categories import PROJECTVIC
from scut.hashsets.items import Category
from scut.media.categorise import MAX_REASON, categorise
from scut.media.custody import custody_history
from scut.media.grid import PROJECTVIC_CODES
from scut.media.lookup import MediaNotFound
from scut.media.view import MediaDetail, media_detail
from scut.security.caller import Caller
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.labels import category_label
from scut.web.media.common import check_media_id
from scut.web.media.routes import router
from scut.web.rendering import render_page

log = logging.getLogger(__name__)

# Names of the custody events and of their details, as the page shows them.
CUSTODY_EVENTS = {
    "received": N_("Received"),
    "ingested": N_("Ingested"),
    "categorised": N_("Categorised"),
    "viewed": N_("Viewed"),
    "revealed": N_("Thumbnail revealed"),
    "exported": N_("Exported"),
    "transferred": N_("Transferred"),
}
CUSTODY_FIELDS = {
    "unit": N_("Unit"),
    "submission": N_("Submission"),
    "case": N_("Case"),
    "exhibit": N_("Exhibit"),
    "device": N_("Seized device"),
    "criminal_case_number": N_("Criminal case number"),
    "seizure_date": N_("Seizure date"),
    "legal_basis": N_("Legal basis"),
    "occurrence": N_("Occurrence"),
    "sha256": "SHA-256",
    "ingest_run": N_("Ingest run"),
    "host": N_("Host"),
    "category": N_("Category"),
    "previous": N_("Previous category"),
    "source": N_("Source"),
    "conflict": N_("Sources disagree"),
    "action": N_("Action"),
    "audit_event": N_("Audit event"),
    "justification": N_("Justification"),
}
MATCH_SOURCES = {"hash-set": N_("Hash set"), "case": N_("Earlier media")}
MATCH_KINDS = {
    "video-frames": N_("Video frames"),
    "local-features": N_("Local features"),
}


@router.get("/media/{media_id:int}", response_class=HTMLResponse)
def detail_page(request: Request, media_id: int, caller: PageCaller) -> HTMLResponse:
    """Show everything recorded about one media: one view and one custody read.

    Both are audited, so each opening of the page writes two events.
    """
    check_media_id(media_id)
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            detail = media_detail(session, media_id, caller=caller)
            custody = custody_history(session, media_id, caller=caller)
            areas = _areas_of(session, detail, caller)
    except MediaNotFound:
        raise HTTPException(404) from None
    return render_page(
        request,
        "media/detail.html",
        media=detail,
        custody=custody,
        areas=areas,
        tags=_tag_lines(detail.metadata.tags),
        category_codes=PROJECTVIC_CODES,
        projectvic=PROJECTVIC,
        max_reason=MAX_REASON,
        category_name=category_name,
        iso_time=iso_time,
        custody_events=CUSTODY_EVENTS,
        custody_fields=CUSTODY_FIELDS,
        match_sources=MATCH_SOURCES,
        match_kinds=MATCH_KINDS,
        detail_text=detail_text,
        coordinate=coordinate,
    )


def _areas_of(session: Session, detail: MediaDetail, caller: Caller) -> list[str]:
    """Return the names of the loaded areas that hold the media's GPS point."""
    latitude = detail.metadata.gps_latitude
    longitude = detail.metadata.gps_longitude
    if latitude is None or longitude is None:
        return []
    try:
        return [
            area.name
            for area in locate_point(session, latitude, longitude, caller=caller)
        ]
    except GeoQueryError as error:
        log.info("GPS point of media %d not placed: %s", detail.media_id, error)
        return []


@router.post("/media/{media_id:int}/category")
def set_category(
    request: Request,
    media_id: int,
    caller: PageCaller,
    code: Annotated[str, Form(max_length=10)],
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
) -> RedirectResponse:
    """Set a media's Project VIC category from its page, then show the page again."""
    check_media_id(media_id)
    if code not in PROJECTVIC_CODES:
        raise HTTPException(400)
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            categorise(
                session,
                [media_id],
                Category(PROJECTVIC, code),
                caller=caller,
                reason=reason.strip(),
            )
    except NoResultFound:
        raise HTTPException(404) from None
    return RedirectResponse(f"/media/{media_id}#category", status_code=303)


@router.get("/media/map/areas")
def map_areas(request: Request, caller: PageCaller) -> JSONResponse:
    """Return the loaded raion boundaries as GeoJSON, for the media's map.

    With no boundaries loaded the collection is empty, and the map shows
    the point alone.
    """
    with context_of(request).database.session() as session, session.begin():
        collection = areas_geojson(session, caller=caller)
    return JSONResponse(collection)


def category_name(text: str | None) -> str:
    """Return the message naming a "scheme code" category, or the text itself."""
    if text is None:
        return category_label(None, None) or ""
    scheme, _, code = text.partition(" ")
    return category_label(scheme, code) or text


def iso_time(text: str) -> dt.datetime:
    """Return a time the services give as ISO 8601, for the datetime filter."""
    return dt.datetime.fromisoformat(text)


def detail_text(value: Any) -> str:
    """Return a custody or tag value as plain text: JSON for lists and mappings."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def coordinate(latitude: float, longitude: float) -> str:
    """Return a WGS 84 point in decimal degrees, six decimals (about 0.1 m).

    Coordinates keep the dot as decimal sign in every language, as ISO 6709
    writes them, so that they can be copied into other tools.
    """
    return f"{latitude:.6f}, {longitude:.6f}"


def _tag_lines(tags: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((str(name), detail_text(value)) for name, value in tags.items())
