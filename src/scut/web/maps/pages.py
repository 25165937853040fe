"""The map page, the JSON its script fetches, and the address geocoding form."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse
from starlette.requests import Request

from scut.geo.addresses import (
    AMBIGUOUS,
    NO_GAZETTEER,
    NO_LOCALITY,
    NOT_FOUND,
    UNKNOWN_AREA,
    AddressGeocoding,
    geocode_addresses,
)
from scut.geo.importer import BOUNDARIES
from scut.geo.layers import DEFAULT_LIMIT, Bounds, address_points, media_points
from scut.geo.service import areas_geojson, loaded_data
from scut.security.caller import Caller
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.labels import CATEGORY_LABELS, NOT_CATEGORISED, VERDICT_LABELS
from scut.web.maps.models import (
    MAX_JUSTIFICATION,
    AddressLayerOut,
    AreaCollection,
    CellQuery,
    JustificationQuery,
    LimitQuery,
    MediaLayerOut,
    address_layer_out,
    bounds_query,
    media_layer_out,
)
from scut.web.navigation import NavigationItem, add_link
from scut.web.records.justification import session_justification
from scut.web.rendering import language_of, render_page

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

add_link(NavigationItem(N_("Map"), "/map", operation="geo.read", order=40))

# Texts the page's script shows, translated on the server.
SCRIPT_TEXTS = {
    "boundaries": N_("Raion boundaries"),
    "graticule": N_("Graticule"),
    "media": N_("Media GPS positions"),
    "addresses": N_("Persons' addresses"),
    "mediaTitle": N_("Media {id}"),
    "verdict": N_("Verdict: {verdict}"),
    "category": N_("Category: {category}"),
    "noVerdict": N_("No verdict"),
    "mediaHere": N_("Media at this place: {count}"),
    "addressesHere": N_("Addresses at this place: {count}"),
    "zoomIn": N_("Points here: {count}. Click to zoom in."),
    "mediaCount": N_("Media positions in the view: {count}"),
    "addressCount": N_("Addresses in the view: {count}"),
    "truncated": N_("Not every point is shown. Zoom in to see the rest."),
    "failed": N_("The map data could not be loaded. Reload the page."),
    "denied": N_("Your roles do not allow this layer."),
    "needJustification": N_("Give a justification before showing persons' addresses."),
}
REASONS = {
    AMBIGUOUS: N_("Several places fit equally well"),
    NOT_FOUND: N_("No place of this name is in the gazetteer"),
    NO_LOCALITY: N_("The address names no locality"),
    UNKNOWN_AREA: N_("The raion it names is not among the loaded areas"),
    NO_GAZETTEER: N_("The loaded gazetteer does not cover the address's country"),
}
NEED_JUSTIFICATION = N_(
    "Give a justification (a case reference or a reason): addresses are personal data."
)

BoundsQuery = Annotated[Bounds | None, Depends(bounds_query)]


def _translator(request: Request) -> Callable[[str], str]:
    environment = context_of(request).renderer.environment(language_of(request))
    translate: Callable[[str], str] = environment.filters["translate"]
    return translate


def _script_settings(request: Request) -> dict[str, Any]:
    """Return the translated texts and labels the page's script needs."""
    translate = _translator(request)
    categories = {
        f"{scheme}:{code}": translate(label)
        for (scheme, code), label in CATEGORY_LABELS.items()
    }
    categories[""] = translate(NOT_CATEGORISED)
    return {
        "texts": {key: translate(text) for key, text in SCRIPT_TEXTS.items()},
        "verdicts": {
            verdict: translate(label) for verdict, label in VERDICT_LABELS.items()
        },
        "categories": categories,
    }


def _justification(request: Request, typed: str) -> str:
    """Return the justification typed on the map page, else the session's one.

    The session's justification is the one given on the persons' pages.
    """
    return typed.strip() or session_justification(request) or ""


def _map_page(request: Request, caller: Caller, **values: Any) -> HTMLResponse:
    context = context_of(request)
    with context.database.session() as session, session.begin():
        loaded = {item.kind: item for item in loaded_data(session, caller=caller)}
    boundaries = loaded.get(BOUNDARIES)
    values.setdefault("justification", _justification(request, ""))
    return render_page(
        request,
        "maps/map.html",
        boundaries=boundaries,
        boundaries_imported_at=(
            dt.datetime.fromisoformat(boundaries.imported_at) if boundaries else None
        ),
        script_settings=_script_settings(request),
        reasons=REASONS,
        **values,
    )


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, caller: PageCaller) -> HTMLResponse:
    """Show the map, with which boundaries are loaded.

    Reading the loaded data checks that the caller may use the map
    (``geo.read``), so other roles get the access-denied page.
    """
    return _map_page(request, caller)


@router.get("/map/areas.json")
def areas_data(request: Request, caller: PageCaller) -> AreaCollection:
    """Return the loaded areas' simplified outlines for the page's script."""
    context = context_of(request)
    with context.database.session() as session, session.begin():
        collection = areas_geojson(session, caller=caller)
    return AreaCollection.model_validate(collection)


@router.get("/map/media.json")
def media_data(
    request: Request,
    caller: PageCaller,
    bounds: BoundsQuery,
    cell: CellQuery = 0.0,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> MediaLayerOut:
    """Return the media positions in the box for the page's script (audited)."""
    context = context_of(request)
    with context.database.session() as session, session.begin():
        layer = media_points(
            session, caller=caller, bounds=bounds, cell=cell, limit=limit
        )
    return media_layer_out(layer)


@router.get("/map/addresses.json")
def addresses_data(
    request: Request,
    caller: PageCaller,
    bounds: BoundsQuery,
    justification: JustificationQuery = "",
    cell: CellQuery = 0.0,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> AddressLayerOut:
    """Return persons' addresses in the box for the page's script.

    Personal data: the justification is the one typed on the map page,
    else the session's. The service denies the call without one and
    audits it with the persons shown.
    """
    context = context_of(request)
    reader = caller.with_justification(_justification(request, justification))
    with context.database.session() as session, session.begin():
        layer = address_points(
            session, caller=reader, bounds=bounds, cell=cell, limit=limit
        )
    return address_layer_out(layer)


@router.post("/map/geocode", response_class=HTMLResponse)
def geocode_form(
    request: Request,
    caller: PageCaller,
    justification: Annotated[str, Form(max_length=MAX_JUSTIFICATION)] = "",
) -> HTMLResponse:
    """Geocode every address without coordinates and show the outcome.

    HTMX requests get the outcome alone, to put under the form; a form
    posted without the script gets the whole map page with it.
    """
    text = _justification(request, justification)
    values: dict[str, Any] = {"justification": text}
    if not text:
        log.info("Map geocoding by %s rejected: no justification", caller.name)
        values["geocoding_error"] = NEED_JUSTIFICATION
    else:
        values["geocoding"] = _geocode(request, caller, text)
    if request.headers.get("hx-request") == "true":
        return render_page(request, "maps/_geocoding.html", reasons=REASONS, **values)
    return _map_page(request, caller, **values)


def _geocode(request: Request, caller: Caller, justification: str) -> AddressGeocoding:
    context = context_of(request)
    changer = caller.with_justification(justification)
    with context.database.session() as session, session.begin():
        return geocode_addresses(session, caller=changer)
