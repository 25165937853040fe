"""The area that contains a point, and the areas' outlines simplified for the map.

A point on the border of two areas lies in both. The area chosen for it is
the most specific one: the highest administrative level, then the smallest
area, then the lowest code, so the choice does not depend on the order the
areas were loaded in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

# Decimal places of coordinates sent to the map: 5 places are about 1 m.
MAP_DECIMALS = 5


@dataclass(frozen=True, slots=True)
class AreaShape:
    """An area's id, code, level and geometry, as the index stores them."""

    area_id: int
    code: str
    level: int
    geometry: BaseGeometry


def _preference(area: AreaShape) -> tuple[int, float, str]:
    return (-area.level, float(area.geometry.area), area.code)


def best_area(candidates: Sequence[AreaShape]) -> AreaShape | None:
    """Return the most specific of the areas that hold one point."""
    return min(candidates, key=_preference, default=None)


def areas_holding(
    areas: Sequence[AreaShape], longitude: float, latitude: float
) -> list[AreaShape]:
    """Return the areas that hold the point (border included), most specific first."""
    point = shapely.Point(longitude, latitude)
    holding = [area for area in areas if area.geometry.intersects(point)]
    return sorted(holding, key=_preference)


class AreaIndex:
    """A spatial index (shapely's STRtree) over areas, to place many points."""

    def __init__(self, areas: Sequence[AreaShape]) -> None:
        self.areas = list(areas)
        self._tree = shapely.STRtree([area.geometry for area in self.areas])

    def __len__(self) -> int:
        return len(self.areas)

    def locate(
        self, longitudes: Sequence[float], latitudes: Sequence[float]
    ) -> list[int | None]:
        """Return the id of the area of each point, or None outside every area."""
        found: list[int | None] = [None] * len(longitudes)
        if not self.areas or not found:
            return found
        points = shapely.points(np.asarray(longitudes), np.asarray(latitudes))
        hits = self._tree.query(points, predicate="intersects")
        candidates: dict[int, list[AreaShape]] = {}
        for point_index, area_index in zip(hits[0], hits[1], strict=True):
            candidates.setdefault(int(point_index), []).append(
                self.areas[int(area_index)]
            )
        for point_index, holding in candidates.items():
            chosen = best_area(holding)
            found[point_index] = chosen.area_id if chosen is not None else None
        return found


def simplified_features(
    areas: Sequence[AreaShape], tolerance: float
) -> list[dict[str, Any]]:
    """Return each area's geometry as GeoJSON, simplified by ``tolerance`` degrees.

    Areas of one level that form a coverage (no overlaps, shared borders
    with the same vertices, as in geoBoundaries files) are simplified
    together with shapely's coverage_simplify, so neighbours keep a common
    border with no gaps. Otherwise each outline is simplified on its own,
    and gaps or overlaps of up to ``tolerance`` may show between neighbours.
    Coordinates are rounded to MAP_DECIMALS places. The order of ``areas``
    is kept.
    """
    simplified: dict[int, BaseGeometry] = {}
    for level in sorted({area.level for area in areas}):
        group = [area for area in areas if area.level == level]
        geometries = [area.geometry for area in group]
        if tolerance <= 0:
            results = geometries
        elif shapely.coverage_is_valid(geometries):
            results = list(shapely.coverage_simplify(geometries, tolerance))
        else:
            log.warning(
                "Areas of level %d overlap or do not share their borders; "
                "simplifying each outline on its own",
                level,
            )
            results = [
                geometry.simplify(tolerance, preserve_topology=True)
                for geometry in geometries
            ]
        for area, result in zip(group, results, strict=True):
            simplified[area.area_id] = result
    return [_rounded_geojson(simplified[area.area_id]) for area in areas]


def _rounded_geojson(geometry: BaseGeometry) -> dict[str, Any]:
    rounded = shapely.transform(
        geometry, lambda coordinates: np.round(coordinates, MAP_DECIMALS)
    )
    geojson: dict[str, Any] = json.loads(shapely.to_geojson(rounded))
    return geojson
