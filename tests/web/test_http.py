"""The web application over plain HTTP: headers, CSRF, sessions, pages and the API."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.requests import Request

from records_helpers import add_media, add_submission
from scut.db.models import AuditEvent, Submission
from scut.db.session import Database
from scut.security.auth import issue_api_token
from scut.web.security import CONTENT_SECURITY_POLICY, cookies_secure
from web.helpers import SteppingClock, Users, WebUser, csrf_of, sign_in

GENERIC_FAILURE_RO = "Autentificarea a eșuat"
EXPECTED_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def _check_security_headers(response: object, *, cached: bool = False) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in EXPECTED_HEADERS.items():
        assert headers.get(name) == value, (name, response)
    if cached:
        assert headers.get("cache-control") != "no-store"
    else:
        assert headers.get("cache-control") == "no-store"


def test_csp_forbids_inline_script_and_style() -> None:
    directives = dict(
        item.strip().split(" ", 1) for item in CONTENT_SECURITY_POLICY.split(";")
    )
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_headers_on_every_response(client: TestClient) -> None:
    for path in ("/sign-in", "/dashboard", "/", "/no-such-page", "/api/me"):
        _check_security_headers(client.get(path))
    _check_security_headers(client.get("/api/openapi.json"))
    _check_security_headers(client.post("/language", data={"language": "en"}))
    for path in ("/static/scut.css", "/static/vendor/htmx/htmx.min.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        _check_security_headers(response, cached=True)


def test_static_files_typed(client: TestClient) -> None:
    css = client.get("/static/scut.css")
    assert css.headers["content-type"].startswith("text/css")
    script = client.get("/static/vendor/htmx/htmx.min.js")
    assert "javascript" in script.headers["content-type"]
    leaflet = client.get("/static/vendor/leaflet/leaflet.js")
    assert leaflet.status_code == 200
    assert (
        client.get("/static/vendor/leaflet/images/marker-icon.png").status_code == 200
    )


def test_server_error_shows_no_trace(app: FastAPI) -> None:
    @app.get("/explode")
    def explode() -> None:
        raise RuntimeError("internal detail 7f3a")

    with TestClient(
        app, base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        response = client.get("/explode")
    assert response.status_code == 500
    assert "A apărut o eroare" in response.text
    assert "internal detail 7f3a" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    _check_security_headers(response)


def test_not_found_page_in_language(client: TestClient) -> None:
    romanian = client.get("/no-such-page")
    assert romanian.status_code == 404
    assert "Pagina nu a fost găsită" in romanian.text
    russian = client.get("/no-such-page", headers={"accept-language": "ru"})
    assert "Страница не найдена" in russian.text
    english = client.get("/no-such-page", headers={"accept-language": "en-GB"})
    assert "Page not found" in english.text


def test_post_without_csrf_token_rejected(client: TestClient) -> None:
    client.get("/sign-in")
    response = client.post("/language", data={"language": "en", "next": "/sign-in"})
    assert response.status_code == 403
    assert "Formularul a expirat" in response.text
    assert "scut_language" not in response.headers.get("set-cookie", "")


def test_post_with_wrong_csrf_token_rejected(client: TestClient) -> None:
    client.get("/sign-in")
    response = client.post(
        "/language", data={"language": "en", "csrf_token": "0" * 64, "next": "/"}
    )
    assert response.status_code == 403


def test_post_with_csrf_token_accepted(client: TestClient) -> None:
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/language", data={"language": "en", "csrf_token": token, "next": "/sign-in"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    assert "Sign in to Scut" in client.get("/sign-in").text


def test_csrf_header_accepted(client: TestClient) -> None:
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/language",
        data={"language": "ru", "next": "/"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 303


def test_post_from_other_origin_rejected(client: TestClient) -> None:
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/language",
        data={"language": "en", "csrf_token": token, "next": "/"},
        headers={"origin": "https://attacker.example"},
    )
    assert response.status_code == 403


def test_language_switch_stays_on_site(client: TestClient) -> None:
    token = csrf_of(client.get("/sign-in").text)
    for target in ("//attacker.example/x", "https://attacker.example", "/\\evil"):
        response = client.post(
            "/language", data={"language": "en", "csrf_token": token, "next": target}
        )
        assert response.headers["location"] == "/", target


def test_sign_in_without_csrf_token_rejected(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    user = users.add("ana", ("analyst",))
    response = client.post(
        "/sign-in",
        data={
            "username": user.username,
            "password": user.password,
            "code": user.code(clock),
        },
    )
    assert response.status_code == 403
    assert "scut_session" not in response.headers.get("set-cookie", "")


def test_sign_in_cookie_flags(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    user = users.add("ana", ("analyst",))
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": token,
            "username": user.username,
            "password": user.password,
            "code": user.code(clock),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    session_cookie = next(
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith("scut_session=")
    )
    flags = {part.strip().lower() for part in session_cookie.split(";")[1:]}
    assert "httponly" in flags
    assert "secure" in flags
    assert "samesite=strict" in flags


def _request(scheme: str, host: str) -> Request:
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "method": "GET",
            "path": "/",
            "headers": [],
            "query_string": b"",
            "server": ("127.0.0.1", 8000),
            "client": (host, 50000),
        }
    )


def test_cookies_secure_unless_loopback_http() -> None:
    assert cookies_secure(_request("http", "127.0.0.1"), False)
    assert not cookies_secure(_request("http", "127.0.0.1"), True)
    assert not cookies_secure(_request("http", "::1"), True)
    assert cookies_secure(_request("http", "10.0.0.7"), True)
    assert cookies_secure(_request("https", "127.0.0.1"), True)
    assert cookies_secure(_request("http", "testclient"), True)


def test_failed_sign_ins_share_one_message(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    user = users.add("ana", ("analyst",))
    attempts = {
        "wrong-code": (user.username, user.password, "000000"),
        "wrong-password": (user.username, "not the password at all", "123456"),
        "unknown-user": ("nobody-here", user.password, "123456"),
    }
    texts = []
    for username, password, code in attempts.values():
        token = csrf_of(client.get("/sign-in").text)
        response = client.post(
            "/sign-in",
            data={
                "csrf_token": token,
                "username": username,
                "password": password,
                "code": code,
            },
        )
        assert response.status_code == 200
        assert GENERIC_FAILURE_RO in response.text
        assert "scut_session" not in response.headers.get("set-cookie", "")
        message = response.text.split('<p class="error" role="alert">')[1]
        texts.append(message.split("</p>")[0])
    assert len(set(texts)) == 1

    with database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.sign-in")
        ).all()
    reasons = [event.detail.get("reason") for event in events]
    assert sorted(reasons) == sorted(attempts)
    assert {event.outcome for event in events} == {"failed"}
    assert {event.source for event in events} == {"testclient"}


def test_dashboard_needs_sign_in(client: TestClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


def test_htmx_request_told_to_sign_in(client: TestClient) -> None:
    response = client.get("/dashboard", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "/sign-in"


def test_idle_session_sent_to_unlock(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    sign_in(client, users.add("ana", ("analyst",)), clock)
    assert client.get("/dashboard").status_code == 200
    clock.advance(dt.timedelta(minutes=29))
    assert client.get("/dashboard").status_code == 200
    clock.advance(dt.timedelta(minutes=31))
    response = client.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/unlock?next=")
    assert "set-cookie" not in response.headers
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert 'action="/unlock"' in page.text


def test_old_session_sent_to_sign_in(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    sign_in(client, users.add("ana", ("analyst",)), clock)
    for _ in range(25):  # active every 29 minutes, past the 12-hour maximum
        clock.advance(dt.timedelta(minutes=29))
        response = client.get("/dashboard")
        if response.status_code != 200:
            break
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?reason=expired"


def test_sign_out_ends_session(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    sign_in(client, users.add("ana", ("analyst",)), clock)
    old_cookie = client.cookies.get("scut_session")
    page = client.get("/dashboard")
    response = client.post("/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?reason=signed-out"
    assert "V-ați deconectat" in client.get(response.headers["location"]).text
    assert old_cookie is not None
    client.cookies.set("scut_session", old_cookie)
    again = client.get("/dashboard")
    assert again.headers["location"] == "/sign-in?reason=ended"
    with database.session() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "auth.sign-out" in actions


def test_sign_out_without_token_keeps_session(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    sign_in(client, users.add("ana", ("analyst",)), clock)
    assert client.post("/sign-out").status_code == 403
    assert client.get("/dashboard").status_code == 200


def test_removed_role_applies_at_next_request(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    from scut.security.auth import change_roles

    sign_in(client, users.add("ana", ("analyst",)), clock)
    assert "Lucrări în așteptare" in client.get("/dashboard").text
    with database.session() as session, session.begin():
        change_roles(session, "ana", remove=["analyst"], caller=users.operator)
    page = client.get("/dashboard").text
    assert "Lucrări în așteptare" not in page
    assert "nu au încă nimic de lucru" in page


def _record_submissions(database: Database) -> None:
    with database.session() as session, session.begin():
        first = add_media(session, 3)
        second = add_media(session, 2, start=3)
        add_submission(session, first, case="CASE-A", unit="Unit A")
        add_submission(session, second, case="CASE-B", unit="Unit B")


def test_dashboard_for_analyst(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record_submissions(database)
    sign_in(client, users.add("ana", ("analyst",), display_name="Ana Rusu"), clock)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Ana Rusu" in page.text
    assert "Analist" in page.text
    assert "CASE-A" in page.text
    assert "CASE-B" in page.text
    assert '<dd id="uncategorised-media">5</dd>' in page.text
    assert '<dd id="open-link-reviews">0</dd>' in page.text


def test_dashboard_for_submitter(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record_submissions(database)
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    page = client.get("/dashboard").text
    assert "CASE-A" in page
    assert "CASE-B" not in page
    assert "Unit B" not in page
    assert "uncategorised-media" not in page
    assert "Expeditor" in page


def test_dashboard_for_auditor(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record_submissions(database)
    sign_in(client, users.add("olga", ("auditor",)), clock)
    page = client.get("/dashboard").text
    assert "CASE-A" not in page
    assert "nu au încă nimic de lucru" in page


def test_submitter_without_unit_denied_and_recorded(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    sign_in(client, users.add("sam", ("submitter",)), clock)
    response = client.get("/dashboard")
    assert response.status_code == 403
    assert "Acces interzis" in response.text
    with database.session() as session:
        denied = session.scalars(
            select(AuditEvent).where(AuditEvent.outcome == "denied")
        ).all()
    assert [(event.action, event.user) for event in denied] == [
        ("submissions.list", "sam")
    ]


def test_language_from_header_and_cookie(client: TestClient) -> None:
    assert (
        "Вход в Scut"
        in client.get("/sign-in", headers={"accept-language": "ru-MD,ru;q=0.9"}).text
    )
    preferred = "de-DE, en;q=0.5, ru;q=0.8"
    assert (
        "Вход в Scut"
        in client.get("/sign-in", headers={"accept-language": preferred}).text
    )
    assert (
        "Autentificare în Scut"
        in client.get("/sign-in", headers={"accept-language": "de, fr;q=0.5"}).text
    )
    client.cookies.set("scut_language", "en")
    assert (
        "Sign in to Scut"
        in client.get("/sign-in", headers={"accept-language": "ru"}).text
    )


# -- the API ------------------------------------------------------------------------


def _api_token(database: Database, user: WebUser, clock: SteppingClock) -> str:
    with database.session() as session, session.begin():
        return issue_api_token(
            session,
            user.username,
            user.password,
            user.code(clock),
            "test",
            1,
            "127.0.0.1",
            clock,
        )


def test_api_needs_token(client: TestClient) -> None:
    for path in ("/api/me", "/api/submissions"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    wrong = client.get("/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401
    assert "unknown or revoked" in wrong.json()["detail"]


def test_api_ignores_session_cookie(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    sign_in(client, users.add("ana", ("analyst",)), clock)
    assert client.get("/api/me").status_code == 401


def test_api_me_and_submissions(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
) -> None:
    _record_submissions(database)
    user = users.add("sam", ("submitter",), unit="Unit A")
    token = _api_token(database, user, clock)
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {"user": "sam", "roles": ["submitter"], "unit": "Unit A"}
    listed = client.get("/api/submissions", headers=headers)
    assert listed.status_code == 200
    body = listed.json()
    assert [item["case"] for item in body] == ["CASE-A"]
    assert body[0]["files"] == 3
    assert body[0]["verdicts"] == {"new": 3}
    assert client.get("/api/submissions?limit=0", headers=headers).status_code == 422


def test_api_submissions_for_analyst(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
) -> None:
    _record_submissions(database)
    with database.session() as session, session.begin():
        for submission in session.scalars(select(Submission)):
            submission.received_at = dt.datetime(2026, 3, submission.id, tzinfo=dt.UTC)
    token = _api_token(database, users.add("ana", ("analyst",)), clock)
    body = client.get(
        "/api/submissions", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert [item["case"] for item in body] == ["CASE-B", "CASE-A"]


def test_api_denial_recorded(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
) -> None:
    token = _api_token(database, users.add("olga", ("auditor",)), clock)
    response = client.get(
        "/api/submissions", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert "may not call submissions.list" in response.json()["detail"]
    with database.session() as session:
        outcomes = session.scalars(
            select(AuditEvent.outcome).where(AuditEvent.user == "olga")
        ).all()
    assert "denied" in outcomes


def test_openapi_description(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    description = response.json()
    paths = set(description["paths"])
    assert {"/api/me", "/api/submissions"} <= paths
    # Only the API is described; the pages are not part of it.
    assert all(path.startswith("/api/") for path in paths)
    schemes = description["components"]["securitySchemes"]
    assert any(scheme["scheme"] == "bearer" for scheme in schemes.values())
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


@pytest.mark.parametrize("path", ["/sign-in", "/sign-in/authenticator"])
def test_forms_carry_csrf_token(client: TestClient, path: str) -> None:
    html = client.get(path).text
    assert html.count('name="csrf_token"') >= 2
    assert 'hx-headers=\'{"X-CSRF-Token": "' in html
