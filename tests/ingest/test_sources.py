"""Tests of planning and walking ingest sources on real folders in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scut.errors import SourceError
from scut.ingest.analyse import FileTask
from scut.ingest.sources import (
    SkippedEntry,
    Source,
    count_files,
    plan_sources,
    walk_sources,
)


def make_files(root: Path, names: list[str]) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())


def walk(paths: list[Path]) -> list[FileTask | SkippedEntry]:
    return list(walk_sources(plan_sources(paths)))


def tasks_of(items: list[FileTask | SkippedEntry]) -> dict[str, FileTask]:
    return {item.path: item for item in items if isinstance(item, FileTask)}


def skipped_of(items: list[FileTask | SkippedEntry]) -> dict[str, str]:
    return {item.path: item.reason for item in items if isinstance(item, SkippedEntry)}


@pytest.fixture
def card(tmp_path: Path) -> Path:
    """A memory card folder with nested pictures."""
    root = tmp_path / "card"
    make_files(root, ["DCIM/100/b.jpg", "DCIM/100/a.jpg", "notes.txt"])
    return root


# --- plan_sources --------------------------------------------------------


def test_plan_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        plan_sources([tmp_path / "absent"])


def test_plan_no_paths() -> None:
    with pytest.raises(SourceError, match="no source"):
        plan_sources([])


def test_plan_duplicate_names(tmp_path: Path) -> None:
    make_files(tmp_path, ["first/card/a.jpg", "second/card/b.jpg"])

    with pytest.raises(SourceError) as caught:
        plan_sources([tmp_path / "first/card", tmp_path / "second/card"])
    assert "card" in str(caught.value)


def test_plan_fifo_source(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    with pytest.raises(SourceError, match="not a regular file or folder"):
        plan_sources([fifo])


def test_plan_one_folder_no_prefix(card: Path) -> None:
    assert plan_sources([card]) == [Source(card, "")]


def test_plan_dot_named_by_folder(card: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loose = card.parent / "loose.jpg"
    loose.write_bytes(b"x")
    monkeypatch.chdir(card)

    sources = plan_sources([Path("."), loose])

    assert [source.prefix for source in sources] == ["card", "loose.jpg"]


# --- exhibit paths -------------------------------------------------------


def test_walk_one_folder_relative(card: Path) -> None:
    items = walk([card])

    assert [item.path for item in items] == [
        "DCIM/100/a.jpg",
        "DCIM/100/b.jpg",
        "notes.txt",
    ]
    for item in items:
        assert isinstance(item, FileTask)
        assert item.source_path == card / item.path


def test_walk_several_sources_prefixed(card: Path, tmp_path: Path) -> None:
    make_files(tmp_path, ["phone/IMG_1.jpg"])
    loose = tmp_path / "loose.jpg"
    loose.write_bytes(b"loose")

    tasks = tasks_of(walk([card, tmp_path / "phone", loose]))

    assert sorted(tasks) == [
        "card/DCIM/100/a.jpg",
        "card/DCIM/100/b.jpg",
        "card/notes.txt",
        "loose.jpg",
        "phone/IMG_1.jpg",
    ]
    assert tasks["loose.jpg"].source_path == loose
    assert tasks["phone/IMG_1.jpg"].source_path == tmp_path / "phone/IMG_1.jpg"


def test_walk_single_file_named(card: Path) -> None:
    path = card / "DCIM/100/a.jpg"

    items = walk([path])

    assert [item.path for item in items] == ["a.jpg"]
    assert isinstance(items[0], FileTask)
    assert items[0].source_path == path


def test_walk_records_modified_time(card: Path) -> None:
    path = card / "notes.txt"
    os.utime(path, (1_600_000_000, 1_600_000_000))

    task = tasks_of(walk([card]))["notes.txt"]

    assert task.modified_at is not None
    assert task.modified_at.timestamp() == 1_600_000_000


# --- entries that are not read -------------------------------------------


def test_walk_symlinks_not_followed(card: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make_files(outside, ["secret.jpg", "folder/deep.jpg"])
    (card / "link.jpg").symlink_to(outside / "secret.jpg")
    (card / "linked_folder").symlink_to(outside / "folder")

    items = walk([card])
    skipped = skipped_of(items)

    assert "symbolic link" in skipped["link.jpg"]
    assert str(outside / "secret.jpg") in skipped["link.jpg"]
    assert "symbolic link" in skipped["linked_folder"]
    for task in tasks_of(items).values():
        assert task.source_path is not None
        assert outside not in task.source_path.resolve().parents, task.path


def test_walk_fifo_special(card: Path) -> None:
    os.mkfifo(card / "pipe")

    skipped = skipped_of(walk([card]))

    assert "special file" in skipped["pipe"]


def test_walk_unreadable_folder(card: Path) -> None:
    locked = card / "locked"
    make_files(locked, ["hidden.jpg"])
    locked.chmod(0)
    try:
        try:
            os.listdir(locked)
        except PermissionError:
            pass
        else:
            pytest.skip(
                "running as root: a folder with mode 000 stays readable, "
                "so the walk cannot meet an unreadable one"
            )
        items = walk([card])
    finally:
        locked.chmod(0o755)

    assert "PermissionError" in skipped_of(items)["locked"]
    assert "locked/hidden.jpg" not in tasks_of(items)


# --- names that are not valid UTF-8 --------------------------------------


def make_latin1_file(folder: Path) -> Path:
    """Create ``café.jpg`` with its name in Latin-1, which is not valid UTF-8."""
    raw = os.fsencode(folder) + b"/caf\xe9.jpg"
    with open(raw, "wb") as handle:
        handle.write(b"latin-1 name")
    return Path(os.fsdecode(raw))


def test_walk_invalid_utf8_escaped(card: Path) -> None:
    path = make_latin1_file(card)

    task = tasks_of(walk([card]))["caf\\xe9.jpg"]

    assert task.source_path == path
    assert task.source_path is not None
    assert task.source_path.read_bytes() == b"latin-1 name"
    assert task.path.encode("utf-8")


def test_walk_invalid_utf8_single_file(tmp_path: Path) -> None:
    path = make_latin1_file(tmp_path)

    (item,) = walk([path])

    assert item.path == "caf\\xe9.jpg"
    assert isinstance(item, FileTask)
    assert item.source_path == path


def test_walk_invalid_utf8_folder_prefix(card: Path, tmp_path: Path) -> None:
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/t\xe9l\xe9phone"))
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"a")

    tasks = tasks_of(walk([card, folder]))

    assert tasks["t\\xe9l\\xe9phone/a.jpg"].source_path == folder / "a.jpg"


# --- count_files ---------------------------------------------------------


def test_count_matches_walk(card: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    make_files(outside, ["x.jpg", "folder/y.jpg"])
    (card / "link.jpg").symlink_to(outside / "x.jpg")
    (card / "linked_folder").symlink_to(outside / "folder")
    os.mkfifo(card / "pipe")
    (card / "empty").mkdir()
    sources = plan_sources([card])

    count = count_files(sources)

    # Three files, two links and a pipe; the progress bar needs every one.
    assert count == 6
    assert count == len(list(walk_sources(sources)))


def test_count_several_sources(card: Path, tmp_path: Path) -> None:
    loose = tmp_path / "loose.jpg"
    loose.write_bytes(b"x")

    assert count_files(plan_sources([card, loose])) == 4
