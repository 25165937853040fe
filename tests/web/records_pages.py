"""Helpers of the records' page tests: a signed-in analyst with a justification."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from web.helpers import SteppingClock, Users, csrf_of, sign_in

JUSTIFICATION = "CASE-2026-17"
# A valid IDNP: the weighted sum of the first twelve digits gives 9.
VALID_IDNP = "2002042123459"
# The same number with a wrong check digit (the first twelve digits give 9).
WRONG_CHECK_DIGIT = "2002042123458"
FIELD_ERROR = re.compile(r'<p class="field-error" id="error-([a-z_]+)"[^>]*>([^<]*)')


def analyst_client(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    *,
    name: str = "ana",
    roles: tuple[str, ...] = ("analyst",),
    justify: bool = True,
) -> TestClient:
    """Sign in a new user with ``roles``, and give the session a justification."""
    sign_in(client, users.add(name, roles), clock)
    if justify:
        give_justification(client)
    return client


def give_justification(client: TestClient, text: str = JUSTIFICATION) -> None:
    """Send the justification form of the signed-in session."""
    page = client.get("/justification?next=/persons")
    assert page.status_code == 200, page.text
    response = client.post(
        "/justification",
        data={"csrf_token": csrf_of(page.text), "justification": text, "next": "/"},
    )
    assert response.status_code == 303, response.text


def token_of(client: TestClient, path: str = "/persons") -> str:
    """Return the CSRF token of the page at ``path``."""
    return csrf_of(client.get(path).text)


def field_errors(page: str) -> dict[str, str]:
    """Return the error text shown next to each field of a page."""
    return {
        name: html.unescape(text).strip() for name, text in FIELD_ERROR.findall(page)
    }


def english(client: TestClient) -> None:
    """Show the client's pages in English from now on."""
    client.cookies.set("scut_language", "en")
