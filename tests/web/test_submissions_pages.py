"""Result, submission and case pages: who may read them, what they show, paging.

The submissions are recorded directly (records_helpers), so these tests
run no ingest.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from records_helpers import add_media, add_submission
from scut.db.models import AuditEvent, Case, Occurrence
from scut.db.session import Database
from scut.web.submissions import results
from web.helpers import SteppingClock, Users, sign_in
from web.submissions_helpers import page_token

HOSTILE_PATH = "DCIM/<script>window.scutInjected=1</script>.jpg"
KNOWN_DETAIL = {
    "category": {"scheme": "projectvic", "code": "1"},
    "series": ["Series Alpha"],
    "victim_identified": True,
    "offender_identified": False,
    "matches": [
        {
            "source": "hash-set",
            "hash_set": "partner",
            "how": "md5",
            "distance": 0,
            "series": "Series Alpha",
            "victim_identified": True,
            "offender_identified": False,
        }
    ],
}


def _record(database: Database, files: int = 3, unit: str = "Unit A") -> int:
    """Record a submission of ``files`` files; the first known, one hostile path."""
    with database.session() as session, session.begin():
        media = add_media(session, files)
        submission = add_submission(
            session, media, case="CASE-7", unit=unit, details={media[0]: KNOWN_DETAIL}
        )
        first = session.scalars(
            select(Occurrence).where(Occurrence.media_id == media[0])
        ).one()
        first.verdict = "known"
        last = session.scalars(
            select(Occurrence).where(Occurrence.media_id == media[-1])
        ).one()
        last.path = HOSTILE_PATH
    return submission


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def test_result_page_for_own_unit(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    submission = _record(database)
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    page = client.get(f"/submissions/{submission}/result")
    assert page.status_code == 200
    text = page.text
    assert "Rezultatul verificării transmiterii 1" in text
    assert 'data-verdict="known">1<' in text
    assert 'data-verdict="new">2<' in text
    assert "1 material cu abuz sexual asupra copiilor" in text
    assert "Series Alpha" in text
    assert "setul de hash-uri partner" in text
    assert "&lt;script&gt;window.scutInjected=1&lt;/script&gt;.jpg" in text
    assert "<script>window" not in text
    assert page.headers["cache-control"] == "no-store"
    events = _events(database, "verification.read")
    assert [(event.user, event.outcome) for event in events] == [("sam", "succeeded")]


def test_result_other_unit_denied(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    submission = _record(database)
    users.add("sam", ("submitter",), unit="Unit A")
    sign_in(client, users.add("bob", ("submitter",), unit="Unit B"), clock)
    for suffix in ("result", "result.pdf", "result.json"):
        response = client.get(f"/submissions/{submission}/{suffix}")
        assert response.status_code == 403, suffix
    # A number that does not exist is denied the same way.
    assert client.get("/submissions/999/result").status_code == 403
    events = _events(database, "verification.read")
    assert [(event.user, event.outcome) for event in events] == [("bob", "denied")] * 4


def test_result_missing_for_centre_is_404(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    sign_in(client, users.add("ana", ("analyst",)), clock)
    assert client.get("/submissions/999/result").status_code == 404
    assert client.get("/submissions/0/result").status_code == 400
    assert client.get("/submissions/99999999999/result").status_code == 400


def test_second_pdf_at_once_refused(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    submission = _record(database)
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)

    # Another PDF is being rendered: the semaphore is taken.
    assert results._PDF_RENDERS.acquire(blocking=False)
    try:
        busy = client.get(f"/submissions/{submission}/result.pdf")
    finally:
        results._PDF_RENDERS.release()
    after = client.get(f"/submissions/{submission}/result.pdf")

    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "60"
    assert after.status_code == 200


def test_result_downloads_are_attachments(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    submission = _record(database)
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    pdf = client.get(f"/submissions/{submission}/result.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == (
        f'attachment; filename="submission-{submission}-result.pdf"'
    )
    assert pdf.content.startswith(b"%PDF-")
    document = client.get(f"/submissions/{submission}/result.json")
    assert document.headers["content-type"] == "application/json"
    assert document.headers["content-disposition"] == (
        f'attachment; filename="submission-{submission}-result.json"'
    )
    report = json.loads(document.text)
    assert report["submission"] == submission
    assert report["by_verdict"]["known"] == 1
    assert {line["path"] for line in report["lines"]} >= {HOSTILE_PATH}
    uploads = [path.name for path in (users.settings.data_dir / "uploads").iterdir()]
    assert all(name.endswith(".lock") for name in uploads)


def test_result_files_paged(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    submission = _record(database, files=130)
    sign_in(client, users.add("ana", ("analyst",)), clock)
    first = client.get(f"/submissions/{submission}/result").text
    assert first.count('class="file-line"') == 100
    assert "Pagina 1 din 2" in first
    assert 'href="?page=2"' in first
    second = client.get(f"/submissions/{submission}/result?page=2").text
    assert second.count('class="file-line"') == 30
    assert 'href="?page=1"' in second
    beyond = client.get(f"/submissions/{submission}/result?page=9").text
    assert beyond.count('class="file-line"') == 30


def test_result_page_in_russian_and_english(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    submission = _record(database)
    sign_in(client, users.add("ana", ("analyst",)), clock)
    russian = client.get(
        f"/submissions/{submission}/result", headers={"accept-language": "ru"}
    ).text
    assert "Результат проверки передачи 1" in russian
    assert "набор хешей partner" in russian
    english = client.get(
        f"/submissions/{submission}/result", headers={"accept-language": "en"}
    ).text
    assert "Verification result of submission 1" in english
    assert "1 child abuse material" in english
    assert "<td>yes</td><td>no</td>" in english


def test_submission_page_paged_and_filtered(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    submission = _record(database, files=130)
    sign_in(client, users.add("ana", ("analyst",)), clock)
    first = client.get(f"/submissions/{submission}")
    assert first.status_code == 200
    assert first.text.count('class="file-line"') == 100
    assert "Pagina 1 din 2" in first.text
    assert "&lt;script&gt;" not in first.text  # the hostile path sorts last
    second = client.get(f"/submissions/{submission}?page=2").text
    assert second.count('class="file-line"') == 30
    assert "&lt;script&gt;window.scutInjected=1&lt;/script&gt;.jpg" in second
    known = client.get(f"/submissions/{submission}?verdict=known").text
    assert known.count('class="file-line"') == 1
    assert 'data-verdict="known"' in known
    assert "/cases/CASE-7" in known
    unknown_filter = client.get(f"/submissions/{submission}?verdict=bogus").text
    assert unknown_filter.count('class="file-line"') == 100
    assert client.get("/submissions/999").status_code == 404
    events = _events(database, "submissions.read")
    assert len(events) == 4
    assert all(json.loads(event.object_ids) == [str(submission)] for event in events)


def test_case_pages_and_status(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record(database)
    sign_in(client, users.add("ana", ("analyst",)), clock)
    cases = client.get("/cases")
    assert cases.status_code == 200
    assert 'href="/cases/CASE-7"' in cases.text

    case = client.get("/cases/CASE-7")
    assert case.status_code == 200
    assert 'id="case-status">Deschis<' in case.text
    assert 'href="/submissions/1"' in case.text
    assert "E1" in case.text

    closed = client.post(
        "/cases/status",
        data={
            "reference": "CASE-7",
            "status": "closed",
            "csrf_token": page_token(client),
        },
    )
    assert closed.status_code == 303
    assert closed.headers["location"] == "/cases/CASE-7"
    assert 'id="case-status">Închis<' in client.get("/cases/CASE-7").text
    with database.session() as session:
        assert session.scalars(select(Case.status)).one() == "closed"

    assert client.get("/cases/NO-SUCH-CASE").status_code == 404
    assert (
        client.post(
            "/cases/status", data={"reference": "CASE-7", "status": "reopened"}
        ).status_code
        == 403
    )


def test_case_reference_with_slash(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    with database.session() as session, session.begin():
        add_submission(session, add_media(session, 1), case="2026/17 <b>")
    sign_in(client, users.add("ana", ("analyst",)), clock)
    listing = client.get("/cases").text
    assert 'href="/cases/2026%2F17%20%3Cb%3E"' in listing
    assert "2026/17 &lt;b&gt;" in listing
    page = client.get("/cases/2026%2F17%20%3Cb%3E")
    assert page.status_code == 200
    assert "2026/17 &lt;b&gt;" in page.text


def test_centre_pages_denied_to_submitter(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    submission = _record(database)
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    for path in ("/cases", "/cases/CASE-7", f"/submissions/{submission}"):
        assert client.get(path).status_code == 403, path
    dashboard = client.get("/dashboard").text
    assert 'href="/submissions/new"' in dashboard
    assert 'href="/cases"' not in dashboard


def test_submission_list_by_unit(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record(database, unit="Unit A")
    with database.session() as session, session.begin():
        add_submission(
            session, add_media(session, 1, start=50), case="CASE-8", unit="Unit B"
        )
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    listing = client.get("/submissions").text
    assert 'href="/submissions/1/result"' in listing
    assert 'href="/submissions/2/result"' not in listing
    assert 'href="/submissions/1"' not in listing


def test_submission_list_for_centre(
    app: FastAPI, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record(database, unit="Unit A")
    with TestClient(
        app, base_url="https://testserver", follow_redirects=False
    ) as client:
        sign_in(client, users.add("ana", ("analyst",)), clock)
        listing = client.get("/submissions").text
    assert 'href="/submissions/1/result"' in listing
    assert 'href="/submissions/1"' in listing


HEADINGS = {
    "/submissions": {"ro": "Transmiteri", "en": "Submissions", "ru": "Передачи"},
    "/submissions/new": {
        "ro": "Trimiteți materiale",
        "en": "Send material",
        "ru": "Отправить материалы",
    },
    "/submissions/1/result": {
        "ro": "Rezultatul verificării transmiterii 1",
        "en": "Verification result of submission 1",
        "ru": "Результат проверки передачи 1",
    },
    "/submissions/1": {
        "ro": "Transmiterea 1",
        "en": "Submission 1",
        "ru": "Передача 1",
    },
    "/cases": {"ro": "Dosare", "en": "Cases", "ru": "Дела"},
    "/cases/CASE-7": {
        "ro": "Dosarul CASE-7",
        "en": "Case CASE-7",
        "ru": "Дело CASE-7",
    },
}


def test_pages_in_each_language(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    _record(database)
    sign_in(client, users.add("ana", ("analyst",), unit="Centre"), clock)
    for path, headings in HEADINGS.items():
        for language, heading in headings.items():
            response = client.get(path, headers={"accept-language": language})
            assert response.status_code == 200, (path, language)
            assert f'<html lang="{language}">' in response.text
            assert f"<h1>{heading}</h1>" in response.text, (path, language)
