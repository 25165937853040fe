"""``scut backup``, ``scut restore`` and ``scut verify --blobs`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from drawn_pictures import draw_picture


def scut(
    *arguments: str, data_dir: Path, config_home: Path
) -> subprocess.CompletedProcess[str]:
    environment = dict(
        os.environ,
        SCUT_DATA_DIR=str(data_dir),
        SCUT_WORKERS="1",
        XDG_CONFIG_HOME=str(config_home),
        COLUMNS="200",
    )
    environment.pop("SCUT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "scut", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_backup_restore_and_blob_check(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for number in range(3):
        draw_picture(number, (200, 150)).save(evidence / f"IMG_{number}.jpg")
    keys = tmp_path / "config-home"
    source, target = tmp_path / "data", tmp_path / "restored"
    backup = tmp_path / "backups" / "monday"

    ingested = scut(
        "ingest", str(evidence), "--case", "B1", "--exhibit", "E1", "--unit", "Police",
        data_dir=source, config_home=keys,
    )  # fmt: skip
    assert ingested.returncode == 0, ingested.stderr
    backed_up = scut("backup", str(backup), data_dir=source, config_home=keys)
    assert backed_up.returncode == 0, backed_up.stderr
    assert "NOT in the backup" in backed_up.stdout
    assert str(keys / "scut" / "master-key.json") in backed_up.stdout

    restored = scut("restore", str(backup), data_dir=target, config_home=keys)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert "Restore check passed" in restored.stdout

    intact = scut("verify", "--blobs", "--json", data_dir=target, config_home=keys)
    assert intact.returncode == 0, intact.stderr
    assert json.loads(intact.stdout)["summary"]["originals_checked"] == 3
    original = next((target / "blobs" / "originals").glob("*/*/*[0-9a-f]"))
    content = bytearray(original.read_bytes())
    content[-1] ^= 0x01
    original.write_bytes(bytes(content))

    damaged = scut("verify", "--blobs", data_dir=target, config_home=keys)
    assert damaged.returncode == 1
    assert f"undecryptable: {original.name}" in damaged.stdout
    checked = scut("restore", "--check", str(backup), data_dir=target, config_home=keys)
    assert checked.returncode == 1
    assert "Restore check FAILED" in checked.stdout


def test_verify_needs_submission_or_blobs(tmp_path: Path) -> None:
    keys = tmp_path / "config-home"

    neither = scut("verify", data_dir=tmp_path / "data", config_home=keys)
    both = scut("verify", "7", "--blobs", data_dir=tmp_path / "data", config_home=keys)

    assert neither.returncode == 2
    assert "give a SUBMISSION number, or --blobs" in neither.stderr
    assert both.returncode == 2
    assert "not both" in both.stderr
