"""The JSON of the map's layers, shared by the page's data requests and the API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Header, Query
from pydantic import BaseModel, Field

from scut.geo.addresses import AddressGeocoding
from scut.geo.layers import (
    MAX_CELL,
    MAX_LIMIT,
    AddressPoint,
    Bounds,
    Cluster,
    MapLayer,
    MediaPoint,
)
from scut.geo.places import GeoQueryError

# Maximum length of a justification, as on the command line.
MAX_JUSTIFICATION = 2000


class ProblemOut(BaseModel):
    """The reason a request was rejected."""

    detail: str


# The errors every map endpoint may return, for the OpenAPI description.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemOut, "description": "An invalid box, cell size or limit."},
    401: {"model": ProblemOut, "description": "No valid API token."},
    403: {
        "model": ProblemOut,
        "description": "The token's roles do not allow it, or a justification "
        "is missing for personal data.",
    },
}


class BoundsOut(BaseModel):
    """A bounding box in WGS 84 degrees."""

    south: float
    west: float
    north: float
    east: float


class ClusterOut(BaseModel):
    """Points sharing a grid cell: how many, their mean position and extent."""

    count: int
    latitude: float
    longitude: float
    bounds: BoundsOut


class MediaPointOut(BaseModel):
    """A media's GPS position with its verdict and category; no picture."""

    id: int = Field(description="The media's number.")
    latitude: float
    longitude: float
    verdict: str | None = Field(
        description="The most significant verdict of its occurrences."
    )
    category_scheme: str | None
    category_code: str | None


class MediaLayerOut(BaseModel):
    """Media GPS positions in the box: single points and clusters."""

    points: list[MediaPointOut]
    clusters: list[ClusterOut]
    total: int = Field(description="Media with a position in the box.")
    truncated: bool = Field(description="More cells than the limit: some are left out.")


class AddressPointOut(BaseModel):
    """A person's address with coordinates, naming the person only."""

    address_id: int
    person_id: int
    name: str = Field(description="The person's last and first name.")
    latitude: float
    longitude: float


class AddressLayerOut(BaseModel):
    """Persons' addresses in the box: single points and clusters."""

    points: list[AddressPointOut]
    clusters: list[ClusterOut]
    total: int = Field(description="Addresses with coordinates in the box.")
    truncated: bool = Field(description="More cells than the limit: some are left out.")


class AreaProperties(BaseModel):
    """An area's ISO 3166-2 code, name, level and number of gazetteer places."""

    code: str
    name: str
    level: int
    places: int


class AreaFeature(BaseModel):
    """A GeoJSON Feature: one area's simplified outline."""

    type: Literal["Feature"]
    geometry: dict[str, Any] = Field(description="A GeoJSON Polygon or MultiPolygon.")
    properties: AreaProperties


class AreaCollection(BaseModel):
    """The loaded areas as a GeoJSON FeatureCollection; empty when none are loaded."""

    type: Literal["FeatureCollection"]
    features: list[AreaFeature]


class CandidateOut(BaseModel):
    """One of several places that fit an address's locality."""

    name: str
    area_code: str | None
    area_name: str | None
    latitude: float
    longitude: float


class GeocodedOut(BaseModel):
    """An address that got coordinates, and the place they come from."""

    address_id: int
    person_id: int
    place: str
    area_code: str | None
    latitude: float
    longitude: float


class UnresolvedOut(BaseModel):
    """An address left without coordinates, and why."""

    address_id: int
    person_id: int
    person_name: str
    address: str
    locality: str | None
    area: str | None
    reason: str = Field(
        description="ambiguous, not-found, no-locality, unknown-area or no-gazetteer."
    )
    candidates: list[CandidateOut]


class GeocodingOut(BaseModel):
    """The outcome of geocoding every address without coordinates."""

    checked: int = Field(description="Addresses that had no coordinates.")
    geocoded: list[GeocodedOut]
    unresolved: list[UnresolvedOut]


