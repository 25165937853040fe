"""Tests of the file blob store on a real folder."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scut.storage.blobs import FileBlobStore

PHOTO = b"\xff\xd8\xff\xe0 stand-in for a photo"
PHOTO_SHA256 = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs", fsync=False)


def stored_files(store: FileBlobStore) -> list[Path]:
    return sorted(path for path in store.root.rglob("*") if path.is_file())


def test_put_open_round_trip(store: FileBlobStore) -> None:
    assert store.put_original(PHOTO_SHA256, PHOTO)

    assert store.has_original(PHOTO_SHA256)
    with store.open_original(PHOTO_SHA256) as handle:
        assert handle.read() == PHOTO
    assert list(store.iter_originals()) == [PHOTO_SHA256]


def test_put_layout_by_hash(store: FileBlobStore) -> None:
    store.put_original(PHOTO_SHA256, PHOTO)

    expected = (
        store.root / "originals" / PHOTO_SHA256[:2] / PHOTO_SHA256[2:4] / PHOTO_SHA256
    )
    assert store.original_path(PHOTO_SHA256) == expected
    assert expected.read_bytes() == PHOTO


def test_has_original_absent(store: FileBlobStore) -> None:
    assert not store.has_original(PHOTO_SHA256)


def test_second_put_keeps_one(store: FileBlobStore) -> None:
    store.put_original(PHOTO_SHA256, PHOTO)

    assert not store.put_original(PHOTO_SHA256, PHOTO)
    assert stored_files(store) == [store.original_path(PHOTO_SHA256)]
    assert list(store.tmp_dir.iterdir()) == []


def test_put_with_fsync(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs", fsync=True)

    assert store.put_original(PHOTO_SHA256, PHOTO)
    assert store.original_path(PHOTO_SHA256).read_bytes() == PHOTO
    assert list(store.tmp_dir.iterdir()) == []


def test_adopt_temporary(store: FileBlobStore) -> None:
    with store.temporary_file() as (handle, path):
        handle.write(PHOTO)
        handle.close()
        assert path.parent == store.tmp_dir

        assert store.adopt_original(PHOTO_SHA256, path)
        assert not path.exists()

    assert store.original_path(PHOTO_SHA256).read_bytes() == PHOTO
    assert list(store.tmp_dir.iterdir()) == []


def test_adopt_when_present(store: FileBlobStore) -> None:
    store.put_original(PHOTO_SHA256, PHOTO)

    with store.temporary_file() as (handle, path):
        handle.write(b"other bytes")
        handle.close()

        assert not store.adopt_original(PHOTO_SHA256, path)
        assert not path.exists()

    assert store.original_path(PHOTO_SHA256).read_bytes() == PHOTO


def test_temporary_deleted_unless_adopted(store: FileBlobStore) -> None:
    with store.temporary_file() as (handle, path):
        handle.write(PHOTO)
        assert path.exists()

    assert not path.exists()
    assert list(store.tmp_dir.iterdir()) == []


def test_adopt_fsyncs_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileBlobStore(tmp_path / "blobs", fsync=True)
    synced_inodes: set[int] = set()
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced_inodes.add(os.fstat(descriptor).st_ino)
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)

    with store.temporary_file() as (handle, path):
        handle.write(PHOTO)
        handle.close()
        inode = path.stat().st_ino
        store.adopt_original(PHOTO_SHA256, path)

    assert inode in synced_inodes


@pytest.mark.parametrize(
    "sha256",
    [
        "",
        "abc",
        PHOTO_SHA256[:-1],
        PHOTO_SHA256 + "0",
        PHOTO_SHA256.upper(),
        PHOTO_SHA256 + "\n",
        "../" + PHOTO_SHA256[3:],
        "g" * 64,
    ],
    ids=["empty", "short", "63", "65", "upper", "newline", "dotdot", "not-hex"],
)
def test_invalid_sha256_rejected(sha256: str, store: FileBlobStore) -> None:
    with pytest.raises(ValueError, match="invalid SHA-256"):
        store.put_original(sha256, PHOTO)
    with pytest.raises(ValueError, match="invalid SHA-256"):
        store.has_original(sha256)
    assert stored_files(store) == []


@pytest.mark.parametrize("name", ["thumb.jpg", "strip-8.jpg", "pdq", "a" * 41])
def test_derived_round_trip(name: str, store: FileBlobStore) -> None:
    store.put_derived(PHOTO_SHA256, name, b"derived")

    assert store.read_derived(PHOTO_SHA256, name) == b"derived"
    assert store.derived_path(PHOTO_SHA256, name).name == f"{PHOTO_SHA256}.{name}"


@pytest.mark.parametrize(
    "name",
    ["", "../x", "a/b", ".hidden", "Thumb.jpg", "thumb.jpg\n", "thumb jpg", "a" * 42],
    ids=["empty", "dotdot", "slash", "dot", "upper", "newline", "space", "42"],
)
def test_derived_name_rejected(name: str, store: FileBlobStore) -> None:
    with pytest.raises(ValueError, match="invalid derived blob name"):
        store.put_derived(PHOTO_SHA256, name, b"derived")
    assert stored_files(store) == []


def test_delete_removes_derived(store: FileBlobStore) -> None:
    store.put_original(PHOTO_SHA256, PHOTO)
    store.put_derived(PHOTO_SHA256, "thumb.jpg", b"thumb")

    store.delete_original(PHOTO_SHA256)

    assert not store.has_original(PHOTO_SHA256)
    assert stored_files(store) == []


def dead_pid() -> int:
    """Return the id of a process that has exited."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def test_stale_temporaries_removed(store: FileBlobStore) -> None:
    stale = store.tmp_dir / f"{dead_pid()}-abandoned"
    unnamed = store.tmp_dir / "no-pid-in-name"
    ours = store.tmp_dir / f"{os.getpid()}-in-use"
    for path in (stale, unnamed, ours):
        path.write_bytes(b"partial")

    removed = store.remove_stale_temporaries()

    assert removed == 2
    assert not stale.exists()
    assert not unnamed.exists()
    assert ours.exists()
