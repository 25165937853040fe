"""Administration in Chromium: a new user with TOTP, the audit log, API tokens, unlock.

Playwright drives Debian's Chromium against a live server on a loopback
port; every test runs on SQLite and on PostgreSQL. Screenshots of the
users, audit log and API token pages go to the ``artefacts`` folder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import cv2
import numpy as np
import pyotp
import pytest

from scut.cases.service import save_unit
from scut.db.session import Database
from scut.security.caller import local_operator
from web.helpers import PASSWORD, SteppingClock, Users

IDLE = dt.timedelta(minutes=31)


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh context and page on the live server, failing on CSP reports."""
    context = browser.new_context(base_url=server, locale="ro-RO")
    opened = context.new_page()
    violations: list[str] = []
    opened.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield opened
    context.close()
    assert violations == []


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database of this run, to tell the screenshots apart."""
    return str(request.node.callspec.params.get("database_url", "db"))


def _sign_in(page: Any, username: str, password: str, code: str) -> None:
    page.goto("/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#code", code)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url("**/dashboard")


def _shot(page: Any, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


def _read_qr_code(png: bytes) -> str:
    picture = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None, "the screenshot is not a PNG image"
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(picture)
    return str(text)


def test_admin_creates_user_who_signs_in(
    page: Any,
    browser: Any,
    server: str,
    users: Users,
    clock: SteppingClock,
    database: Database,
    artefacts: Path,
    backend: str,
) -> None:
    with database.session() as session, session.begin():
        save_unit(
            session,
            "Border Police North",
            "border-police",
            "MD",
            caller=local_operator("test-admin"),
        )
    admin = users.add("dana", ("admin",), display_name="Dana Admin")
    _sign_in(page, admin.username, admin.password, admin.code(clock))

    page.click("nav.main-navigation a[href='/admin/users']")
    page.fill("#username", "bogdan")
    page.fill("#display_name", "Bogdan Rusu")
    page.select_option("#unit", label="Border Police North")
    page.check("input[name=roles][value=analyst]")
    page.check("input[name=roles][value=supervisor]")
    page.fill("#password", PASSWORD)
    page.fill("#password_repeat", PASSWORD)
    page.click("form[action='/admin/users'] button[type=submit]")
    page.wait_for_url("**/admin/users/bogdan?done=created")
    assert "Utilizatorul a fost creat" in page.inner_text("p.notice")
    assert page.inner_text("dl.facts").count("Border Police North") == 1

    page.click("form[action$='/totp'] button")
    page.wait_for_selector("img.qr-code")
    secret = page.inner_text(".totp-secret").replace(" ", "")
    uri = page.inner_text(".totp-uri")
    assert f"secret={secret}" in uri
    assert _read_qr_code(page.locator("img.qr-code").screenshot()) == uri
    page.goto("/admin/users")
    assert "Bogdan Rusu" in page.inner_text("tr[data-user=bogdan]")
    _shot(page, artefacts, f"admin-users-ro-{backend}")

    context = browser.new_context(base_url=server, locale="ro-RO")
    try:
        newcomer = context.new_page()
        totp = pyotp.TOTP(secret)
        newcomer.goto("/sign-in/authenticator")
        newcomer.fill("#username", "bogdan")
        newcomer.fill("#password", PASSWORD)
        clock.advance(dt.timedelta(seconds=30))
        newcomer.fill("#code", totp.at(clock.now()))
        newcomer.click("form[action='/sign-in/authenticator'] button[type=submit]")
        assert "confirmată" in newcomer.inner_text("p.notice")
        clock.advance(dt.timedelta(seconds=30))
        _sign_in(newcomer, "bogdan", PASSWORD, totp.at(clock.now()))
        header = newcomer.inner_text("header")
        assert "Bogdan Rusu" in header
        assert "Analist" in header
        assert "Supervizor" in header
        assert "Border Police North" in header
    finally:
        context.close()


def test_auditor_filters_sign_in_events(
    page: Any, users: Users, clock: SteppingClock, artefacts: Path, backend: str
) -> None:
    ana = users.add("ana", ("analyst",))
    olga = users.add("olga", ("auditor",), display_name="Olga Ceban")
    _sign_in(page, ana.username, ana.password, ana.code(clock))
    page.click("form.sign-out button")
    page.wait_for_url("**/sign-in?reason=signed-out")
    _sign_in(page, olga.username, olga.password, olga.code(clock))

    page.click("nav.main-navigation a[href='/audit']")
    page.fill("#filter-action", "auth.sign-in")
    page.click("form.filter-form button[type=submit]")
    page.wait_for_url("**/audit?*action=auth.sign-in*")
    users_shown = page.locator("tr.event .event-user").all_inner_texts()
    assert users_shown == ["olga", "ana"]
    assert set(page.locator("tr.event .event-action").all_inner_texts()) == {
        "auth.sign-in"
    }

    page.fill("#filter-user", "ana")
    page.click("form.filter-form button[type=submit]")
    page.wait_for_url("**/audit?*user=ana*")
    assert page.locator("tr.event .event-user").all_inner_texts() == ["ana"]
    assert "127.0.0.1" in page.inner_text("tr.event")
    page.click("tr.event-fields summary")
    fields = page.inner_text("tr.event-fields dl.fields")
    assert "session" in fields
    assert "Hash-ul evenimentului anterior" in fields
    _shot(page, artefacts, f"audit-log-ro-{backend}")

    page.click("form[action='/audit/verify'] button")
    page.wait_for_selector("#chain-check p.notice")
    assert "Jurnalul este intact" in page.inner_text("#chain-check")


def test_user_issues_token_and_calls_api(
    page: Any, users: Users, clock: SteppingClock, artefacts: Path, backend: str
) -> None:
    ana = users.add("ana", ("analyst",), unit="Centre")
    _sign_in(page, ana.username, ana.password, ana.code(clock))
    page.click("nav.main-navigation a[href='/account/api-tokens']")
    page.fill("#token-name", "nightly report")
    page.fill("#token-days", "30")
    page.fill("#token-password", ana.password)
    page.fill("#token-code", ana.code(clock))
    page.click("form[action='/account/api-tokens'] button[type=submit]")
    token = page.input_value("#issued-token")
    assert len(token) >= 40

    answer = page.request.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200
    assert answer.json() == {"user": "ana", "roles": ["analyst"], "unit": "Centre"}

    page.goto("/account/api-tokens")
    assert page.locator("#issued-token").count() == 0
    row = page.inner_text("tr[data-token]")
    assert "nightly report" in row
    assert "Valabil" in row
    _shot(page, artefacts, f"api-tokens-ro-{backend}")


def test_idle_session_unlocked_returns_to_page(
    page: Any, users: Users, clock: SteppingClock
) -> None:
    ana = users.add("ana", ("analyst",))
    _sign_in(page, ana.username, ana.password, ana.code(clock))
    page.goto("/account/api-tokens")
    before = {c["name"]: c["value"] for c in page.context.cookies()}["scut_session"]
    clock.advance(IDLE)

    # Where the application sends a request that meets the locked session.
    page.goto(f"/unlock?next={quote('/account/api-tokens', safe='')}")
    assert "Sesiunea utilizatorului ana" in page.inner_text("p.locked-user")
    page.fill("#password", ana.password)
    page.fill("#code", ana.code(clock))
    page.click("form[action='/unlock'] button[type=submit]")
    page.wait_for_url("**/account/api-tokens")
    assert page.inner_text("h1") == "Tokenuri API"
    after = {c["name"]: c["value"] for c in page.context.cookies()}["scut_session"]
    assert after == before


def test_locked_page_sends_to_unlock(
    page: Any, users: Users, clock: SteppingClock
) -> None:
    ana = users.add("ana", ("analyst",))
    _sign_in(page, ana.username, ana.password, ana.code(clock))
    page.goto("/account/api-tokens")
    clock.advance(IDLE)
    page.reload()
    assert "/unlock?next=" in page.url
    page.fill("#password", ana.password)
    page.fill("#code", ana.code(clock))
    page.click("form[action='/unlock'] button[type=submit]")
    page.wait_for_url("**/account/api-tokens")


def test_hash_set_upload_shows_progress_and_list(
    page: Any,
    users: Users,
    clock: SteppingClock,
    shared_data: Path,
    artefacts: Path,
    backend: str,
) -> None:
    admin = users.add("dana", ("admin",))
    _sign_in(page, admin.username, admin.password, admin.code(clock))
    page.click("nav.main-navigation a[href='/admin/hash-sets']")
    page.set_input_files("#file", str(shared_data / "hashsets" / "md5_list.txt"))
    page.fill("#name", "lab-md5")
    page.fill("#source", "test laboratory")
    page.click("form.import-form button[type=submit]")
    page.wait_for_selector("#import-job.import-succeeded", timeout=60_000)
    assert "md5_list.txt" in page.inner_text("#import-job")
    # The finished import makes the page reload the list of sets.
    page.wait_for_selector("tr[data-hash-set=lab-md5]")
    assert "test laboratory" in page.inner_text("tr[data-hash-set=lab-md5]")
    assert page.url.endswith("/admin/hash-sets")
    _shot(page, artefacts, f"hash-sets-ro-{backend}")
