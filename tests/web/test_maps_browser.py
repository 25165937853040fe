"""The map page in Chromium: media GPS points, boundaries and geocoded addresses.

Positions are checked through Leaflet's own map object: the marker's
coordinates, and where Leaflet projects them in the map's container against
where the browser drew the marker. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from drawn_pictures import draw_picture
from records_helpers import add_media, analyst
from scut.db.models import Media
from scut.db.session import Database
from scut.demo.media import Camera, Capture, Place, build_exif, encode_jpeg
from scut.geo.service import import_boundaries, import_gazetteer
from scut.ingest.records import Origin
from scut.ingest.service import ingest
from scut.persons.service import PersonInput, add_address, create_person
from scut.security.caller import Caller, local_operator
from scut.settings import Settings
from web.helpers import SteppingClock, Users, WebUser

# The picture's GPS position (central Chișinău) and Bălți as the GeoNames
# postal-code file places it, where the address is geocoded to.
PICTURE_AT = (47.0245, 28.8327)
BALTI = (47.7617, 27.9289)
# EXIF stores seconds to 1/100, about 3e-6 degrees.
DEGREES_TOLERANCE = 1e-5
PIXEL_TOLERANCE = 2.0
MAP_TITLE = {"ro": "Hartă", "en": "Map", "ru": "Карта"}

# Returns where a marker of a layer is: its coordinates, the container point
# Leaflet projects them to, and the centre of the drawn element.
MARKER_POSITION = """
([layerName, id]) => {
  const scut = window.scutMap;
  let found = null;
  scut.layers[layerName].eachLayer((layer) => {
    if (layer.scutId === id) { found = layer; }
  });
  if (found === null) { return null; }
  const latLng = found.getLatLng();
  const projected = scut.map.latLngToContainerPoint(latLng);
  const drawn = found.getElement().getBoundingClientRect();
  const frame = scut.map.getContainer().getBoundingClientRect();
  let area = null;
  scut.layers.areas.eachLayer((layer) => {
    if (layer.feature.properties.code === "MD-CU" ||
        layer.feature.properties.code === "MD-BA") {
      if (layer.getBounds().contains(latLng)) { area = layer.feature.properties.code; }
    }
  });
  return {
    lat: latLng.lat, lng: latLng.lng,
    x: projected.x, y: projected.y,
    drawnX: drawn.left + drawn.width / 2 - frame.left,
    drawnY: drawn.top + drawn.height / 2 - frame.top,
    width: frame.width, height: frame.height,
    area: area,
  };
}
"""


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A page on the live server; CSP reports and script errors fail the test."""
    context = browser.new_context(
        base_url=server, locale="ro-RO", viewport={"width": 1280, "height": 1000}
    )
    opened = context.new_page()
    problems: list[str] = []

    def note(message: Any) -> None:
        # Chromium requests /favicon.ico by itself, and the pages link none.
        if message.location.get("url", "").endswith("/favicon.ico"):
            return
        if "Content Security Policy" in message.text or message.type == "error":
            problems.append(f"{message.text} at {message.location.get('url')}")

    opened.on("console", note)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    context.close()
    assert problems == [], "\n".join(problems)


def _sign_in(page: Any, user: WebUser, clock: SteppingClock) -> None:
    page.goto("/sign-in")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.fill("#code", user.code(clock))
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url("**/dashboard")


def _ingest_gps_picture(database: Database, settings: Settings, folder: Path) -> int:
    folder.mkdir()
    capture = Capture(
        Camera("Fictional", "Model 9", "SN-MAP-1", "Firmware 1.0"),
        dt.datetime(2026, 6, 1, 12, 0, 0),
        Place("Chișinău", *PICTURE_AT, 85.0),
    )
    (folder / "gps.jpg").write_bytes(encode_jpeg(draw_picture(3), build_exif(capture)))
    ingest(
        database,
        settings,
        [folder],
        Origin(case="CASE-MAP", exhibit="E1", unit="Unit A"),
        caller=local_operator("test"),
    )
    with database.session() as session:
        media = session.scalars(select(Media)).one()
    assert media.gps_latitude == pytest.approx(PICTURE_AT[0], abs=DEGREES_TOLERANCE)
    return media.id


def _wait_for_layer(page: Any, layer: str, loads: int = 1) -> None:
    page.wait_for_function(
        f"() => window.scutMap && window.scutMap.loads.{layer} >= {loads}"
    )


