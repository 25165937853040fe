"""Records' pages in Chromium: the person form's errors by language, search, review.

Playwright drives Debian's Chromium against a live server on a loopback
port. Every test runs on SQLite and on PostgreSQL and saves screenshots
in the ``artefacts`` folder.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from records_helpers import add_media, analyst
from scut.convicted.importer import import_convicted
from scut.db.session import Database
from scut.persons.service import PersonInput, create_person, link_person
from scut.series.service import add_media as add_series_media
from scut.series.service import create_series
from web.helpers import SteppingClock, Users, WebUser
from web.records_pages import JUSTIFICATION, VALID_IDNP, WRONG_CHECK_DIGIT

IDNP_ERROR = {
    "ro": (
        "Cifra de control este 8, dar primele douăsprezece cifre dau 9. "
        "Verificați dacă nu ați tastat greșit o cifră."
    ),
    "ru": (
        "Контрольная цифра — 8, но первые двенадцать цифр дают 9. "
        "Проверьте, не ошиблись ли вы при вводе цифры."
    ),
}


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh browser page on the live server that fails on CSP reports."""
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
    """The database backend of the test, for the names of its screenshots."""
    return str(request.node.callspec.params.get("database_url", "db"))


def _sign_in_and_justify(page: Any, user: WebUser, clock: SteppingClock) -> None:
    page.goto("/sign-in")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.fill("#code", user.code(clock))
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url("**/dashboard")
    page.goto("/persons")
    page.wait_for_url("**/justification?next=*")
    page.fill("#justification", JUSTIFICATION)
    page.click("form[action='/justification'] button[type=submit]")
    page.wait_for_url("**/persons")


def _fill_person(page: Any, idnp: str) -> None:
    page.check("input[name=categories][value=victim]")
    page.fill("#last_name", "Cîrlan")
    page.fill("#first_name", "Ion")
    page.fill("#birth_date", "05.2011")
    page.fill("#idnp", idnp)
    page.click("form.person-form button[type=submit]")
    page.wait_for_load_state()


