"""The web pages in Chromium: sign-in with TOTP, sign-out, idle limit, languages, CSP.

Playwright drives Debian's Chromium against a live server on a loopback
port. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from records_helpers import add_media, add_submission
from scut.db.models import AuditEvent, Submission
from scut.db.session import Database
from scut.web.security import CONTENT_SECURITY_POLICY
from web.helpers import SteppingClock, Users, WebUser

RECEIVED_AT = dt.datetime(2026, 3, 7, 10, 15, tzinfo=dt.UTC)
# The received time as each language writes it, in Europe/Chisinau (UTC+2
# on that day), from the CLDR formats that Babel ships.
RECEIVED_TEXT = {
    "ro": "7 mar. 2026, 12:15:00",
    "en": "Mar 7, 2026, 12:15:00\u202fPM",
    "ru": "7 мар. 2026\u202fг., 12:15:00",
}
DASHBOARD_TITLE = {"ro": "Panou de bord", "en": "Dashboard", "ru": "Панель управления"}
LANGUAGE_BUTTON = {"ro": "Română", "en": "English", "ru": "Русский"}


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh browser context and page on the live server, failing on CSP reports."""
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


def _sign_in(page: Any, user: WebUser, clock: SteppingClock, code: str = "") -> None:
    page.goto("/")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.fill("#code", code or user.code(clock))
    page.click("form[action='/sign-in'] button[type=submit]")


def _record_submission(database: Database) -> None:
    with database.session() as session, session.begin():
        submission_id = add_submission(
            session, add_media(session, 2), case="CASE-7", unit="Unit A"
        )
        submission = session.get(Submission, submission_id)
        assert submission is not None
        submission.received_at = RECEIVED_AT


def test_sign_in_with_totp(
    page: Any, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record_submission(database)
    user = users.add("ana", ("analyst",), unit="Unit A", display_name="Ana Rusu")
    _sign_in(page, user, clock)
    page.wait_for_url("**/dashboard")
    assert page.inner_text("h1") == "Panou de bord"
    header = page.inner_text("header")
    assert "Ana Rusu" in header
    assert "Analist" in header
    assert "Unit A" in header
    assert "CASE-7" in page.inner_text(".recent-submissions")
    with database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.sign-in")
        ).all()
    assert [(event.outcome, event.source) for event in events] == [
        ("succeeded", "127.0.0.1")
    ]


def test_wrong_totp_generic_error_audited(
    page: Any, users: Users, clock: SteppingClock, database: Database
) -> None:
    user = users.add("ana", ("analyst",))
    right = user.code(clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    _sign_in(page, user, clock, code=wrong)
    error = page.inner_text("p.error")
    assert error.startswith("Autentificarea a eșuat")
    assert page.url.endswith("/sign-in")
    assert page.input_value("#username") == "ana"
    assert page.input_value("#password") == ""

    # An unknown user gets the very same words.
    page.fill("#username", "nobody-at-all")
    page.fill("#password", user.password)
    page.fill("#code", "123456")
    page.click("form[action='/sign-in'] button[type=submit]")
    assert page.inner_text("p.error") == error

    with database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.sign-in")
        ).all()
    assert [(event.outcome, event.detail["reason"]) for event in events] == [
        ("failed", "wrong-code"),
        ("failed", "unknown-user"),
    ]


def test_sign_out(page: Any, users: Users, clock: SteppingClock) -> None:
    _sign_in(page, users.add("ana", ("analyst",)), clock)
    page.wait_for_url("**/dashboard")
    page.click("form.sign-out button")
    page.wait_for_url("**/sign-in?reason=signed-out")
    assert page.inner_text("p.notice") == "V-ați deconectat."
    page.goto("/dashboard")
    assert page.url.endswith("/sign-in")


def test_idle_limit_locks_the_session(
    page: Any, users: Users, clock: SteppingClock
) -> None:
    _sign_in(page, users.add("ana", ("analyst",)), clock)
    page.wait_for_url("**/dashboard")
    clock.advance(dt.timedelta(minutes=31))
    page.reload()
    assert "/unlock?next=" in page.url
    # The session is locked, not ended: its cookie stays for the unlock.
    names = {cookie["name"] for cookie in page.context.cookies()}
    assert "scut_session" in names


