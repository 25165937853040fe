"""``scut media show``, ``custody`` and ``thumbnail`` as a user runs them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from drawn_pictures import draw_picture
from scut.ingest.images import analyse_image
from scut.settings import Settings

# A file name that would clear the screen if printed raw.
HOSTILE_NAME = "clear\x1b[2Jscreen.jpg"


def _scut(*arguments: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = dict(
        os.environ, SCUT_DATA_DIR=str(data_dir), SCUT_WORKERS="2", COLUMNS="200"
    )
    environment.pop("SCUT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "scut", "--analyst", "ana", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ok(*arguments: str, data_dir: Path) -> str:
    result = _scut(*arguments, data_dir=data_dir)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _ingest(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Ingest a picture with a hostile name and a text file, and map names to media."""
    data = tmp_path / "data"
    card = tmp_path / "card"
    card.mkdir()
    draw_picture(5).save(card / HOSTILE_NAME, quality=90)
    (card / "notes.txt").write_text("shopping list\n", encoding="utf-8")
    _ok(
        "ingest",
        str(card),
        "--case",
        "C-1",
        "--exhibit",
        "card",
        "--unit",
        "Police, Orhei",
        "--officer",
        "Popa",
        "--legal-basis",
        "order 7/2026",
        data_dir=data,
    )
    listed = json.loads(
        _ok("media", "list", "--submission", "1", "--json", data_dir=data)
    )
    return data, {Path(line["path"]).name: str(line["media_id"]) for line in listed}


def test_show_prints_record_and_escapes_names(tmp_path: Path) -> None:
    data, media = _ingest(tmp_path)
    picture = media[HOSTILE_NAME]

    detail = json.loads(_ok("media", "show", picture, "--json", data_dir=data))
    shown = _ok("media", "show", picture, data_dir=data)

    assert detail["kind"] == "image"
    assert (detail["width"], detail["height"]) == (480, 360)
    assert detail["pdq"] is not None
    assert [line["path"] for line in detail["occurrences"]] == [HOSTILE_NAME]
    assert detail["occurrences"][0]["unit"] == "Police, Orhei"
    assert detail["sha256"] in shown
    assert "Police, Orhei" in shown
    assert "\x1b" not in shown
    assert "screen.jpg" in shown


def test_custody_lists_receipt_and_views(tmp_path: Path) -> None:
    data, media = _ingest(tmp_path)
    picture = media[HOSTILE_NAME]
    _ok("media", "show", picture, data_dir=data)

    events = json.loads(_ok("media", "custody", picture, "--json", data_dir=data))
    table = _ok("media", "custody", picture, data_dir=data)

    assert [event["event"] for event in events] == ["received", "ingested", "viewed"]
    assert events[0]["by"] == "Popa"
    assert events[0]["detail"]["legal_basis"] == "order 7/2026"
    assert f"Custody of media {picture}" in table
    assert "legal basis: order 7/2026" in table


def test_thumbnail_written_once_and_private(tmp_path: Path) -> None:
    data, media = _ingest(tmp_path)
    picture = media[HOSTILE_NAME]
    out = tmp_path / "revealed.jpg"

    _ok("media", "thumbnail", picture, "--out", str(out), data_dir=data)
    again = _scut("media", "thumbnail", picture, "--out", str(out), data_dir=data)

    settings = Settings(data_dir=data)
    original = (tmp_path / "card" / HOSTILE_NAME).read_bytes()
    expected = analyse_image(
        original, settings.thumbnail_size, settings.picture_views
    ).thumbnail_jpeg
    assert out.read_bytes() == expected
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert out.read_bytes() == expected
    events = json.loads(_ok("media", "custody", picture, "--json", data_dir=data))
    assert [event["event"] for event in events].count("revealed") == 1


def test_thumbnail_of_text_file_leaves_no_file(tmp_path: Path) -> None:
    data, media = _ingest(tmp_path)
    out = tmp_path / "none.jpg"

    result = _scut(
        "media", "thumbnail", media["notes.txt"], "--out", str(out), data_dir=data
    )

    assert result.returncode == 1
    assert "has no thumbnail" in result.stderr
    assert not out.exists()
    events = json.loads(
        _ok("media", "custody", media["notes.txt"], "--json", data_dir=data)
    )
    assert "revealed" not in [event["event"] for event in events]
