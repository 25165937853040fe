"""The media pages in Chromium: reveal, keyboard categories, hostile metadata.

Playwright drives Debian's Chromium against a live server on a loopback
port, on SQLite and on PostgreSQL. Screenshots go to the artefacts folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyexiv2
import pytest
from sqlalchemy import select

from drawn_pictures import draw_picture
from scut.db.models import Media
from scut.db.session import Database
from scut.geo.service import import_boundaries
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.security.audit import search_events
from scut.security.caller import Caller
from scut.settings import Settings
from web.helpers import SteppingClock, Users
from web.media_helpers import MediaSpec, add_grid_media

HOSTILE_COMMENT = "<script>window.scutInjected = 1</script><img src=x onerror=alert(1)>"


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh English page on the live server, failing on CSP reports or dialogs."""
    context = browser.new_context(
        base_url=server, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    opened = context.new_page()
    problems: list[str] = []
    opened.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    opened.on(
        "dialog",
        lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()),
    )
    yield opened
    context.close()
    assert problems == []


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend's name, for the screenshots' file names."""
    return str(request.node.callspec.params.get("database_url", "db"))


def _sign_in(page: Any, users: Users, clock: SteppingClock) -> None:
    user = users.add("ana", ("analyst",), unit="Centre", display_name="Ana Rusu")
    page.goto("/sign-in")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.fill("#code", user.code(clock))
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url("**/dashboard")


def _tile(page: Any, media_id: int) -> Any:
    return page.locator(f"li.tile[data-media='{media_id}']")


def test_reveal_one_thumbnail_is_audited(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    artefacts: Path,
    backend: str,
) -> None:
    specs = [MediaSpec() for _ in range(5)] + [MediaSpec(kind="video")]
    ids = add_grid_media(database, settings, specs)
    _sign_in(page, users, clock)
    page.goto("/media")
    page.wait_for_load_state("networkidle")
    loaded = page.evaluate(
        "Array.from(document.querySelectorAll('img.preview'))"
        ".map((image) => image.complete && image.naturalWidth > 0)"
    )
    assert loaded == [True] * len(ids)
    page.screenshot(path=str(artefacts / f"media-grid-{backend}.png"), full_page=True)

    first = _tile(page, ids[0])
    first.locator("button.reveal").click()
    page.wait_for_selector(f"li.tile.revealed[data-media='{ids[0]}']")
    revealed_src = first.locator("img.preview").get_attribute("src")
    assert revealed_src.startswith("blob:")
    page.screenshot(
        path=str(artefacts / f"media-grid-revealed-{backend}.png"), full_page=True
    )

    page.keyboard.press("ArrowRight")
    assert first.get_attribute("class") == "tile kind-image"
    assert first.locator("img.preview").get_attribute("src") == (
        f"/media/{ids[0]}/preview"
    )
    assert page.evaluate("document.activeElement.dataset.media") == str(ids[1])

    auditor = Caller(user="aurel", roles=frozenset({"auditor"}), source="test")
    events = search_events(database, auditor, action="media.reveal")
    assert [(event["user"], event["object_ids"]) for event in events] == [
        ("ana", [str(ids[0])])
    ]
    assert events[0]["outcome"] == "succeeded"
    assert events[0]["source"] == "127.0.0.1"


def test_categorise_three_with_keyboard(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    ids = add_grid_media(database, settings, [MediaSpec() for _ in range(12)])
    _sign_in(page, users, clock)
    page.goto("/media")
    page.focus("li.tile[tabindex='0']")

    page.keyboard.press("x")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("x")
    assert page.inner_text(".selection-count") == "Selected: 3"
    page.keyboard.press("1")
    page.wait_for_selector(".media-status:has-text('Media changed: 3')")

    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("4")
    page.wait_for_selector(".media-status:has-text('Media changed: 1')")
    columns = page.evaluate(
        "(() => { const tiles = Array.from(document.querySelectorAll('li.tile'));"
        " return tiles.filter((t) => t.offsetTop === tiles[0].offsetTop).length; })()"
    )
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.dataset.media")

    badges = [
        _tile(page, media_id).locator(".category").inner_text() for media_id in ids[:5]
    ]
    assert badges == [
        "1 child abuse material",
        "1 child abuse material",
        "1 child abuse material",
        "4 comparison",
        "Not categorised",
    ]
    assert focused == str(ids[min(len(ids) - 1, 3 + columns)])
    with database.session() as session:
        codes = dict(
            session.execute(
                select(Media.id, Media.category_code).where(Media.id.in_(ids[:5]))
            ).all()
        )
    assert codes == {ids[0]: "1", ids[1]: "1", ids[2]: "1", ids[3]: "4", ids[4]: None}


def test_scroll_loads_page_and_range_bulk(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    ids = add_grid_media(
        database, settings, [MediaSpec(thumbnail=False) for _ in range(30)]
    )
    _sign_in(page, users, clock)
    page.goto("/media?size=24")
    assert page.locator("li.tile").count() == 24

    page.locator("a.load-more").scroll_into_view_if_needed()
    page.locator(f"li.tile[data-media='{ids[-1]}']").wait_for()
    assert page.locator("li.tile").count() == 30
    assert page.locator("a.load-more").count() == 0

    _tile(page, ids[2]).locator(".kind").click()
    _tile(page, ids[26]).locator(".kind").click(modifiers=["Shift"])
    assert page.inner_text(".selection-count") == "Selected: 25"
    page.click("#bulk-form button[value='3']")
    page.wait_for_selector(".media-status:has-text('Media changed: 25')")

    with database.session() as session:
        codes = dict(session.execute(select(Media.id, Media.category_code)).all())
    assert [codes[media_id] for media_id in ids[2:27]] == ["3"] * 25
    assert codes[ids[1]] is None
    assert codes[ids[27]] is None
    assert _tile(page, ids[26]).locator(".category").inner_text() == (
        "3 computer-generated or animation"
    )


def _hostile_jpeg(folder: Path) -> Path:
    """Write a drawn JPEG whose EXIF comment and description hold HTML."""
    path = folder / "hostile.jpg"
    draw_picture(21).save(path, quality=90)
    with pyexiv2.Image(str(path)) as image:
        image.modify_exif(
            {
                "Exif.Image.ImageDescription": HOSTILE_COMMENT,
                "Exif.Photo.UserComment": f"charset=Unicode {HOSTILE_COMMENT}",
                "Exif.GPSInfo.GPSLatitudeRef": "N",
                "Exif.GPSInfo.GPSLatitude": "47/1 1/1 28/1",
                "Exif.GPSInfo.GPSLongitudeRef": "E",
                "Exif.GPSInfo.GPSLongitude": "28/1 49/1 56/1",
            }
        )
    return path


def test_script_in_metadata_shows_as_text(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    tmp_path: Path,
    shared_data: Path,
    artefacts: Path,
    backend: str,
) -> None:
    folder = tmp_path / "seized"
    folder.mkdir()
    _hostile_jpeg(folder)
    origin = Origin(case="CASE-X", exhibit="E1", unit="Border Police")
    IngestJob(database, settings, [folder], origin).run()
    supervisor = Caller(user="vera", roles=frozenset({"supervisor"}), source="test")
    boundaries = shared_data / "geo" / "moldova_adm1_simplified.geojson"
    import_boundaries(database, boundaries, caller=supervisor)
    with database.session() as session:
        media_id = session.scalars(select(Media.id)).one()
    _sign_in(page, users, clock)

    page.goto(f"/media/{media_id}")

    description = page.locator(
        "table.tags tr:has(code:text-is('Exif.Image.ImageDescription')) td"
    )
    assert description.inner_text() == HOSTILE_COMMENT
    assert page.evaluate("typeof window.scutInjected") == "undefined"
    assert page.locator("table.tags img").count() == 0
    assert page.inner_text("dd.gps-position").startswith("47.0244")
    page.wait_for_selector("#media-map .leaflet-interactive")
    page.wait_for_selector("#media-map[data-areas-drawn='37']")
    assert page.inner_text("dd.gps-area") == "Chisinau"
    page.screenshot(path=str(artefacts / f"media-detail-{backend}.png"), full_page=True)
