"""Map reference data as declared service operations.

Supervisors and admins import boundaries and gazetteers (``geo.import``,
audited). Analysts and supervisors read them (``geo.read``): it is public
reference data, holding no media or personal data, so reads are not
audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scut.db.models import GeoArea, GeoPlace
from scut.db.session import Database
from scut.geo.areas import AreaShape, areas_holding, simplified_features
from scut.geo.boundaries import read_boundaries
from scut.geo.files import coordinate_problem, max_file_bytes
from scut.geo.gazetteer import Gazetteer
from scut.geo.geocode import Geocoding, geocode_locality
from scut.geo.importer import (
    BOUNDARIES,
    GAZETTEER,
    ImportProgress,
    ImportReport,
    latest_import,
    load_area_shapes,
    store_boundaries,
    store_gazetteer,
)
from scut.geo.places import GeoQueryError, PlaceMatch, resolve_area, search_places
from scut.security.access import Target, operation
from scut.security.caller import Caller

log = logging.getLogger(__name__)

# Default simplification of the map's outlines, in degrees: 0.005 degrees is
# about 550 m north-south and 380 m east-west at Moldova's latitude.
DEFAULT_MAP_TOLERANCE = 0.005
MAX_MAP_TOLERANCE = 1.0


@dataclass(frozen=True, slots=True)
class AreaSummary:
    """An area with the number of gazetteer places in it."""

    code: str
    name: str
    level: int
    places: int


@dataclass(frozen=True, slots=True)
class LoadedData:
    """The import that loaded the stored data of one kind."""

    kind: str
    import_id: int
    file_name: str
    format: str
    stored: int
    rejected: int
    imported_at: str
    actor: str


def _file_target(*args: Any, **_: Any) -> Target:
    path = args[1] if len(args) > 1 else None
    return Target("geo_import", [Path(str(path)).name] if path else [])


def _imported_target(result: ImportReport, *_: Any, **__: Any) -> Target:
    return Target(
        "geo_import",
        [result.import_id],
        detail={
            "kind": result.kind,
            "format": result.format,
            "rows_read": result.rows_read,
            "stored": result.stored,
            "rejected": result.rejected_count,
        },
    )


@operation("geo.import", before=_file_target, after=_imported_target)
def import_boundaries(
    database: Database,
    path: Path,
    *,
    caller: Caller,
    name_property: str = "shapeName",
    code_property: str = "shapeISO",
    repair: bool = False,
    max_bytes: int | None = None,
) -> ImportReport:
    """Replace the loaded boundaries with the GeoJSON file at ``path``.

    Features that cannot be used are reported and the rest are stored.
    Raises GeoFileError, keeping the loaded boundaries, when the file as a
    whole is unusable. ``max_bytes`` defaults to SCUT_GEO_MAX_FILE_BYTES.
    """
    parsed = read_boundaries(
        path,
        max_bytes=max_bytes if max_bytes is not None else max_file_bytes(),
        name_property=name_property,
        code_property=code_property,
        repair=repair,
    )
    return store_boundaries(database, parsed, actor=caller.name)


@operation("geo.import", before=_file_target, after=_imported_target)
def import_gazetteer(
    database: Database,
    path: Path,
    *,
    caller: Caller,
    max_bytes: int | None = None,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Replace the loaded gazetteer with the GeoNames file at ``path``.

    Lines that cannot be used are reported and the rest are stored. Raises
    GeoFileError, keeping the loaded gazetteer, when the file as a whole is
    unusable. ``max_bytes`` defaults to SCUT_GEO_MAX_FILE_BYTES.
    """
    gazetteer = Gazetteer(
        path, max_bytes if max_bytes is not None else max_file_bytes()
    )
    return store_gazetteer(database, gazetteer, actor=caller.name, progress=progress)


@operation("geo.read")
def list_areas(session: Session, *, caller: Caller) -> list[AreaSummary]:
    """Return the loaded areas by code, with their number of places."""
    return _area_summaries(session)


def _area_summaries(session: Session) -> list[AreaSummary]:
    counts = (
        select(GeoPlace.area_id, func.count().label("places"))
        .group_by(GeoPlace.area_id)
        .subquery()
    )
    rows = session.execute(
        select(GeoArea.code, GeoArea.name, GeoArea.level, counts.c.places)
        .outerjoin(counts, counts.c.area_id == GeoArea.id)
        .order_by(GeoArea.code)
    )
    return [
        AreaSummary(code, name, level, places or 0)
        for code, name, level, places in rows
    ]


