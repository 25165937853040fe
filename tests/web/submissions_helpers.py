"""Benign evidence, uploads and job polling for the tests of the submission pages."""

from __future__ import annotations

import datetime as dt
import io
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from drawn_pictures import draw_picture
from scut.db.session import Database
from scut.demo.media import Camera, Capture, Place, build_exif, encode_jpeg
from scut.security.auth import issue_api_token
from scut.settings import Settings
from web.helpers import SteppingClock, Users, WebUser, csrf_of

ORIGIN = {
    "case": "CASE-7",
    "exhibit": "PHONE-1",
    "officer": "Officer Ion",
    "criminal_case_number": "2026-0417",
    "seizure_date": "2026-11-30",
    "legal_basis": "Order 17/2026",
    "device": "Phone, Model 9",
}
JOB_SECONDS = 180
CAMERA = Camera("Fictional", "Model 9", "SN-TEST-1", "Firmware 1.0")


def picture(seed: int, *, exif: bool = False) -> bytes:
    """Return a drawn picture as JPEG, with camera and GPS EXIF when asked."""
    image = draw_picture(seed)
    if exif:
        capture = Capture(
            CAMERA, dt.datetime(2026, 6, 1, 12, 0), Place("Field", 47.02, 28.86, 80.0)
        )
        return bytes(encode_jpeg(image, build_exif(capture)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """Return a zip archive of ``members``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def files_field(files: dict[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    """Return ``files`` as the multipart parts of the field "files"."""
    return [
        ("files", (name, data, "application/octet-stream"))
        for name, data in files.items()
    ]


def page_token(client: TestClient) -> str:
    """Return the CSRF token of the signed-in client's pages."""
    return csrf_of(client.get("/submissions").text)


def send(
    client: TestClient,
    files: dict[str, bytes],
    *,
    token: str | None = None,
    **fields: str,
) -> httpx2.Response:
    """Post an upload as the form's script does: token in the X-CSRF-Token header."""
    headers = {"X-CSRF-Token": token or page_token(client)}
    return client.post(
        "/submissions",
        data={**ORIGIN, **fields},
        files=files_field(files),
        headers=headers,
    )


def wait_for_job(client: TestClient, job_path: str) -> httpx2.Response:
    """Poll the job's progress fragment as HTMX does until the job ends."""
    deadline = time.monotonic() + JOB_SECONDS
    while True:
        response = client.get(f"{job_path}/progress", headers={"HX-Request": "true"})
        assert response.status_code == 200, response.text
        if "HX-Redirect" in response.headers or "job-failed" in response.text:
            return response
        if time.monotonic() > deadline:
            pytest.fail(f"the job {job_path} did not end within {JOB_SECONDS} s")
        time.sleep(0.2)


def job_folders(settings: Settings) -> list[Path]:
    """Return what the uploads folder holds besides the runners' lock files."""
    root = settings.data_dir / "uploads"
    return [path for path in root.iterdir() if not path.name.endswith(".lock")]


def api_token(users: Users, user: WebUser, clock: SteppingClock) -> str:
    """Issue an API token for ``user``."""
    database: Database = users.database
    with database.session() as session, session.begin():
        token: str = issue_api_token(
            session,
            user.username,
            user.password,
            user.code(clock),
            "submission tests",
            1,
            "127.0.0.1",
            clock,
            settings=users.settings,
            keyring=users.keyring(),
        )
    return token


def bearer(token: str) -> dict[str, Any]:
    """Return the header that carries an API token."""
    return {"Authorization": f"Bearer {token}"}
