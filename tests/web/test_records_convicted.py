"""Convicted-offender pages over HTTP: upload and import, report, review queue.

Every test runs on SQLite and on PostgreSQL. Every person is invented and
every IDNP computed to pass, or on purpose to fail, the check-digit rule.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from records_helpers import analyst
from scut.db.models import Conviction, LinkReview
from scut.db.session import Database
from scut.persons.service import PersonInput, create_person
from scut.settings import Settings
from scut.web.records.convicted import UPLOAD_FOLDER
from web.helpers import SteppingClock, Users
from web.records_pages import (
    VALID_IDNP,
    WRONG_CHECK_DIGIT,
    analyst_client,
    english,
    field_errors,
    token_of,
)

HEADER = ("idnp", "last_name", "first_name", "birth_date", "article", "registry")


def _csv(rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


GOOD_LIST = _csv(
    [
        (VALID_IDNP, "Lungu", "Andrei", "02.11.1990", "208/1", "DTI"),
        (WRONG_CHECK_DIGIT, "Rusu", "Vasile", "03.04.1985", "175", "DTI"),
        ("", "Ceban", "Ion", "31.02.1980", "208/1", "DTI"),
    ]
)


def _upload(
    client: TestClient,
    content: bytes,
    name: str = "list.csv",
    *,
    registry: str = "",
    header_token: bool = False,
) -> object:
    token = token_of(client, "/convicted")
    files = {"file": (name, content, "text/csv")}
    if header_token:
        return client.post(
            "/convicted/imports",
            data={"registry": registry},
            files=files,
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
    return client.post(
        "/convicted/imports",
        data={"csrf_token": token, "registry": registry},
        files=files,
    )


def _upload_folder(settings: Settings) -> list[Path]:
    folder = settings.data_dir / UPLOAD_FOLDER
    return sorted(folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("header_token", [False, True], ids=["form", "htmx"])
def test_upload_imports_and_reports(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    header_token: bool,
) -> None:
    analyst_client(client, users, clock)
    english(client)

    response = _upload(client, GOOD_LIST, header_token=header_token)

    if header_token:
        assert response.status_code == 204  # type: ignore[attr-defined]
        location = response.headers["hx-redirect"]  # type: ignore[attr-defined]
    else:
        assert response.status_code == 303  # type: ignore[attr-defined]
        location = response.headers["location"]  # type: ignore[attr-defined]
    assert location.startswith("/convicted/imports/")
    assert _upload_folder(settings) == []
    report = client.get(location)
    assert report.status_code == 200
    assert '<dd class="file-name">list.csv</dd>' in report.text
    assert '<tr class="count-rows"><th scope="row">Rows</th><td class="figure">3' in (
        report.text
    )
    assert '<tr class="count-rejected"><th scope="row">Rejected</th>' in report.text
    assert '<td class="figure">2</td>' in report.text
    assert '<td class="figure">3</td>' in report.text
    assert "<td>IDNP</td>" in report.text
    assert "<td>Date of birth</td>" in report.text
    assert WRONG_CHECK_DIGIT not in report.text
    assert "*********3458" in report.text
    with database.session() as session:
        (conviction,) = session.scalars(select(Conviction)).all()
        assert conviction.last_name == "Lungu"
    imports = client.get("/convicted")
    assert location in imports.text


def test_upload_too_large_rejected(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCUT_WEB_CONVICTED_UPLOAD_MAX_BYTES", "1MiB")
    analyst_client(client, users, clock)
    english(client)
    large = _csv([("", "Lungu", "Andrei", "1990", "208/1", "DTI")] * 40_000)
    assert len(large) > 1024 * 1024

    for header_token in (False, True):
        response = _upload(client, large, header_token=header_token)
        assert response.status_code == 413  # type: ignore[attr-defined]
        text = response.text  # type: ignore[attr-defined]
        assert field_errors(text)["file"].startswith(
            "The file is larger than 1 MiB, the upload limit."
        )
    assert _upload_folder(settings) == []
    with database.session() as session:
        assert session.scalars(select(Conviction)).all() == []


def test_unreadable_list_names_upload(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    analyst_client(client, users, clock)
    english(client)
    missing_column = _csv([("Lungu", "Andrei")], header=("last_name", "first_name"))

    response = _upload(client, missing_column, name="..\\..\\etc\\<i>list.csv")

    assert response.status_code == 400  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "could not be read as a list of convicted offenders" in text
    assert "(&lt;i&gt;list.csv: required columns missing" in text
    assert str(settings.data_dir) not in text
    assert _upload_folder(settings) == []
    empty = _upload(client, b"", name="empty.csv")
    assert empty.status_code == 400  # type: ignore[attr-defined]
    assert "Choose a CSV or XLSX file to upload." in empty.text  # type: ignore[attr-defined]


def test_upload_needs_justification_and_token(
    client: TestClient, users: Users, clock: SteppingClock, settings: Settings
) -> None:
    analyst_client(client, users, clock, justify=False)
    assert client.get("/convicted").status_code == 303
    token = token_of(client, "/dashboard")
    unjustified = client.post(
        "/convicted/imports",
        files={"file": ("list.csv", GOOD_LIST, "text/csv")},
        headers={"X-CSRF-Token": token},
    )
    assert unjustified.status_code == 303
    assert unjustified.headers["location"].startswith("/justification?next=")
    wrong_token = client.post(
        "/convicted/imports",
        files={"file": ("list.csv", GOOD_LIST, "text/csv")},
        headers={"X-CSRF-Token": "0" * 64},
    )
    assert wrong_token.status_code == 403
    assert _upload_folder(settings) == []


def _review_pair(database: Database, client: TestClient) -> tuple[int, int]:
    """Record one person twice and import a row that fits both equally."""
    ids = []
    for _ in range(2):
        with database.session() as session, session.begin():
            person = create_person(
                session,
                PersonInput(
                    last_name="Cîrlan",
                    first_name="Ion",
                    categories=["victim"],
                    birth_date="1986-04-23",
                ),
                caller=analyst("setup"),
            )
            ids.append(person.id)
    rows = [("", "Cîrlan", "Ion", "23.04.1986", "208/1", "DTI")]
    assert _upload(client, _csv(rows)).status_code == 303  # type: ignore[attr-defined]
    return ids[0], ids[1]


def test_review_accept_and_reject(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    analyst_client(client, users, clock)
    english(client)
    first, second = _review_pair(database, client)

    queue = client.get("/convicted/review")

    assert queue.status_code == 200
    assert queue.text.count('class="review-item"') == 2
    with database.session() as session:
        items = {
            item.person_id: item.id for item in session.scalars(select(LinkReview))
        }
    assert "Date of birth: same" in queue.text
    accepted = client.post(
        f"/convicted/review/{items[first]}",
        data={
            "csrf_token": token_of(client, "/convicted/review"),
            "decision": "accept",
        },
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/convicted/review?linked={first}"
    after = client.get(accepted.headers["location"])
    assert "No pair is waiting for review." in after.text
    assert f'<a href="/persons/{first}">person {first}</a>' in after.text
    again = client.post(
        f"/convicted/review/{items[second]}",
        data={
            "csrf_token": token_of(client, "/convicted/review"),
            "decision": "reject",
        },
    )
    assert again.status_code == 400
    assert "is already rejected" in again.text
    with database.session() as session:
        (conviction,) = session.scalars(select(Conviction)).all()
        assert (conviction.person_id, conviction.link) == (first, "analyst")


def test_review_unknown_decision_rejected(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    analyst_client(client, users, clock)
    response = client.post(
        "/convicted/review/1",
        data={"csrf_token": token_of(client, "/convicted/review"), "decision": "maybe"},
    )
    assert response.status_code == 400
    assert client.get("/convicted/imports/424242").status_code == 404
