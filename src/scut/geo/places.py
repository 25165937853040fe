"""Finding gazetteer places and areas by name.

A query matches a place, best first, by:

1. exact: its name or another of its names has the query's key
   (scut.geo.keys: case, diacritics and Cyrillic folded);
2. sector: its name is a postal sector of the query ("Soroca 4" for
   "Soroca");
3. loose: the loose keys agree (Soroka and Soroca, or its postal sectors);
4. prefix: its key starts with the query's key (two characters or more),
   looked up only when the first three give fewer places than asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from scut.db.models import GeoArea, GeoPlace, GeoPlaceName
from scut.errors import ScutError
from scut.geo.keys import place_key, place_loose_key, query_keys, query_loose_keys

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 200
MIN_PREFIX = 2
MATCHES = ("exact", "sector", "loose", "prefix")


class GeoQueryError(ScutError):
    """Raised for a place or area query that cannot be looked up."""


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """A place found by name, with the name that matched and how."""

    place_id: int
    name: str
    # The place's name, or the other name of it that the query matched.
    matched_name: str
    # exact, sector, loose or prefix (see the module's docstring).
    match: str
    admin_name: str
    area_code: str | None
    area_name: str | None
    postal_code: str | None
    latitude: float
    longitude: float
    accuracy: int | None


def query_text(text: str, label: str) -> tuple[list[str], list[str]]:
    """Return the keys and loose keys of a typed name, or raise GeoQueryError."""
    if len(text) > MAX_QUERY_LENGTH:
        raise GeoQueryError(
            f"the {label} has {len(text)} characters, more than {MAX_QUERY_LENGTH}"
        )
    keys = query_keys(text)
    if not keys:
        raise GeoQueryError(f"the {label} {text!r} has no letters or digits")
    return keys, query_loose_keys(text)


def resolve_area(session: Session, text: str) -> GeoArea:
    """Return the loaded area named by its ISO 3166-2 code or by its name.

    Raises GeoQueryError when no area or several match.
    """
    code = text.strip().upper()
    area = session.scalars(select(GeoArea).where(GeoArea.code == code)).one_or_none()
    if area is not None:
        return area
    keys, _ = query_text(text, "area")
    found = session.scalars(
        select(GeoArea).where(GeoArea.name_key.in_(keys)).order_by(GeoArea.code)
    ).all()
    if not found:
        raise GeoQueryError(
            f"no loaded area has the code or name {text!r}; scut geo areas lists them"
        )
    if len(found) > 1:
        codes = ", ".join(area.code for area in found)
        raise GeoQueryError(f"several areas are named {text!r} ({codes}); give a code")
    return found[0]


def search_places(
    session: Session, query: str, *, area: GeoArea | None = None, limit: int = 50
) -> list[PlaceMatch]:
    """Return up to ``limit`` places matching ``query``, best match first."""
    if limit < 1:
        raise GeoQueryError(f"the limit must be at least 1, got {limit}")
    keys, loose = query_text(query, "query")
    found: dict[int, PlaceMatch] = {}
    place_conditions = [
        GeoPlace.name_key.in_(keys),
        GeoPlace.locality_key.in_(keys),
        GeoPlace.loose_key.in_(loose),
    ]
    name_conditions = [
        GeoPlaceName.name_key.in_(keys),
        GeoPlaceName.loose_key.in_(loose),
    ]
    _collect(session, found, keys, loose, area, place_conditions, name_conditions)
    prefixes = [key for key in keys if len(key) >= MIN_PREFIX]
    if len(found) < limit and prefixes:
        _collect(
            session,
            found,
            keys,
            loose,
            area,
            [GeoPlace.name_key.startswith(key, autoescape=True) for key in prefixes],
            [
                GeoPlaceName.name_key.startswith(key, autoescape=True)
                for key in prefixes
            ],
            limit=limit,
        )
    ranked = sorted(
        found.values(),
        key=lambda item: (MATCHES.index(item.match), item.name, item.admin_name),
    )
    return ranked[:limit]


def _collect(
    session: Session,
    found: dict[int, PlaceMatch],
    keys: list[str],
    loose: list[str],
    area: GeoArea | None,
    place_conditions: Sequence[ColumnElement[bool]],
    name_conditions: Sequence[ColumnElement[bool]],
    limit: int | None = None,
) -> None:
    """Add the places meeting any condition to ``found``, keeping the best match."""
    by_name = select(GeoPlace, GeoPlace.name, GeoArea.code, GeoArea.name).where(
        or_(*place_conditions)
    )
    by_other_name = (
        select(GeoPlace, GeoPlaceName.name, GeoArea.code, GeoArea.name)
        .join(GeoPlaceName, GeoPlaceName.place_id == GeoPlace.id)
        .where(or_(*name_conditions))
    )
    for statement in (by_name, by_other_name):
        statement = statement.outerjoin(GeoArea, GeoArea.id == GeoPlace.area_id)
        if area is not None:
            statement = statement.where(GeoPlace.area_id == area.id)
        if limit is not None:
            statement = statement.order_by(GeoPlace.name_key).limit(limit)
        for place, matched, area_code, area_name in session.execute(statement):
            match = _how(place, matched, keys, loose)
            known = found.get(place.id)
            if known is None or MATCHES.index(match) < MATCHES.index(known.match):
                found[place.id] = PlaceMatch(
                    place_id=place.id,
                    name=place.name,
                    matched_name=matched,
                    match=match,
                    admin_name=place.admin_name,
                    area_code=area_code,
                    area_name=area_name,
                    postal_code=place.postal_code,
                    latitude=place.latitude,
                    longitude=place.longitude,
                    accuracy=place.accuracy,
                )


def _how(place: GeoPlace, matched: str, keys: list[str], loose: list[str]) -> str:
    """Return how the matched name (the place's own or another) met the query."""
    own_name = matched == place.name
    if place_key(matched) in keys:
        return "exact"
    if own_name and place.locality_key in keys:
        return "sector"
    if (place.loose_key if own_name else place_loose_key(matched)) in loose:
        return "loose"
    return "prefix"