def _shot(page: Any, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


def test_invalid_idnp_error_in_romanian_then_russian(
    page: Any, users: Users, clock: SteppingClock, artefacts: Path, backend: str
) -> None:
    _sign_in_and_justify(page, users.add("ana", ("analyst",)), clock)
    page.goto("/persons/new")

    _fill_person(page, WRONG_CHECK_DIGIT)

    assert page.inner_text("#error-idnp") == IDNP_ERROR["ro"]
    assert page.get_attribute("#idnp", "aria-invalid") == "true"
    assert page.input_value("#last_name") == "Cîrlan"
    _shot(page, artefacts, f"person-form-error-ro-{backend}")

    page.click("form.language-switch button[value=ru]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "ru"
    _fill_person(page, WRONG_CHECK_DIGIT)
    assert page.inner_text("#error-idnp") == IDNP_ERROR["ru"]
    _shot(page, artefacts, f"person-form-error-ru-{backend}")

    page.fill("#idnp", VALID_IDNP)
    page.click("form.person-form button[type=submit]")
    page.wait_for_url("**/persons/*")
    assert page.inner_text("h1") == "Cîrlan Ion"
    assert page.inner_text("dd.idnp") == VALID_IDNP
    assert page.inner_text("dd.birth-date") == "май 2011\u202fг."
    _shot(page, artefacts, f"person-page-ru-{backend}")


def test_search_folds_names_as_typed(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    artefacts: Path,
    backend: str,
) -> None:
    with database.session() as session, session.begin():
        for last, first in (
            ("Cîrlan", "Ion"),
            ("Munteanu", "Ioan"),
            ("Петров", "Иван"),
            ("Rusu", "Maria"),
        ):
            create_person(
                session,
                PersonInput(last_name=last, first_name=first, categories=["victim"]),
                caller=analyst("setup"),
            )
    _sign_in_and_justify(page, users.add("ana", ("analyst",)), clock)

    page.type("#q", "ion", delay=80)
    page.wait_for_selector("table.person-results")

    names = page.locator("table.person-results td:first-child").all_inner_texts()
    assert sorted(names) == ["Cîrlan Ion", "Munteanu Ioan", "Петров Иван"]
    assert page.url.endswith("/persons")
    _shot(page, artefacts, f"person-search-ro-{backend}")


def test_review_queue_accept(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    tmp_path: Path,
    artefacts: Path,
    backend: str,
) -> None:
    first = _same_person_twice_and_import(database, tmp_path)
    _sign_in_and_justify(page, users.add("ana", ("analyst",)), clock)
    page.goto("/convicted/review")
    assert page.locator("tr.review-item").count() == 2
    _shot(page, artefacts, f"review-queue-ro-{backend}")

    row = page.locator(
        "tr.review-item", has=page.locator(f"a[href='/persons/{first}']")
    )
    row.locator("button.accept").click()

    page.wait_for_url(f"**/convicted/review?linked={first}")
    assert page.locator("tr.review-item").count() == 0
    assert "Acceptat" in page.inner_text("p.notice")
    page.click(f"p.notice a[href='/persons/{first}']")
    page.wait_for_url(f"**/persons/{first}")
    assert "Persoană condamnată" in page.inner_text(".person-categories")


def test_series_page_blurred_tiles(
    page: Any,
    users: Users,
    clock: SteppingClock,
    database: Database,
    artefacts: Path,
    backend: str,
) -> None:
    with database.session() as session, session.begin():
        media = add_media(session, 4)
        series = create_series(session, "Orchard", caller=analyst("setup"))
        add_series_media(session, "Orchard", media, caller=analyst("setup"))
        person = create_person(
            session,
            PersonInput(last_name="Rusu", first_name="Ana", categories=["victim"]),
            caller=analyst("setup"),
        )
        link_person(
            session, person.id, "victim", caller=analyst("setup"), series_id=series.id
        )
        series_id = series.id
    _sign_in_and_justify(page, users.add("ana", ("analyst",)), clock)

    page.goto(f"/series/{series_id}")

    assert page.inner_text("h1") == "Orchard"
    assert page.locator("li.tile").count() == 4
    assert page.locator(f"a.tile-link[href='/media/{media[0]}']").count() == 1
    assert "Rusu Ana" in page.inner_text("#persons")
    _shot(page, artefacts, f"series-page-ro-{backend}")


def test_upload_list_and_read_report(
    page: Any,
    users: Users,
    clock: SteppingClock,
    artefacts: Path,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCUT_WEB_CONVICTED_UPLOAD_MAX_BYTES", "1MiB")
    header = "idnp;last_name;first_name;birth_date;article;registry\n"
    good = f"{VALID_IDNP};Lungu;Andrei;02.11.1990;208/1;DTI\n"
    bad = f"{WRONG_CHECK_DIGIT};Rusu;Vasile;03.04.1985;175;DTI\n"
    _sign_in_and_justify(page, users.add("ana", ("analyst",)), clock)
    page.goto("/convicted")

    large = (header + good * 30_000).encode()
    page.set_input_files(
        "#list-file",
        {"name": "large.csv", "mimeType": "text/csv", "buffer": large},
    )
    page.click("form.upload-form button[type=submit]")
    page.wait_for_selector("#error-file")
    assert page.inner_text("#error-file").startswith(
        "Fișierul depășește 1 MiB, limita de încărcare."
    )

    small = (header + good + bad).encode()
    page.set_input_files(
        "#list-file",
        {"name": "list.csv", "mimeType": "text/csv", "buffer": small},
    )
    page.click("form.upload-form button[type=submit]")
    page.wait_for_url("**/convicted/imports/*")

    assert page.inner_text("dd.file-name") == "list.csv"
    rejected = page.locator("table.rejected-rows tbody tr")
    assert rejected.count() == 1
    cells = rejected.first.locator("td").all_inner_texts()
    assert cells[:3] == ["3", "IDNP", "*********3458"]
    assert "check digit" in cells[3]
    _shot(page, artefacts, f"convicted-report-ro-{backend}")


def _same_person_twice_and_import(database: Database, folder: Path) -> int:
    """Record one person twice and import a row that fits both; return the first."""
    ids = []
    for _ in range(2):
        with database.session() as session, session.begin():
            ids.append(
                create_person(
                    session,
                    PersonInput(
                        last_name="Cîrlan",
                        first_name="Ion",
                        categories=["victim"],
                        birth_date="1986-04-23",
                    ),
                    caller=analyst("setup"),
                ).id
            )
    path = folder / "list.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(("idnp", "last_name", "first_name", "birth_date", "article"))
        writer.writerow(("", "Cîrlan", "Ion", "23.04.1986", "208/1"))
    with database.session() as session, session.begin():
        report = import_convicted(
            session, path, caller=analyst("setup"), registry="DTI"
        )
    assert report.review == 1
    return ids[0]
