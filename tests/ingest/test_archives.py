"""Tests of reading archive members: hostile names, bombs, encryption, damage.

Corpus archives are read in place, and every other archive is built by the
test in ``tmp_path``. The reader runs with the current folder set to an empty
folder, so that a write through a member name would show up there.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import hashlib
import io
import os
import tarfile
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import py7zr
import pytest

from scut.errors import ArchiveError
from scut.ingest.archives import (
    ArchiveEvent,
    ArchiveReader,
    ExpansionBudget,
    Member,
    RejectedMember,
    safe_member_name,
)
from scut.settings import MIB, Settings
from scut.storage.blobs import FileBlobStore

ZIP = "application/zip"
SEVEN_ZIP = "application/x-7z-compressed"
TAR = "application/x-tar"
GZIP = "application/gzip"
BZIP2 = "application/x-bzip2"

# A reader that held the whole 200 MiB zip bomb in memory would go past this.
BOMB_PEAK_LIMIT = 100 * MIB


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    """A blob store in the test's data folder."""
    return FileBlobStore(tmp_path / "data" / "blobs", fsync=False)


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder, where nothing may appear while reading."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def limited(settings: Settings, **limits: int) -> Settings:
    """Return a copy of ``settings`` with some limits changed."""
    return settings.model_copy(update=limits)


def reader_for(settings: Settings, store: FileBlobStore) -> ArchiveReader:
    return ArchiveReader(settings, store, ExpansionBudget(settings))


def read_all(
    path: Path, mime_type: str, settings: Settings, store: FileBlobStore
) -> list[ArchiveEvent]:
    """Read every event of an archive, as the ingest pipeline does."""
    return list(reader_for(settings, store).members(path, mime_type))


def read_until_error(
    path: Path, mime_type: str, settings: Settings, store: FileBlobStore
) -> tuple[list[ArchiveEvent], ArchiveError | None]:
    """Read events until the archive raises, and return them with the error."""
    events: list[ArchiveEvent] = []
    try:
        for event in reader_for(settings, store).members(path, mime_type):
            events.append(event)
    except ArchiveError as error:
        return events, error
    return events, None


def member_bytes(event: ArchiveEvent) -> bytes:
    assert isinstance(event, Member), event
    if event.data is not None:
        return event.data
    assert event.spool_path is not None
    return event.spool_path.read_bytes()


def release(events: list[ArchiveEvent]) -> None:
    """Delete the spool files of members, as their consumer would."""
    for event in events:
        if isinstance(event, Member) and event.spool_path is not None:
            event.spool_path.unlink()


def members_of(events: list[ArchiveEvent]) -> list[Member]:
    return [event for event in events if isinstance(event, Member)]


def rejected_of(events: list[ArchiveEvent]) -> dict[str, str]:
    return {
        event.name: event.reason
        for event in events
        if isinstance(event, RejectedMember)
    }


def build_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 1_700_000_000
    return info


def build_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            archive.addfile(tar_info(name, len(data)), io.BytesIO(data))
    return path


def build_7z(path: Path, members: dict[str, bytes], *, stored: bool = False) -> Path:
    filters = [{"id": py7zr.FILTER_COPY}] if stored else None
    with py7zr.SevenZipFile(path, "w", filters=filters) as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    return path


BUILDERS = {
    "zip": (build_zip, ZIP),
    "tar.gz": (build_tar, GZIP),
    "7z": (build_7z, SEVEN_ZIP),
}


def build(kind: str, path: Path, members: dict[str, bytes]) -> tuple[Path, str]:
    builder, mime_type = BUILDERS[kind]
    return builder(path.with_suffix(f".{kind}"), members), mime_type


def extraction_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "7z-extract"]


def read_traced(
    path: Path, mime_type: str, settings: Settings, store: FileBlobStore
) -> tuple[list[ArchiveEvent], ArchiveError | None, int]:
    """Read like :func:`read_until_error`, and also return the allocation peak."""
    tracemalloc.start()
    try:
        events, error = read_until_error(path, mime_type, settings, store)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return events, error, peak