@operation("geo.read")
def find_places(
    session: Session,
    query: str,
    *,
    caller: Caller,
    area: str | None = None,
    limit: int = 50,
) -> list[PlaceMatch]:
    """Return the places whose names match ``query``, best first.

    ``area`` is an ISO 3166-2 code or an area's name. Raises GeoQueryError
    for a query without letters or digits and for an unknown area.
    """
    within = resolve_area(session, area) if area else None
    return search_places(session, query, area=within, limit=limit)


@operation("geo.read")
def locate_point(
    session: Session, latitude: float, longitude: float, *, caller: Caller
) -> list[AreaSummary]:
    """Return the loaded areas holding a WGS84 point, most specific first.

    A point on a border is in both areas; an empty list means the point is
    outside every area, or no boundaries are loaded. Raises GeoQueryError
    for coordinates out of range.
    """
    problem = coordinate_problem(longitude, latitude)
    if problem is not None:
        raise GeoQueryError(f"invalid point ({latitude}, {longitude}): {problem}")
    candidates = session.execute(
        select(GeoArea.id, GeoArea.code, GeoArea.name, GeoArea.level, GeoArea.geometry)
        .where(GeoArea.min_longitude <= longitude, GeoArea.max_longitude >= longitude)
        .where(GeoArea.min_latitude <= latitude, GeoArea.max_latitude >= latitude)
    ).all()
    shapes = [
        AreaShape(row.id, row.code, row.level, shapely.from_geojson(row.geometry))
        for row in candidates
    ]
    names = {row.id: row.name for row in candidates}
    return [
        AreaSummary(
            area.code,
            names[area.area_id],
            area.level,
            _place_count(session, area.area_id),
        )
        for area in areas_holding(shapes, longitude, latitude)
    ]


def _place_count(session: Session, area_id: int) -> int:
    count = session.scalar(
        select(func.count()).select_from(GeoPlace).where(GeoPlace.area_id == area_id)
    )
    return int(count or 0)


@operation("geo.read")
def areas_geojson(
    session: Session, *, caller: Caller, tolerance: float = DEFAULT_MAP_TOLERANCE
) -> dict[str, Any]:
    """Return the loaded areas as one GeoJSON FeatureCollection for the map.

    Outlines are simplified by ``tolerance`` degrees (0 keeps them whole)
    and each feature's properties are its code, name, level and number of
    places. With no boundaries loaded the collection is empty. Raises
    GeoQueryError for a tolerance below 0 or above MAX_MAP_TOLERANCE.
    """
    if not 0 <= tolerance <= MAX_MAP_TOLERANCE:
        raise GeoQueryError(
            f"the tolerance must be from 0 to {MAX_MAP_TOLERANCE} degrees, "
            f"got {tolerance}"
        )
    summaries = {summary.code: summary for summary in _area_summaries(session)}
    shapes = sorted(load_area_shapes(session), key=lambda area: area.code)
    geometries = simplified_features(shapes, tolerance)
    features = []
    for area, geometry in zip(shapes, geometries, strict=True):
        summary = summaries[area.code]
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "code": summary.code,
                    "name": summary.name,
                    "level": summary.level,
                    "places": summary.places,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


@operation("geo.read")
def geocode(
    session: Session, locality: str, *, caller: Caller, area: str | None = None
) -> Geocoding:
    """Return the candidate locations of a locality, in ``area`` when given.

    ``Geocoding.location`` is set only when exactly one location fits;
    several equally good candidates are all returned and none is chosen.
    ``area`` is an ISO 3166-2 code or an area's name. Raises GeoQueryError
    for a locality without letters or digits and for an unknown area.
    """
    within = resolve_area(session, area) if area else None
    return geocode_locality(session, locality, area=within)


@operation("geo.read")
def loaded_data(session: Session, *, caller: Caller) -> list[LoadedData]:
    """Return the import that loaded each kind of data; an empty list when none."""
    loaded = []
    for kind in (BOUNDARIES, GAZETTEER):
        record = latest_import(session, kind)
        if record is not None:
            loaded.append(
                LoadedData(
                    kind=kind,
                    import_id=record.id,
                    file_name=record.file_name,
                    format=record.format,
                    stored=record.stored,
                    rejected=record.rejected,
                    imported_at=record.imported_at.isoformat(),
                    actor=record.actor,
                )
            )
    return loaded
