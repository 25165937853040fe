"""The JSON API of sending material: upload, job progress and the result."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from scut.db.session import Database
from web.helpers import SteppingClock, Users
from web.submissions_helpers import (
    JOB_SECONDS,
    ORIGIN,
    api_token,
    bearer,
    files_field,
    job_folders,
    picture,
    zip_bytes,
)


def _wait(client: TestClient, job_id: str, token: str) -> dict[str, object]:
    deadline = time.monotonic() + JOB_SECONDS
    while True:
        response = client.get(f"/api/jobs/{job_id}", headers=bearer(token))
        assert response.status_code == 200, response.text
        job: dict[str, object] = response.json()
        if job["status"] in ("succeeded", "failed"):
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"the job {job_id} did not end within {JOB_SECONDS} s")
        time.sleep(0.2)


def test_api_upload_progress_result(
    client: TestClient, users: Users, clock: SteppingClock, database: Database
) -> None:
    sam = users.add("sam", ("submitter",), unit="Unit A")
    token = api_token(users, sam, clock)
    files = {
        "DCIM/one.jpg": picture(1, exif=True),
        "cards.zip": zip_bytes({"two.jpg": picture(2)}),
        "../escape.jpg": picture(3),
    }
    response = client.post(
        "/api/submissions",
        data=ORIGIN,
        files=files_field(files),
        headers=bearer(token),
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/jobs/{job['id']}"
    assert job["status"] in ("queued", "running")
    assert job["unit"] == "Unit A"
    assert job["files_received"] == 2
    assert job["rejected_files"] == [
        {
            "name": "../escape.jpg",
            "reason": "file name '../escape.jpg' climbs out of the upload with '..'",
        }
    ]

    ended = _wait(client, str(job["id"]), token)
    assert ended["status"] == "succeeded", ended
    assert ended["stage"] == "succeeded"
    assert ended["submission_id"] == 1
    assert ended["files_done"] == ended["files_seen"] == 3
    assert ended["file_errors"] == []
    assert job_folders(users.settings) == []

    result = client.get("/api/submissions/1/result", headers=bearer(token))
    assert result.status_code == 200
    report = result.json()
    assert report["unit"] == "Unit A"
    assert report["criminal_case_number"] == ORIGIN["criminal_case_number"]
    assert {line["path"] for line in report["lines"]} == {
        "DCIM/one.jpg",
        "cards.zip",
        "cards.zip/two.jpg",
    }

    # Another unit's submitter may neither follow the job nor read the result.
    other = api_token(users, users.add("bob", ("submitter",), unit="Unit B"), clock)
    assert (
        client.get(f"/api/jobs/{job['id']}", headers=bearer(other)).status_code == 404
    )
    denied = client.get("/api/submissions/1/result", headers=bearer(other))
    assert denied.status_code == 403
    assert "own unit" in denied.json()["detail"]


def test_api_upload_rejections(
    client: TestClient, users: Users, clock: SteppingClock
) -> None:
    token = api_token(users, users.add("sam", ("submitter",), unit="Unit A"), clock)
    invalid = client.post(
        "/api/submissions",
        data={**ORIGIN, "case": "", "seizure_date": "yesterday"},
        files=files_field({"a.jpg": b"x"}),
        headers=bearer(token),
    )
    assert invalid.status_code == 400
    assert invalid.json()["fields"] == {
        "case": "Fill in this field.",
        "seizure_date": "Enter the date as YYYY-MM-DD.",
    }
    not_multipart = client.post(
        "/api/submissions", json={"case": "C"}, headers=bearer(token)
    )
    assert not_multipart.status_code == 400
    assert "multipart/form-data" in not_multipart.json()["detail"]
    unsigned = client.post(
        "/api/submissions", data=ORIGIN, files=files_field({"a.jpg": b"x"})
    )
    assert unsigned.status_code == 401
    assert client.get("/api/jobs/not-a-job", headers=bearer(token)).status_code == 404
    assert client.get("/api/jobs/bad$id", headers=bearer(token)).status_code == 422
    missing = client.get("/api/submissions/999/result", headers=bearer(token))
    assert missing.status_code == 403
    assert job_folders(users.settings) == []


def test_api_described_in_openapi(client: TestClient) -> None:
    description = client.get("/api/openapi.json").json()
    paths = description["paths"]
    upload = paths["/api/submissions"]["post"]
    schema = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["files"]["items"]["format"] == "binary"
    assert set(schema["required"]) == {
        "case",
        "exhibit",
        "criminal_case_number",
        "legal_basis",
        "files",
    }
    assert {"202", "400", "403", "413"} <= set(upload["responses"])
    assert "/api/jobs/{job_id}" in paths
    result = paths["/api/submissions/{submission_id}/result"]["get"]
    reference = result["responses"]["200"]["content"]["application/json"]["schema"]
    assert reference == {"$ref": "#/components/schemas/VerificationReport"}
    report = description["components"]["schemas"]["VerificationReport"]
    assert {"by_verdict", "lines", "series"} <= set(report["properties"])
