"""The page of one media: facts, escaped metadata, map, matches, history, custody."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from scut.db.models import AuditEvent, Media, Occurrence
from scut.db.session import Database
from scut.geo.service import import_boundaries
from scut.security.caller import Caller
from scut.settings import Settings
from web.helpers import SteppingClock, Users
from web.media_helpers import MediaSpec, add_grid_media, add_occurrence, signed_in

HOSTILE_COMMENT = (
    '<script>window.scutInjected = 1</script><img src=x onerror="alert(1)">'
)
MATCHES = [
    {
        "source": "hash-set",
        "hash_set": "projectvic-2026",
        "set_kind": "known-abuse",
        "how": "pdq",
        "distance": 17,
        "category": {"scheme": "projectvic", "code": "1"},
        "series": "Lake",
    },
    {"source": "case", "how": "sha256", "distance": 0, "media_id": 4242},
]


def _media(
    database: Database, settings: Settings, exhibit: str = "E1", **spec: object
) -> int:
    (media_id,) = add_grid_media(
        database,
        settings,
        [MediaSpec(**spec)],  # type: ignore[arg-type]
        exhibit=exhibit,
    )
    return media_id


def _actions(database: Database) -> list[str]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.outcome == "succeeded")
                .order_by(AuditEvent.id)
            )
        )


def test_metadata_html_shown_as_text(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    media_id = _media(
        database,
        settings,
        tags={"Exif.Photo.UserComment": HOSTILE_COMMENT, "Xmp.dc.subject": ["<b>x"]},
        body_serial="<i>SN</i>",
    )
    signed_in(client, users, clock)

    page = client.get(f"/media/{media_id}")

    assert page.status_code == 200
    assert "<script>window.scutInjected" not in page.text
    assert "<img src=x" not in page.text
    assert (
        "&lt;script&gt;window.scutInjected = 1&lt;/script&gt;&lt;img src=x "
        "onerror=&#34;alert(1)&#34;&gt;"
    ) in page.text
    assert "[&#34;&lt;b&gt;x&#34;]" in page.text
    assert "&lt;i&gt;SN&lt;/i&gt;" in page.text
    assert 'href="/media?camera=%3Ci%3ESN%3C/i%3E"' in page.text


def test_page_lists_hashes_occurrences_matches(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    media_id = _media(database, settings)
    add_occurrence(database, media_id, verdict="known", case="CASE-9", exhibit="E9")
    with database.session() as session, session.begin():
        occurrence = session.scalars(
            select(Occurrence).where(Occurrence.media_id == media_id).limit(1)
        ).one()
        occurrence.verdict_detail = {"matches": MATCHES}
        sha256 = session.get_one(Media, media_id).sha256
    signed_in(client, users, clock)
    client.cookies.set("scut_language", "en")

    page = client.get(f"/media/{media_id}").text

    assert sha256 in page
    assert "CASE-1" in page
    assert "CASE-9" in page
    assert f"DCIM/E1/{media_id:05d}.jpg" in page
    distances = re.findall(r'<td class="figure">(\d+)</td>', page)
    assert distances == ["0", "17"]
    assert "projectvic-2026" in page
    assert 'href="/media/4242"' in page
    assert "1 child abuse material" in page


def test_view_and_custody_audited_once_each(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    media_id = _media(database, settings)
    signed_in(client, users, clock)
    client.cookies.set("scut_language", "en")
    before = len(_actions(database))

    page = client.get(f"/media/{media_id}").text

    assert _actions(database)[before:] == ["media.view", "media.custody"]
    custody = page[page.index("Chain of custody") :]
    assert "Received" in custody
    assert "Ingested" in custody
    assert "officer E1" in custody


def test_category_form_sets_and_shows_history(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    media_id = _media(database, settings)
    csrf = signed_in(client, users, clock)
    client.cookies.set("scut_language", "en")

    response = client.post(
        f"/media/{media_id}/category",
        data={
            "code": "3",
            "reason": "drawn <cartoon>",
            "csrf_token": csrf["X-CSRF-Token"],
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/media/{media_id}#category"
    page = client.get(f"/media/{media_id}").text
    history = page[page.index("Category history") : page.index("Chain of custody")]
    assert "3 computer-generated or animation" in history
    assert "drawn &lt;cartoon&gt;" in history
    assert "ana" in history
    with database.session() as session:
        assert session.get_one(Media, media_id).category_code == "3"


def test_category_form_rejects_unknown_code(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    media_id = _media(database, settings)
    csrf = signed_in(client, users, clock)
    token = csrf["X-CSRF-Token"]

    bad_code = client.post(
        f"/media/{media_id}/category", data={"code": "B", "csrf_token": token}
    )
    unknown = client.post(
        "/media/99999/category", data={"code": "1", "csrf_token": token}
    )

    assert bad_code.status_code == 400
    assert unknown.status_code == 404
    with database.session() as session:
        assert session.get_one(Media, media_id).category_code is None


def test_gps_point_on_map_without_boundaries(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    located = _media(database, settings, gps=(47.0245, 28.8322))
    elsewhere = _media(database, settings, exhibit="E2")
    signed_in(client, users, clock)

    page = client.get(f"/media/{located}").text
    plain = client.get(f"/media/{elsewhere}").text
    areas = client.get("/media/map/areas")

    assert 'data-latitude="47.0245" data-longitude="28.8322"' in page
    assert "47.024500, 28.832200" in page
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert 'id="media-map"' not in plain
    assert "leaflet" not in plain
    assert areas.json() == {"type": "FeatureCollection", "features": []}


def test_gps_point_placed_in_loaded_area(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    shared_data: Path,
) -> None:
    supervisor = Caller(user="vera", roles=frozenset({"supervisor"}), source="test")
    boundaries = shared_data / "geo" / "moldova_adm1_simplified.geojson"
    import_boundaries(database, boundaries, caller=supervisor)
    media_id = _media(database, settings, gps=(47.0245, 28.8322))
    signed_in(client, users, clock)

    page = client.get(f"/media/{media_id}").text
    areas = client.get("/media/map/areas").json()

    area = re.search(r'<dd class="gps-area">([^<]*)</dd>', page)
    assert area is not None
    assert area.group(1) == "Chisinau"
    assert len(areas["features"]) == 37


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("ro", "Lanțul de custodie"),
        ("en", "Chain of custody"),
        ("ru", "Цепочка хранения"),
    ],
)
def test_page_in_each_language(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    language: str,
    heading: str,
) -> None:
    media_id = _media(database, settings, kind="video")
    signed_in(client, users, clock)
    client.cookies.set("scut_language", language)

    page = client.get(f"/media/{media_id}").text

    assert f'<h2 id="custody-heading">{heading}</h2>' in page


def test_unknown_media_404_and_other_roles_403(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    media_id = _media(database, settings)
    signed_in(client, users, clock)
    assert client.get("/media/99999").status_code == 404
    assert client.get(f"/media/{2**40}").status_code == 404

    client.cookies.clear()
    signed_in(client, users, clock, username="aurel", roles=("auditor",))
    assert client.get(f"/media/{media_id}").status_code == 403
    assert client.get("/media/map/areas").status_code == 403
    assert "media.view" not in _actions(database)
