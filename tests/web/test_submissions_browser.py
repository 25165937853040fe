"""Sending material in Chromium: a unit's folder and archive, progress, verdicts.

A submitter signs in with TOTP and sends a folder of drawn pictures
(some with camera and GPS EXIF) and a zip through the form. They follow
the progress page and read the verdicts, where one picture is known from
a hash set. A submitter of another unit then gets the 403 page for that
result. Screenshots of the form, the progress and the result are saved
as artefacts. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scut.db.session import Database
from scut.hashsets.importer import import_hash_set
from web.helpers import SteppingClock, Users, WebUser
from web.submissions_helpers import ORIGIN, picture, zip_bytes

JOB_MILLISECONDS = 180_000


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A browser page on the live server, in Romanian, failing on CSP reports."""
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


def _sign_in(page: Any, user: WebUser, clock: SteppingClock) -> None:
    page.goto("/sign-in")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.fill("#code", user.code(clock))
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url("**/dashboard")


def _evidence(root: Path) -> tuple[Path, Path, bytes]:
    """Write a card folder and a zip; return them and the known picture."""
    card = root / "card"
    (card / "DCIM" / "100CAMERA").mkdir(parents=True)
    for number in range(1, 4):
        target = card / "DCIM" / "100CAMERA" / f"IMG_{number:04d}.jpg"
        target.write_bytes(picture(10 + number, exif=number < 3))
    (card / "Download").mkdir()
    (card / "Download" / "poster.jpg").write_bytes(picture(20))
    known = picture(30)
    archive = root / "messages.zip"
    archive.write_bytes(
        zip_bytes({"chat/photo.jpg": known, "chat/other.jpg": picture(31)})
    )
    return card, archive, known


def _known_set(root: Path, database: Database, known: bytes) -> None:
    listing = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
        "value": [
            {
                "MediaID": 1,
                "MD5": hashlib.md5(known).hexdigest(),
                "Category": 1,
                "Series": "Series Alpha",
                "VictimIdentified": True,
            }
        ],
    }
    path = root / "partner.json"
    path.write_text(json.dumps(listing))
    import_hash_set(database, path, name="partner", kind="known-abuse")


def test_unit_sends_folder_and_zip(
    page: Any,
    browser: Any,
    server: str,
    users: Users,
    clock: SteppingClock,
    database: Database,
    tmp_path: Path,
    artefacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    backend = request.node.callspec.params.get("database_url", "db")
    card, archive, known = _evidence(tmp_path)
    _known_set(tmp_path, database, known)
    sam = users.add("sam", ("submitter",), unit="Unit A", display_name="Sam Ursu")
    bob = users.add("bob", ("submitter",), unit="Unit B")

    _sign_in(page, sam, clock)
    page.click("nav a[href='/submissions/new']")
    page.wait_for_url("**/submissions/new")
    assert page.inner_text("#unit-name") == "Unit A"
    for name, value in ORIGIN.items():
        page.fill(f"#{name}", value)
    page.set_input_files("#folder", str(card))
    page.set_input_files("#files", str(archive))
    page.screenshot(
        path=str(artefacts / f"submission-form-{backend}.png"), full_page=True
    )

    page.click("form[data-upload-form] button[type=submit]")
    page.wait_for_url("**/submissions/jobs/**")
    assert page.inner_text("h1") == "Progresul preluării"
    page.screenshot(
        path=str(artefacts / f"submission-progress-{backend}.png"), full_page=True
    )

    page.wait_for_url("**/result?job=*", timeout=JOB_MILLISECONDS)
    assert page.inner_text("h1") == "Rezultatul verificării transmiterii 1"
    page.screenshot(
        path=str(artefacts / f"submission-result-{backend}.png"), full_page=True
    )
    result_url = page.url
    assert page.inner_text("td[data-verdict=known]") == "1"
    assert page.inner_text("td[data-verdict=new]") == "6"
    rows = {
        page.locator("tr.file-line td.path").nth(index).inner_text(): index
        for index in range(page.locator("tr.file-line").count())
    }
    assert set(rows) == {
        "card/DCIM/100CAMERA/IMG_0001.jpg",
        "card/DCIM/100CAMERA/IMG_0002.jpg",
        "card/DCIM/100CAMERA/IMG_0003.jpg",
        "card/Download/poster.jpg",
        "messages.zip",
        "messages.zip/chat/other.jpg",
        "messages.zip/chat/photo.jpg",
    }
    known_row = page.locator("tr.file-line[data-verdict=known]")
    assert known_row.count() == 1
    assert "messages.zip/chat/photo.jpg" in known_row.inner_text()
    assert "Series Alpha" in known_row.inner_text()
    assert "da" in known_row.inner_text()

    other = browser.new_context(base_url=server, locale="ro-RO")
    try:
        second = other.new_page()
        _sign_in(second, bob, clock)
        response = second.goto(result_url)
        assert response is not None
        assert response.status == 403
        assert second.inner_text("h1") == "Acces interzis"
        assert "messages.zip" not in second.content()
    finally:
        other.close()