def bounds_query(
    south: Annotated[float | None, Query(ge=-90, le=90)] = None,
    west: Annotated[float | None, Query(ge=-180, le=180)] = None,
    north: Annotated[float | None, Query(ge=-90, le=90)] = None,
    east: Annotated[float | None, Query(ge=-180, le=180)] = None,
) -> Bounds | None:
    """Return the box of the four query parameters, or None when none is given.

    Raises GeoQueryError when only some are given or they do not form a box.
    """
    sides = (south, west, north, east)
    if all(value is None for value in sides):
        return None
    if south is None or west is None or north is None or east is None:
        raise GeoQueryError("give all of south, west, north and east, or none")
    return Bounds(south, west, north, east)


CellQuery = Annotated[
    float,
    Query(
        ge=0,
        le=MAX_CELL,
        description="Grid cell size in degrees: points sharing a cell are "
        "returned as one cluster. 0 returns every point.",
    ),
]
LimitQuery = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description="Maximum number of points and clusters returned.",
    ),
]
JustificationQuery = Annotated[
    str,
    Query(
        max_length=MAX_JUSTIFICATION,
        description="A case reference or a reason for reading personal data; "
        "it is kept in the audit log.",
    ),
]
# The API takes the justification in this header, as the persons API does.
JustificationHeader = Annotated[
    str,
    Header(
        alias="X-Justification",
        max_length=MAX_JUSTIFICATION,
        description="A case reference or a reason for reading or changing "
        "personal data; it is kept in the audit log.",
    ),
]


def _bounds_out(bounds: Bounds) -> BoundsOut:
    return BoundsOut(
        south=bounds.south, west=bounds.west, north=bounds.north, east=bounds.east
    )


def _clusters_out(clusters: list[Cluster]) -> list[ClusterOut]:
    return [
        ClusterOut(
            count=cluster.count,
            latitude=cluster.latitude,
            longitude=cluster.longitude,
            bounds=_bounds_out(cluster.bounds),
        )
        for cluster in clusters
    ]


def media_layer_out(layer: MapLayer[MediaPoint]) -> MediaLayerOut:
    """Return the JSON model of a media layer."""
    return MediaLayerOut(
        points=[
            MediaPointOut(
                id=point.media_id,
                latitude=point.latitude,
                longitude=point.longitude,
                verdict=point.verdict,
                category_scheme=point.category_scheme,
                category_code=point.category_code,
            )
            for point in layer.points
        ],
        clusters=_clusters_out(layer.clusters),
        total=layer.total,
        truncated=layer.truncated,
    )


def address_layer_out(layer: MapLayer[AddressPoint]) -> AddressLayerOut:
    """Return the JSON model of an address layer."""
    return AddressLayerOut(
        points=[
            AddressPointOut(
                address_id=point.address_id,
                person_id=point.person_id,
                name=point.name,
                latitude=point.latitude,
                longitude=point.longitude,
            )
            for point in layer.points
        ],
        clusters=_clusters_out(layer.clusters),
        total=layer.total,
        truncated=layer.truncated,
    )


def geocoding_out(result: AddressGeocoding) -> GeocodingOut:
    """Return the JSON model of an address geocoding."""
    return GeocodingOut(
        checked=result.checked,
        geocoded=[
            GeocodedOut(
                address_id=item.address_id,
                person_id=item.person_id,
                place=item.place,
                area_code=item.area_code,
                latitude=item.latitude,
                longitude=item.longitude,
            )
            for item in result.geocoded
        ],
        unresolved=[
            UnresolvedOut(
                address_id=item.address_id,
                person_id=item.person_id,
                person_name=item.person_name,
                address=item.address,
                locality=item.locality,
                area=item.area,
                reason=item.reason,
                candidates=[
                    CandidateOut(
                        name=candidate.name,
                        area_code=candidate.area_code,
                        area_name=candidate.area_name,
                        latitude=candidate.latitude,
                        longitude=candidate.longitude,
                    )
                    for candidate in item.candidates
                ],
            )
            for item in result.unresolved
        ],
    )
