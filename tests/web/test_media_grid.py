"""The media grid page: keyset pages, filters in the URL, preview, reveal, category."""

from __future__ import annotations

import io
import json
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from scut.db.models import AuditEvent, CategoryEvent, Media, Series, SeriesMedia
from scut.db.session import Database
from scut.ingest.analyse import THUMBNAIL_NAME
from scut.settings import Settings
from scut.storage import open_blob_store
from web.helpers import SteppingClock, Users
from web.media_helpers import MediaSpec, add_grid_media, signed_in

TILE = re.compile(r'<li class="tile[^"]*" data-media="(\d+)"')
NEXT_PAGE = re.compile(r'hx-get="(/media/tiles\?[^"]+)"')


def _tiles(html: str) -> list[int]:
    return [int(number) for number in TILE.findall(html)]


def _next(html: str) -> str | None:
    found = NEXT_PAGE.search(html)
    return unescape(found.group(1)) if found else None


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def test_pages_follow_keyset_to_end(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    ids = add_grid_media(
        database, settings, [MediaSpec(thumbnail=False) for _ in range(7)]
    )
    add_grid_media(
        database, settings, [MediaSpec(kind="archive", thumbnail=False)], exhibit="E2"
    )
    signed_in(client, users, clock)

    first = client.get("/media?size=3")
    assert first.status_code == 200
    assert _tiles(first.text) == ids[:3]
    seen = _tiles(first.text)
    link = _next(first.text)
    while link is not None:
        fragment = client.get(link)
        assert fragment.status_code == 200
        assert "<html" not in fragment.text
        seen += _tiles(fragment.text)
        link = _next(fragment.text)
    assert seen == ids
    assert 'class="load-more" href="/media?size=3&amp;after=' in first.text


def test_filters_stay_in_url_and_form(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    (known,) = add_grid_media(
        database,
        settings,
        [MediaSpec(verdict="known", category=("projectvic", "1"), body_serial="SN7")],
    )
    add_grid_media(database, settings, [MediaSpec()], exhibit="E2")
    signed_in(client, users, clock)

    page = client.get("/media?verdict=known&category=1&camera=SN7&size=24")
    assert _tiles(page.text) == [known]
    assert '<option value="known" selected>' in page.text
    assert '<option value="1" selected>' in page.text
    assert 'name="camera" value="SN7"' in page.text
    assert '<option value="24" selected>' in page.text


@pytest.mark.parametrize(
    ("query", "field", "text"),
    [
        ("verdict=famous", "verdict", "Alegeți un verdict din listă."),
        ("series=Nowhere", "series", "Indicați numele exact al unei serii existente."),
        (
            "submission=abc",
            "submission",
            "Indicați numărul unei transmiteri existente.",
        ),
        ("case=NO-SUCH", "case", "Indicați referința unui dosar existent."),
        ("size=500", "size", "Alegeți din listă numărul de media pe pagină."),
    ],
)
def test_invalid_filter_shown_beside_field(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    query: str,
    field: str,
    text: str,
) -> None:
    signed_in(client, users, clock)
    page = client.get(f"/media?{query}")
    assert page.status_code == 400
    error = re.search(
        rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page.text
    )
    assert error is not None, page.text
    assert unescape(error.group(1)) == text
    assert f'aria-describedby="{field}-error"' in page.text
    assert _tiles(page.text) == []


def test_grid_listing_audited_with_ids(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    ids = add_grid_media(database, settings, [MediaSpec() for _ in range(3)])
    signed_in(client, users, clock)

    client.get("/media?type=image")

    (event,) = _events(database, "media.list")
    assert json.loads(event.object_ids) == [str(number) for number in ids]
    assert event.detail == {"filters": {"kind": "image"}, "after": 0}
    assert event.user == "ana"


def test_preview_blurred_greyscale_not_audited(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    (media_id,) = add_grid_media(database, settings, [MediaSpec()])
    signed_in(client, users, clock)

    response = client.get(f"/media/{media_id}/preview")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith("attachment")
    with Image.open(io.BytesIO(response.content)) as preview:
        assert preview.mode == "L"
    assert _events(database, "media.preview") == []
    assert _events(database, "media.reveal") == []


def test_preview_of_media_without_thumbnail_404(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    (media_id,) = add_grid_media(database, settings, [MediaSpec(thumbnail=False)])
    signed_in(client, users, clock)
    assert client.get(f"/media/{media_id}/preview").status_code == 404
    assert client.get("/media/99999/preview").status_code == 404
    assert client.get(f"/media/{2**40}/preview").status_code == 404


def test_reveal_returns_thumbnail_one_event(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    (media_id,) = add_grid_media(database, settings, [MediaSpec()])
    csrf = signed_in(client, users, clock)
    with database.session() as session:
        sha256 = session.get_one(Media, media_id).sha256
    stored = open_blob_store(settings).read_derived(sha256, THUMBNAIL_NAME)

    response = client.post(f"/media/{media_id}/reveal", headers=csrf)

    assert response.status_code == 200
    assert response.content == stored
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["cache-control"] == "no-store"
    (event,) = _events(database, "media.reveal")
    assert event.object_ids == f'["{media_id}"]'
    assert event.outcome == "succeeded"


def test_reveal_needs_post_and_csrf(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    (media_id,) = add_grid_media(database, settings, [MediaSpec()])
    signed_in(client, users, clock)

    assert client.post(f"/media/{media_id}/reveal").status_code == 403
    assert client.get(f"/media/{media_id}/reveal").status_code == 405
    assert _events(database, "media.reveal") == []


def test_categorise_selection_as_json(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    ids = add_grid_media(database, settings, [MediaSpec() for _ in range(3)])
    csrf = signed_in(client, users, clock)
    client.cookies.set("scut_language", "en")

    response = client.post(
        "/media/category",
        data={"media": [str(ids[0]), str(ids[2])], "code": "2"},
        headers={**csrf, "Accept": "application/json"},
    )

    assert response.status_code == 200
    answer = response.json()
    assert [change["media"] for change in answer["changed"]] == [ids[0], ids[2]]
    assert {change["label"] for change in answer["changed"]} == {
        "2 child exploitive or age difficult"
    }
    assert answer["message"].startswith("Category set: 2 child exploitive")
    with database.session() as session:
        codes = {
            media.id: media.category_code
            for media in session.scalars(select(Media).where(Media.id.in_(ids)))
        }
        actors = session.scalars(select(CategoryEvent.actor)).all()
    assert codes == {ids[0]: "2", ids[1]: None, ids[2]: "2"}
    assert actors == ["ana", "ana"]
    (event,) = _events(database, "media.categorise")
    assert json.loads(event.object_ids) == [str(ids[0]), str(ids[2])]


def test_categorise_form_post_returns_to_grid(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    (media_id,) = add_grid_media(database, settings, [MediaSpec()])
    csrf = signed_in(client, users, clock)

    response = client.post(
        "/media/category",
        data={
            "media": str(media_id),
            "code": "4",
            "next": "/media?type=image",
            "csrf_token": csrf["X-CSRF-Token"],
        },
    )
    elsewhere = client.post(
        "/media/category",
        data={
            "media": str(media_id),
            "code": "4",
            "next": "//evil.example/media",
            "csrf_token": csrf["X-CSRF-Token"],
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/media?type=image"
    assert elsewhere.headers["location"] == "/media"
    with database.session() as session:
        assert session.get_one(Media, media_id).category_code == "4"


@pytest.mark.parametrize(
    ("media", "code", "status"),
    [("1", "7", 400), ("99999", "1", 404), ("99999999999999999999", "1", 404)],
)
def test_categorise_rejects_bad_request(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    media: str,
    code: str,
    status: int,
) -> None:
    add_grid_media(database, settings, [MediaSpec()])
    csrf = signed_in(client, users, clock)

    response = client.post(
        "/media/category",
        data={"media": media, "code": code},
        headers={**csrf, "Accept": "application/json"},
    )

    assert response.status_code == status
    with database.session() as session:
        assert session.scalars(select(CategoryEvent)).all() == []


@pytest.mark.parametrize("role", ["auditor", "admin", "submitter"])
def test_grid_denied_to_other_roles(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    role: str,
) -> None:
    (media_id,) = add_grid_media(database, settings, [MediaSpec()])
    csrf = signed_in(client, users, clock, username="other", roles=(role,))

    assert client.get("/media").status_code == 403
    assert client.get(f"/media/{media_id}/preview").status_code == 403
    assert client.post(f"/media/{media_id}/reveal", headers=csrf).status_code == 403
    assert 'href="/media"' not in client.get("/dashboard").text
    with database.session() as session:
        outcomes = set(session.scalars(select(AuditEvent.outcome)).all())
    assert "succeeded" not in {
        event.outcome for event in _events(database, "media.reveal")
    }
    assert "denied" in outcomes


def test_navigation_links_grid_for_analyst(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    signed_in(client, users, clock)
    assert 'href="/media"' in client.get("/dashboard").text


@pytest.mark.parametrize(
    ("language", "title"), [("ro", "Media"), ("en", "Media"), ("ru", "Медиафайлы")]
)
def test_grid_in_each_language(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    language: str,
    title: str,
) -> None:
    add_grid_media(database, settings, [MediaSpec(kind="video")])
    signed_in(client, users, clock)
    client.cookies.set("scut_language", language)

    page = client.get("/media")

    assert f"<h1>{title}</h1>" in page.text
    assert f'<html lang="{language}">' in page.text


def test_series_filter_and_label(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    ids = add_grid_media(database, settings, [MediaSpec(), MediaSpec()])
    with database.session() as session, session.begin():
        series = Series(name="Lake <b>house</b>")
        session.add(series)
        session.flush()
        session.add(SeriesMedia(media_id=ids[1], series_id=series.id))
    signed_in(client, users, clock)

    page = client.get("/media", params={"series": "Lake <b>house</b>"})

    assert _tiles(page.text) == [ids[1]]
    assert "Lake &lt;b&gt;house&lt;/b&gt;" in page.text
    assert "<b>house</b>" not in page.text
