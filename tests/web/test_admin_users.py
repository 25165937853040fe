"""The user and unit pages: create, roles, disable, passwords, locks, TOTP, units."""

from __future__ import annotations

import datetime as dt
import html

import httpx2
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from scut.db.models import ApiToken, Unit, User, UserRole
from scut.db.session import Database
from scut.security.auth import issue_api_token
from web.admin_helpers import (
    actions,
    client_for,
    post,
    post_forms_without_token,
    signed_in,
)
from web.helpers import PASSWORD, SteppingClock, Users, WebUser, sign_in

NEW_PASSWORD = "copper meadow lantern 77"


@pytest.fixture
def admin(
    client: TestClient, users: Users, clock: SteppingClock
) -> tuple[TestClient, WebUser]:
    """The test client, signed in as an administrator of the unit Centre."""
    return signed_in(client, users, clock, "dana", ("admin",), unit="Centre")


def _unit_id(database: Database, name: str) -> int:
    with database.session() as session:
        unit_id = session.scalar(select(Unit.id).where(Unit.name == name))
    assert unit_id is not None
    return int(unit_id)


def _roles(database: Database, username: str) -> set[str]:
    with database.session() as session:
        return set(
            session.scalars(
                select(UserRole.role)
                .join(User, User.id == UserRole.user_id)
                .where(User.username == username)
            )
        )


def _user(database: Database, username: str) -> User:
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        session.expunge(user)
        return user


def _create(
    client: TestClient, username: str, unit_id: int | str, *roles: str, **extra: str
) -> httpx2.Response:
    data = {
        "username": username,
        "display_name": "Bogdan Rusu",
        "password": PASSWORD,
        "password_repeat": PASSWORD,
        "unit": str(unit_id),
        "roles": list(roles),
        **extra,
    }
    return post(client, "/admin/users", data)


def test_users_page_lists_accounts(
    admin: tuple[TestClient, WebUser], users: Users
) -> None:
    client, _ = admin
    users.add("olga", ("auditor",), display_name="Olga <b>Ceban</b>")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert 'data-user="olga"' in page.text
    assert "Olga &lt;b&gt;Ceban&lt;/b&gt;" in page.text
    assert "Auditor" in page.text
    assert 'href="/admin/users"' in page.text


def test_admin_forms_carry_csrf_token(
    admin: tuple[TestClient, WebUser], users: Users
) -> None:
    client, _ = admin
    users.add("bogdan", ("analyst",))
    paths = [
        "/admin/users",
        "/admin/users/bogdan",
        "/admin/units",
        "/admin/hash-sets",
        "/account/api-tokens",
    ]
    for path in paths:
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'method="post"' in page.text, path
        assert post_forms_without_token(page.text) == [], path
    enrolment = post(client, "/admin/users/bogdan/totp")
    assert post_forms_without_token(enrolment.text) == []