# --- member names --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("../x.jpg", "'..'"),
        ("photos/../../x.jpg", "'..'"),
        ("..\\x.jpg", "'..'"),
        ("a/b/..", "'..'"),
        ("/x.jpg", "absolute"),
        ("/tmp/scut_abs.txt", "absolute"),
        ("C:\\x.jpg", "absolute"),
        ("c:x.jpg", "absolute"),
        ("\\\\server\\share\\x.jpg", "absolute"),
        ("a\x00b.jpg", "NUL"),
        ("", "empty"),
        ("./", "empty"),
        ("//", "absolute"),
    ],
)
def test_member_name_rejected(raw: str, reason: str) -> None:
    with pytest.raises(ArchiveError) as caught:
        safe_member_name(raw)
    assert reason in caught.value.reason
    assert repr(raw) in caught.value.reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("seized/DCIM/IMG_0001.JPG", "seized/DCIM/IMG_0001.JPG"),
        ("card/Apple iPhone 4.jpg", "card/Apple iPhone 4.jpg"),
        ("a\\b\\c.jpg", "a/b/c.jpg"),
        ("./a/./b.jpg", "a/b.jpg"),
        ("a//b.jpg", "a/b.jpg"),
        ("dir/", "dir"),
        ("täst.txt", "täst.txt"),
        ("..hidden/x..jpg", "..hidden/x..jpg"),
    ],
)
def test_member_name_accepted(raw: str, expected: str) -> None:
    assert safe_member_name(raw) == expected


# --- hostile names in real archives --------------------------------------


def test_zip_slip_members_rejected(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore, empty_cwd: Path
) -> None:
    path = shared_data / "hostile/generated/zip_slip_dotdot.zip"
    events = read_all(path, ZIP, sqlite_settings, store)
    rejected = rejected_of(events)

    assert set(rejected) == {
        "../../../../../../tmp/scut_evil.txt",
        "photos/../../escape.jpg",
    }
    for name, reason in rejected.items():
        assert repr(name) in reason
    assert [member.name for member in members_of(events)] == ["good.txt"]
    assert member_bytes(members_of(events)[0])
    assert not Path("/tmp/scut_evil.txt").exists()
    assert list(empty_cwd.iterdir()) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_zip_absolute_members_rejected(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore, empty_cwd: Path
) -> None:
    path = shared_data / "hostile/generated/zip_absolute_path.zip"
    rejected = rejected_of(read_all(path, ZIP, sqlite_settings, store))

    assert "absolute" in rejected["/tmp/scut_abs.txt"]
    assert "absolute" in rejected["C:\\Windows\\Temp\\scut.txt"]
    assert "'..'" in rejected["..\\..\\win_escape.jpg"]
    assert not Path("/tmp/scut_abs.txt").exists()
    assert list(empty_cwd.iterdir()) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_7z_absolute_member_rejected(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore, empty_cwd: Path
) -> None:
    path = shared_data / "hostile/py7zr/root_path_arcname.7z"
    events = read_all(path, SEVEN_ZIP, sqlite_settings, store)

    assert "absolute" in rejected_of(events)["/a/b/test.txt"]
    assert members_of(events) == []
    assert not Path("/a/b/test.txt").exists()
    assert list(empty_cwd.iterdir()) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_7z_symlinks_not_followed(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore, empty_cwd: Path
) -> None:
    path = shared_data / "hostile/py7zr/symlink.7z"
    events = read_all(path, SEVEN_ZIP, sqlite_settings, store)
    rejected = rejected_of(events)

    assert set(rejected) == {
        "lib/libabc.so",
        "lib/libabc.so.1",
        "lib/libabc.so.1.2",
        "lib64",
    }
    for reason in rejected.values():
        assert "symbolic link" in reason
    members = members_of(events)
    assert [member.name for member in members] == ["lib/libabc.so.1.2.3"]
    assert len(member_bytes(members[0])) == 6536
    assert list(empty_cwd.iterdir()) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_7z_ignores_symlinks_in_cwd(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore, empty_cwd: Path
) -> None:
    # py7zr checks member names against a destination folder; a link in the
    # current folder named like a member's folder must not matter.
    elsewhere = empty_cwd.parent / "elsewhere"
    elsewhere.mkdir()
    (empty_cwd / "lib").symlink_to(elsewhere)
    path = shared_data / "hostile/py7zr/symlink.7z"

    events, error = read_until_error(path, SEVEN_ZIP, sqlite_settings, store)

    assert error is None
    assert [member.name for member in members_of(events)] == ["lib/libabc.so.1.2.3"]
    assert list(elsewhere.iterdir()) == []


# --- bombs and limits ----------------------------------------------------


