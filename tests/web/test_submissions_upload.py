"""Sending material through the form: upload, limits, CSRF, job folders, names.

Uploads go through the test client as the form's script sends them, and
each ingest runs in the application's job thread on the test database
(SQLite and PostgreSQL).
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from records_helpers import add_media, add_submission
from scut.db.models import AuditEvent, Exhibit, Occurrence, Submission
from scut.db.session import Database
from scut.ingest.records import Origin
from scut.security.caller import Caller
from scut.settings import Settings
from scut.web.submissions.jobs import Job, JobRunner
from web.helpers import SteppingClock, Users, csrf_of, sign_in
from web.submissions_helpers import (
    ORIGIN,
    files_field,
    job_folders,
    page_token,
    picture,
    send,
    wait_for_job,
    zip_bytes,
)

HOSTILE_NAME = "<img src=x onerror=alert(1)>.jpg"


@pytest.fixture
def limited_client(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """A client of the application started with limits of 2,000 bytes and 3 files."""
    monkeypatch.setenv("SCUT_WEB_UPLOAD_MAX_BYTES", "2000")
    monkeypatch.setenv("SCUT_WEB_UPLOAD_MAX_FILES", "3")
    with TestClient(
        app, base_url="https://testserver", follow_redirects=False
    ) as test_client:
        yield test_client


def _submissions(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Submission)) or 0


def _audit(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def test_upload_ingested_then_folder_removed(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    form = client.get("/submissions/new")
    assert form.status_code == 200
    assert 'id="unit-name">Unit A<' in form.text
    assert 'name="unit"' not in form.text
    files = {
        "pictures/one.jpg": picture(1, exif=True),
        "pictures/two.jpg": picture(2),
        "bundle.zip": zip_bytes({"inner/three.jpg": picture(3)}),
        HOSTILE_NAME: picture(4),
        "../escape.jpg": picture(5),
    }
    # A submitter sends for their own unit, whatever the unit field contains.
    response = send(client, files, unit="Another Unit")
    assert response.status_code == 303, response.text
    job_path = response.headers["location"]
    assert job_path.startswith("/submissions/jobs/")
    progress = client.get(job_path)
    assert progress.status_code == 200
    assert 'hx-trigger="every 1s"' in progress.text

    done = wait_for_job(client, job_path)
    target = done.headers["HX-Redirect"]
    assert target.startswith("/submissions/1/result?job=")
    assert "hx-trigger" not in done.text
    assert job_folders(settings) == []
    assert not (settings.data_dir / "escape.jpg").exists()
    assert not (tmp_path / "escape.jpg").exists()

    result = client.get(target)
    assert result.status_code == 200
    assert "pictures/one.jpg" in result.text
    assert "bundle.zip/inner/three.jpg" in result.text
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in result.text
    assert "<img src=x" not in result.text
    assert "../escape.jpg" in result.text
    assert "climbs out of the upload" in result.text

    with database.session() as session:
        paths = set(session.scalars(select(Occurrence.path)))
        submission = session.scalars(select(Submission)).one()
        exhibit = session.scalars(select(Exhibit)).one()
    assert paths == {
        "pictures/one.jpg",
        "pictures/two.jpg",
        "bundle.zip",
        "bundle.zip/inner/three.jpg",
        HOSTILE_NAME,
    }
    assert submission.legal_basis == ORIGIN["legal_basis"]
    assert submission.officer == ORIGIN["officer"]
    assert submission.seizure_date is not None
    assert submission.seizure_date.isoformat() == ORIGIN["seizure_date"]
    assert exhibit.label == ORIGIN["exhibit"]
    assert exhibit.device == ORIGIN["device"]
    events = _audit(database, "ingest.run")
    assert [(event.user, event.outcome) for event in events] == [("sam", "succeeded")]


def test_bad_archive_reported_rest_ingested(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    users.add("sam", ("submitter",), unit="Unit A")
    sign_in(client, users.add("ana", ("analyst",), unit="Centre"), clock)
    good = zip_bytes({"a.jpg": picture(6), "b.jpg": picture(7)})
    files = {
        # Cut in half, it keeps the zip signature and loses its directory.
        "broken.zip": zip_bytes({"c.jpg": picture(9)})[:4000],
        "good.zip": good,
        "loose.jpg": picture(8),
    }
    response = send(client, files, unit="Unit A")
    assert response.status_code == 303, response.text
    done = wait_for_job(client, response.headers["location"])
    assert "HX-Redirect" in done.headers, done.text
    assert job_folders(settings) == []

    result = client.get(done.headers["HX-Redirect"])
    assert "broken.zip" in result.text
    assert "good.zip/a.jpg" in result.text
    assert "good.zip/b.jpg" in result.text
    assert "loose.jpg" in result.text
    errors = result.text.split('class="file-errors"')[1].split("</table>")[0]
    assert "broken.zip" in errors
    assert "<td>archive</td>" in errors
    assert "good.zip" not in errors

    page = client.get("/submissions/1")
    assert page.status_code == 200
    listed = page.text.split('class="file-errors"')[1].split("</table>")[0]
    assert "broken.zip" in listed
    with database.session() as session:
        verdicts = dict(
            session.execute(select(Occurrence.path, Occurrence.verdict)).all()
        )
        unit = session.scalars(select(Submission)).one().unit.name
    assert unit == "Unit A"
    for path in ("good.zip/a.jpg", "good.zip/b.jpg", "loose.jpg"):
        assert verdicts[path] == "new"


def test_failed_jobs_remove_their_folders(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    with database.session() as session, session.begin():
        add_submission(session, add_media(session, 1), case="CASE-7", unit="Unit A")
    sam = users.add("sam", ("submitter",), unit="Unit B")
    sign_in(client, sam, clock)
    # Exhibit E1 of CASE-7 was sent by Unit A: Unit B may not add to it.
    response = send(client, {"a.jpg": picture(1)}, exhibit="E1")
    assert response.status_code == 303, response.text
    failed = wait_for_job(client, response.headers["location"])
    assert "job-failed" in failed.text
    assert "HX-Redirect" not in failed.headers
    assert "may act only on the records of their own unit" in failed.text
    assert job_folders(settings) == []
    denials = _audit(database, "ingest.run")
    assert [(event.user, event.outcome) for event in denials] == [("sam", "denied")]

    client.post("/sign-out", headers={"X-CSRF-Token": page_token(client)})
    sign_in(client, users.add("ana", ("analyst",), unit="Centre"), clock)
    # An analyst may send for any unit, but the exhibit belongs to Unit A.
    response = send(client, {"a.jpg": picture(1)}, exhibit="E1", unit="Unit B")
    assert response.status_code == 303, response.text
    failed = wait_for_job(client, response.headers["location"])
    assert "job-failed" in failed.text
    assert "was sent by &#39;Unit A&#39;" in failed.text
    assert job_folders(settings) == []
    assert _submissions(database) == 1


def test_upload_over_byte_limit(
    limited_client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    sign_in(limited_client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    token = page_token(limited_client)
    declared = send(limited_client, {"a.bin": b"a" * 1500, "b.bin": b"b" * 1500})
    assert declared.status_code == 413
    assert 'id="upload-rejected"' in declared.text
    assert 'value="Order 17/2026"' in declared.text

    # Without a Content-Length, the limit stops the body as it streams.
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="files"; filename="a.bin"\r\n\r\n'
        + b"a" * 2500
        + b"\r\n--XyZ--\r\n"
    )
    streamed = limited_client.post(
        "/submissions",
        content=iter([body[:1000], body[1000:]]),
        headers={
            "X-CSRF-Token": token,
            "Content-Type": "multipart/form-data; boundary=XyZ",
        },
    )
    assert streamed.status_code == 413
    assert 'id="upload-rejected"' in streamed.text
    assert job_folders(settings) == []
    assert _submissions(database) == 0


def test_upload_over_file_limit(
    limited_client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    sign_in(limited_client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    files = {f"{number}.bin": b"x" for number in range(4)}
    response = send(limited_client, files)
    assert response.status_code == 413
    assert 'id="upload-rejected"' in response.text
    assert job_folders(settings) == []
    assert _submissions(database) == 0


def test_form_shows_limits(
    limited_client: TestClient, users: Users, clock: SteppingClock
) -> None:
    sign_in(limited_client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    form = limited_client.get("/submissions/new").text
    assert 'data-max-bytes="2000"' in form
    assert 'data-max-files="3"' in form


def test_upload_needs_csrf_token(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    files = files_field({"a.jpg": picture(1)})
    missing = client.post("/submissions", data=ORIGIN, files=files)
    assert missing.status_code == 403
    assert "Formularul a expirat" in missing.text
    wrong = client.post(
        "/submissions", data=ORIGIN, files=files, headers={"X-CSRF-Token": "0" * 64}
    )
    assert wrong.status_code == 403
    in_field = client.post(
        "/submissions",
        data={**ORIGIN, "csrf_token": "0" * 64},
        files=files,
    )
    assert in_field.status_code == 403
    assert job_folders(settings) == []
    assert _submissions(database) == 0


def test_invalid_origin_keeps_values_writes_nothing(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    response = send(
        client,
        {"a.jpg": picture(1)},
        legal_basis="",
        seizure_date="2999-01-01",
        officer="<b>Ion</b>",
    )
    assert response.status_code == 400
    assert 'id="legal_basis-error"' in response.text
    assert (
        'id="seizure_date-error">Data ridicării nu poate fi în viitor.<'
        in response.text
    )
    assert 'value="&lt;b&gt;Ion&lt;/b&gt;"' in response.text
    assert job_folders(settings) == []

    # A file input left empty sends a part without a file name.
    no_files = send(client, {"": b""})
    assert no_files.status_code == 400
    assert 'id="files-error"' in no_files.text

    all_rejected = send(client, {"../a.jpg": b"x", "/etc/b.jpg": b"y"})
    assert all_rejected.status_code == 400
    assert 'id="files-error"' in all_rejected.text
    assert "../a.jpg" in all_rejected.text
    assert "/etc/b.jpg" in all_rejected.text
    assert job_folders(settings) == []
    assert _submissions(database) == 0


def test_malformed_uploads_rejected(
    client: TestClient, users: Users, clock: SteppingClock, settings: Settings
) -> None:
    sign_in(client, users.add("sam", ("submitter",), unit="Unit A"), clock)
    token = page_token(client)
    headers = {"X-CSRF-Token": token}
    not_multipart = client.post("/submissions", data=ORIGIN, headers=headers)
    assert not_multipart.status_code == 400
    truncated = client.post(
        "/submissions",
        content=b'--XyZ\r\nContent-Disposition: form-data; name="files"; '
        b'filename="a.jpg"\r\n\r\npartial',
        headers={**headers, "Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert truncated.status_code == 400
    other_field = client.post(
        "/submissions",
        files=[("evidence", ("a.jpg", b"x", "image/jpeg"))],
        headers=headers,
    )
    assert other_field.status_code == 400
    long_boundary = client.post(
        "/submissions",
        content=b"--" + b"B" * 300 + b"--\r\n",
        headers={
            **headers,
            "Content-Type": "multipart/form-data; boundary=" + "B" * 300,
        },
    )
    assert long_boundary.status_code == 400
    for response in (not_multipart, truncated, other_field, long_boundary):
        assert 'id="upload-rejected"' in response.text
    assert job_folders(settings) == []


def test_stale_job_folders_removed_at_start(
    app: FastAPI, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    uploads = settings.data_dir / "uploads"
    uploads.mkdir(parents=True)
    stale = uploads / "0123456789abcdef-job1"
    (stale / "files").mkdir(parents=True)
    (stale / "files" / "left.jpg").write_bytes(b"evidence")
    (uploads / "0123456789abcdef.lock").write_bytes(b"")
    orphan = uploads / "1111222233334444-job2"
    orphan.mkdir()
    live = uploads / "fedcba9876543210-job3"
    live.mkdir()
    other = uploads / "notes.txt"
    other.write_text("not a job")
    with (uploads / "fedcba9876543210.lock").open("wb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        caplog.set_level(logging.WARNING, logger="scut.web.submissions.jobs")
        with TestClient(app, base_url="https://testserver"):
            assert not stale.exists()
            assert not orphan.exists()
            assert not (uploads / "0123456789abcdef.lock").exists()
            assert live.is_dir()
            assert other.is_file()
    removed = [record.getMessage() for record in caplog.records]
    assert any(str(stale) in message for message in removed)
    assert any(str(orphan) in message for message in removed)
    assert not any(str(live) in message for message in removed)
    assert oct(uploads.stat().st_mode & 0o777) == "0o700"


def test_sending_denied_without_role(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    sign_in(client, users.add("aud", ("auditor",)), clock)
    assert client.get("/submissions/new").status_code == 403
    token = csrf_of(client.get("/dashboard").text)
    response = send(client, {"a.jpg": b"x"}, token=token)
    assert response.status_code == 403
    assert "Send material" not in client.get("/dashboard").text
    assert [event.outcome for event in _audit(database, "ingest.run")] == [
        "denied",
        "denied",
    ]


def test_submitter_without_unit_denied(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    sign_in(client, users.add("sam", ("submitter",)), clock)
    assert client.get("/submissions/new").status_code == 403


def test_analyst_chooses_recorded_unit(
    client: TestClient, users: Users, clock: SteppingClock, settings: Settings
) -> None:
    users.add("sam", ("submitter",), unit="Unit A")
    sign_in(client, users.add("ana", ("analyst",), unit="Centre"), clock)
    form = client.get("/submissions/new").text
    assert '<option value="Unit A">Unit A</option>' in form
    response = send(client, {"a.jpg": b"x"}, unit="Unit Nowhere")
    assert response.status_code == 400
    assert 'id="unit-error"' in response.text
    assert job_folders(settings) == []


def test_runner_queues_one_job_at_a_time(
    database: Database, settings: Settings, clock: SteppingClock
) -> None:
    # The runner's thread is not started, so the jobs stay queued.
    runner = JobRunner(database, settings, clock, finished_kept=10)
    runner.root.mkdir(parents=True)
    sender = Caller("sam", frozenset({"submitter"}), user_id=7, unit="Unit A")
    stranger = Caller("bob", frozenset({"submitter"}), user_id=8, unit="Unit B")
    analyst = Caller("ana", frozenset({"analyst"}), user_id=9)
    jobs = []
    for label in ("E1", "E2"):
        folder = runner.new_folder()
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        assert oct((folder / "files").stat().st_mode & 0o777) == "0o700"
        origin = Origin(case="CASE-7", exhibit=label, unit="Unit A")
        job = Job(runner.job_id_of(folder), folder, origin, sender, clock.now(), 1, 1)
        runner.submit(job)
        jobs.append(job)

    second = runner.view(jobs[1].id, sender)
    assert second is not None
    assert second.status == "queued"
    assert second.ahead == 1
    assert runner.view(jobs[1].id, stranger) is None
    assert runner.view(jobs[1].id, analyst) is not None

    runner.stop()
    for job in jobs:
        assert not job.folder.exists()
        view = runner.view(job.id, sender)
        assert view is not None
        assert view.status == "failed"
