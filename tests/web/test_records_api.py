"""The JSON API of persons and series, with API tokens and justifications.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import select

from records_helpers import add_media, analyst
from scut.db.models import AuditEvent
from scut.db.session import Database
from scut.persons.service import PersonInput, create_person
from scut.security.auth import issue_api_token
from scut.series.service import add_media as add_series_media
from scut.series.service import create_series
from web.helpers import SteppingClock, Users
from web.records_pages import VALID_IDNP, WRONG_CHECK_DIGIT


def _token(database: Database, users: Users, clock: SteppingClock, role: str) -> str:
    user = users.add(f"api-{role}", (role,))
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


def _headers(token: str, justification: str | None = "CASE-5") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if justification is not None:
        headers["X-Justification"] = justification
    return headers


def _person(database: Database, last: str, first: str, **fields: object) -> int:
    with database.session() as session, session.begin():
        return create_person(
            session,
            PersonInput(last_name=last, first_name=first, **fields),  # type: ignore[arg-type]
            caller=analyst("setup"),
        ).id


def test_search_and_read_persons(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    ion = _person(database, "Cîrlan", "Ion", categories=["victim"], idnp=VALID_IDNP)
    ivan = _person(database, "Петров", "Иван", categories=["offender"])
    token = _token(database, users, clock, "analyst")

    found = client.get("/api/persons?q=ion", headers=_headers(token))
    filtered = client.get(
        "/api/persons?q=ion&category=offender", headers=_headers(token)
    )
    person = client.get(f"/api/persons/{ion}", headers=_headers(token))

    assert found.status_code == 200
    hits = {hit["id"]: hit for hit in found.json()}
    assert set(hits) == {ion, ivan}
    assert hits[ion]["idnp"] == "*********3459"
    assert [hit["id"] for hit in filtered.json()] == [ivan]
    assert person.status_code == 200
    assert person.json()["idnp"] == VALID_IDNP
    assert person.json()["names"] == [{"kind": "primary", "name": "Cîrlan Ion"}]
    with database.session() as session:
        reads = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "persons.read")
        ).all()
    assert [(event.justification, json.loads(event.object_ids)) for event in reads] == [
        ("CASE-5", [str(ion)])
    ]


def test_persons_need_justification(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    person_id = _person(database, "Rusu", "Ana", categories=["victim"])
    token = _token(database, users, clock, "analyst")
    without = client.get(f"/api/persons/{person_id}", headers=_headers(token, None))
    assert without.status_code == 403
    assert "give a justification" in without.json()["detail"]
    encoded = quote("dosarul nr. 12, cercetări", safe="")
    with_text = client.get(
        f"/api/persons/{person_id}", headers=_headers(token, encoded)
    )
    assert with_text.status_code == 200
    with database.session() as session:
        last = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "persons.read")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert last is not None
    assert last.justification == "dosarul nr. 12, cercetări"


def test_create_person_checks_idnp(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    token = _token(database, users, clock, "analyst")
    body = {
        "last_name": "Lungu",
        "first_name": "Andrei",
        "categories": ["offender"],
        "birth_date": "02.11.1990",
        "idnp": WRONG_CHECK_DIGIT,
    }
    rejected = client.post("/api/persons", json=body, headers=_headers(token))
    created = client.post(
        "/api/persons", json={**body, "idnp": VALID_IDNP}, headers=_headers(token)
    )
    nul = client.post(
        "/api/persons", json={**body, "last_name": "Lu\x00ngu"}, headers=_headers(token)
    )

    assert rejected.status_code == 422
    (detail,) = rejected.json()["detail"]
    assert detail["loc"] == ["body", "idnp"]
    assert detail["type"] == "check-digit"
    assert "the check digit is 8" in detail["msg"]
    assert created.status_code == 201
    assert created.json()["idnp"] == VALID_IDNP
    assert created.json()["birth_date"] == "1990-11-02"
    assert nul.status_code == 422


def test_unknown_records_not_found(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    token = _token(database, users, clock, "analyst")
    assert client.get("/api/persons/999999", headers=_headers(token)).status_code == 404
    assert client.get("/api/series/999999", headers=_headers(token)).status_code == 404
    too_large = client.get("/api/persons/99999999999", headers=_headers(token))
    assert too_large.status_code == 422
    short = client.get("/api/persons?q=a", headers=_headers(token))
    assert short.status_code == 400


def test_series_list_and_detail(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    with database.session() as session, session.begin():
        media = add_media(session, 2)
        series_id = create_series(session, "Orchard", caller=analyst("setup")).id
        add_series_media(session, "Orchard", media, caller=analyst("setup"))
    token = _token(database, users, clock, "analyst")

    listed = client.get("/api/series", headers=_headers(token, None))
    detail = client.get(f"/api/series/{series_id}", headers=_headers(token, None))

    assert listed.status_code == 200
    assert [(item["id"], item["name"], item["media"]) for item in listed.json()] == [
        (series_id, "Orchard", 2)
    ]
    assert detail.json()["media_ids"] == media
    assert [event["action"] for event in detail.json()["history"]] == [
        "created",
        "media-added",
    ]


def test_roles_enforced(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    token = _token(database, users, clock, "auditor")
    assert client.get("/api/series", headers=_headers(token)).status_code == 403
    assert client.get("/api/persons?q=ion", headers=_headers(token)).status_code == 403
    assert client.get("/api/series").status_code == 401


def test_openapi_describes_records(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/persons"]) == {"get", "post"}
    assert "/api/persons/{person_id}" in paths
    assert "/api/series" in paths
    assert "/api/series/{series_id}" in paths
    parameters = {item["name"] for item in paths["/api/persons"]["get"]["parameters"]}
    assert {"q", "category", "X-Justification"} <= parameters
