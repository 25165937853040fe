"""Person pages over HTTP: the justification, the forms and their errors, search.

Every test runs on SQLite and on PostgreSQL. Every person is invented and
every IDNP computed to pass, or on purpose to fail, the check-digit rule.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import select

from records_helpers import analyst
from scut.db.models import AuditEvent, Person
from scut.db.session import Database
from scut.persons.service import PersonInput, create_person
from scut.series.service import create_series
from web.helpers import SteppingClock, Users, sign_in
from web.records_pages import (
    JUSTIFICATION,
    VALID_IDNP,
    WRONG_CHECK_DIGIT,
    analyst_client,
    english,
    field_errors,
    give_justification,
    token_of,
)

PERSON_FIELDS = {
    "last_name": "Cîrlan",
    "first_name": "Ion",
    "patronymic": "Petru",
    "categories": ["victim"],
    "gender": "male",
    "nationality": "MD",
    "birth_date": "05.2011",
    "birth_place": "Orhei",
    "idnp": "",
    "notes": "",
}


def _form(client: TestClient, path: str = "/persons/new", **fields: object) -> dict:
    return {"csrf_token": token_of(client, path), **PERSON_FIELDS, **fields}


def _record(database: Database, last: str, first: str, **fields: object) -> int:
    with database.session() as session, session.begin():
        person = create_person(
            session,
            PersonInput(last_name=last, first_name=first, **fields),  # type: ignore[arg-type]
            caller=analyst("setup"),
        )
        return person.id


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


# -- the justification ---------------------------------------------------------


def test_person_page_asks_justification_first(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    person_id = _record(database, "Rusu", "Ana", categories=["victim"])
    analyst_client(client, users, clock, justify=False)

    response = client.get(f"/persons/{person_id}")

    assert response.status_code == 303
    target = f"/justification?next={quote(f'/persons/{person_id}', safe='')}"
    assert response.headers["location"] == target
    form = client.get(target)
    assert 'name="next" value="/persons/' in form.text
    sent = client.post(
        "/justification",
        data={
            "csrf_token": token_of(client, target),
            "justification": "  CASE-9   child found  ",
            "next": f"/persons/{person_id}",
        },
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/persons/{person_id}"
    assert "set-cookie" not in sent.headers
    page = client.get(f"/persons/{person_id}")
    assert page.status_code == 200
    assert "CASE-9 child found" in page.text
    (read,) = _events(database, "persons.read")[:1]
    assert read.justification == "CASE-9 child found"
    assert json.loads(read.object_ids) == [str(person_id)]


def test_justification_empty_rejected(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    analyst_client(client, users, clock, justify=False)
    response = client.post(
        "/justification",
        data={
            "csrf_token": token_of(client, "/justification"),
            "justification": "   ",
            "next": "/persons",
        },
    )
    assert response.status_code == 400
    assert field_errors(response.text) == {}
    assert "Indicați o referință de caz sau un motiv." in response.text
    assert client.get("/persons").status_code == 303


def test_justification_next_stays_on_site(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    analyst_client(client, users, clock, justify=False)
    for target in ("https://elsewhere.example/", "//elsewhere.example", "/\\x"):
        response = client.post(
            "/justification",
            data={
                "csrf_token": token_of(client, "/justification"),
                "justification": JUSTIFICATION,
                "next": target,
            },
        )
        assert response.headers["location"] == "/persons", target


def test_new_session_asks_again(
    client: TestClient, users: Users, clock: SteppingClock, app: object
) -> None:
    user = users.add("ana", ("analyst",))
    sign_in(client, user, clock)
    give_justification(client)
    assert client.get("/persons").status_code == 200
    client.post("/sign-out", data={"csrf_token": token_of(client)})
    sign_in(client, user, clock)
    assert client.get("/persons").status_code == 303


def test_auditor_denied_before_justification(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    analyst_client(client, users, clock, roles=("auditor",), justify=False)
    response = client.get("/persons")
    assert response.status_code == 403
    denied = _events(database, "persons.search")
    assert [event.outcome for event in denied] == ["denied"]
    assert client.get("/convicted").status_code == 403
    assert client.get("/series").status_code == 403


def test_results_fragment_redirects_htmx(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    analyst_client(client, users, clock, justify=False)
    response = client.get(
        "/persons/results?q=ion",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "https://testserver/persons?q=io",
        },
    )
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == (
        "/justification?next=" + quote("/persons?q=io", safe="")
    )


# -- recording a person --------------------------------------------------------


def test_invalid_idnp_error_in_each_language(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    analyst_client(client, users, clock)

    response = client.post("/persons/new", data=_form(client, idnp=WRONG_CHECK_DIGIT))

    assert response.status_code == 400
    errors = field_errors(response.text)
    assert errors["idnp"] == (
        "Cifra de control este 8, dar primele douăsprezece cifre dau 9. "
        "Verificați dacă nu ați tastat greșit o cifră."
    )
    assert set(errors) == {"idnp"}
    assert f'value="{WRONG_CHECK_DIGIT}"' in response.text
    assert 'value="Cîrlan"' in response.text
    client.cookies.set("scut_language", "ru")
    russian = client.post("/persons/new", data=_form(client, idnp=WRONG_CHECK_DIGIT))
    assert field_errors(russian.text)["idnp"].startswith("Контрольная цифра — 8")
    english(client)
    other = client.post("/persons/new", data=_form(client, idnp="2002042"))
    assert field_errors(other.text)["idnp"] == (
        "An IDNP has 13 digits, and this one has 7."
    )
    with database.session() as session:
        assert session.scalars(select(Person)).all() == []


def test_every_invalid_field_shown_at_once(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    analyst_client(client, users, clock)
    english(client)
    response = client.post(
        "/persons/new",
        data=_form(
            client,
            last_name=" ",
            categories=[],
            birth_date="31.02.2010",
            nationality="XX",
            idnp="1002042123456",
        ),
    )
    errors = field_errors(response.text)
    assert errors == {
        "categories": "Choose at least one category.",
        "last_name": "Fill in this field.",
        "birth_date": "The month 2010-02 has no day 31.",
        "nationality": (
            "Unknown country code: use an ISO 3166-1 code such as MD, RO, UA or RU."
        ),
        "idnp": (
            "A number that starts with 1 is an organisation's IDNO, not a "
            "person's IDNP."
        ),
    }
    assert 'aria-describedby="error-idnp"' in response.text


def test_future_and_unreadable_dates(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    analyst_client(client, users, clock)
    english(client)
    cases = {
        "2999": "The date is in the future.",
        "13.1990": "There is no month 13.",
        "1850": "The year is before 1900.",
        "yesterday": (
            "Write the date as DD.MM.YYYY or YYYY-MM-DD, or only the month and "
            "year (MM.YYYY, YYYY-MM) or the year (YYYY)."
        ),
    }
    for typed, expected in cases.items():
        response = client.post("/persons/new", data=_form(client, birth_date=typed))
        assert field_errors(response.text) == {"birth_date": expected}, typed


def test_name_without_letters_from_service(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    analyst_client(client, users, clock)
    english(client)
    response = client.post("/persons/new", data=_form(client, first_name="1234"))
    assert response.status_code == 400
    assert field_errors(response.text) == {"first_name": "A name must contain letters."}


def test_duplicate_idnp_names_holder(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    holder = _record(
        database, "Lungu", "Andrei", categories=["offender"], idnp=VALID_IDNP
    )
    analyst_client(client, users, clock)
    english(client)
    response = client.post("/persons/new", data=_form(client, idnp=VALID_IDNP))
    assert field_errors(response.text) == {
        "idnp": f"This IDNP is already recorded for person {holder}."
    }


def test_create_person_and_show_it(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    analyst_client(client, users, clock)
    english(client)
    response = client.post(
        "/persons/new",
        data=_form(client, idnp=VALID_IDNP, categories=["victim", "witness"]),
    )
    assert response.status_code == 303
    person_id = int(response.headers["location"].rsplit("/", 1)[1])

    page = client.get(f"/persons/{person_id}")

    assert page.status_code == 200
    assert f'<dd class="idnp">{VALID_IDNP}</dd>' in page.text
    assert '<dd class="birth-date">May 2011</dd>' in page.text
    assert "Moldova (MD)" in page.text
    assert "Victim" in page.text
    assert "Witness" in page.text
    assert "Recorded" in page.text
    (created,) = _events(database, "persons.create")
    assert created.justification == JUSTIFICATION
    assert json.loads(created.object_ids) == [str(person_id)]


def test_unknown_person_not_found(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    analyst_client(client, users, clock)
    assert client.get("/persons/999999").status_code == 404
    assert client.get("/persons/999999/edit").status_code == 404
    assert client.get("/persons/99999999999").status_code == 400
    assert client.get("/persons/abc").status_code == 404


def test_markup_in_name_shown_as_text(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    person_id = _record(
        database, "<script>alert(1)</script>", "<b>Ion</b>", categories=["victim"]
    )
    analyst_client(client, users, clock)
    page = client.get(f"/persons/{person_id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<b>Ion</b>" not in page.text


# -- changing a person ---------------------------------------------------------


def test_edit_fields_and_categories(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    person_id = _record(database, "Rusu", "Ana", categories=["victim"])
    analyst_client(client, users, clock)
    path = f"/persons/{person_id}/edit"
    form = client.get(path)
    assert 'value="Rusu"' in form.text

    response = client.post(
        path,
        data=_form(
            client,
            path,
            last_name="Rusu-Ceban",
            first_name="Ana",
            patronymic="",
            categories=["witness", "suspect"],
            idnp=VALID_IDNP,
            birth_date="2010",
        ),
    )

    assert response.status_code == 303
    with database.session() as session:
        person = session.get_one(Person, person_id)
        assert (person.last_name, person.idnp, person.birth_year) == (
            "Rusu-Ceban",
            VALID_IDNP,
            2010,
        )
    page = client.get(f"/persons/{person_id}")
    english(client)
    page = client.get(f"/persons/{person_id}")
    assert "Suspect" in page.text
    assert "Witness" in page.text
    assert 'category-victim"' not in page.text
    assert "Rusu Ana" in page.text  # the old name stays as an alias


def test_edit_wrong_check_digit_keeps_record(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    person_id = _record(database, "Rusu", "Ana", categories=["victim"])
    analyst_client(client, users, clock)
    path = f"/persons/{person_id}/edit"
    response = client.post(
        path, data=_form(client, path, last_name="Rusu", idnp=WRONG_CHECK_DIGIT)
    )
    assert response.status_code == 400
    assert "idnp" in field_errors(response.text)
    with database.session() as session:
        assert session.get_one(Person, person_id).idnp is None


def test_add_name_address_and_identification(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    person_id = _record(database, "Cîrlan", "Ion", categories=["victim"])
    analyst_client(client, users, clock)
    english(client)
    base = f"/persons/{person_id}"
    token = token_of(client, base)

    named = client.post(
        f"{base}/names",
        data={
            "csrf_token": token,
            "kind": "spelling",
            "last_name": "Кирлан",
            "first_name": "Иван",
        },
    )
    addressed = client.post(
        f"{base}/addresses",
        data={
            "csrf_token": token,
            "kind": "residence",
            "address": "str. Ștefan cel Mare 1",
            "locality": "Orhei",
            "country": "MD",
        },
    )
    missing_by = client.post(
        f"{base}/identification",
        data={"csrf_token": token, "identified": "yes", "identified_by": ""},
    )
    bad_date = client.post(
        f"{base}/identification",
        data={
            "csrf_token": token,
            "identified": "yes",
            "identified_on": "32.01.2024",
            "identified_by": "IP Orhei",
        },
    )
    identified = client.post(
        f"{base}/identification",
        data={
            "csrf_token": token,
            "identified": "yes",
            "identified_on": "03.02.2024",
            "identified_by": "IP Orhei",
        },
    )

    assert (named.status_code, addressed.status_code) == (303, 303)
    assert missing_by.status_code == 400
    assert field_errors(missing_by.text) == {
        "identified_by": "Name the unit or foreign state that identified the person."
    }
    assert field_errors(bad_date.text) == {
        "identified_on": "The month 2024-01 has no day 32."
    }
    assert identified.status_code == 303
    page = client.get(base)
    assert "Кирлан Иван" in page.text
    assert "str. Ștefan cel Mare 1" in page.text
    assert "Identified, Feb 3, 2024, IP Orhei" in page.text
    assert "Address added" in page.text


def test_link_to_series(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    person_id = _record(database, "Cîrlan", "Ion", categories=["victim"])
    with database.session() as session, session.begin():
        series_id = create_series(session, "Orchard", caller=analyst("setup")).id
    analyst_client(client, users, clock)
    english(client)
    base = f"/persons/{person_id}"

    unknown = client.post(
        f"{base}/links",
        data={"csrf_token": token_of(client, base), "role": "victim", "series": "Nope"},
    )
    linked = client.post(
        f"{base}/links",
        data={
            "csrf_token": token_of(client, base),
            "role": "victim",
            "series": "Orchard",
        },
    )

    assert unknown.status_code == 400
    assert "The change was not accepted." in unknown.text
    assert "no series named or numbered &#39;Nope&#39;" in unknown.text
    assert linked.status_code == 303
    page = client.get(base)
    assert f'<a href="/series/{series_id}">Orchard</a>' in page.text
    links = _events(database, "persons.link")
    assert [event.justification for event in links] == [JUSTIFICATION]


# -- search --------------------------------------------------------------------


def test_search_folds_names_and_masks_idnp(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    ion = _record(database, "Cîrlan", "Ion", categories=["victim"], idnp=VALID_IDNP)
    ioan = _record(database, "Munteanu", "Ioan", categories=["offender"])
    ivan = _record(database, "Петров", "Иван", categories=["witness"])
    other = _record(database, "Rusu", "Maria", categories=["victim"])
    analyst_client(client, users, clock)

    page = client.get("/persons?q=ion")

    assert page.status_code == 200
    for person_id in (ion, ioan, ivan):
        assert f'href="/persons/{person_id}"' in page.text
    assert f'href="/persons/{other}"' not in page.text
    assert VALID_IDNP not in page.text
    assert "*********3459" in page.text
    fragment = client.get("/persons/results?q=ion&category=offender")
    assert "<html" not in fragment.text
    assert f'href="/persons/{ioan}"' in fragment.text
    assert f'href="/persons/{ion}"' not in fragment.text
    searches = _events(database, "persons.search")
    assert [event.justification for event in searches] == [JUSTIFICATION] * 2


def test_search_needs_two_letters(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    analyst_client(client, users, clock)
    english(client)
    short = client.get("/persons/results?q=i")
    assert "Type at least two letters of a last or first name." in short.text
    empty = client.get("/persons")
    assert "Type at least" not in empty.text
    assert _events(database, "persons.search") == []
    wrong = client.get("/persons/results?q=ion&category=pilot")
    assert "The search could not run." in wrong.text
    assert "unknown category" in wrong.text
