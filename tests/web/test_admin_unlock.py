"""The unlock page: a session locked after idle time reopens and returns to its page."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from fastapi.testclient import TestClient
from starlette.requests import Request

from scut.db.session import Database
from scut.web.admin.unlock import unlock_target
from web.admin_helpers import actions, post, post_forms_without_token, signed_in
from web.helpers import SteppingClock, Users

IDLE = dt.timedelta(minutes=31)


def _request(
    method: str, path: str, query: str = "", headers: dict[str, str] | None = None
) -> Request:
    raw = [(b"host", b"scut.example")]
    raw += [
        (name.lower().encode(), value.encode())
        for name, value in (headers or {}).items()
    ]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": raw,
        "scheme": "https",
        "server": ("scut.example", 443),
    }
    return Request(scope)


def test_unlock_reopens_same_session(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _, user = signed_in(client, users, clock, "ana", ("analyst",), unit="Centre")
    token = client.cookies.get("scut_session")
    clock.advance(IDLE)
    target = "/account/api-tokens?revoked=1"
    form = client.get("/unlock", params={"next": target})
    assert form.status_code == 200
    assert "Sesiunea utilizatorului ana" in form.text
    assert post_forms_without_token(form.text) == []
    assert f'name="next" value="{target}"' in form.text.replace("&amp;", "&")

    response = post(
        client,
        "/unlock",
        {"password": user.password, "code": user.code(clock), "next": target},
    )
    assert response.status_code == 303
    assert response.headers["location"] == target
    assert client.cookies.get("scut_session") == token
    assert client.get("/dashboard").status_code == 200
    assert ("auth.unlock", "succeeded") in actions(database, "auth.unlock")


def test_wrong_code_keeps_session_locked(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _, user = signed_in(client, users, clock, "ana", ("analyst",))
    clock.advance(IDLE)
    right = user.code(clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = post(
        client,
        "/unlock",
        {"password": user.password, "code": wrong, "next": "/dashboard"},
    )
    assert response.status_code == 400
    assert "Sesiunea nu a fost deblocată" in response.text
    assert client.cookies.get("scut_session")
    still = client.get("/dashboard")
    assert still.status_code == 303
    assert ("auth.unlock", "failed") in actions(database, "auth.unlock")


def test_active_session_returns_at_once(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    signed_in(client, users, clock, "ana", ("analyst",))
    response = client.get("/unlock", params={"next": "/audit?page=2"})
    assert response.status_code == 303
    assert response.headers["location"] == "/audit?page=2"


def test_ended_session_goes_to_sign_in(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    signed_in(client, users, clock, "ana", ("analyst",))
    clock.advance(dt.timedelta(hours=13))
    response = client.get("/unlock", params={"next": "/dashboard"})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?reason=expired"
    assert 'scut_session=""' in response.headers["set-cookie"]


def test_next_stays_on_site(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    signed_in(client, users, clock, "ana", ("analyst",))
    for target in ("//attacker.example/x", "https://attacker.example", "/\\evil"):
        response = client.get("/unlock", params={"next": target})
        assert response.headers["location"] == "/dashboard", target


def test_without_session_goes_to_sign_in(client: TestClient) -> None:
    response = client.get("/unlock")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


def test_unlock_target_keeps_the_page() -> None:
    page = _request("GET", "/admin/users/ana", "done=roles")
    assert unlock_target(page) == "/unlock?next=" + quote(
        "/admin/users/ana?done=roles", safe=""
    )
    htmx = _request(
        "GET",
        "/admin/hash-sets/import/abc",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "https://scut.example/admin/hash-sets?x=1",
        },
    )
    assert unlock_target(htmx) == "/unlock?next=" + quote(
        "/admin/hash-sets?x=1", safe=""
    )
    elsewhere = _request(
        "GET",
        "/admin/units",
        headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"},
    )
    assert unlock_target(elsewhere) == "/unlock?next=%2Fdashboard"
    form_post = _request("POST", "/admin/units")
    assert unlock_target(form_post) == "/unlock?next=%2Fdashboard"