def test_zip_bomb_rejected_by_ratio(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = shared_data / "hostile/generated/zip_bomb_200MiB_zeros.zip"

    events, error, peak = read_traced(path, ZIP, sqlite_settings, store)

    assert peak < BOMB_PEAK_LIMIT
    assert error is None
    assert "bomb" in rejected_of(events)["zeros.bin"]
    assert members_of(events) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_tar_gz_bomb_rejected(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    zeros = bytes(64 * MIB)
    path = build_tar(tmp_path / "bomb.tar.gz", {"zeros.bin": zeros, "after.txt": b"ok"})
    del zeros

    events, error, peak = read_traced(path, GZIP, sqlite_settings, store)

    assert peak < BOMB_PEAK_LIMIT
    assert error is None
    assert "bomb" in rejected_of(events)["zeros.bin"]
    assert [member_bytes(member) for member in members_of(events)] == [b"ok"]
    assert list(store.tmp_dir.iterdir()) == []


def test_7z_bomb_stopped(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = build_7z(tmp_path / "bomb.7z", {"zeros.bin": bytes(32 * MIB)})

    events, error = read_until_error(path, SEVEN_ZIP, sqlite_settings, store)

    assert events == []
    assert error is not None
    assert "bomb" in error.reason
    assert list(store.tmp_dir.iterdir()) == []
    assert extraction_threads() == []


def test_gz_bomb_rejected(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = tmp_path / "zeros.bin.gz"
    path.write_bytes(gzip.compress(bytes(32 * MIB), compresslevel=1))

    events = read_all(path, GZIP, sqlite_settings, store)

    assert "bomb" in rejected_of(events)["zeros.bin"]
    assert list(store.tmp_dir.iterdir()) == []


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_total_budget_stops_archive(
    kind: str, tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    members = {f"part{index}.bin": os.urandom(1000) for index in range(4)}
    path, mime_type = build(kind, tmp_path / "parts", members)
    settings = limited(sqlite_settings, archive_max_total_bytes=2500)

    events, error = read_until_error(path, mime_type, settings, store)

    assert error is not None
    assert "SCUT_ARCHIVE_MAX_TOTAL_BYTES" in error.reason
    assert [member.name for member in members_of(events)] == ["part0.bin", "part1.bin"]
    release(events)
    assert list(store.tmp_dir.iterdir()) == []


def test_budget_shared_with_nested(sqlite_settings: Settings) -> None:
    budget = ExpansionBudget(limited(sqlite_settings, archive_max_total_bytes=100))
    budget.spend(60)

    with pytest.raises(ArchiveError, match="in total"):
        budget.spend(41)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_member_size_limit_rejects_member(
    kind: str, tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    members = {"big.bin": os.urandom(5000), "small.txt": b"small"}
    path, mime_type = build(kind, tmp_path / "sizes", members)
    settings = limited(sqlite_settings, archive_max_member_bytes=4000)

    events = read_all(path, mime_type, settings, store)

    assert "SCUT_ARCHIVE_MAX_MEMBER_BYTES" in rejected_of(events)["big.bin"]
    assert [member_bytes(member) for member in members_of(events)] == [b"small"]


def test_member_size_limit_stops_7z(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    # Stored, so the member arrives in chunks of about 1 MiB: the second is
    # spooled and the third passes the limit.
    path = build_7z(tmp_path / "sizes.7z", {"big.bin": bytes(3 * MIB)}, stored=True)
    settings = limited(
        sqlite_settings, archive_max_member_bytes=2 * MIB, in_memory_max_bytes=MIB // 2
    )

    events, error = read_until_error(path, SEVEN_ZIP, settings, store)

    assert events == []
    assert error is not None
    assert "SCUT_ARCHIVE_MAX_MEMBER_BYTES" in error.reason
    assert list(store.tmp_dir.iterdir()) == []


def test_member_named_in_total_alone(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    # A member's own limit must not end the archive because of its name.
    members = {"in total.bin": os.urandom(5000), "after.txt": b"after"}
    path = build_zip(tmp_path / "names.zip", members)
    settings = limited(sqlite_settings, archive_max_member_bytes=4000)

    events, error = read_until_error(path, ZIP, settings, store)

    assert error is None
    assert "in total.bin" in rejected_of(events)
    assert [member_bytes(member) for member in members_of(events)] == [b"after"]


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_member_count_limit(
    kind: str, tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    members = {f"{index}.txt": b"x" for index in range(3)}
    path, mime_type = build(kind, tmp_path / "count", members)
    settings = limited(sqlite_settings, archive_max_members=2)

    events, error = read_until_error(path, mime_type, settings, store)

    assert error is not None
    assert "SCUT_ARCHIVE_MAX_MEMBERS" in error.reason


def test_tar_huge_extended_header(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    # Without a limit, tarfile would read this 64 MiB pax header from a small
    # tar.gz into memory whole.
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 64 * MIB
    raw = io.BytesIO()
    raw.write(header.tobuf(format=tarfile.USTAR_FORMAT))
    raw.write(bytes(header.size))
    raw.write(tar_info("after.txt", 2).tobuf(format=tarfile.USTAR_FORMAT))
    raw.write(b"ok".ljust(tarfile.BLOCKSIZE, b"\0") + bytes(2 * tarfile.BLOCKSIZE))
    path = tmp_path / "pax.tar.gz"
    path.write_bytes(gzip.compress(raw.getvalue(), compresslevel=1))
    del raw

    events, error, peak = read_traced(path, GZIP, sqlite_settings, store)

    assert peak < 32 * MIB
    assert events == []
    assert error is not None
    assert "extended header" in error.reason


# --- encryption ----------------------------------------------------------


def test_zip_encrypted_member_reported(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = shared_data / "hostile/generated/zip_encrypted_password_infected.zip"
    events = read_all(path, ZIP, sqlite_settings, store)

    assert "encrypted" in rejected_of(events)["photo.jpg"]
    assert members_of(events) == []


@pytest.mark.parametrize("name", ["encrypted_1.7z", "filename_encryption.7z"])
def test_7z_encrypted_raises(
    name: str, shared_data: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = shared_data / "hostile/py7zr" / name

    with pytest.raises(ArchiveError, match="encrypted"):
        read_all(path, SEVEN_ZIP, sqlite_settings, store)
    assert list(store.tmp_dir.iterdir()) == []


# --- damaged archives ----------------------------------------------------


def test_zip_without_central_directory(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = shared_data / "hostile/generated/zip_truncated_no_central_dir.zip"

    with pytest.raises(ArchiveError, match="unreadable zip"):
        read_all(path, ZIP, sqlite_settings, store)


def test_7z_crc_error_raises(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = shared_data / "hostile/py7zr/crc_corrupted.7z"
    settings = limited(sqlite_settings, in_memory_max_bytes=10)

    events, error = read_until_error(path, SEVEN_ZIP, settings, store)

    assert events == []
    assert error is not None
    assert "CrcError" in error.reason
    # The member that failed its check was spooled; its spool must go.
    assert list(store.tmp_dir.iterdir()) == []


def test_7z_corrupt_data_keeps_earlier(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = shared_data / "hostile/py7zr/data_corrupted.7z"
    settings = limited(sqlite_settings, in_memory_max_bytes=10)

    events, error = read_until_error(path, SEVEN_ZIP, settings, store)

    assert error is not None
    assert "7z extraction failed" in error.reason
    names = [member.name for member in members_of(events)]
    assert names == ["scripts/py7zr", "setup.cfg"]
    assert member_bytes(events[1]).startswith(b"[flake8]")
    release(events)
    assert list(store.tmp_dir.iterdir()) == []
    assert extraction_threads() == []


def test_tar_truncated_keeps_earlier(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    members = {f"{index}.bin": os.urandom(20_000) for index in range(3)}
    whole = build_tar(tmp_path / "whole.tar", members, mode="w")
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(gzip.compress(whole.read_bytes()[:50_000]))

    events, error = read_until_error(path, GZIP, sqlite_settings, store)

    assert error is not None
    assert "tar stream broken" in error.reason
    assert [member_bytes(member) for member in members_of(events)] == [
        members["0.bin"],
        members["1.bin"],
    ]


@pytest.mark.parametrize(
    ("data", "mime_type"),
    [
        (b"PK\x03\x04" + bytes(100), ZIP),
        (b"7z\xbc\xaf\x27\x1c" + os.urandom(200), SEVEN_ZIP),
        (b"\x1f\x8b\x08", GZIP),
        (b"\x1f\x8b\x08", TAR),
        (b"BZh9" + os.urandom(50), BZIP2),
    ],
    ids=["zip", "7z", "gzip", "tar", "bzip2"],
)
def test_garbage_raises_archive_error(
    data: bytes,
    mime_type: str,
    tmp_path: Path,
    sqlite_settings: Settings,
    store: FileBlobStore,
) -> None:
    path = tmp_path / "garbage"
    path.write_bytes(data)

    with pytest.raises(ArchiveError):
        read_all(path, mime_type, sqlite_settings, store)


def test_7z_damaged_header_raises(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = build_7z(tmp_path / "header.7z", {"a.txt": b"hello world " * 50})
    damaged = bytearray(path.read_bytes())
    # py7zr compresses the header, which sits near the end of the file.
    damaged[-64] = 0
    path.write_bytes(bytes(damaged))

    with pytest.raises(ArchiveError, match="unreadable 7z"):
        read_all(path, SEVEN_ZIP, sqlite_settings, store)


def test_zip_corrupt_lzma_member(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = tmp_path / "lzma.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as archive:
        archive.writestr("broken.txt", os.urandom(3000))
        archive.writestr("good.txt", b"good")
    with zipfile.ZipFile(path) as archive:
        start = archive.getinfo("broken.txt").header_offset + 30 + len("broken.txt")
    damaged = bytearray(path.read_bytes())
    damaged[start + 20 : start + 60] = bytes(40)
    path.write_bytes(bytes(damaged))

    events = read_all(path, ZIP, sqlite_settings, store)

    assert "unreadable member" in rejected_of(events)["broken.txt"]
    assert [member_bytes(member) for member in members_of(events)] == [b"good"]


# --- normal archives -----------------------------------------------------


def manifest_sha256(shared_data: Path) -> dict[str, str]:
    """Return the SHA-256 of each camera file in the manifest, by file name."""
    with (shared_data / "hashsets/camera_manifest.csv").open(newline="") as handle:
        return {Path(row["path"]).name: row["sha256"] for row in csv.DictReader(handle)}


GPS_PHOTOS = ["Apple iPhone 4.jpg", "Apple iPhone 5.jpg", "FLIR iPhone device.jpg"]


@pytest.mark.parametrize(
    ("name", "mime_type", "folder"),
    [
        ("gps_photos.zip", ZIP, "seized/DCIM/"),
        ("gps_photos.7z", SEVEN_ZIP, ""),
        ("gps_photos.tar.gz", GZIP, "card/"),
    ],
)
def test_gps_photos_members_match_manifest(
    name: str,
    mime_type: str,
    folder: str,
    shared_data: Path,
    sqlite_settings: Settings,
    store: FileBlobStore,
) -> None:
    expected = manifest_sha256(shared_data)
    path = shared_data / "formats/archives" / name

    events = read_all(path, mime_type, sqlite_settings, store)

    members = members_of(events)
    assert [member.name for member in members] == [folder + p for p in GPS_PHOTOS]
    for member in members:
        digest = hashlib.sha256(member_bytes(member)).hexdigest()
        assert digest == expected[Path(member.name).name], member.name
    assert rejected_of(events) == {}


def test_7z_keeps_non_ascii_name(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = shared_data / "formats/archives/py7zr-umlaut-solid.7z"

    events = read_all(path, SEVEN_ZIP, sqlite_settings, store)

    assert [event.name for event in events] == ["täst.txt"]


def test_tar_modified_time(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = build_tar(tmp_path / "time.tar", {"a.txt": b"a"}, mode="w")

    (member,) = members_of(read_all(path, TAR, sqlite_settings, store))

    assert member.modified_at is not None
    assert member.modified_at.timestamp() == 1_700_000_000


def test_tar_out_of_range_time(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    info = tar_info("a.txt", 2)
    info.mtime = 10**13
    path = tmp_path / "future.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(b"hi"))

    events, error = read_until_error(path, TAR, sqlite_settings, store)

    assert error is None
    assert [member_bytes(member) for member in members_of(events)] == [b"hi"]
    assert members_of(events)[0].modified_at is None


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_large_member_spooled(
    kind: str, tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    data = os.urandom(50_000)
    path, mime_type = build(kind, tmp_path / "large", {"large.bin": data})
    settings = limited(sqlite_settings, in_memory_max_bytes=10_000)

    (member,) = members_of(read_all(path, mime_type, settings, store))

    assert member.data is None
    assert member.spool_path is not None
    assert member.spool_path.parent == store.tmp_dir
    assert member.spool_path.read_bytes() == data


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_spool_files_distinct(
    kind: str, tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    # Members are handed on before the next is read, so each spool file must
    # outlive the reading of the members after it.
    members = {f"{index}.bin": os.urandom(3000) for index in range(20)}
    path, mime_type = build(kind, tmp_path / "many", members)
    settings = limited(sqlite_settings, in_memory_max_bytes=1000)

    events = read_all(path, mime_type, settings, store)

    read = {member.name: member_bytes(member) for member in members_of(events)}
    assert read == members
    assert len({member.spool_path for member in members_of(events)}) == 20


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_spool_taken_at_once_by_consumer(
    kind: str, tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    # A worker may read and remove a spool file as soon as its member is
    # handed on, so the reader must not look at the file after that.
    members = {f"{index}.bin": os.urandom(3000) for index in range(5)}
    path, mime_type = build(kind, tmp_path / "taken", members)
    settings = limited(sqlite_settings, in_memory_max_bytes=1000)

    names = []
    for event in reader_for(settings, store).members(path, mime_type):
        assert isinstance(event, Member)
        assert event.spool_path is not None
        event.spool_path.unlink()
        names.append(event.name)

    assert sorted(names) == sorted(members)


def test_zip_early_stop_keeps_tmp_clean(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    members = {f"{index}.bin": os.urandom(5000) for index in range(3)}
    path = build_zip(tmp_path / "three.zip", members)
    settings = limited(sqlite_settings, in_memory_max_bytes=1000)

    with contextlib.closing(reader_for(settings, store).members(path, ZIP)) as events:
        first = next(events)

    assert isinstance(first, Member)
    assert list(store.tmp_dir.iterdir()) == [first.spool_path]


def test_gz_single_member(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(b"plain notes\n"))

    events = read_all(path, GZIP, sqlite_settings, store)

    assert [event.name for event in events] == ["notes.txt"]
    assert member_bytes(events[0]) == b"plain notes\n"


def test_gz_of_zero_blocks_kept(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    # Zero blocks read as an empty tar, yet this is a file that starts with
    # zeros, such as a disk image.
    data = bytes(4096) + b"payload"
    path = tmp_path / "disk.img.gz"
    path.write_bytes(gzip.compress(data))

    events = read_all(path, GZIP, sqlite_settings, store)

    assert [event.name for event in events] == ["disk.img"]
    assert member_bytes(events[0]) == data


def test_compressed_chosen_by_content(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = tmp_path / "misnamed.gz"
    path.write_bytes(bz2.compress(b"bzip2 inside"))

    events = read_all(path, BZIP2, sqlite_settings, store)

    assert [member_bytes(member) for member in members_of(events)] == [b"bzip2 inside"]


def test_7z_folders_read_whole(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    # Appending puts each member in a folder of its own; py7zr decompresses
    # folders in parallel threads unless the reader prevents it.
    members = {f"f{index}.bin": os.urandom(300_000) for index in range(4)}
    path = tmp_path / "folders.7z"
    for index, (name, data) in enumerate(members.items()):
        with py7zr.SevenZipFile(path, "w" if index == 0 else "a") as archive:
            archive.writestr(data, name)

    events = read_all(path, SEVEN_ZIP, sqlite_settings, store)

    assert [member.name for member in members_of(events)] == list(members)
    for member in members_of(events):
        assert member_bytes(member) == members[member.name], member.name


# --- stopping a 7z iteration early ---------------------------------------


def test_7z_break_ends_thread(
    shared_data: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    path = shared_data / "formats/archives/gps_photos.7z"
    settings = limited(sqlite_settings, in_memory_max_bytes=1000)

    with contextlib.closing(
        reader_for(settings, store).members(path, SEVEN_ZIP)
    ) as events:
        for event in events:
            first = event
            break

    assert isinstance(first, Member)
    assert extraction_threads() == []
    assert list(store.tmp_dir.iterdir()) == [first.spool_path]


def test_7z_stop_mid_member_cleans(
    tmp_path: Path, sqlite_settings: Settings, store: FileBlobStore
) -> None:
    # Stored, not compressed, so that the second member reaches its writer
    # in many chunks and the stop falls in the middle of it.
    members = {"first.txt": b"first", "second.bin": bytes(48 * MIB)}
    path = build_7z(tmp_path / "stop.7z", members, stored=True)
    settings = limited(sqlite_settings, in_memory_max_bytes=MIB)

    with contextlib.closing(
        reader_for(settings, store).members(path, SEVEN_ZIP)
    ) as events:
        first = next(events)
        deadline = time.monotonic() + 10
        while not any(store.tmp_dir.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert any(store.tmp_dir.iterdir()), "the second member was never spooled"

    assert isinstance(first, Member)
    assert first.data == b"first"
    assert extraction_threads() == []
    assert list(store.tmp_dir.iterdir()) == []
