"""The ``scut`` command as a user runs it, in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _scut(
    *arguments: str, data_dir: Path, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, SCUT_DATA_DIR=str(data_dir), SCUT_WORKERS="2")
    if database_url:
        environment["SCUT_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "scut", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingest_camera_prints_summary(shared_data: Path, tmp_path: Path) -> None:
    completed = _scut(
        "ingest",
        str(shared_data / "camera"),
        "--case",
        "T1",
        "--exhibit",
        "E1",
        "--unit",
        "Border Police",
        data_dir=tmp_path,
    )

    assert completed.returncode == 0, completed.stderr
    assert "Case T1, exhibit E1" in completed.stdout
    assert "Verification result" in completed.stdout
    assert "139" in completed.stdout


def test_ingest_json_on_postgres(
    shared_data: Path, tmp_path: Path, postgres_url: str
) -> None:
    completed = _scut(
        "ingest",
        str(shared_data / "formats" / "archives"),
        "--case",
        "T2",
        "--exhibit",
        "E1",
        "--unit",
        "Customs",
        "--json",
        "--seizure-date",
        "2026-11-30",
        "--officer",
        "Officer A",
        data_dir=tmp_path,
        database_url=postgres_url,
    )

    assert completed.returncode == 0, completed.stderr
    summary = json.loads(completed.stdout)
    assert summary["case"] == "T2"
    assert summary["files"] >= 17
    assert summary["by_kind"]["archive"] == 6


def test_missing_source_fails_clearly(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    completed = _scut(
        "ingest",
        str(missing),
        "--case",
        "T1",
        "--exhibit",
        "E1",
        "--unit",
        "U",
        data_dir=tmp_path,
    )

    assert completed.returncode == 1
    assert "source not found" in completed.stderr
    assert "no-such-folder" in completed.stderr


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--seizure-date", "30.11.2026", "YYYY-MM-DD"),
        ("--workers", "0", "at least 1"),
        ("--case", " ", "must not be empty"),
    ],
)
def test_bad_options_rejected(
    tmp_path: Path, shared_data: Path, option: str, value: str, message: str
) -> None:
    arguments = {"--case": "T1", "--exhibit": "E1", "--unit": "U", option: value}
    flat = [item for pair in arguments.items() for item in pair]
    completed = _scut(
        "ingest", str(shared_data / "camera" / "pillow"), *flat, data_dir=tmp_path
    )

    assert completed.returncode == 2
    assert message in completed.stderr


def test_demo_ingests_generated_evidence(tmp_path: Path) -> None:
    completed = _scut("demo", "--json", data_dir=tmp_path)

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    summary = result["ingest"]
    verification = result["verification"]
    assert summary["case"] == "DEMO-1"
    assert verification["by_verdict"] == summary["by_verdict"]
    assert verification["by_verdict"]["near"] > 0
    assert {series["name"] for series in verification["series"]} == {
        "DEMO-SERIES-A",
        "DEMO-SERIES-B",
    }
    assert summary["by_verdict"]["known"] > 0
    assert summary["by_verdict"]["known-good"] > 0
    assert summary["by_verdict"]["new"] > 0
    assert summary["duplicates"] > 0
    assert summary["by_kind"]["video"] > 0
    assert summary["errors"] == 0


def test_hash_list_bad_line_skipped(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("d41d8cd98f00b204e9800998ecf8427e  empty\nnot-a-hash  x\n")

    completed = _scut(
        "hashsets", "import", str(listing), "--name", "partial", data_dir=tmp_path
    )

    assert completed.returncode == 0, completed.stderr
    assert "1 records left out" in completed.stderr
    assert "line 2" in completed.stderr
    assert "1 items, 1 hash" in completed.stdout


def test_empty_hash_list_rejected(tmp_path: Path) -> None:
    listing = tmp_path / "empty.txt"
    listing.write_text("# no hashes here\n")

    completed = _scut(
        "hashsets", "import", str(listing), "--name", "empty", data_dir=tmp_path
    )

    assert completed.returncode == 1
    assert "format not recognised" in completed.stderr
    listed = _scut("hashsets", "list", data_dir=tmp_path)
    assert "empty" not in listed.stdout


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_ingests_on_new_database(
    shared_data: Path, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    database_url = (
        str(request.getfixturevalue("postgres_url"))
        if backend == "postgresql"
        else None
    )
    environment = dict(os.environ, SCUT_DATA_DIR=str(tmp_path), SCUT_WORKERS="1")
    if database_url:
        environment["SCUT_DATABASE_URL"] = database_url
    source = str(shared_data / "camera" / "pillow")
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scut",
                "ingest",
                source,
                "--case",
                "C1",
                "--exhibit",
                f"E{index}",
                "--unit",
                "Police",
                "--json",
            ],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(3)
    ]

    outcomes = []
    for process in processes:
        _output, errors = process.communicate(timeout=300)
        outcomes.append((process.returncode, errors))

    for returncode, errors in outcomes:
        assert returncode == 0, errors