def test_languages_change_texts_and_dates(
    page: Any, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record_submission(database)
    _sign_in(page, users.add("ana", ("analyst",)), clock)
    page.wait_for_url("**/dashboard")
    for language in ("ro", "ru", "en"):
        page.click(f"form.language-switch button[value={language}]")
        page.wait_for_load_state()
        assert page.url.endswith("/dashboard")
        assert page.get_attribute("html", "lang") == language
        assert page.inner_text("h1") == DASHBOARD_TITLE[language]
        assert page.inner_text("td.received") == RECEIVED_TEXT[language]
        pressed = page.inner_text("form.language-switch [aria-pressed=true]")
        assert pressed == LANGUAGE_BUTTON[language]


def test_browser_language_is_default(browser: Any, server: str) -> None:
    context = browser.new_context(base_url=server, locale="ru-RU")
    try:
        opened = context.new_page()
        opened.goto("/sign-in")
        assert opened.inner_text("h1") == "Вход в Scut"
        assert opened.get_attribute("html", "lang") == "ru"
    finally:
        context.close()


def test_screenshots_each_language(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    artefacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    _record_submission(database)
    backend = request.node.callspec.params.get("database_url", "db")
    user = users.add("ana", ("analyst",), unit="Unit A", display_name="Ana Rusu")
    for language in ("ro", "en", "ru"):
        page.goto("/sign-in")
        page.click(f"form.language-switch button[value={language}]")
        page.wait_for_load_state()
        shot = artefacts / f"sign-in-{language}-{backend}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
    for language in ("ro", "en", "ru"):
        if "/dashboard" not in page.url:
            _sign_in(page, user, clock)
            page.wait_for_url("**/dashboard")
        page.click(f"form.language-switch button[value={language}]")
        page.wait_for_load_state()
        assert page.inner_text("h1") == DASHBOARD_TITLE[language]
        shot = artefacts / f"dashboard-{language}-{backend}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0


class _InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, styles, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        if tag == "script":
            self.scripts += 1
            if "src" not in names:
                self.found.append("script without src")
        if tag == "style":
            self.found.append("style element")
        if "style" in names:
            self.found.append(f"style attribute on {tag}")
        handlers = sorted(name for name in names if name.startswith("on"))
        if handlers:
            self.found.append(f"{', '.join(handlers)} on {tag}")
        for name, value in attrs:
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL in {name} of {tag}")


def _inline_code(html: str) -> tuple[list[str], int]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found, parser.scripts


def test_csp_on_every_response_and_no_inline_code(
    page: Any, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record_submission(database)
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    rendered: list[str] = []
    page.goto("/sign-in")
    rendered.append(page.content())
    _sign_in(page, users.add("ana", ("analyst",)), clock)
    page.wait_for_url("**/dashboard")
    rendered.append(page.content())
    page.click("form.language-switch button[value=en]")
    page.wait_for_load_state()
    rendered.append(page.content())
    page.goto("/no-such-page")
    rendered.append(page.content())

    assert any(response.url.endswith(".js") for response in responses)
    assert any(response.url.endswith(".css") for response in responses)
    for response in responses:
        headers = response.all_headers()
        assert headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, (
            response.url
        )
        assert headers.get("x-content-type-options") == "nosniff", response.url

    # The HTML as served, fetched again with the same cookies, and the DOM
    # as the browser built it.
    documents = {
        response.url
        for response in responses
        if response.request.resource_type == "document"
        and response.status not in (301, 302, 303, 307, 308)
    }
    assert len(documents) >= 3
    served = [page.request.get(url).text() for url in sorted(documents)]
    for html in served + rendered:
        found, scripts = _inline_code(html)
        assert found == []
        assert scripts == 1


def test_post_without_csrf_token_gets_403(
    page: Any, users: Users, clock: SteppingClock
) -> None:
    _sign_in(page, users.add("ana", ("analyst",)), clock)
    page.wait_for_url("**/dashboard")
    response = page.request.post("/sign-out", form={"next": "/"}, max_redirects=0)
    assert response.status == 403
    assert "Formularul a expirat" in response.text()
    page.goto("/dashboard")
    assert page.url.endswith("/dashboard")


def test_script_in_display_name_shows_as_text(
    page: Any, users: Users, clock: SteppingClock
) -> None:
    hostile = "<script>window.scutInjected = 1</script><img src=x onerror=alert(1)>"
    user = users.add("ana", ("analyst",), display_name=hostile)
    _sign_in(page, user, clock)
    page.wait_for_url("**/dashboard")
    assert page.inner_text(".user-name") == hostile
    assert page.evaluate("typeof window.scutInjected") == "undefined"
    assert page.locator("header img").count() == 0


def test_script_in_typed_user_name_shows_as_text(
    page: Any, users: Users, clock: SteppingClock
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    typed = '"><script>window.scutInjected = 1</script>'
    page.goto("/sign-in")
    page.fill("#username", typed)
    page.fill("#password", "a password of some length")
    page.fill("#code", "123456")
    page.click("form[action='/sign-in'] button[type=submit]")
    assert page.inner_text("p.error").startswith("Autentificarea a eșuat")
    assert page.input_value("#username") == typed
    assert page.evaluate("typeof window.scutInjected") == "undefined"
    assert dialogs == []
