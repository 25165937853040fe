"""The audit log page: filters, paging, event fields, masking, and the chain check.

Every IDNP here is invented and passes the check-digit rule.
"""

from __future__ import annotations

import datetime as dt
import html

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from records_helpers import analyst
from scut.db.models import AuditEvent
from scut.db.session import Database
from scut.persons.service import PersonInput, create_person, update_person
from scut.security.audit import record_event
from scut.security.caller import Caller
from scut.web.admin.audit import mask_idnp_shaped
from web.admin_helpers import actions, post, post_forms_without_token, signed_in
from web.helpers import SteppingClock, Users, WebUser

IDNP_A = "2002042123459"
IDNP_B = "2003045123457"


@pytest.fixture
def auditor(
    client: TestClient, users: Users, clock: SteppingClock
) -> tuple[TestClient, WebUser]:
    """The test client, signed in as an auditor."""
    return signed_in(client, users, clock, "olga", ("auditor",))


def _events(database: Database, count: int, action: str = "test.event") -> None:
    caller = Caller(user="robot", roles=frozenset({"analyst"}), source="10.0.0.9")
    with database.session() as session, session.begin():
        for number in range(count):
            record_event(
                session,
                caller,
                action,
                outcome="succeeded",
                object_type="thing",
                object_ids=[str(number)],
                detail={"number": number},
            )


def _shown_ids(page_text: str) -> list[int]:
    return [int(part.split('"')[0]) for part in page_text.split('data-event="')[1:]]


def test_audit_page_shows_sign_ins(
    auditor: tuple[TestClient, WebUser], users: Users, clock: SteppingClock
) -> None:
    client, _ = auditor
    page = client.get("/audit", params={"action": "auth.sign"})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<code>auth.sign-in</code>" in page.text
    assert 'class="event-user">olga' in page.text
    assert "Reușit" in page.text
    assert "Toate câmpurile evenimentului" in page.text
    assert post_forms_without_token(page.text) == []


def test_filters_narrow_the_events(
    auditor: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = auditor
    _events(database, 3)
    _events(database, 2, action="other.event")
    by_action = client.get("/audit", params={"action": "test."})
    assert by_action.text.count("<code>test.event</code>") == 3
    assert "<code>other.event</code>" not in by_action.text

    by_user = client.get("/audit", params={"user": "ROB", "action": "other"})
    assert by_user.text.count("<code>other.event</code>") == 2

    by_object = client.get("/audit", params={"object_id": "1", "action": "test."})
    assert by_object.text.count("<code>test.event</code>") == 1

    denied = client.get("/audit", params={"outcome": "denied"})
    assert "Niciun eveniment nu corespunde filtrelor." in denied.text


def test_date_range_in_local_days(
    auditor: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = auditor
    _events(database, 1)
    # Move the event to 23:30 UTC on 1 March 2026, which is 01:30 on
    # 2 March in Chisinau (UTC+2).
    moment = dt.datetime(2026, 3, 1, 23, 30)
    with database.session() as session:
        event_id = session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "test.event")
        )
    _set_time(database, event_id, moment)

    first = client.get(
        "/audit",
        params={"action": "test.", "since": "2026-03-01", "until": "2026-03-01"},
    )
    assert "<code>test.event</code>" not in first.text
    second = client.get(
        "/audit",
        params={"action": "test.", "since": "2026-03-02", "until": "2026-03-02"},
    )
    assert "<code>test.event</code>" in second.text

    reversed_range = client.get(
        "/audit", params={"since": "2026-03-02", "until": "2026-03-01"}
    )
    assert reversed_range.status_code == 400
    assert 'id="until-error"' in reversed_range.text
    bad = client.get("/audit", params={"since": "02.03.2026"})
    assert bad.status_code == 400
    assert 'id="since-error"' in bad.text


def _set_time(database: Database, event_id: int | None, moment: dt.datetime) -> None:
    """Change an event's time after turning off the append-only guards.

    The change breaks the hash chain at that event.
    """
    with database.engine.begin() as connection:
        if database.engine.url.get_backend_name() == "sqlite":
            connection.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        else:
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(
            text("UPDATE audit_events SET at = :at WHERE id = :id"),
            {"at": moment, "id": event_id},
        )


def test_pages_of_fifty(
    auditor: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = auditor
    _events(database, 120)
    first = client.get("/audit", params={"action": "test."})
    shown = _shown_ids(first.text)
    assert len(shown) == 50
    assert shown == sorted(shown, reverse=True)
    assert 'rel="next"' in first.text
    assert 'rel="prev"' not in first.text

    third = client.get("/audit", params={"action": "test.", "page": 3})
    third_ids = _shown_ids(third.text)
    assert len(third_ids) == 20
    assert max(third_ids) < min(shown)
    assert 'rel="next"' not in third.text
    assert "action=test." in third.text.split('rel="prev" href="')[1].split('"')[0]


def test_reads_are_audited(
    auditor: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = auditor
    client.get("/audit", params={"action": "auth."})
    with database.session() as session:
        read = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "audit.read")
        ).one()
    assert read.user == "olga"
    assert read.detail["filters"]["action"] == "auth.*"


def test_event_fields_mask_idnps(
    auditor: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = auditor
    typed = f"check of IDNP {IDNP_B} for case 12/2026"
    data = PersonInput("Ceban", "Ion", ["offender"], idnp=IDNP_A)
    with database.session() as session, session.begin():
        person = create_person(session, data, caller=analyst("ana", typed))
        update_person(
            session, person.id, {"idnp": IDNP_B}, caller=analyst("ana", typed)
        )
    page = client.get("/audit", params={"action": "persons."})
    shown = html.unescape(page.text)
    assert "<code>persons.create</code>" in shown
    assert "check of IDNP *********3457 for case 12/2026" in shown
    for idnp in (IDNP_A, IDNP_B):
        assert idnp not in shown
    events = client.get("/audit")
    assert IDNP_B not in html.unescape(events.text)


def test_mask_leaves_hashes_and_ids() -> None:
    digest = "a" + "2002042123459" + "b" * 50
    assert mask_idnp_shaped(digest) == digest
    assert mask_idnp_shaped("ids 17, 1767225600000") == "ids 17, 1767225600000"
    assert mask_idnp_shaped("idnp=2002042123459;") == "idnp=*********3459;"


def test_chain_check_result(
    auditor: tuple[TestClient, WebUser], database: Database
) -> None:
    client, _ = auditor
    intact = post(client, "/audit/verify", headers={"HX-Request": "true"})
    assert intact.status_code == 200
    assert intact.text.startswith('<div id="chain-check"')
    assert "Jurnalul este intact" in intact.text

    _events(database, 2)
    with database.session() as session:
        event_id = session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "test.event")
        )
    _set_time(database, event_id, dt.datetime(2020, 1, 1))
    broken = post(client, "/audit/verify")
    assert broken.status_code == 200
    assert f"Jurnalul a fost alterat la evenimentul {event_id}." in broken.text
    assert "a fost modificat după ce a fost scris" in broken.text
    assert actions(database, "audit.verify") == [
        ("audit.verify", "succeeded"),
        ("audit.verify", "failed"),
    ]


def test_audit_page_denied_to_admin(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    signed_in(client, users, clock, "dana", ("admin",))
    assert 'href="/audit"' not in client.get("/dashboard").text
    assert client.get("/audit").status_code == 403
    assert ("audit.read", "denied") in actions(database, "audit.")
