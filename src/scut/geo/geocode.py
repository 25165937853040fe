"""Geocoding a locality (and optionally its raion) to coordinates.

Persons' addresses name a locality, often with its raion. The candidates
are the gazetteer places whose name or other name has the locality's key.
Only when there are none are places with the same loose key taken. Then:

- places of one name in one area are one locality. A town listed under
  several postal codes, or only as postal sectors ("Soroca 4", "Soroca 5"),
  gives one location. For a town listed only by its sectors, that is the
  mean of the sectors' points;
- two places of one name in one area at different points (two villages
  called Nicolaevca in Florești) are two locations.

When more than one location remains, the result is ambiguous: the
candidates are returned and none is chosen, so an address is never placed
in one of two equally likely villages without an analyst deciding.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from scut.db.models import GeoArea, GeoPlace, GeoPlaceName
from scut.geo.places import query_text

log = logging.getLogger(__name__)

EXACT = "exact"
LOOSE = "loose"
# Places of one locality closer than this, in degrees of latitude and
# longitude, are one point: 0.0001 degrees is about 10 m.
SAME_POINT_DECIMALS = 4
_SECTOR_SUFFIX = re.compile(r"[ -]?\d{1,3}$")


@dataclass(frozen=True, slots=True)
class Location:
    """One candidate location of a locality."""

    name: str
    area_code: str | None
    area_name: str | None
    admin_name: str
    latitude: float
    longitude: float
    # place: a gazetteer place's point; postal sectors: the mean of the
    # points of a town's postal sectors.
    basis: str
    place_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Geocoding:
    """The candidate locations of a locality; ``location`` is set only when one."""

    locality: str
    area: str | None
    # exact or loose: how the candidates' names matched; "" when none did.
    match: str
    candidates: tuple[Location, ...]

    @property
    def location(self) -> Location | None:
        """Return the only candidate, or None when there is none or several."""
        return self.candidates[0] if len(self.candidates) == 1 else None

    @property
    def ambiguous(self) -> bool:
        """Return whether several candidates are equally good."""
        return len(self.candidates) > 1


@dataclass(frozen=True, slots=True)
class _Row:
    place: GeoPlace
    # The name matched exactly, not as a postal sector of the locality.
    whole: bool
    area_code: str | None
    area_name: str | None


def geocode_locality(
    session: Session, locality: str, *, area: GeoArea | None = None
) -> Geocoding:
    """Return the candidate locations of ``locality``, in ``area`` when given.

    Raises GeoQueryError when the locality has no letters or digits.
    """
    keys, loose = query_text(locality, "locality")
    area_code = area.code if area is not None else None
    for match, rows in (
        (EXACT, _exact_rows(session, keys, area)),
        (LOOSE, _loose_rows(session, loose, area)),
    ):
        if rows:
            candidates = _locations(rows)
            log.debug("Geocoded a locality to %d candidates", len(candidates))
            return Geocoding(locality, area_code, match, tuple(candidates))
    return Geocoding(locality, area_code, "", ())


def _exact_rows(session: Session, keys: list[str], area: GeoArea | None) -> list[_Row]:
    rows: dict[int, _Row] = {}
    by_name = or_(GeoPlace.name_key.in_(keys), GeoPlace.locality_key.in_(keys))
    for place, code, name in _places(session, by_name, area, other_names=False):
        rows[place.id] = _Row(place, place.name_key in keys, code, name)
    by_other_name = GeoPlaceName.name_key.in_(keys)
    for place, code, name in _places(session, by_other_name, area, other_names=True):
        rows[place.id] = _Row(place, True, code, name)
    return list(rows.values())


def _loose_rows(session: Session, loose: list[str], area: GeoArea | None) -> list[_Row]:
    rows: dict[int, _Row] = {}
    by_name = GeoPlace.loose_key.in_(loose)
    for place, code, name in _places(session, by_name, area, other_names=False):
        whole = place.name_key == place.locality_key
        rows[place.id] = _Row(place, whole, code, name)
    by_other_name = GeoPlaceName.loose_key.in_(loose)
    for place, code, name in _places(session, by_other_name, area, other_names=True):
        rows[place.id] = _Row(place, True, code, name)
    return list(rows.values())


def _places(
    session: Session,
    condition: ColumnElement[bool],
    area: GeoArea | None,
    *,
    other_names: bool,
) -> list[tuple[GeoPlace, str | None, str | None]]:
    """Return the places meeting ``condition``, with their area's code and name."""
    statement = select(GeoPlace, GeoArea.code, GeoArea.name).outerjoin(
        GeoArea, GeoArea.id == GeoPlace.area_id
    )
    if other_names:
        statement = statement.join(GeoPlaceName, GeoPlaceName.place_id == GeoPlace.id)
    statement = statement.where(condition)
    if area is not None:
        statement = statement.where(GeoPlace.area_id == area.id)
    return [(place, code, name) for place, code, name in session.execute(statement)]


def _locations(rows: list[_Row]) -> list[Location]:
    """Group the matched places into locations (see the module's docstring)."""
    groups: dict[tuple[str, str], list[_Row]] = {}
    for row in rows:
        where = row.area_code or f"admin:{row.place.admin_name.casefold()}"
        groups.setdefault((row.place.locality_key, where), []).append(row)
    locations: list[Location] = []
    for members in groups.values():
        whole = [row for row in members if row.whole]
        if whole:
            locations.extend(_distinct_points(whole))
        else:
            locations.append(_sectors(members))
    return sorted(locations, key=lambda item: (item.area_code or "", item.name))


def _point(place: GeoPlace) -> tuple[float, float]:
    return (
        round(place.latitude, SAME_POINT_DECIMALS),
        round(place.longitude, SAME_POINT_DECIMALS),
    )


def _distinct_points(rows: list[_Row]) -> list[Location]:
    by_point: dict[tuple[float, float], list[_Row]] = {}
    for row in rows:
        by_point.setdefault(_point(row.place), []).append(row)
    locations = []
    for (latitude, longitude), same in by_point.items():
        first = same[0]
        locations.append(
            Location(
                name=first.place.name,
                area_code=first.area_code,
                area_name=first.area_name,
                admin_name=first.place.admin_name,
                latitude=latitude,
                longitude=longitude,
                basis="place",
                place_ids=tuple(sorted(row.place.id for row in same)),
            )
        )
    return locations


def _sectors(rows: list[_Row]) -> Location:
    """Return the location of a town listed only by its postal sectors."""
    points = sorted({_point(row.place) for row in rows})
    first = min(rows, key=lambda row: row.place.name)
    return Location(
        name=_SECTOR_SUFFIX.sub("", first.place.name) or first.place.name,
        area_code=first.area_code,
        area_name=first.area_name,
        admin_name=first.place.admin_name,
        latitude=round(sum(p[0] for p in points) / len(points), SAME_POINT_DECIMALS),
        longitude=round(sum(p[1] for p in points) / len(points), SAME_POINT_DECIMALS),
        basis="postal sectors",
        place_ids=tuple(sorted(row.place.id for row in rows)),
    )
