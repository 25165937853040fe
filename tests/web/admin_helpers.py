"""Helpers of the administration page tests: signed-in clients and form posts."""

from __future__ import annotations

import re
from typing import Any

import httpx2
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from scut.db.models import AuditEvent
from scut.db.session import Database
from scut.web.security import csrf_token
from web.helpers import SteppingClock, Users, WebUser, sign_in

FORM = re.compile(r"(<form\b[^>]*>)(.*?)</form>", re.DOTALL)
CSRF_FIELD = re.compile(r'name="csrf_token" value="[0-9a-f]{64}"')


def client_for(app: FastAPI) -> TestClient:
    """Return another client of ``app`` over HTTPS, with cookies of its own.

    It runs no lifespan, so the test must also use the ``client`` fixture,
    whose lifespan closes the application's database connections.
    """
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def signed_in(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    username: str,
    roles: tuple[str, ...],
    *,
    unit: str | None = None,
) -> tuple[TestClient, WebUser]:
    """Make a user, sign ``client`` in as them, and return both."""
    user = users.add(username, roles, unit=unit)
    sign_in(client, user, clock)
    return client, user


def post(
    client: TestClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> httpx2.Response:
    """Post a form with the CSRF token of the client's session."""
    session = client.cookies.get("scut_session")
    assert session, "the client is not signed in"
    form = {"csrf_token": csrf_token(session), **(data or {})}
    return client.post(path, data=form, **kwargs)


def actions(database: Database, prefix: str = "") -> list[tuple[str, str]]:
    """Return (action, outcome) of the audit events whose action starts with prefix."""
    with database.session() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.outcome)
            .where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.id)
        ).all()
    return [(action, outcome) for action, outcome in rows]


def post_forms_without_token(page_text: str) -> list[str]:
    """Return the opening tags of the page's POST forms that lack a CSRF token."""
    missing = []
    for form in FORM.finditer(page_text):
        if 'method="post"' in form.group(1) and not CSRF_FIELD.search(form.group(2)):
            missing.append(form.group(1))
    return missing
