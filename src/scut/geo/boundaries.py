"""Reader of boundary files: a GeoJSON FeatureCollection of administrative areas.

Each feature is one area: a Polygon or MultiPolygon in WGS84 longitude and
latitude (RFC 7946), with its name and ISO 3166-2 code in two properties.
The defaults are those of geoBoundaries releases (``shapeName`` and
``shapeISO``); the level comes from ``shapeType`` ("ADM1") when present.

A feature that cannot be used is rejected with its number and the reason,
and the others are read. A polygon that shapely finds invalid (a ring that
crosses itself, overlapping holes) is rejected by default rather than
repaired. A repaired outline changes which points fall inside the area
without anyone having checked it, and an invalid polygon in a boundary file
usually means a damaged copy or conversion. ``repair=True`` applies
shapely's ``make_valid`` instead, keeps the polygonal parts and logs a
warning for each repaired area.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from scut.geo.files import (
    GeoFileError,
    Rejected,
    coordinate_problem,
    read_capped,
    sha256_of,
)
from scut.persons.names import normalise_name

log = logging.getLogger(__name__)

AREA_TYPES = ("Polygon", "MultiPolygon")
# ISO 3166-2: a country's alpha-2 code, a hyphen and up to three letters or
# digits.
_ISO_3166_2 = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
_LEVEL = re.compile(r"^ADM(\d)$", re.IGNORECASE)
LEVEL_PROPERTIES = ("shapeType", "Level")
MAX_NAME_LENGTH = 200
# Rejected features named in error messages when none could be used.
_SHOWN_PROBLEMS = 3


@dataclass(frozen=True, slots=True)
class AreaRecord:
    """One usable feature of a boundary file."""

    feature: int
    code: str
    name: str
    level: int
    geometry: BaseGeometry


@dataclass(slots=True)
class BoundaryFile:
    """The contents of a boundary file: its usable areas and its rejected features."""

    path: Path
    sha256: str
    features: int = 0
    areas: list[AreaRecord] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # Features whose polygons make_valid repaired, with shapely's reason.
    repaired: list[str] = field(default_factory=list)


class _FeatureProblem(Exception):
    """A reason to reject one feature; caught and reported by the reader."""


def read_boundaries(
    path: Path,
    *,
    max_bytes: int,
    name_property: str = "shapeName",
    code_property: str = "shapeISO",
    repair: bool = False,
) -> BoundaryFile:
    """Read the GeoJSON boundary file at ``path``.

    Raises GeoFileError when the file as a whole is unusable: missing, over
    ``max_bytes``, not UTF-8, not JSON, not a FeatureCollection, or without
    a single usable feature.
    """
    data = read_capped(path, max_bytes)
    collection = _parse_json(path, data)
    features = collection.get("features")
    if not isinstance(features, list):
        raise GeoFileError(f"{path}: the FeatureCollection has no list of features")

    result = BoundaryFile(path=path, sha256=sha256_of(path), features=len(features))
    seen: dict[str, int] = {}
    for number, feature in enumerate(features, start=1):
        try:
            area = _read_feature(
                number, feature, name_property, code_property, repair, result
            )
        except _FeatureProblem as problem:
            result.rejected.append(Rejected(f"feature {number}", str(problem)))
            continue
        if area.code in seen:
            result.rejected.append(
                Rejected(
                    f"feature {number}",
                    f"code {area.code} is already used by feature {seen[area.code]}",
                )
            )
            continue
        seen[area.code] = number
        result.areas.append(area)

    if not result.areas:
        problems = "; ".join(str(item) for item in result.rejected[:_SHOWN_PROBLEMS])
        raise GeoFileError(
            f"{path}: none of its {len(features)} features is a usable area"
            + (f" ({problems})" if problems else "")
        )
    return result


def _parse_json(path: Path, data: bytes) -> dict[str, Any]:
    """Decode and parse the file; return its FeatureCollection object."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise GeoFileError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); GeoJSON must be UTF-8"
        ) from None
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise GeoFileError(
            f"{path}: not JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}"
        ) from None
    except ValueError as error:
        raise GeoFileError(f"{path}: not JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise GeoFileError(
            f"{path}: not a GeoJSON FeatureCollection but a JSON "
            f"{type(parsed).__name__}"
        )
    if parsed.get("type") != "FeatureCollection":
        raise GeoFileError(
            f"{path}: not a GeoJSON FeatureCollection (its type is "
            f"{parsed.get('type')!r})"
        )
    return parsed


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _read_feature(
    number: int,
    feature: Any,
    name_property: str,
    code_property: str,
    repair: bool,
    result: BoundaryFile,
) -> AreaRecord:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise _FeatureProblem("not a GeoJSON Feature object")
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        properties = {}
    name = _name(properties, name_property)
    code = _code(properties, code_property)
    geometry = _geometry(feature.get("geometry"))
    reason = shapely.is_valid_reason(geometry)
    if reason != "Valid Geometry":
        if not repair:
            raise _FeatureProblem(
                f"invalid polygon of {code}: {reason}. Correct the file (QGIS, or "
                "ogr2ogr -makevalid) or import with --repair"
            )
        geometry = _repaired(geometry, code, reason)
        result.repaired.append(f"feature {number} ({code}): {reason}")
    return AreaRecord(number, code, name, _level(properties), geometry)


