"""The API token page and the administration API."""

from __future__ import annotations

import html
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from scut.db.models import ApiToken
from scut.db.session import Database
from scut.security.auth import issue_api_token
from web.admin_helpers import actions, client_for, post, signed_in
from web.helpers import SteppingClock, Users, WebUser

TOKEN_VALUE = re.compile(
    r'id="issued-token" class="token-value" type="text" value="([^"]+)"'
)


def _issue(
    client: TestClient, user: WebUser, clock: SteppingClock, name: str = "reports"
) -> str:
    page = post(
        client,
        "/account/api-tokens",
        {
            "name": name,
            "days": "30",
            "password": user.password,
            "code": user.code(clock),
        },
    )
    assert page.status_code == 200, page.text
    found = TOKEN_VALUE.search(page.text)
    assert found is not None, "the page shows no new token"
    return html.unescape(found.group(1))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_issue_token_shown_once_and_works(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    client, user = signed_in(client, users, clock, "ana", ("analyst",), unit="Centre")
    token = _issue(client, user, clock)
    me = client.get("/api/me", headers=_bearer(token))
    assert me.status_code == 200
    assert me.json() == {"user": "ana", "roles": ["analyst"], "unit": "Centre"}

    page = client.get("/account/api-tokens")
    assert token not in page.text
    assert "reports" in page.text
    assert 'class="token-state">Valabil' in page.text
    with database.session() as session:
        stored = session.scalar(select(ApiToken))
        assert stored is not None
        assert stored.last_used_at is not None
        assert token not in stored.token_hash
    assert ("auth.api-token-issue", "succeeded") in actions(database, "auth.")


def test_issue_needs_password_and_code(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    client, user = signed_in(client, users, clock, "ana", ("analyst",))
    wrong = post(
        client,
        "/account/api-tokens",
        {
            "name": "reports",
            "days": "30",
            "password": "not the password, surely",
            "code": user.code(clock),
        },
    )
    assert wrong.status_code == 400
    assert 'id="code-error"' in wrong.text
    assert "Tokenul nu a fost emis" in wrong.text
    assert 'id="issued-token"' not in wrong.text

    too_long = post(
        client,
        "/account/api-tokens",
        {"name": "x", "days": "400", "password": user.password, "code": "1"},
    )
    assert too_long.status_code == 400
    assert 'id="days-error"' in too_long.text
    with database.session() as session:
        assert session.scalar(select(ApiToken)) is None
    assert ("auth.api-token-issue", "failed") in actions(database, "auth.")


def test_revoke_own_token(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    client, user = signed_in(client, users, clock, "ana", ("analyst",))
    token = _issue(client, user, clock)
    with database.session() as session:
        token_id = session.scalar(select(ApiToken.id))
    response = post(client, f"/account/api-tokens/{token_id}/revoke")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Tokenul API a fost revocat." in page.text
    assert "Revocat la" in page.text
    assert client.get("/api/me", headers=_bearer(token)).status_code == 401


def test_other_users_token_cannot_be_revoked(
    app: FastAPI,
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
) -> None:
    owner, owner_user = signed_in(client, users, clock, "ana", ("analyst",))
    token = _issue(owner, owner_user, clock)
    with database.session() as session:
        token_id = session.scalar(select(ApiToken.id))
    other, _ = signed_in(client_for(app), users, clock, "ion", ("analyst",))
    assert "reports" not in other.get("/account/api-tokens").text
    denied = post(other, f"/account/api-tokens/{token_id}/revoke")
    assert denied.status_code == 403
    assert owner.get("/api/me", headers=_bearer(token)).status_code == 200
    assert ("tokens.revoke", "denied") in actions(database, "tokens.")


def test_api_lists_and_revokes_tokens(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    client, user = signed_in(client, users, clock, "ana", ("analyst",))
    first = _issue(client, user, clock, "first")
    second = _issue(client, user, clock, "second")
    listed = client.get("/api/tokens", headers=_bearer(first))
    assert listed.status_code == 200
    assert [item["name"] for item in listed.json()] == ["second", "first"]
    assert all("token" not in item for item in listed.json())

    second_id = listed.json()[0]["id"]
    revoked = client.delete(f"/api/tokens/{second_id}", headers=_bearer(first))
    assert revoked.status_code == 204
    assert client.get("/api/me", headers=_bearer(second)).status_code == 401
    missing = client.delete("/api/tokens/999999", headers=_bearer(first))
    assert missing.status_code == 404


def test_admin_api_by_role(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    admin = users.add("dana", ("admin",), unit="Centre")
    analyst = users.add("ana", ("analyst",))
    tokens = {}
    for user in (admin, analyst):
        with database.session() as session, session.begin():
            tokens[user.username] = issue_api_token(
                session,
                user.username,
                user.password,
                user.code(clock),
                "api test",
                10,
                "test",
                clock,
                settings=users.settings,
            )
    as_admin = _bearer(tokens["dana"])
    as_analyst = _bearer(tokens["ana"])

    listed = client.get("/api/users", headers=as_admin)
    assert listed.status_code == 200
    assert {item["username"] for item in listed.json()} == {"dana", "ana"}
    assert client.get("/api/users", headers=as_analyst).status_code == 403

    units = client.get("/api/units", headers=as_analyst)
    assert units.status_code == 200
    assert [unit["name"] for unit in units.json()] == ["Centre"]
    assert client.get("/api/hash-sets", headers=as_analyst).json() == []
    assert client.get("/api/audit/events", headers=as_admin).status_code == 403
    check = client.post("/api/audit/verify", headers=as_admin)
    assert check.status_code == 200
    assert check.json()["intact"] is True


def test_openapi_describes_admin_api(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/hash-sets", "/api/users", "/api/units", "/api/tokens"):
        assert "get" in paths[path], path
    assert "delete" in paths["/api/tokens/{token_id}"]
    assert "get" in paths["/api/audit/events"]
    assert "post" in paths["/api/audit/verify"]
    assert not any(path.startswith("/admin") for path in paths)
    assert "/unlock" not in paths
