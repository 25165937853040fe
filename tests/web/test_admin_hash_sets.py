"""The hash set pages: import by upload with its progress, the list, and removal."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from scut.db.models import HashEntry, HashSet
from scut.db.session import Database
from scut.errors import ScutError
from scut.hashsets.importer import ImportProgress, ImportReport
from scut.settings import Settings
from scut.web.admin.jobs import FAILED, SUCCEEDED, ImportJobs
from scut.web.admin.uploads import remove_stale_uploads
from scut.web.security import csrf_token
from web.admin_helpers import actions, client_for, post, signed_in
from web.helpers import SteppingClock, Users, WebUser

JOB_LINK = re.compile(r'hx-get="/admin/hash-sets/import/([A-Za-z0-9_-]+)"')


@pytest.fixture
def admin(
    client: TestClient, users: Users, clock: SteppingClock
) -> tuple[TestClient, WebUser]:
    """The test client, signed in as an administrator."""
    return signed_in(client, users, clock, "dana", ("admin",))


def _upload(
    client: TestClient,
    content: bytes,
    *,
    file_name: str = "list.txt",
    htmx: bool = True,
    **fields: str,
) -> httpx2.Response:
    data = {"name": "local-md5", "kind": "known-abuse", **fields}
    files = {"file": (file_name, content, "text/plain")}
    session = client.cookies.get("scut_session")
    assert session
    if htmx:
        headers = {"X-CSRF-Token": csrf_token(session), "HX-Request": "true"}
        return client.post(
            "/admin/hash-sets/import", data=data, files=files, headers=headers
        )
    data["csrf_token"] = csrf_token(session)
    return client.post("/admin/hash-sets/import", data=data, files=files)


def _wait(client: TestClient, job_id: str) -> httpx2.Response:
    """Poll the job as the page does until it ends; return the last fragment."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = client.get(
            f"/admin/hash-sets/import/{job_id}", headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        if 'hx-trigger="every 1s"' not in response.text:
            return response
        time.sleep(0.1)
    pytest.fail(f"the import {job_id} did not end within 60 s")


def _job_id(response: httpx2.Response) -> str:
    found = JOB_LINK.search(response.text)
    if found is None:
        location = response.headers.get("location", "")
        assert location.startswith("/admin/hash-sets/import/"), response.text
        return location.rsplit("/", 1)[1]
    return found.group(1)


def _entries(database: Database, name: str) -> int:
    with database.session() as session:
        count = session.scalar(
            select(func.count())
            .select_from(HashEntry)
            .join(HashSet, HashSet.id == HashEntry.hash_set_id)
            .where(HashSet.name == name)
        )
    return int(count or 0)


def _uploads(settings: Settings) -> list[Path]:
    folder = settings.data_dir / "uploads" / "hash-sets"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_import_by_upload_with_progress(
    admin: tuple[TestClient, WebUser],
    database: Database,
    settings: Settings,
    shared_data: Path,
) -> None:
    client, _ = admin
    content = (shared_data / "hashsets" / "md5_list.txt").read_bytes()
    started = _upload(client, content, file_name="md5_list.txt", source="lab")
    assert started.status_code == 200
    assert started.text.startswith('<section id="hash-set-import"')
    done = _wait(client, _job_id(started))
    assert done.headers["hx-trigger"] == "hash-sets-changed"
    lines = len(content.decode().split())
    assert f"hash-uri {lines}," in done.text
    assert _entries(database, "local-md5") == lines

    table = client.get("/admin/hash-sets/table")
    assert 'data-hash-set="local-md5"' in table.text
    assert "Material de abuz cunoscut" in table.text
    assert ("hashsets.import", "succeeded") in actions(database, "hashsets.")
    assert _uploads(settings) == []
    folder = settings.data_dir / "uploads" / "hash-sets"
    assert folder.stat().st_mode & 0o777 == 0o700


