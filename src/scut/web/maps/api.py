"""The map's JSON API under ``/api/map``, for holders of an API token.

The same layers as the map page, through the same services: media
positions are audited as a media list, and addresses need a justification
and are audited as a read of the persons shown.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request

from scut.geo.addresses import geocode_addresses
from scut.geo.layers import DEFAULT_LIMIT, Bounds, address_points, media_points
from scut.geo.service import areas_geojson
from scut.web.callers import ApiCaller
from scut.web.context import context_of
from scut.web.maps.models import (
    ERROR_RESPONSES,
    AddressLayerOut,
    AreaCollection,
    CellQuery,
    GeocodingOut,
    JustificationHeader,
    LimitQuery,
    MediaLayerOut,
    address_layer_out,
    bounds_query,
    geocoding_out,
    media_layer_out,
)

api_router = APIRouter(prefix="/api/map", tags=["map"], responses=ERROR_RESPONSES)

BoundsQuery = Annotated[Bounds | None, Depends(bounds_query)]


@api_router.get("/areas")
def areas(request: Request, caller: ApiCaller) -> AreaCollection:
    """Return the loaded areas' simplified outlines as GeoJSON."""
    context = context_of(request)
    with context.database.session() as session, session.begin():
        collection = areas_geojson(session, caller=caller)
    return AreaCollection.model_validate(collection)


@api_router.get("/media")
def media(
    request: Request,
    caller: ApiCaller,
    bounds: BoundsQuery,
    cell: CellQuery = 0.0,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> MediaLayerOut:
    """Return media GPS positions in the box (south, west, north, east).

    Without a box, every media with a position counts. Audited as a media
    list with the media returned as single points.
    """
    context = context_of(request)
    with context.database.session() as session, session.begin():
        layer = media_points(
            session, caller=caller, bounds=bounds, cell=cell, limit=limit
        )
    return media_layer_out(layer)


@api_router.get("/addresses")
def addresses(
    request: Request,
    caller: ApiCaller,
    bounds: BoundsQuery,
    justification: JustificationHeader = "",
    cell: CellQuery = 0.0,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> AddressLayerOut:
    """Return persons' addresses with coordinates in the box.

    Personal data: without a justification in the X-Justification header
    the call is denied (403).
    """
    context = context_of(request)
    reader = caller.with_justification(justification)
    with context.database.session() as session, session.begin():
        layer = address_points(
            session, caller=reader, bounds=bounds, cell=cell, limit=limit
        )
    return address_layer_out(layer)


@api_router.post("/addresses/geocode")
def geocode(
    request: Request, caller: ApiCaller, justification: JustificationHeader = ""
) -> GeocodingOut:
    """Fill the coordinates of addresses that have none, where one place fits.

    Lists the addresses left without coordinates, with the candidates of
    the ambiguous ones. Needs a justification in the X-Justification header.
    """
    context = context_of(request)
    changer = caller.with_justification(justification)
    with context.database.session() as session, session.begin():
        result = geocode_addresses(session, caller=changer)
    return geocoding_out(result)
