"""The map page, its data requests, the geocoding form and the map API."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from records_helpers import add_media, add_submission, analyst
from scut.db.models import AuditEvent, Media, PersonAddress
from scut.db.session import Database
from scut.geo.service import import_boundaries, import_gazetteer
from scut.persons.service import PersonInput, add_address, create_person
from scut.security.auth import issue_api_token
from scut.security.caller import Caller
from scut.web.i18n import load_translations
from web.helpers import SteppingClock, Users, WebUser, csrf_of, sign_in

SUPERVISOR = Caller(user="vera", roles=frozenset({"supervisor"}), source="test")
CHISINAU = (47.0245, 28.8327)
CHISINAU_NEAR = (47.0258, 28.8340)
BALTI = (47.7617, 27.9289)
SETTINGS_ATTRIBUTE = re.compile(r'data-settings="([^"]*)"')
MEDIA_POINT_KEYS = {
    "id",
    "latitude",
    "longitude",
    "verdict",
    "category_scheme",
    "category_code",
}


def _load_geo(database: Database, shared_data: Path, *, gazetteer: bool) -> None:
    folder = shared_data / "geo"
    import_boundaries(
        database, folder / "moldova_adm1_simplified.geojson", caller=SUPERVISOR
    )
    if gazetteer:
        import_gazetteer(database, folder / "MD.txt", caller=SUPERVISOR)


def _media_at(database: Database, *positions: tuple[float, float]) -> list[int]:
    with database.session() as session, session.begin():
        ids = add_media(session, len(positions))
        for media_id, (latitude, longitude) in zip(ids, positions, strict=True):
            media = session.get(Media, media_id)
            assert media is not None
            media.gps_latitude = latitude
            media.gps_longitude = longitude
        add_submission(session, ids)
    return ids


def _person(
    session: Session,
    last_name: str,
    address: str,
    position: tuple[float, float] | None = None,
) -> int:
    person = create_person(
        session,
        PersonInput(last_name=last_name, first_name="Ion", categories=["offender"]),
        caller=analyst("setup"),
    )
    latitude, longitude = position if position else (None, None)
    return add_address(
        session,
        person.id,
        address,
        caller=analyst("setup"),
        latitude=latitude,
        longitude=longitude,
    ).id


def _signed_in(client: TestClient, users: Users, clock: SteppingClock) -> WebUser:
    user = users.add("ana", ("analyst",), unit="Centre")
    sign_in(client, user, clock)
    return user


def _script_settings(page: str) -> dict[str, Any]:
    found = SETTINGS_ATTRIBUTE.search(page)
    assert found is not None, "the map has no data-settings attribute"
    settings: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return settings


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


# -- the page ---------------------------------------------------------------------


def test_map_page_shown(client: TestClient, users: Users, clock: SteppingClock) -> None:
    _signed_in(client, users, clock)

    response = client.get("/map")

    assert response.status_code == 200
    page = response.text
    assert '<div id="map"' in page
    for asset in (
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/maps.js",
        "/static/maps.css",
    ):
        assert asset in page
    assert re.search(r'(src|href)="(https?:)?//', page) is None
    assert '<a href="/map" aria-current="page">Hartă</a>' in page
    assert "Nu sunt încărcate limite" in page
    assert response.headers["cache-control"] == "no-store"


def test_map_settings_translated(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    _signed_in(client, users, clock)
    romanian = load_translations("ro")

    settings = _script_settings(client.get("/map").text)

    assert settings["texts"]["boundaries"] == "Limitele raioanelor"
    assert settings["texts"]["mediaTitle"] == "Materialul {id}"
    assert settings["verdicts"]["known"] == romanian.gettext("Known")
    assert settings["categories"]["projectvic:1"] == romanian.gettext(
        "1 child abuse material"
    )
    assert settings["categories"][""] == romanian.gettext("Not categorised")


@pytest.mark.parametrize(
    ("language", "title", "layer"),
    [
        ("ro", "Hartă", "Adresele persoanelor"),
        ("en", "Map", "Persons' addresses"),
        ("ru", "Карта", "Адреса лиц"),
    ],
)
def test_map_page_languages(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    language: str,
    title: str,
    layer: str,
) -> None:
    _signed_in(client, users, clock)
    client.cookies.set("scut_language", language)

    page = client.get("/map").text

    assert f"<h1>{title}</h1>" in page
    assert _script_settings(page)["texts"]["addresses"] == layer


@pytest.mark.parametrize(
    "roles", [("auditor",), ("submitter",), ("admin",)], ids=lambda r: r[0]
)
def test_map_page_denied(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    roles: tuple[str, ...],
) -> None:
    sign_in(client, users.add("other", roles, unit="Unit A"), clock)

    response = client.get("/map")

    assert response.status_code == 403
    assert 'href="/map"' not in response.text
    assert [event.outcome for event in _events(database, "geo.read")] == ["denied"]


def test_map_page_names_boundaries(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    shared_data: Path,
) -> None:
    _load_geo(database, shared_data, gazetteer=False)
    _signed_in(client, users, clock)
    client.cookies.set("scut_language", "en")

    page = client.get("/map").text

    assert "Boundaries loaded from moldova_adm1_simplified.geojson on" in page
    assert ": 37 areas." in page


# -- the page's data --------------------------------------------------------------


def test_areas_data(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    shared_data: Path,
) -> None:
    _signed_in(client, users, clock)
    empty = client.get("/map/areas.json").json()
    _load_geo(database, shared_data, gazetteer=False)

    loaded = client.get("/map/areas.json").json()

    assert empty == {"type": "FeatureCollection", "features": []}
    assert len(loaded["features"]) == 37
    codes = {feature["properties"]["code"] for feature in loaded["features"]}
    assert {"MD-CU", "MD-BA", "MD-FL"} <= codes
    kinds = {feature["geometry"]["type"] for feature in loaded["features"]}
    assert kinds == {"Polygon", "MultiPolygon"}


def test_media_data(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    ids = _media_at(database, CHISINAU, CHISINAU_NEAR, BALTI)
    _signed_in(client, users, clock)

    every = client.get("/map/media.json", params={"cell": 0}).json()
    clustered = client.get("/map/media.json", params={"cell": 0.5}).json()
    boxed = client.get(
        "/map/media.json",
        params={"south": 47.5, "west": 27.5, "north": 48, "east": 28.2},
    ).json()

    assert [point["id"] for point in every["points"]] == ids
    assert all(set(point) == MEDIA_POINT_KEYS for point in every["points"])
    assert every["points"][0]["latitude"] == CHISINAU[0]
    assert every["points"][0]["verdict"] == "new"
    assert [point["id"] for point in clustered["points"]] == [ids[2]]
    assert [cluster["count"] for cluster in clustered["clusters"]] == [2]
    assert [point["id"] for point in boxed["points"]] == [ids[2]]
    assert boxed["total"] == 1
    events = _events(database, "media.list")
    assert [event.user for event in events] == ["ana", "ana", "ana"]
    assert json.loads(events[0].object_ids) == [str(media_id) for media_id in ids]
    assert events[0].source == "testclient"


@pytest.mark.parametrize(
    "params",
    [
        {"south": 47.0},
        {"south": 48, "west": 27, "north": 47, "east": 29},
        {"cell": -1},
        {"cell": 11},
        {"cell": "nan"},
        {"limit": 0},
        {"south": "inf", "west": 27, "north": 47, "east": 29},
    ],
)
def test_media_data_rejects_bad_query(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    params: dict[str, Any],
) -> None:
    _signed_in(client, users, clock)

    response = client.get("/map/media.json", params=params)

    assert response.status_code == 400


def test_addresses_data_need_justification(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    with database.session() as session, session.begin():
        _person(session, "Cîrlan", "or. Bălți", BALTI)
    _signed_in(client, users, clock)

    denied = client.get("/map/addresses.json")
    justified = client.get("/map/addresses.json", params={"justification": "CASE-7"})

    assert denied.status_code == 403
    assert justified.status_code == 200
    (point,) = justified.json()["points"]
    assert point["name"] == "Cîrlan Ion"
    assert (point["latitude"], point["longitude"]) == BALTI
    assert set(point) == {"address_id", "person_id", "name", "latitude", "longitude"}
    events = _events(database, "persons.read")
    assert [(event.outcome, event.justification) for event in events] == [
        ("denied", ""),
        ("succeeded", "CASE-7"),
    ]


def test_session_justification_used(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    with database.session() as session, session.begin():
        _person(session, "Cîrlan", "or. Bălți", BALTI)
    _signed_in(client, users, clock)
    token = csrf_of(client.get("/map").text)
    stored = client.post(
        "/justification",
        data={"csrf_token": token, "justification": "CASE-11", "next": "/map"},
    )

    page = client.get("/map").text
    response = client.get("/map/addresses.json")

    assert stored.status_code == 303
    field = re.search(r'<input id="justification"[^>]*>', page)
    assert field is not None
    assert 'value="CASE-11"' in field.group()
    assert response.status_code == 200
    assert len(response.json()["points"]) == 1
    (event,) = _events(database, "persons.read")
    assert event.justification == "CASE-11"


# -- the geocoding form -------------------------------------------------------------


def _geocode(
    client: TestClient, justification: str, *, htmx: bool = True
) -> tuple[int, str]:
    token = csrf_of(client.get("/map").text)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(
        "/map/geocode",
        data={"csrf_token": token, "justification": justification},
        headers=headers,
    )
    return response.status_code, response.text


def test_geocode_form(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    shared_data: Path,
) -> None:
    _load_geo(database, shared_data, gazetteer=True)
    with database.session() as session, session.begin():
        balti = _person(session, "Cîrlan", "or. Bălți, str. Independenței 1")
        _person(session, "Ceban", "s. Nicolaevca, r-nul Florești")
    _signed_in(client, users, clock)

    status, fragment = _geocode(client, "CASE-3")

    assert status == 200
    assert "<html" not in fragment
    assert "Adrese fără coordonate: 2. Coordonate găsite: 1." in fragment
    assert "Mai multe localități se potrivesc la fel de bine" in fragment
    assert fragment.count("<li>Nicolaevca, Floresti") == 2
    assert 'href="/persons/' in fragment
    with database.session() as session:
        address = session.get(PersonAddress, balti)
        assert address is not None
        assert (address.latitude, address.longitude) == BALTI
    (event,) = _events(database, "persons.change")[-1:]
    assert (event.user, event.justification) == ("ana", "CASE-3")


def test_geocode_form_needs_justification(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _signed_in(client, users, clock)

    status, fragment = _geocode(client, "   ")

    assert status == 200
    assert 'class="error"' in fragment
    assert "Indicați o justificare" in fragment
    assert _events(database, "persons.change") == []


def test_geocode_form_without_script_shows_page(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    _signed_in(client, users, clock)

    status, page = _geocode(client, "CASE-3", htmx=False)

    assert status == 200
    assert '<div id="map"' in page
    assert "Adrese fără coordonate: 0." in page
    assert 'value="CASE-3"' in page


def test_geocode_form_needs_csrf_token(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _signed_in(client, users, clock)

    response = client.post("/map/geocode", data={"justification": "CASE-3"})

    assert response.status_code == 403
    assert _events(database, "persons.change") == []


def test_geocode_outcome_escapes_records(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    shared_data: Path,
) -> None:
    _load_geo(database, shared_data, gazetteer=True)
    with database.session() as session, session.begin():
        _person(session, "<script>alert(1)</script>", "s. Nicolaevca <b>x</b>")
    _signed_in(client, users, clock)

    _, fragment = _geocode(client, "CASE-3")

    assert "<script>alert(1)</script>" not in fragment
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment
    assert "s. Nicolaevca &lt;b&gt;x&lt;/b&gt;" in fragment


# -- the API ------------------------------------------------------------------------


def _token(database: Database, user: WebUser, clock: SteppingClock) -> dict[str, str]:
    with database.session() as session, session.begin():
        token = issue_api_token(
            session,
            user.username,
            user.password,
            user.code(clock),
            "map test",
            1,
            "127.0.0.1",
            clock,
        )
    return {"Authorization": f"Bearer {token}"}


def test_api_map_layers(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    shared_data: Path,
) -> None:
    _load_geo(database, shared_data, gazetteer=True)
    ids = _media_at(database, CHISINAU, BALTI)
    with database.session() as session, session.begin():
        _person(session, "Cîrlan", "or. Bălți")
    headers = _token(database, users.add("ana", ("analyst",)), clock)

    areas = client.get("/api/map/areas", headers=headers)
    media = client.get("/api/map/media", headers=headers, params={"cell": 0.5})
    denied = client.get("/api/map/addresses", headers=headers)
    justified = headers | {"X-Justification": "CASE-5"}
    geocoded = client.post("/api/map/addresses/geocode", headers=justified)
    addresses = client.get("/api/map/addresses", headers=justified)

    assert len(areas.json()["features"]) == 37
    assert [point["id"] for point in media.json()["points"]] == ids
    assert denied.status_code == 403
    assert "give a justification" in denied.json()["detail"]
    assert [item["place"] for item in geocoded.json()["geocoded"]] == ["Balti"]
    (point,) = addresses.json()["points"]
    assert (point["latitude"], point["longitude"]) == BALTI


def test_api_map_denied_to_auditor(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    headers = _token(database, users.add("olga", ("auditor",)), clock)

    for path in ("/api/map/areas", "/api/map/media"):
        response = client.get(path, headers=headers)
        assert response.status_code == 403, path
    geocode = client.post(
        "/api/map/addresses/geocode", headers=headers | {"X-Justification": "C-1"}
    )
    assert geocode.status_code == 403


def test_api_map_needs_token(client: TestClient) -> None:
    for path in ("/api/map/areas", "/api/map/media", "/api/map/addresses"):
        assert client.get(path).status_code == 401, path


def test_openapi_describes_map(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]

    for path in (
        "/api/map/areas",
        "/api/map/media",
        "/api/map/addresses",
        "/api/map/addresses/geocode",
    ):
        assert path in paths
    assert set(paths["/api/map/addresses"]["get"]["responses"]) >= {
        "200",
        "400",
        "401",
        "403",
    }
    assert "/map/media.json" not in paths
