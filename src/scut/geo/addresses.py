"""Coordinates for persons' addresses, found from their locality and raion.

An address saved without coordinates names its locality in ``locality`` or
in its text ("s. Nicolaevca, r-nul Florești, str. Păcii 3"), often with its
raion. The locality is geocoded in the gazetteer (scut.geo.geocode), within
the raion when the address names one that is loaded. The address gets
coordinates only when exactly one location fits. Ambiguous localities
(seven villages in Moldova are called Nicolaevca) and unknown ones are
listed for an analyst to decide, and their addresses are left as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scut.db.models import GeoArea, GeoPlace, Person, PersonAddress, PersonEvent
from scut.geo.geocode import Location, geocode_locality
from scut.geo.keys import place_key
from scut.geo.places import GeoQueryError, resolve_area
from scut.security.access import Target, operation
from scut.security.caller import Caller

log = logging.getLogger(__name__)

# Reasons an address keeps no coordinates.
AMBIGUOUS = "ambiguous"
NOT_FOUND = "not-found"
NO_LOCALITY = "no-locality"
UNKNOWN_AREA = "unknown-area"
NO_GAZETTEER = "no-gazetteer"

# First words (as place keys) of the parts of an address that name a
# locality, a raion or a street, in Romanian and in transliterated Russian:
# municipiu, oraș, sat, comună, г. (город), с. (село), пгт; raion, r-nul,
# р-н, UTA; strada, bulevardul, ул. (улица), ap., bl., nr.
_LOCALITY_WORDS = frozenset(
    {
        "mun", "municipiul", "municipiu", "or", "oras", "orasul", "s", "sat",
        "satul", "com", "comuna", "g", "gorod", "selo", "pgt",
    }
)  # fmt: skip
_AREA_WORDS = frozenset({"r", "rn", "raion", "raionul", "district", "uta"})
_STREET_WORDS = frozenset(
    {
        "str", "strada", "stradela", "bd", "bul", "bulevardul", "sos",
        "soseaua", "ul", "ulitsa", "pr", "prospekt", "per", "pereulok",
        "ap", "apt", "bl", "nr", "kv", "d", "dom",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AddressPlace:
    """The locality and raion an address names, as written; None when absent."""

    locality: str | None
    area: str | None


@dataclass(frozen=True, slots=True)
class GeocodedAddress:
    """An address that got coordinates, and the place they come from."""

    address_id: int
    person_id: int
    locality: str
    place: str
    area_code: str | None
    latitude: float
    longitude: float
    # place, or postal sectors (see scut.geo.geocode.Location).
    basis: str


@dataclass(frozen=True, slots=True)
class UnresolvedAddress:
    """An address left without coordinates, why, and the candidates if several."""

    address_id: int
    person_id: int
    person_name: str
    address: str
    locality: str | None
    area: str | None
    # One of AMBIGUOUS, NOT_FOUND, NO_LOCALITY, UNKNOWN_AREA, NO_GAZETTEER.
    reason: str
    candidates: tuple[Location, ...] = ()


@dataclass(slots=True)
class AddressGeocoding:
    """The outcome of geocoding every address without coordinates."""

    checked: int = 0
    geocoded: list[GeocodedAddress] = field(default_factory=list)
    unresolved: list[UnresolvedAddress] = field(default_factory=list)

    @property
    def ambiguous(self) -> list[UnresolvedAddress]:
        """Return the addresses whose locality has several equally good candidates."""
        return [item for item in self.unresolved if item.reason == AMBIGUOUS]


def _first_word(part: str) -> str:
    key = place_key(part)
    return key.split(" ", 1)[0] if key else ""


def address_place(address: str, locality: str | None = None) -> AddressPlace:
    """Return the locality and raion that an address names.

    ``locality``, when given, is the address's own locality field and wins
    over the text. Otherwise the locality is the first comma-separated part
    that starts with a locality designator ("s.", "or.", "mun.", "г."),
    else the first part that names neither a raion nor a street and contains
    no digit. The raion is the first part that starts with "r-nul",
    "raionul", "р-н" or "UTA".
    """
    parts = [part.strip() for part in address.split(",") if part.strip()]
    area = next((part for part in parts if _first_word(part) in _AREA_WORDS), None)
    if locality and locality.strip():
        return AddressPlace(locality.strip(), area)
    named = next((part for part in parts if _first_word(part) in _LOCALITY_WORDS), None)
    if named is None:
        named = next(
            (
                part
                for part in parts
                if part != area
                and _first_word(part) not in _STREET_WORDS
                and _first_word(part)
                and not any(char.isdigit() for char in part)
            ),
            None,
        )
    return AddressPlace(named, area)


def _geocoded_target(result: AddressGeocoding, *_: Any, **__: Any) -> Target:
    return Target(
        "person_address",
        [item.address_id for item in result.geocoded],
        detail={
            "checked": result.checked,
            "geocoded": len(result.geocoded),
            "ambiguous": len(result.ambiguous),
            "unresolved": len(result.unresolved),
        },
    )


@operation("persons.change", after=_geocoded_target)
def geocode_addresses(session: Session, *, caller: Caller) -> AddressGeocoding:
    """Fill the coordinates of addresses that have none, where one place fits.

    Each address filled gets an ``address-geocoded`` event in its person's
    history. Addresses in a country that the loaded gazetteer does not
    cover are left out with the reason NO_GAZETTEER. With no gazetteer
    loaded, every address is left out so.
    """
    countries = set(session.scalars(select(GeoPlace.country).distinct()))
    result = AddressGeocoding()
    rows = session.execute(
        select(PersonAddress, Person.last_name, Person.first_name)
        .join(Person, Person.id == PersonAddress.person_id)
        .where(PersonAddress.latitude.is_(None) | PersonAddress.longitude.is_(None))
        .order_by(PersonAddress.id)
    ).all()
    areas: dict[str, GeoArea | None] = {}
    for address, last_name, first_name in rows:
        result.checked += 1
        name = f"{last_name} {first_name}".strip()
        outcome = _geocode_one(session, address, name, countries, areas)
        if isinstance(outcome, UnresolvedAddress):
            result.unresolved.append(outcome)
            continue
        address.latitude = outcome.latitude
        address.longitude = outcome.longitude
        session.add(
            PersonEvent(
                person_id=address.person_id,
                action="address-geocoded",
                detail={
                    "address": address.address,
                    "place": outcome.place,
                    "area": outcome.area_code,
                    "latitude": outcome.latitude,
                    "longitude": outcome.longitude,
                    "basis": outcome.basis,
                },
                actor=caller.name,
            )
        )
        result.geocoded.append(outcome)
    session.flush()
    log.info(
        "Geocoded %d of %d addresses without coordinates; %d ambiguous",
        len(result.geocoded),
        result.checked,
        len(result.ambiguous),
    )
    return result


def _area(
    session: Session, text: str, areas: dict[str, GeoArea | None]
) -> GeoArea | None:
    """Return the loaded area named by ``text``, or None, caching the result."""
    if text not in areas:
        try:
            areas[text] = resolve_area(session, text)
        except GeoQueryError:
            areas[text] = None
    return areas[text]


def _geocode_one(
    session: Session,
    address: PersonAddress,
    person_name: str,
    countries: set[str],
    areas: dict[str, GeoArea | None],
) -> GeocodedAddress | UnresolvedAddress:
    named = address_place(address.address, address.locality)

    def unresolved(
        reason: str, candidates: tuple[Location, ...] = ()
    ) -> UnresolvedAddress:
        return UnresolvedAddress(
            address_id=address.id,
            person_id=address.person_id,
            person_name=person_name,
            address=address.address,
            locality=named.locality,
            area=named.area,
            reason=reason,
            candidates=candidates,
        )

    if address.country not in countries:
        return unresolved(NO_GAZETTEER)
    if named.locality is None:
        return unresolved(NO_LOCALITY)
    area = _area(session, named.area, areas) if named.area else None
    if named.area and area is None:
        return unresolved(UNKNOWN_AREA)
    try:
        found = geocode_locality(session, named.locality, area=area)
    except GeoQueryError:
        return unresolved(NO_LOCALITY)
    location = found.location
    if location is None:
        return unresolved(AMBIGUOUS if found.ambiguous else NOT_FOUND, found.candidates)
    return GeocodedAddress(
        address_id=address.id,
        person_id=address.person_id,
        locality=named.locality,
        place=location.name,
        area_code=location.area_code,
        latitude=location.latitude,
        longitude=location.longitude,
        basis=location.basis,
    )
