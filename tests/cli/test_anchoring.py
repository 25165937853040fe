"""Every ``scut`` command that wrote audit events anchors them when it ends."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from drawn_pictures import draw_picture


def _scut(
    *arguments: str, data_dir: Path, **settings: str
) -> subprocess.CompletedProcess[str]:
    environment = dict(
        os.environ, SCUT_DATA_DIR=str(data_dir), SCUT_WORKERS="2", **settings
    )
    return subprocess.run(
        [sys.executable, "-m", "scut", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ingest(
    data_dir: Path, source: Path, **settings: str
) -> subprocess.CompletedProcess[str]:
    completed = _scut(
        "ingest",
        str(source),
        "--case",
        "T1",
        "--exhibit",
        "E1",
        "--unit",
        "Border Police",
        data_dir=data_dir,
        **settings,
    )
    assert completed.returncode == 0, completed.stderr
    return completed


def _pictures(folder: Path) -> Path:
    folder.mkdir()
    for seed in range(2):
        draw_picture(seed).save(folder / f"picture-{seed}.png")
    return folder


def _last_event(data_dir: Path) -> tuple[int, str]:
    with sqlite3.connect(data_dir / "scut.db") as connection:
        row = connection.execute(
            "SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return int(row[0]), str(row[1])


def _anchors(data_dir: Path) -> list[dict[str, object]]:
    path = data_dir / "audit-anchors" / "anchors.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ingest_anchors_its_last_event(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _ingest(data_dir, _pictures(tmp_path / "seized"))

    event_id, event_hash = _last_event(data_dir)
    (anchor,) = _anchors(data_dir)
    assert anchor["event_id"] == event_id
    assert anchor["hash"] == event_hash


def test_log_cut_after_ingest_detected(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _ingest(data_dir, _pictures(tmp_path / "seized"))
    event_id, _ = _last_event(data_dir)
    # An attacker with write access to the database file can drop the
    # append-only guards and cut the log's end, and the rows left still form
    # a valid chain.
    with sqlite3.connect(data_dir / "scut.db") as connection:
        connection.execute("DROP TRIGGER audit_events_no_delete")
        connection.execute("DELETE FROM audit_events WHERE id = ?", (event_id,))

    completed = _scut("audit", "verify", data_dir=data_dir)

    assert completed.returncode == 1, completed.stdout
    assert "NOT intact: truncated" in completed.stdout


def test_command_without_events_adds_no_anchor(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _ingest(data_dir, _pictures(tmp_path / "seized"))

    listed = _scut("hashsets", "list", data_dir=data_dir)

    assert listed.returncode == 0, listed.stderr
    assert len(_anchors(data_dir)) == 1


def test_anchor_failure_logged_not_raised(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    missing_key = tmp_path / "keys" / "no-such-key.pem"

    completed = _ingest(
        data_dir,
        _pictures(tmp_path / "seized"),
        SCUT_AUDIT_SIGNING_KEY_FILE=str(missing_key),
    )

    assert "Could not anchor the audit log" in completed.stderr
    assert not (data_dir / "audit-anchors" / "anchors.jsonl").exists()
    event_id, _ = _last_event(data_dir)
    assert event_id == 1