def test_create_user_with_unit_and_roles(
    admin: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = admin
    unit_id = _unit_id(database, "Centre")
    response = _create(client, "bogdan", unit_id, "analyst", "supervisor")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location == "/admin/users/bogdan?done=created"
    page = client.get(location)
    assert "Utilizatorul a fost creat" in page.text
    assert _roles(database, "bogdan") == {"analyst", "supervisor"}
    created = _user(database, "bogdan")
    assert created.unit_id == unit_id
    assert created.display_name == "Bogdan Rusu"
    assert not created.totp_confirmed
    assert ("users.manage", "succeeded") in actions(database, "users.")


def test_create_user_errors_next_to_fields(
    admin: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = admin
    weak = _create(
        client,
        "bogdan",
        "",
        "analyst",
        password="short",
        password_repeat="short",
    )
    assert weak.status_code == 400
    text = html.unescape(weak.text)
    assert 'id="password-error"' in text
    assert "Parola nu respectă politica" in text
    assert "the password has 5 characters" in text

    differ = _create(client, "bogdan", "", "analyst", password_repeat="other words")
    assert 'id="password_repeat-error"' in differ.text

    no_role = _create(client, "bogdan", "")
    assert "Alegeți cel puțin un rol." in no_role.text

    taken = _create(client, "dana", "", "analyst")
    taken_text = html.unescape(taken.text)
    assert 'id="username-error"' in taken_text
    assert "Acest nume de utilizator este ocupat" in taken_text
    assert "is taken" in taken_text

    invalid = _create(client, "Bad Name!", "", "analyst")
    assert 'id="username-error"' in invalid.text
    # The typed values stay in the form.
    assert 'value="Bad Name!"' in invalid.text
    assert _roles(database, "bogdan") == set()


def test_role_change_applies_at_once(
    admin: tuple[TestClient, WebUser],
    app: FastAPI,
    users: Users,
    clock: SteppingClock,
    database: Database,
) -> None:
    client, _ = admin
    other, _ = signed_in(client_for(app), users, clock, "bogdan", ("analyst",))
    assert other.get("/admin/users").status_code == 403

    response = post(
        client, "/admin/users/bogdan/roles", {"roles": ["analyst", "admin"]}
    )
    assert response.status_code == 303
    assert other.get("/admin/users").status_code == 200
    assert _roles(database, "bogdan") == {"analyst", "admin"}

    post(client, "/admin/users/bogdan/roles", {"roles": ["analyst"]})
    assert other.get("/admin/users").status_code == 403
    assert ("users.manage", "denied") in actions(database, "users.")


def test_admin_keeps_own_admin_role(
    admin: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = admin
    response = post(client, "/admin/users/dana/roles", {"roles": ["analyst"]})
    assert response.status_code == 400
    assert "propriul rol de administrator" in response.text
    assert _roles(database, "dana") == {"admin"}


def test_disable_needs_confirmation(
    admin: tuple[TestClient, WebUser],
    app: FastAPI,
    users: Users,
    clock: SteppingClock,
    database: Database,
) -> None:
    client, _ = admin
    other, _ = signed_in(client_for(app), users, clock, "bogdan", ("analyst",))
    unconfirmed = post(client, "/admin/users/bogdan/disable")
    assert unconfirmed.status_code == 400
    assert 'id="disable-error"' in unconfirmed.text
    assert _user(database, "bogdan").active

    confirmed = post(client, "/admin/users/bogdan/disable", {"confirm": "yes"})
    assert confirmed.status_code == 303
    assert not _user(database, "bogdan").active
    ended = other.get("/dashboard")
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/sign-in")

    own = post(client, "/admin/users/dana/disable", {"confirm": "yes"})
    assert own.status_code == 400
    assert _user(database, "dana").active


def test_reset_password_ends_sessions(
    admin: tuple[TestClient, WebUser],
    app: FastAPI,
    users: Users,
    clock: SteppingClock,
) -> None:
    client, _ = admin
    other, bogdan = signed_in(client_for(app), users, clock, "bogdan", ("analyst",))
    weak = post(
        client,
        "/admin/users/bogdan/password",
        {"password": "bogdan bogdan bogdan", "password_repeat": "bogdan bogdan bogdan"},
    )
    assert weak.status_code == 400
    assert 'id="password-error"' in weak.text
    assert other.get("/dashboard").status_code == 200

    changed = post(
        client,
        "/admin/users/bogdan/password",
        {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
    )
    assert changed.status_code == 303
    assert other.get("/dashboard").status_code == 303
    fresh = client_for(app)
    sign_in(fresh, WebUser("bogdan", bogdan.secret, NEW_PASSWORD), clock)


def test_unlock_lifts_failed_sign_in_lock(
    admin: tuple[TestClient, WebUser],
    app: FastAPI,
    users: Users,
    clock: SteppingClock,
    database: Database,
) -> None:
    client, _ = admin
    bogdan = users.add("bogdan", ("analyst",))
    stranger = client_for(app)
    for _ in range(5):
        token = html.unescape(stranger.get("/sign-in").text)
        csrf = token.split('name="csrf_token" value="')[1][:64]
        stranger.post(
            "/sign-in",
            data={
                "csrf_token": csrf,
                "username": "bogdan",
                "password": "not the password at all",
                "code": "000000",
            },
        )
    page = client.get("/admin/users/bogdan")
    assert "Blocat până la" in page.text
    assert _user(database, "bogdan").failed_logins == 5

    response = post(client, "/admin/users/bogdan/unlock")
    assert response.status_code == 303
    assert _user(database, "bogdan").locked_until is None
    assert "Blocat până la" not in client.get("/admin/users/bogdan").text
    sign_in(client_for(app), bogdan, clock)


def test_totp_enrolment_shows_secret_and_qr_code(
    admin: tuple[TestClient, WebUser],
    users: Users,
    clock: SteppingClock,
    database: Database,
) -> None:
    client, _ = admin
    users.add("bogdan", ("analyst",))
    page = post(client, "/admin/users/bogdan/totp")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = html.unescape(page.text)
    secret = text.split('class="totp-secret">')[1].split("<")[0].replace(" ", "")
    assert len(secret) == 32
    assert f"otpauth://totp/Scut:bogdan?secret={secret}&issuer=Scut" in text
    assert 'src="data:image/svg+xml;' in text
    assert not _user(database, "bogdan").totp_confirmed

    wrong = post(client, "/admin/users/bogdan/totp/confirm", {"code": "000000"})
    assert wrong.status_code == 400
    assert 'id="totp-error"' in wrong.text

    clock.advance(dt.timedelta(seconds=30))
    code = pyotp.TOTP(secret).at(clock.now())
    confirmed = post(client, "/admin/users/bogdan/totp/confirm", {"code": code})
    assert confirmed.status_code == 303
    assert _user(database, "bogdan").totp_confirmed


def test_admin_revokes_user_token(
    admin: tuple[TestClient, WebUser],
    users: Users,
    clock: SteppingClock,
    database: Database,
) -> None:
    client, _ = admin
    bogdan = users.add("bogdan", ("analyst",))
    with database.session() as session, session.begin():
        issue_api_token(
            session,
            "bogdan",
            bogdan.password,
            bogdan.code(clock),
            "nightly report",
            30,
            "test",
            clock,
            settings=users.settings,
        )
    with database.session() as session:
        token_id = session.scalar(select(ApiToken.id))
    page = client.get("/admin/users/bogdan")
    assert "nightly report" in page.text
    response = post(client, f"/admin/users/bogdan/tokens/{token_id}/revoke")
    assert response.status_code == 303
    with database.session() as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        assert token.revoked_at is not None
    assert ("tokens.revoke", "succeeded") in actions(database, "tokens.")


def test_users_pages_denied_to_analyst(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    signed_in(client, users, clock, "ana", ("analyst",))
    assert 'href="/admin/users"' not in client.get("/dashboard").text
    assert client.get("/admin/users").status_code == 403
    denied = post(client, "/admin/users/ana/roles", {"roles": ["admin"]})
    assert denied.status_code == 403
    assert _roles(database, "ana") == {"analyst"}
    denials = [event for event in actions(database, "users.") if event[1] == "denied"]
    assert denials == [("users.manage", "denied"), ("users.manage", "denied")]


def test_unknown_user_page_not_found(admin: tuple[TestClient, WebUser]) -> None:
    client, _ = admin
    assert client.get("/admin/users/nobody-here").status_code == 404
    assert client.get("/admin/users/NOT..valid!").status_code in (400, 404)


# -- units ---------------------------------------------------------------------


def _units(database: Database) -> dict[str, tuple[str, str]]:
    with database.session() as session:
        rows = session.execute(select(Unit.name, Unit.kind, Unit.country)).all()
    return {name: (kind, country) for name, kind, country in rows}


def test_add_and_change_units(
    admin: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = admin
    added = post(
        client,
        "/admin/units",
        {"mode": "add", "name": "Border Police North", "kind": "border-police"},
        params={},
    )
    assert added.status_code == 400  # the country is required
    added = post(
        client,
        "/admin/units",
        {
            "mode": "add",
            "name": "Border Police North",
            "kind": "border-police",
            "country": "md",
        },
    )
    assert added.status_code == 303
    page = client.get(added.headers["location"])
    assert "Subdiviziunea Border Police North a fost salvată." in page.text
    assert 'data-unit="Border Police North"' in page.text
    assert "Poliția de frontieră" in page.text
    assert _units(database)["Border Police North"] == ("border-police", "MD")

    again = post(
        client,
        "/admin/units",
        {
            "mode": "add",
            "name": "Border Police North",
            "kind": "police",
            "country": "MD",
        },
    )
    assert again.status_code == 400
    assert "Există deja o subdiviziune" in again.text
    assert _units(database)["Border Police North"] == ("border-police", "MD")

    changed = post(
        client,
        "/admin/units",
        {
            "mode": "change",
            "name": "Border Police North",
            "kind": "foreign-partner",
            "country": "RO",
        },
    )
    assert changed.status_code == 303
    assert _units(database)["Border Police North"] == ("foreign-partner", "RO")
    assert ("units.save", "succeeded") in actions(database, "units.")


def test_unit_errors_next_to_fields(
    admin: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = admin
    foreign = post(
        client,
        "/admin/units",
        {"mode": "add", "name": "Polizia", "kind": "police", "country": "IT"},
    )
    assert foreign.status_code == 400
    text = html.unescape(foreign.text)
    assert 'id="kind-error"' in text
    assert "partener străin" in text
    unknown = post(
        client,
        "/admin/units",
        {"mode": "add", "name": "Nowhere", "kind": "foreign-partner", "country": "XX"},
    )
    assert 'id="country-error"' in unknown.text
    assert "Indicați statul prin codul său ISO 3166-1" in html.unescape(unknown.text)
    assert "Polizia" not in _units(database)
    assert "Nowhere" not in _units(database)


def test_units_page_names_states_in_language(
    admin: tuple[TestClient, WebUser],
) -> None:
    client, _ = admin
    romanian = client.get("/admin/units")
    assert '<option value="MD">Republica Moldova</option>' in romanian.text
    russian = client.get("/admin/units", headers={"accept-language": "ru"})
    assert '<option value="MD">Молдова</option>' in russian.text