def test_plain_form_post_goes_to_job_page(
    admin: tuple[TestClient, WebUser], database: Database, shared_data: Path
) -> None:
    client, _ = admin
    content = (shared_data / "hashsets" / "sha256sum.txt").read_bytes()
    started = _upload(client, content, htmx=False, name="sha-list")
    assert started.status_code == 303
    job_id = _job_id(started)
    _wait(client, job_id)
    page = client.get(f"/admin/hash-sets/import/{job_id}")
    assert "<h1>Seturi de hash-uri</h1>" in page.text
    # Without a source given, the uploaded file's name is recorded, not
    # the temporary upload path.
    with database.session() as session:
        source = session.scalars(
            select(HashSet.source).where(HashSet.name == "sha-list")
        ).one()
    assert source == "list.txt"
    assert "a fost importat din list.txt" in page.text
    assert _entries(database, "sha-list") > 0


def test_upload_over_limit_rejected(
    admin: tuple[TestClient, WebUser],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _ = admin
    monkeypatch.setenv("SCUT_WEB_HASH_SET_UPLOAD_MAX_BYTES", "1000")
    # Content-Length alone shows that this is over the limit.
    response = _upload(client, b"0" * 100_000)
    assert response.status_code == 200
    assert 'id="file-error"' in response.text
    assert "depășește limita de încărcare" in response.text
    assert "the upload has" in response.text
    assert _uploads(settings) == []


def test_streamed_file_over_limit_rejected(
    admin: tuple[TestClient, WebUser],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _ = admin
    monkeypatch.setenv("SCUT_WEB_HASH_SET_UPLOAD_MAX_BYTES", "70000")
    # Under the limit with the fields' allowance, so only the streamed
    # count of the file's bytes can catch it.
    response = _upload(client, b"0" * 90000)
    assert 'id="file-error"' in response.text
    assert "the file is larger than the limit of 70000 bytes" in response.text
    assert _uploads(settings) == []


def test_invalid_fields_rejected_before_import(
    admin: tuple[TestClient, WebUser],
    database: Database,
    settings: Settings,
    shared_data: Path,
) -> None:
    client, _ = admin
    content = (shared_data / "hashsets" / "md5_list.txt").read_bytes()
    response = _upload(client, content, name="", kind="everything", algorithm="pdq")
    assert 'id="name-error"' in response.text
    assert 'id="kind-error"' in response.text
    wrong_pair = _upload(client, content, format="vics", algorithm="pdq")
    assert 'id="algorithm-error"' in wrong_pair.text
    empty = _upload(client, b"")
    assert 'id="file-error"' in empty.text
    assert _uploads(settings) == []
    assert actions(database, "hashsets.") == []


def test_unreadable_file_fails_with_explanation(
    admin: tuple[TestClient, WebUser], database: Database, settings: Settings
) -> None:
    client, _ = admin
    started = _upload(client, b"<html>not a hash list</html>\n", file_name="page.html")
    done = _wait(client, _job_id(started))
    assert 'class="error"' in done.text
    assert "Importul fișierului page.html a eșuat." in done.text
    assert "Formatul fișierului nu a fost recunoscut" in done.text
    assert "upload-" not in done.text  # the private copy's name stays hidden
    assert _uploads(settings) == []
    with database.session() as session:
        assert session.scalar(select(HashSet)) is None


def test_remove_after_confirmation(
    admin: tuple[TestClient, WebUser], database: Database, shared_data: Path
) -> None:
    client, _ = admin
    content = (shared_data / "hashsets" / "md5_list.txt").read_bytes()
    _wait(client, _job_id(_upload(client, content, name="old <set>")))
    listed = client.get("/admin/hash-sets")
    assert "old &lt;set&gt;" in listed.text
    assert 'href="/admin/hash-sets/remove?name=old%20%3Cset%3E"' in listed.text

    confirm = client.get("/admin/hash-sets/remove", params={"name": "old <set>"})
    assert confirm.status_code == 200
    assert "Eliminați setul old &lt;set&gt;?" in confirm.text
    assert _entries(database, "old <set>") > 0

    removed = post(client, "/admin/hash-sets/remove", {"name": "old <set>"})
    assert removed.status_code == 303
    page = client.get(removed.headers["location"])
    assert "Setul de hash-uri old &lt;set&gt; a fost eliminat." in page.text
    assert _entries(database, "old <set>") == 0
    assert ("hashsets.remove", "succeeded") in actions(database, "hashsets.")
    missing = client.get("/admin/hash-sets/remove", params={"name": "old <set>"})
    assert missing.status_code == 404


def test_analyst_sees_list_but_cannot_import(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    database: Database,
    settings: Settings,
) -> None:
    signed_in(client, users, clock, "ana", ("analyst",))
    page = client.get("/admin/hash-sets")
    assert page.status_code == 200
    assert 'id="hash-set-import"' not in page.text
    assert "Eliminați" not in page.text
    denied = _upload(client, b"406958840ad1665ffcd1be9c29d515b9\n")
    assert denied.status_code == 403
    assert _uploads(settings) == []
    assert actions(database, "hashsets.") == [("hashsets.import", "denied")]


def test_job_hidden_from_other_users(
    admin: tuple[TestClient, WebUser],
    app: FastAPI,
    users: Users,
    clock: SteppingClock,
    shared_data: Path,
) -> None:
    client, _ = admin
    content = (shared_data / "hashsets" / "md5_list.txt").read_bytes()
    job_id = _job_id(_upload(client, content))
    other, _ = signed_in(client_for(app), users, clock, "dan", ("admin",))
    assert other.get(f"/admin/hash-sets/import/{job_id}").status_code == 404
    _wait(client, job_id)


# -- the job registry and the upload folder -------------------------------------


def _report(name: str) -> ImportReport:
    return ImportReport(name, "known-abuse", "plain", 1, 1, 0)


def test_one_import_at_a_time() -> None:
    jobs = ImportJobs(SteppingClock())
    release = threading.Event()
    cleaned: list[str] = []

    def slow(progress: ImportProgress) -> ImportReport:
        progress(5, 10)
        release.wait(10)
        return _report("first")

    first = jobs.start(
        slow,
        owner_id=1,
        set_name="first",
        file_name="a.txt",
        total_bytes=10,
        cleanup=lambda: cleaned.append("first"),
    )
    assert first is not None
    second = jobs.start(
        lambda _: _report("second"),
        owner_id=1,
        set_name="second",
        file_name="b.txt",
        total_bytes=10,
        cleanup=lambda: cleaned.append("second"),
    )
    assert second is None
    assert cleaned == ["second"]
    assert jobs.get(first.id, owner_id=2) is None
    release.set()
    deadline = time.monotonic() + 10
    while (job := jobs.get(first.id, owner_id=1)) is not None and job.running:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert job is not None
    assert job.state == SUCCEEDED
    assert job.bytes_read == 10
    assert cleaned == ["second", "first"]


def test_failed_job_hides_temporary_path() -> None:
    jobs = ImportJobs(SteppingClock())

    def failing(_: ImportProgress) -> ImportReport:
        raise ScutError("/srv/uploads/upload-x.part: cannot read the file")

    job = jobs.start(
        failing,
        owner_id=None,
        set_name="s",
        file_name="nsrl.txt",
        total_bytes=1,
        cleanup=lambda: None,
        temporary_path="/srv/uploads/upload-x.part",
    )
    assert job is not None
    deadline = time.monotonic() + 10
    while (found := jobs.get(job.id, None)) is not None and found.running:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert found is not None
    assert found.state == FAILED
    assert found.error == "nsrl.txt: cannot read the file"
    assert found.error_type == "ScutError"


def test_stale_uploads_removed(tmp_path: Path) -> None:
    old = tmp_path / "upload-old.part"
    new = tmp_path / "upload-new.part"
    other = tmp_path / "keep.txt"
    for path in (old, new, other):
        path.write_bytes(b"x")
    now = time.time()
    os.utime(old, (now - 2 * 86400, now - 2 * 86400))
    os.utime(other, (now - 2 * 86400, now - 2 * 86400))
    assert remove_stale_uploads(tmp_path, now=now) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "keep.txt",
        "upload-new.part",
    ]