def _name(properties: dict[str, Any], key: str) -> str:
    value = properties.get(key)
    if not isinstance(value, str) or not normalise_name(value):
        raise _FeatureProblem(f"property {key!r} (the area's name) is missing or empty")
    name = normalise_name(value)
    if len(name) > MAX_NAME_LENGTH:
        raise _FeatureProblem(
            f"the name has {len(name)} characters, more than {MAX_NAME_LENGTH}"
        )
    return name


def _code(properties: dict[str, Any], key: str) -> str:
    value = properties.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _FeatureProblem(f"property {key!r} (the ISO 3166-2 code) is missing")
    code = value.strip().upper()
    if not _ISO_3166_2.match(code):
        raise _FeatureProblem(
            f"{key} {value!r} is not an ISO 3166-2 code such as MD-CU; name the "
            "property that holds the code with --code-property"
        )
    return code


def _level(properties: dict[str, Any]) -> int:
    """Return the administrative level from "ADM1"-style properties, else 1."""
    for key in LEVEL_PROPERTIES:
        value = properties.get(key)
        if isinstance(value, str) and (match := _LEVEL.match(value.strip())):
            return int(match.group(1))
    return 1


def _geometry(geometry: Any) -> BaseGeometry:
    """Check a GeoJSON geometry's structure and build it with shapely."""
    if not isinstance(geometry, dict):
        raise _FeatureProblem("the feature has no geometry")
    kind = geometry.get("type")
    if kind not in AREA_TYPES:
        raise _FeatureProblem(
            f"geometry type {kind!r} is not an area; only Polygon and MultiPolygon are"
        )
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise _FeatureProblem(f"the {kind} has no coordinates")
    for index, polygon in enumerate(polygons, start=1):
        where = "" if kind == "Polygon" else f" of polygon {index}"
        _check_polygon(polygon, where)
    return shape({"type": kind, "coordinates": coordinates})


def _check_polygon(polygon: Any, where: str) -> None:
    if not isinstance(polygon, list) or not polygon:
        raise _FeatureProblem(f"the polygon{where} has no rings")
    for number, ring in enumerate(polygon, start=1):
        label = f"ring {number}{where}"
        if not isinstance(ring, list) or len(ring) < 4:
            raise _FeatureProblem(
                f"{label} has fewer than 4 positions; a closed ring needs at least 4"
            )
        for place, position in enumerate(ring, start=1):
            _check_position(position, f"position {place} of {label}")
        if ring[0][:2] != ring[-1][:2]:
            raise _FeatureProblem(
                f"{label} is not closed: its first position {ring[0]} differs "
                f"from its last {ring[-1]}"
            )


def _check_position(position: Any, label: str) -> None:
    if not isinstance(position, list) or len(position) not in (2, 3):
        raise _FeatureProblem(f"{label} is not a [longitude, latitude] pair")
    for value in position:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _FeatureProblem(f"{label} is {value!r}, which is not a number")
    problem = coordinate_problem(float(position[0]), float(position[1]))
    if problem is not None:
        raise _FeatureProblem(f"{label}: {problem}")


def _repaired(geometry: BaseGeometry, code: str, reason: str) -> BaseGeometry:
    """Return the polygonal parts of ``make_valid(geometry)``."""
    fixed = shapely.make_valid(geometry)
    parts = [
        part
        for part in getattr(fixed, "geoms", [fixed])
        if part.geom_type in AREA_TYPES and not part.is_empty
    ]
    polygonal = shapely.union_all(parts) if parts else None
    if polygonal is None or polygonal.is_empty:
        raise _FeatureProblem(f"invalid polygon of {code}: {reason}; nothing to repair")
    log.warning("Repaired the invalid polygon of %s (%s)", code, reason)
    return polygonal
