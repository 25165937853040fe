"""The media API: grid query, one media, category and thumbnail, with tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from scut.db.models import AuditEvent, Media
from scut.db.session import Database
from scut.ingest.analyse import THUMBNAIL_NAME
from scut.security.auth import issue_api_token
from scut.settings import Settings
from scut.storage import open_blob_store
from web.helpers import SteppingClock, Users
from web.media_helpers import MediaSpec, add_grid_media


def _bearer(
    database: Database, users: Users, clock: SteppingClock, role: str = "analyst"
) -> dict[str, str]:
    user = users.add(f"{role}-api", (role,))
    with database.session() as session, session.begin():
        token = issue_api_token(
            session,
            user.username,
            user.password,
            user.code(clock),
            "test",
            1,
            "127.0.0.1",
            clock,
        )
    return {"Authorization": f"Bearer {token}"}


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        )


def test_list_pages_with_filters(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    ids = add_grid_media(
        database,
        settings,
        [
            MediaSpec(category=("projectvic", "1"), gps=(47.0, 28.8)),
            MediaSpec(kind="video"),
            MediaSpec(category=("projectvic", "1")),
        ],
    )
    headers = _bearer(database, users, clock)

    first = client.get("/api/media", params={"size": 2}, headers=headers)
    rest = client.get(
        "/api/media",
        params={"size": 2, "after": first.json()["next_after"]},
        headers=headers,
    )
    filtered = client.get(
        "/api/media", params={"category": "1", "gps": "yes"}, headers=headers
    )

    assert first.status_code == 200
    assert [item["id"] for item in first.json()["items"]] == ids[:2]
    assert first.json()["next_after"] == ids[1]
    assert [item["id"] for item in rest.json()["items"]] == ids[2:]
    assert rest.json()["next_after"] is None
    (item,) = filtered.json()["items"]
    assert item["id"] == ids[0]
    assert item["category"] == {"scheme": "projectvic", "code": "1"}
    assert item["has_gps"] is True
    assert item["verdict"] == "new"
    assert len(_events(database, "media.list")) == 3


def test_list_rejects_invalid_filters(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    headers = _bearer(database, users, clock)
    for params in (
        {"verdict": "famous"},
        {"submission": "x"},
        {"series": "Nowhere"},
        {"gps": "maybe"},
    ):
        response = client.get("/api/media", params=params, headers=headers)
        assert response.status_code == 400, params
        assert response.json()["detail"]
    assert client.get("/api/media?size=0", headers=headers).status_code == 422
    assert client.get("/api/media?size=201", headers=headers).status_code == 422


def test_detail_of_media(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    (media_id,) = add_grid_media(
        database, settings, [MediaSpec(tags={"Exif.Image.Make": "<b>Maker</b>"})]
    )
    headers = _bearer(database, users, clock)

    response = client.get(f"/api/media/{media_id}", headers=headers)

    assert response.status_code == 200
    detail = response.json()
    assert detail["media_id"] == media_id
    assert detail["metadata"]["tags"] == {"Exif.Image.Make": "<b>Maker</b>"}
    assert detail["occurrences"][0]["path"] == f"DCIM/E1/{media_id:05d}.jpg"
    assert len(_events(database, "media.view")) == 1
    missing = client.get("/api/media/99999", headers=headers)
    assert missing.status_code == 404
    assert client.get(f"/api/media/{2**40}", headers=headers).status_code == 422


def test_set_category(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    (media_id,) = add_grid_media(database, settings, [MediaSpec()])
    headers = _bearer(database, users, clock)

    response = client.post(
        f"/api/media/{media_id}/category",
        json={"code": "4", "reason": "reference picture"},
        headers=headers,
    )
    invalid = client.post(
        f"/api/media/{media_id}/category", json={"code": "A"}, headers=headers
    )
    missing = client.post(
        "/api/media/99999/category", json={"code": "1"}, headers=headers
    )

    assert response.status_code == 200
    assert response.json() == {
        "media_id": media_id,
        "previous": None,
        "category": {"scheme": "projectvic", "code": "4"},
        "conflict": False,
    }
    assert invalid.status_code == 422
    assert missing.status_code == 404
    with database.session() as session:
        assert session.get_one(Media, media_id).category_code == "4"


def test_thumbnail_is_audited_attachment(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    with_thumbnail, without = add_grid_media(
        database, settings, [MediaSpec(), MediaSpec(thumbnail=False)]
    )
    headers = _bearer(database, users, clock)
    with database.session() as session:
        sha256 = session.get_one(Media, with_thumbnail).sha256

    response = client.get(f"/api/media/{with_thumbnail}/thumbnail", headers=headers)
    none = client.get(f"/api/media/{without}/thumbnail", headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="media-{with_thumbnail}.jpg"'
    )
    stored = open_blob_store(settings).read_derived(sha256, THUMBNAIL_NAME)
    assert response.content == stored
    assert none.status_code == 404
    (event,) = _events(database, "media.reveal")
    assert event.object_ids == f'["{with_thumbnail}"]'


def test_token_and_role_required(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    (media_id,) = add_grid_media(database, settings, [MediaSpec()])
    auditor = _bearer(database, users, clock, role="auditor")

    assert client.get("/api/media").status_code == 401
    assert client.get(f"/api/media/{media_id}/thumbnail").status_code == 401
    for path in ("/api/media", f"/api/media/{media_id}"):
        assert client.get(path, headers=auditor).status_code == 403
    denied = client.get(f"/api/media/{media_id}/thumbnail", headers=auditor)
    assert denied.status_code == 403
    assert denied.content != b""
    assert "image" not in denied.headers["content-type"]
    assert [event.outcome for event in _events(database, "media.reveal")] == ["denied"]


def test_openapi_describes_media_endpoints(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/media"]) == {"get"}
    assert set(paths["/api/media/{media_id}"]) == {"get"}
    assert set(paths["/api/media/{media_id}/category"]) == {"post"}
    thumbnail = paths["/api/media/{media_id}/thumbnail"]["get"]
    assert "image/jpeg" in thumbnail["responses"]["200"]["content"]
