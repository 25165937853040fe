"""Coordinates for persons' addresses from their locality and raion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.geo.conftest import GeoFiles, Loaded
from tests.geo.test_cli import _ok, _scut
from tests.records_helpers import analyst

from scut.db.models import AuditEvent, PersonAddress, PersonEvent
from scut.db.session import Database
from scut.geo.addresses import (
    AMBIGUOUS,
    NO_GAZETTEER,
    NO_LOCALITY,
    NOT_FOUND,
    UNKNOWN_AREA,
    AddressPlace,
    address_place,
    geocode_addresses,
)
from scut.persons.service import PersonInput, add_address, create_person
from scut.security.access import AccessDenied
from scut.security.caller import Caller

# Bălți and Chișinău as the GeoNames postal-code file places them.
BALTI = (47.7617, 27.9289)
CHISINAU = (47.0056, 28.8575)


@pytest.mark.parametrize(
    ("address", "locality", "expected"),
    [
        (
            "mun. Chișinău, str. Ismail 12, ap. 4",
            None,
            AddressPlace("mun. Chișinău", None),
        ),
        (
            "str. Păcii 3, s. Nicolaevca, r-nul Florești",
            None,
            AddressPlace("s. Nicolaevca", "r-nul Florești"),
        ),
        ("г. Кишинёв, ул. Измаильская 12", None, AddressPlace("г. Кишинёв", None)),
        (
            "с. Николаевка, р-н Флорешты",
            None,
            AddressPlace("с. Николаевка", "р-н Флорешты"),
        ),
        (
            "Nicolaevca, raionul Florești",
            None,
            AddressPlace("Nicolaevca", "raionul Florești"),
        ),
        ("str. Ceva 1, bl. 2", None, AddressPlace(None, None)),
        ("str. Ceva 1", "Soroca", AddressPlace("Soroca", None)),
        ("", None, AddressPlace(None, None)),
    ],
)
def test_address_place_read(
    address: str, locality: str | None, expected: AddressPlace
) -> None:
    assert address_place(address, locality) == expected


def _address(
    session: Session,
    text: str,
    *,
    last_name: str = "Cîrlan",
    locality: str | None = None,
    country: str = "MD",
    position: tuple[float, float] | None = None,
) -> int:
    person = create_person(
        session,
        PersonInput(last_name=last_name, first_name="Ion", categories=["offender"]),
        caller=analyst("ana"),
    )
    latitude, longitude = position if position else (None, None)
    row = add_address(
        session,
        person.id,
        text,
        caller=analyst("ana"),
        locality=locality,
        country=country,
        latitude=latitude,
        longitude=longitude,
    )
    return row.id


def _position(session: Session, address_id: int) -> tuple[float | None, float | None]:
    row = session.get(PersonAddress, address_id)
    assert row is not None
    return row.latitude, row.longitude


def test_one_candidate_fills_coordinates(loaded: Loaded) -> None:
    with loaded.database.session() as session, session.begin():
        balti = _address(session, "or. Bălți, str. Independenței 1")
        chisinau = _address(session, "str. Ismail 12", locality="mun. Chișinău")
        result = geocode_addresses(session, caller=analyst("ana"))

    with loaded.database.session() as session:
        assert _position(session, balti) == BALTI
        assert _position(session, chisinau) == CHISINAU
    assert result.checked == 2
    assert [
        (item.address_id, item.place, item.area_code) for item in result.geocoded
    ] == [
        (balti, "Balti", "MD-BA"),
        (chisinau, "Chisinau", "MD-CU"),
    ]
    assert result.unresolved == []


def test_ambiguous_listed_not_filled(loaded: Loaded) -> None:
    with loaded.database.session() as session, session.begin():
        anywhere = _address(session, "s. Nicolaevca, str. Păcii 3")
        in_floresti = _address(session, "s. Nicolaevca, r-nul Florești")
        result = geocode_addresses(session, caller=analyst("ana"))

    with loaded.database.session() as session:
        assert _position(session, anywhere) == (None, None)
        assert _position(session, in_floresti) == (None, None)
    assert result.geocoded == []
    assert [item.reason for item in result.unresolved] == [AMBIGUOUS, AMBIGUOUS]
    assert result.ambiguous == result.unresolved
    everywhere, floresti = result.unresolved
    # Seven villages of Moldova are called Nicolaevca, two of them in Florești.
    assert len(everywhere.candidates) == 7
    assert [candidate.area_code for candidate in floresti.candidates] == [
        "MD-FL",
        "MD-FL",
    ]
    assert floresti.area == "r-nul Florești"
    assert floresti.person_name == "Cîrlan Ion"


def test_unresolved_reasons(loaded: Loaded) -> None:
    with loaded.database.session() as session, session.begin():
        ids = [
            _address(session, "s. Nowhereville"),
            _address(session, "str. Ceva 1, bl. 2"),
            _address(session, "s. Nicolaevca, r-nul Atlantis"),
            _address(session, "Kyiv, vul. Khreshchatyk 1", country="UA"),
        ]
        result = geocode_addresses(session, caller=analyst("ana"))

    assert [(item.address_id, item.reason) for item in result.unresolved] == [
        (ids[0], NOT_FOUND),
        (ids[1], NO_LOCALITY),
        (ids[2], UNKNOWN_AREA),
        (ids[3], NO_GAZETTEER),
    ]


def test_addresses_with_coordinates_kept(loaded: Loaded) -> None:
    recorded = (47.1, 28.1)
    with loaded.database.session() as session, session.begin():
        located = _address(session, "or. Bălți", position=recorded)
        result = geocode_addresses(session, caller=analyst("ana"))

    with loaded.database.session() as session:
        assert _position(session, located) == recorded
    assert result.checked == 0


def test_geocoding_recorded(loaded: Loaded) -> None:
    with loaded.database.session() as session, session.begin():
        balti = _address(session, "or. Bălți")
        _address(session, "s. Nicolaevca", last_name="Ceban")
        geocode_addresses(session, caller=analyst("ana", justification="CASE-4"))

    with loaded.database.session() as session:
        (event,) = session.scalars(
            select(PersonEvent).where(PersonEvent.action == "address-geocoded")
        ).all()
        audit = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "persons.change")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert event.actor == "ana"
    assert event.detail["latitude"] == BALTI[0]
    assert event.detail["area"] == "MD-BA"
    assert audit is not None
    assert audit.object_type == "person_address"
    assert json.loads(audit.object_ids) == [str(balti)]
    assert audit.justification == "CASE-4"
    assert audit.detail == {
        "checked": 2,
        "geocoded": 1,
        "ambiguous": 1,
        "unresolved": 1,
    }


def test_nothing_loaded_leaves_addresses(database: Database) -> None:
    with database.session() as session, session.begin():
        address_id = _address(session, "or. Bălți")
        result = geocode_addresses(session, caller=analyst("ana"))

    assert [(item.address_id, item.reason) for item in result.unresolved] == [
        (address_id, NO_GAZETTEER)
    ]


@pytest.mark.parametrize(
    ("who", "message"),
    [
        (Caller(user="ana", roles=frozenset({"analyst"})), "give a justification"),
        (
            Caller(user="olga", roles=frozenset({"auditor"}), justification="C-1"),
            "may not call persons.change",
        ),
    ],
)
def test_geocoding_denied(database: Database, who: Caller, message: str) -> None:
    with database.session() as session, session.begin():
        address_id = _address(session, "or. Bălți")
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(AccessDenied, match=message),
    ):
        geocode_addresses(session, caller=who)

    with database.session() as session:
        assert _position(session, address_id) == (None, None)


def test_cli_geocodes_addresses(tmp_path: Path, geo_files: GeoFiles) -> None:
    data = tmp_path / "data"
    _ok(
        "geo",
        "import",
        "--boundaries",
        str(geo_files.boundaries),
        "--gazetteer",
        str(geo_files.gazetteer),
        data_dir=data,
    )
    _ok(
        "--justification",
        "CASE-1",
        "persons",
        "add",
        "--last-name",
        "Cîrlan",
        "--first-name",
        "Ion",
        "--category",
        "offender",
        data_dir=data,
    )
    for address in ("or. Bălți, str. Independenței 1", "s. Nicolaevca"):
        _ok(
            "--justification",
            "CASE-1",
            "persons",
            "address",
            "1",
            address,
            data_dir=data,
        )

    denied = _scut("geo", "geocode-addresses", data_dir=data)
    printed = _ok(
        "--justification", "CASE-1", "geo", "geocode-addresses", data_dir=data
    )
    as_json = json.loads(
        _ok(
            "--justification",
            "CASE-1",
            "geo",
            "geocode-addresses",
            "--json",
            data_dir=data,
        )
    )

    assert denied.returncode == 1
    assert "give a justification" in denied.stderr
    assert "Addresses without coordinates: 2. Coordinates found: 1." in printed
    assert "Nicolaevca" in printed
    assert "7 places fit" in printed
    assert as_json["checked"] == 1
    assert as_json["geocoded"] == []
    assert [item["reason"] for item in as_json["unresolved"]] == ["ambiguous"]
    assert len(as_json["unresolved"][0]["candidates"]) == 7