def _marker(page: Any, layer: str, marker_id: int) -> dict[str, Any]:
    position: dict[str, Any] | None = page.evaluate(MARKER_POSITION, [layer, marker_id])
    assert position is not None, f"no marker {marker_id} in the {layer} layer"
    return position


def _check_drawn_at(
    position: dict[str, Any], expected: tuple[float, float], area: str | None
) -> None:
    assert position["lat"] == pytest.approx(expected[0], abs=DEGREES_TOLERANCE)
    assert position["lng"] == pytest.approx(expected[1], abs=DEGREES_TOLERANCE)
    assert position["drawnX"] == pytest.approx(position["x"], abs=PIXEL_TOLERANCE)
    assert position["drawnY"] == pytest.approx(position["y"], abs=PIXEL_TOLERANCE)
    assert 0 < position["x"] < position["width"]
    assert 0 < position["y"] < position["height"]
    assert position["area"] == area


def _backend(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params.get("database_url", "db"))


def test_map_shows_media_boundaries_and_address(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    shared_data: Path,
    tmp_path: Path,
    artefacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    media_id = _ingest_gps_picture(database, settings, tmp_path / "evidence")
    supervisor = Caller(user="vera", roles=frozenset({"supervisor"}))
    geo = shared_data / "geo"
    import_boundaries(
        database, geo / "moldova_adm1_simplified.geojson", caller=supervisor
    )
    import_gazetteer(database, geo / "MD.txt", caller=supervisor)
    with database.session() as session, session.begin():
        person = create_person(
            session,
            PersonInput(last_name="Cîrlan", first_name="Ion", categories=["offender"]),
            caller=analyst("setup"),
        )
        address_id = add_address(
            session,
            person.id,
            "or. Bălți, str. Independenței 1",
            caller=analyst("setup"),
        ).id
    backend = _backend(request)

    _sign_in(page, users.add("ana", ("analyst",), unit="Centre"), clock)
    page.goto("/map")
    _wait_for_layer(page, "media")

    assert page.evaluate("window.scutMap.layers.areas.getLayers().length") == 37
    assert page.locator("#map path.area-outline").count() == 37
    _check_drawn_at(_marker(page, "media", media_id), PICTURE_AT, "MD-CU")
    assert "Poziții ale materialelor în zona vizibilă: 1" in page.inner_text(
        "#map-status"
    )
    page.screenshot(path=str(artefacts / f"map-media-ro-{backend}.png"))

    page.fill("#justification", "CASE-MAP")
    page.click("#geocode-addresses")
    page.wait_for_selector(".geocoding-outcome")
    assert "Coordonate găsite: 1." in page.inner_text("#geocoding-result")
    _wait_for_layer(page, "addresses")
    address = _marker(page, "addresses", address_id)
    _check_drawn_at(address, BALTI, "MD-BA")
    frame = page.locator("#map").bounding_box()
    page.mouse.click(frame["x"] + address["x"], frame["y"] + address["y"])
    popup = page.locator(".leaflet-popup-content a")
    popup.wait_for()
    assert popup.inner_text() == "Cîrlan Ion"
    assert popup.get_attribute("href") == f"/persons/{person.id}"
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity"
        " === '1'"
    )
    page.screenshot(
        path=str(artefacts / f"map-address-ro-{backend}.png"), full_page=True
    )

    for language in ("en", "ru"):
        page.click(f"form.language-switch button[value={language}]")
        page.wait_for_url("**/map")
        _wait_for_layer(page, "media")
        assert page.inner_text("h1") == MAP_TITLE[language]
        _check_drawn_at(_marker(page, "media", media_id), PICTURE_AT, "MD-CU")
        shot = artefacts / f"map-{language}-{backend}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0


def test_map_without_boundaries_shows_points(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    artefacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
        media = session.get(Media, media_id)
        assert media is not None
        media.gps_latitude, media.gps_longitude = PICTURE_AT

    _sign_in(page, users.add("ana", ("analyst",)), clock)
    page.goto("/map")
    _wait_for_layer(page, "media")

    assert page.evaluate("window.scutMap.layers.areas.getLayers().length") == 0
    assert page.locator("#map path.graticule-line").count() > 0
    _check_drawn_at(_marker(page, "media", media_id), PICTURE_AT, None)
    assert "Nu sunt încărcate limite" in page.inner_text("#boundaries-status")
    page.screenshot(
        path=str(artefacts / f"map-no-boundaries-{_backend(request)}.png"),
        full_page=True,
    )
