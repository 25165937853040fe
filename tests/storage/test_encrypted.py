"""Tests of the encrypted blob store on real folders, and of ingest on disk.

The checks that nothing is left in plaintext read every file under the
data directory and search it for byte sequences taken from the originals
and thumbnails.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from drawn_pictures import draw_picture
from scut.db.models import IngestError, Media, Occurrence
from scut.db.session import Database
from scut.errors import ScutError
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.security.audit import verify_chain
from scut.settings import Settings
from scut.storage.blobs import FileBlobStore
from scut.storage.encrypted import EncryptedBlobStore, census, open_spool
from scut.storage.keyfiles import key_file_path
from scut.storage.keys import (
    Keyring,
    KeyringError,
    add_master_key,
    finish_rotation,
    key_id_of,
    read_key_file,
    retire_master_key,
    write_key_file,
)
from scut.storage.segments import HEADER_BYTES, TAG_BYTES, BlobError

SEGMENT = 1024
UNIT = SEGMENT + TAG_BYTES
THUMBNAIL = "thumb.jpg"
# Search windows: long enough that ciphertext never contains one by chance.
WINDOW = 48
# Compressed picture data shows at least this many distinct bytes in a
# window; ASCII metadata shows fewer and could reach the database as text.
MIN_DISTINCT_BYTES = 28
CAMERA_SUBSET = ("exif-samples", "pillow")


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration folder of this test's own, and no key in the environment."""
    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    monkeypatch.delenv("SCUT_MASTER_KEY", raising=False)
    monkeypatch.delenv("SCUT_MASTER_KEY_FILE", raising=False)
    return folder


def new_key_file(path: Path) -> Keyring:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    return write_key_file(Keyring(key_id_of(key), {key_id_of(key): key}, path))


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return new_key_file(tmp_path / "keys" / "master-key.json")


@pytest.fixture
def store(tmp_path: Path, keyring: Keyring) -> EncryptedBlobStore:
    """A store with 1 KiB segments, so that small blobs span several."""
    return EncryptedBlobStore(
        tmp_path / "blobs", keyring, fsync=False, segment_size=SEGMENT
    )


def noisy_jpeg(seed: int, size: tuple[int, int] = (480, 360)) -> bytes:
    """A drawn picture with pixel noise, so its JPEG data is distinctive."""
    picture = np.asarray(draw_picture(seed, size), dtype=np.int16)
    noise = np.random.default_rng(seed).integers(-24, 25, picture.shape)
    noisy = Image.fromarray(np.clip(picture + noise, 0, 255).astype(np.uint8))
    output = io.BytesIO()
    noisy.save(output, format="JPEG", quality=92)
    return output.getvalue()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def windows(data: bytes) -> list[bytes]:
    """Return distinctive windows of ``data``: from a JPEG, of its last scan.

    JPEG headers hold tables that every libjpeg picture shares, so windows
    are taken from the compressed scan data after the last SOS marker.
    """
    start = 0
    if data.startswith(b"\xff\xd8"):
        start = max(0, data.rfind(b"\xff\xda")) + 64
    body = data[start:]
    found: list[bytes] = []
    for share in (0.2, 0.5, 0.8):
        offset = int(len(body) * share)
        while offset + WINDOW <= len(body):
            window = body[offset : offset + WINDOW]
            if len(set(window)) >= MIN_DISTINCT_BYTES:
                found.append(window)
                break
            offset += WINDOW
    return found


def plaintext_hits(root: Path, samples: dict[str, bytes]) -> list[str]:
    """Return "file: sample" for every file under ``root`` holding a sample's bytes."""
    needles = {name: windows(data) for name, data in samples.items()}
    assert all(needles.values()), "a sample has no distinctive window"
    hits: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            continue  # removed by a process still running
        hits.extend(
            f"{path.relative_to(root)}: {name}"
            for name, found in needles.items()
            if any(window in content for window in found)
        )
    return hits


def test_search_finds_plaintext(tmp_path: Path) -> None:
    # The detector itself: a copy of a sample must be found.
    data = noisy_jpeg(1)
    (tmp_path / "copy.bin").write_bytes(b"prefix" + data[100:])

    assert plaintext_hits(tmp_path, {"photo": data}) == ["copy.bin: photo"]


# The sealed format.


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 5 * SEGMENT])
def test_round_trip_sizes(store: EncryptedBlobStore, size: int) -> None:
    data = os.urandom(size)
    sha256 = sha256_of(data)

    assert store.put_original(sha256, data)

    with store.open_original(sha256) as handle:
        assert handle.read() == data
    path = store.original_path(sha256)
    segments = size // SEGMENT + 1
    assert path.stat().st_size == HEADER_BYTES + size + segments * TAG_BYTES
    assert key_file_path(path).exists()
    assert list(store.iter_originals()) == [sha256]


def test_reader_seeks(store: EncryptedBlobStore) -> None:
    data = os.urandom(10 * SEGMENT + 300)
    store.put_original(sha256_of(data), data)

    with store.open_original(sha256_of(data)) as handle:
        handle.seek(3 * SEGMENT - 10)
        assert handle.read(20) == data[3 * SEGMENT - 10 : 3 * SEGMENT + 10]
        handle.seek(-5, io.SEEK_END)
        assert handle.read() == data[-5:]
        handle.seek(SEGMENT // 2)
        assert handle.read() == data[SEGMENT // 2 :]
        assert handle.tell() == len(data)
        assert handle.read(10) == b""


def test_second_put_keeps_first(store: EncryptedBlobStore) -> None:
    data = noisy_jpeg(2)
    store.put_original(sha256_of(data), data)
    first = store.original_path(sha256_of(data)).read_bytes()

    assert not store.put_original(sha256_of(data), data)

    assert store.original_path(sha256_of(data)).read_bytes() == first
    assert list(store.tmp_dir.iterdir()) == []


def test_derived_round_trip(store: EncryptedBlobStore) -> None:
    data = noisy_jpeg(3)
    thumbnail = noisy_jpeg(4, (160, 120))

    store.put_derived(sha256_of(data), THUMBNAIL, thumbnail)
    store.put_derived(sha256_of(data), THUMBNAIL, thumbnail)

    assert store.read_derived(sha256_of(data), THUMBNAIL) == thumbnail
    assert key_file_path(store.derived_path(sha256_of(data), THUMBNAIL)).exists()


def test_derived_name_like_key_file_rejected(store: EncryptedBlobStore) -> None:
    with pytest.raises(ValueError, match="suffix of key files"):
        store.put_derived("a" * 64, "thumb.key", b"x")


def test_disk_holds_no_plaintext(store: EncryptedBlobStore) -> None:
    original = noisy_jpeg(5)
    thumbnail = noisy_jpeg(6, (160, 120))

    store.put_original(sha256_of(original), original)
    store.put_derived(sha256_of(original), THUMBNAIL, thumbnail)

    samples = {"original": original, "thumbnail": thumbnail}
    assert plaintext_hits(store.root, samples) == []


def test_content_not_matching_name_rejected(store: EncryptedBlobStore) -> None:
    data = noisy_jpeg(7)
    wrong = sha256_of(b"other content")

    with pytest.raises(BlobError, match="was not stored"):
        store.put_original(wrong, data)

    assert not store.has_original(wrong)
    assert list(store.tmp_dir.iterdir()) == []


def test_delete_removes_key_files(store: EncryptedBlobStore) -> None:
    data = noisy_jpeg(8)
    store.put_original(sha256_of(data), data)
    store.put_derived(sha256_of(data), THUMBNAIL, b"thumbnail")

    store.delete_original(sha256_of(data))

    assert [path for path in store.root.rglob("*") if path.is_file()] == []


# Keys and integrity.


def test_wrong_master_key_names_blob(tmp_path: Path, store: EncryptedBlobStore) -> None:
    data = noisy_jpeg(9)
    store.put_original(sha256_of(data), data)
    other = new_key_file(tmp_path / "other" / "master-key.json")
    stranger = EncryptedBlobStore(store.root, other, fsync=False)

    with pytest.raises(KeyringError) as raised:
        stranger.open_original(sha256_of(data))

    assert isinstance(raised.value, ScutError)
    assert f"blob {sha256_of(data)} is sealed under master key" in str(raised.value)
    assert store.keyring.current_id in str(raised.value)


def put_segments(store: EncryptedBlobStore, count: int) -> tuple[bytes, Path]:
    data = os.urandom(count * SEGMENT + 100)
    store.put_original(sha256_of(data), data)
    return data, store.original_path(sha256_of(data))


def read_all(store: EncryptedBlobStore, data: bytes) -> bytes:
    with store.open_original(sha256_of(data)) as handle:
        content: bytes = handle.read()
    return content


def test_flipped_byte_detected(store: EncryptedBlobStore) -> None:
    data, path = put_segments(store, 4)
    sealed = bytearray(path.read_bytes())
    sealed[HEADER_BYTES + 2 * UNIT + 17] ^= 0x01
    path.write_bytes(sealed)

    with pytest.raises(BlobError) as raised:
        read_all(store, data)

    assert "segment 3 of 5 failed authentication" in str(raised.value)
    assert sha256_of(data) in str(raised.value)


def test_flipped_header_byte_detected(store: EncryptedBlobStore) -> None:
    data, path = put_segments(store, 2)
    sealed = bytearray(path.read_bytes())
    sealed[10] ^= 0x01  # the segment size
    path.write_bytes(sealed)

    with pytest.raises(BlobError):
        read_all(store, data)


def test_truncation_at_segment_boundary_detected(store: EncryptedBlobStore) -> None:
    data, path = put_segments(store, 4)
    sealed = path.read_bytes()
    path.write_bytes(sealed[: HEADER_BYTES + 3 * UNIT])

    with pytest.raises(BlobError):
        read_all(store, data)


def test_truncation_inside_segment_detected(store: EncryptedBlobStore) -> None:
    data, path = put_segments(store, 4)
    sealed = path.read_bytes()
    path.write_bytes(sealed[:-30])

    with pytest.raises(BlobError):
        read_all(store, data)


def test_swapped_segments_detected(store: EncryptedBlobStore) -> None:
    data, path = put_segments(store, 4)
    sealed = bytearray(path.read_bytes())
    first = HEADER_BYTES + UNIT
    second = HEADER_BYTES + 2 * UNIT
    sealed[first:second], sealed[second : second + UNIT] = (
        sealed[second : second + UNIT],
        sealed[first:second],
    )
    path.write_bytes(sealed)

    with pytest.raises(BlobError, match="segment 2 of 5"):
        read_all(store, data)


def test_segment_from_other_blob_detected(store: EncryptedBlobStore) -> None:
    data, path = put_segments(store, 3)
    _other_data, other_path = put_segments(store, 3)
    sealed = bytearray(path.read_bytes())
    foreign = other_path.read_bytes()
    start = HEADER_BYTES + UNIT
    sealed[start : start + UNIT] = foreign[start : start + UNIT]
    path.write_bytes(sealed)

    with pytest.raises(BlobError):
        read_all(store, data)


def test_key_file_of_other_blob_detected(store: EncryptedBlobStore) -> None:
    data, path = put_segments(store, 1)
    _other_data, other_path = put_segments(store, 1)
    key_file_path(path).write_bytes(key_file_path(other_path).read_bytes())

    with pytest.raises(BlobError, match="has no key file of its own"):
        read_all(store, data)


def test_altered_key_file_detected(store: EncryptedBlobStore) -> None:
    data, path = put_segments(store, 1)
    document = json.loads(key_file_path(path).read_text())
    wrapped = bytearray(bytes.fromhex(document["blob_id"]))
    wrapped[0] ^= 0x01
    document["blob_id"] = wrapped.hex()
    key_file_path(path).write_text(json.dumps(document))

    with pytest.raises(BlobError):
        read_all(store, data)


def test_missing_key_file_detected(store: EncryptedBlobStore) -> None:
    data, path = put_segments(store, 1)
    key_file_path(path).unlink()

    with pytest.raises(BlobError, match="restore the blob and its key file"):
        read_all(store, data)
    assert census(store.root).unpaired == [path.name]


# Temporary files.


def test_temporary_file_has_no_name(store: EncryptedBlobStore) -> None:
    data = noisy_jpeg(10)

    with store.temporary_file() as (handle, path):
        handle.write(data)
        handle.flush()
        assert list(store.tmp_dir.iterdir()) == []
        assert store.adopt_original(sha256_of(data), path)
        assert path.read_bytes() == data, "readable until the context exits"

    assert list(store.tmp_dir.iterdir()) == []
    assert read_all(store, data) == data
    assert plaintext_hits(store.root, {"original": data}) == []


def test_temporary_file_gone_after_kill(tmp_path: Path, keyring: Keyring) -> None:
    data = noisy_jpeg(11)
    source = tmp_path / "source.jpg"
    source.write_bytes(data)
    program = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from scut.storage.encrypted import EncryptedBlobStore\n"
        "from scut.storage.keys import read_key_file\n"
        "keyring = read_key_file(Path(sys.argv[2]), Path(sys.argv[1]))\n"
        "store = EncryptedBlobStore(Path(sys.argv[1]) / 'blobs', keyring)\n"
        "with store.temporary_file() as (handle, _path):\n"
        "    handle.write(Path(sys.argv[3]).read_bytes())\n"
        "    handle.flush()\n"
        "    os.fsync(handle.fileno())\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    assert keyring.path is not None

    completed = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path / "data"), str(keyring.path)]
        + [str(source)],
        timeout=60,
    )

    assert completed.returncode == -signal.SIGKILL
    assert list((tmp_path / "data" / "blobs" / "tmp").iterdir()) == []
    assert plaintext_hits(tmp_path / "data", {"original": data}) == []


def test_original_file_is_named_by_hash(store: EncryptedBlobStore) -> None:
    data = os.urandom(3 * SEGMENT)
    store.put_original(sha256_of(data), data)

    with store.original_file(sha256_of(data)) as path:
        assert path.name == sha256_of(data)
        assert path.read_bytes() == data
        assert path.stat().st_size == len(data)
        listed = list(store.tmp_dir.rglob("*"))
        assert all(entry.is_dir() or entry.is_symlink() for entry in listed)

    assert list(store.tmp_dir.iterdir()) == []


def test_member_spool_sealed(store: EncryptedBlobStore) -> None:
    data = noisy_jpeg(12)
    spool = store.new_spool(f"{os.getpid()}-member-")
    spool.write(data[:1000])
    spool.write(bytearray(data[1000:]))
    spool.close()

    assert spool.key is not None
    assert spool.path.parent == store.tmp_dir
    assert plaintext_hits(store.tmp_dir, {"member": data}) == []
    with open_spool(spool.path, spool.key) as handle:
        assert handle.read() == data
    with pytest.raises(BlobError), open_spool(spool.path, os.urandom(32)) as handle:
        handle.read()


def test_concurrent_writers_and_readers(store: EncryptedBlobStore) -> None:
    # Every writer puts its own key file and blob; a reader must never pair
    # one writer's blob with another's key file.
    sha256 = "b" * 64
    thumbnail = os.urandom(5 * SEGMENT)
    store.put_derived(sha256, THUMBNAIL, thumbnail)
    failures: list[BaseException] = []

    def write() -> None:
        for _ in range(30):
            store.put_derived(sha256, THUMBNAIL, thumbnail)

    def read() -> None:
        for _ in range(60):
            try:
                assert store.read_derived(sha256, THUMBNAIL) == thumbnail
            except BaseException as error:  # noqa: BLE001 (reported below)
                failures.append(error)

    threads = [threading.Thread(target=write) for _ in range(3)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []


# Stores from before encryption.


def test_plaintext_store_read_then_sealed(tmp_path: Path, keyring: Keyring) -> None:
    old = FileBlobStore(tmp_path / "blobs", fsync=False)
    original = noisy_jpeg(13)
    thumbnail = noisy_jpeg(14, (160, 120))
    old.put_original(sha256_of(original), original)
    old.put_derived(sha256_of(original), THUMBNAIL, thumbnail)
    store = EncryptedBlobStore(tmp_path / "blobs", keyring, fsync=False)

    before = census(store.root)
    report = store.seal_existing()
    again = store.seal_existing()

    assert before.plaintext == 2
    assert before.sealed_by_key == {}
    assert report.done == 2
    assert report.failures == []
    assert again.skipped == 2
    assert again.done == 0
    assert census(store.root).plaintext == 0
    assert census(store.root).sealed_by_key == {keyring.current_id: 2}
    assert read_all(store, original) == original
    assert store.read_derived(sha256_of(original), THUMBNAIL) == thumbnail
    samples = {"original": original, "thumbnail": thumbnail}
    assert plaintext_hits(store.root, samples) == []


def test_plaintext_blob_readable_before_sealing(
    tmp_path: Path, keyring: Keyring
) -> None:
    old = FileBlobStore(tmp_path / "blobs", fsync=False)
    original = noisy_jpeg(15)
    old.put_original(sha256_of(original), original)
    store = EncryptedBlobStore(tmp_path / "blobs", keyring, fsync=False)

    assert read_all(store, original) == original
    with store.original_file(sha256_of(original)) as path:
        assert path == store.original_path(sha256_of(original))


def test_damaged_plaintext_original_left_alone(
    tmp_path: Path, keyring: Keyring
) -> None:
    old = FileBlobStore(tmp_path / "blobs", fsync=False)
    original = noisy_jpeg(16)
    old.put_original(sha256_of(original), original)
    path = old.original_path(sha256_of(original))
    path.write_bytes(original[:-10])
    store = EncryptedBlobStore(tmp_path / "blobs", keyring, fsync=False)

    report = store.seal_existing()

    assert report.done == 0
    assert len(report.failures) == 1
    assert sha256_of(original) in report.failures[0]
    assert path.read_bytes() == original[:-10]


# Rotation.


def test_rotation_keeps_blobs_readable(store: EncryptedBlobStore) -> None:
    blobs = [os.urandom(2 * SEGMENT + index) for index in range(5)]
    for data in blobs:
        store.put_original(sha256_of(data), data)
        store.put_derived(sha256_of(data), THUMBNAIL, data[:100])
    old_id = store.keyring.current_id
    rotated = add_master_key(store.keyring)
    contents = {
        path: path.read_bytes()
        for path in store.root.rglob("*")
        if path.is_file() and not path.name.endswith(".key")
    }

    report = store.rewrap_keys()
    finish_rotation(rotated)
    retired = retire_master_key(read_key_file(rotated.path, Path("/nowhere")), old_id)

    assert report.done == 10
    assert report.failures == []
    assert census(store.root).sealed_by_key == {rotated.current_id: 10}
    assert census(store.root).key_files_by_key == {rotated.current_id: 10}
    changed = [path for path, data in contents.items() if path.read_bytes() != data]
    assert changed == [], "rotation must not rewrite the media"
    assert list(retired.keys) == [rotated.current_id]
    fresh = EncryptedBlobStore(store.root, retired, fsync=False)
    for data in blobs:
        assert read_all(fresh, data) == data
        assert fresh.read_derived(sha256_of(data), THUMBNAIL) == data[:100]


def test_rotation_resumes_and_skips(store: EncryptedBlobStore) -> None:
    for index in range(4):
        data = os.urandom(SEGMENT + index)
        store.put_original(sha256_of(data), data)
    add_master_key(store.keyring)

    def stop_after_four(done: int, total: int) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.rewrap_keys(stop_after_four)
    report = store.rewrap_keys()

    assert report.skipped == 2
    assert report.done == 2


def test_rotation_removes_key_file_without_blob(store: EncryptedBlobStore) -> None:
    data = os.urandom(100)
    store.put_original(sha256_of(data), data)
    path = store.original_path(sha256_of(data))
    path.unlink()
    add_master_key(store.keyring)

    before = census(store.root)
    report = store.rewrap_keys()

    assert before.orphan_key_files == 1
    assert report.removed == 1
    assert not key_file_path(path).exists()


def test_writer_uses_key_added_by_other_process(store: EncryptedBlobStore) -> None:
    rotated = add_master_key(store.keyring)  # as `scut keys rotate` would
    data = os.urandom(100)

    store.put_original(sha256_of(data), data)

    assert census(store.root).sealed_by_key == {rotated.current_id: 1}


# Ingest.


def make_evidence(folder: Path, pictures: int, zipped: int) -> dict[str, bytes]:
    """Write drawn pictures and a zip of more; return every picture by name.

    The loose pictures (about 100 kB) pass the tests' 64 KiB in-memory limit
    and are streamed through unnamed temporary files. Of the zipped ones,
    every other one passes it too and is spooled; the rest (about 20 kB)
    are held in memory.
    """
    folder.mkdir(parents=True)
    samples: dict[str, bytes] = {}
    for index in range(pictures):
        data = noisy_jpeg(100 + index, (640, 480))
        (folder / f"IMG_{index:04d}.jpg").write_bytes(data)
        samples[f"IMG_{index:04d}.jpg"] = data
    with zipfile.ZipFile(folder / "phone.zip", "w") as archive:
        for index in range(zipped):
            size = (640, 480) if index % 2 else (200, 150)
            data = noisy_jpeg(500 + index, size)
            assert (len(data) > 64 * 1024) == bool(index % 2)
            archive.writestr(f"DCIM/P{index:04d}.jpg", data)
            samples[f"phone.zip/DCIM/P{index:04d}.jpg"] = data
    return samples


def camera_samples(folders: list[Path]) -> dict[str, bytes]:
    samples: dict[str, bytes] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and windows(path.read_bytes()):
                samples[f"{folder.name}/{path.name}"] = path.read_bytes()
    return samples


def thumbnails(store: EncryptedBlobStore) -> dict[str, bytes]:
    """Return every stored thumbnail, read through the store, by a label."""
    found: dict[str, bytes] = {}
    for sha256 in store.iter_originals():
        path = store.derived_path(sha256, THUMBNAIL)
        if path.exists():
            found[f"thumbnail of {sha256}"] = store.read_derived(sha256, THUMBNAIL)
    return found


def distinctive(samples: dict[str, bytes]) -> dict[str, bytes]:
    """Keep the samples that have windows to search for; small flat ones do not."""
    return {name: data for name, data in samples.items() if windows(data)}


def test_ingest_leaves_no_plaintext(
    tmp_path: Path, settings: Settings, database: Database, shared_data: Path
) -> None:
    samples = make_evidence(tmp_path / "evidence", pictures=6, zipped=4)
    camera = [shared_data / "camera" / folder for folder in CAMERA_SUBSET]
    samples.update(camera_samples(camera))
    # Past 64 KiB a file is streamed through an unnamed temporary file and
    # an archive member is spooled, so both paths are searched too.
    keyring = new_key_file(tmp_path / "keys" / "master.json")
    keyed = settings.model_copy(
        update={"master_key_file": keyring.path, "in_memory_max_bytes": 64 * 1024}
    )
    sources = [tmp_path / "evidence", *camera]
    origin = Origin(case="K1", exhibit="E1", unit="Police")

    summary = IngestJob(database, keyed, sources, origin).run()

    store = EncryptedBlobStore(keyed.data_dir / "blobs", keyring)
    with database.session() as session:
        with_thumbnail = session.scalar(
            select(func.count()).select_from(Media).where(Media.has_thumbnail)
        )
    assert summary.errors_by_stage.get("store", 0) == 0
    assert list(store.tmp_dir.iterdir()) == []
    found = census(store.root)
    assert found.plaintext == 0
    assert found.unpaired == []
    for sha256 in store.iter_originals():
        with store.open_original(sha256) as handle:
            assert sha256_of(handle.read()) == sha256
    stored_thumbnails = thumbnails(store)
    assert len(stored_thumbnails) == with_thumbnail > 0
    searched = {**samples, **distinctive(stored_thumbnails)}
    assert len(searched) > len(samples)
    hits = plaintext_hits(keyed.data_dir, searched)
    assert hits == []


def start_ingest(
    sources: list[Path], settings: Settings, key_file: Path
) -> subprocess.Popen[bytes]:
    environment = dict(
        os.environ,
        SCUT_DATA_DIR=str(settings.data_dir),
        SCUT_DATABASE_URL=settings.resolved_database_url,
        SCUT_MASTER_KEY_FILE=str(key_file),
        SCUT_WORKERS="2",
        SCUT_WRITE_BATCH_SIZE="5",
        SCUT_FSYNC_BLOBS="false",
        SCUT_IN_MEMORY_MAX_BYTES=str(64 * 1024),
    )
    command = [sys.executable, "-m", "scut", "ingest", *map(str, sources)]
    command += ["--case", "K1", "--exhibit", "E1", "--unit", "Police", "--json"]
    return subprocess.Popen(
        command,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stored_file_count(data_dir: Path) -> int:
    folder = data_dir / "blobs"
    return (
        sum(1 for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0
    )


def wait_for_new_files(process: subprocess.Popen[bytes], data_dir: Path) -> None:
    """Wait until the ingest has stored a file, so that a kill lands mid-work."""
    before = stored_file_count(data_dir)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if stored_file_count(data_dir) > before:
            return
        time.sleep(0.05)


@pytest.mark.slow
def test_killed_ingest_leaves_no_plaintext(
    tmp_path: Path, sqlite_settings: Settings, shared_data: Path
) -> None:
    samples = make_evidence(tmp_path / "evidence", pictures=60, zipped=12)
    camera = shared_data / "camera" / "exif-samples"
    samples.update(camera_samples([camera]))
    sources = [tmp_path / "evidence", camera]
    # Every file, the zip and its members included.
    total = 60 + 1 + 12 + sum(1 for path in camera.rglob("*") if path.is_file())
    keyring = new_key_file(tmp_path / "keys" / "master.json")
    assert keyring.path is not None
    database = Database(sqlite_settings)
    database.upgrade()
    killed_mid_work = 0

    # One kill during start-up, then kills at growing times after the run
    # has stored its first file, because the start-up alone can take
    # seconds. Each run resumes the last, so later runs have less left to
    # do and are killed sooner.
    for after_work_starts, delay in (
        (False, 0.5),
        (True, 0.1),
        (True, 0.3),
        (True, 0.8),
    ):
        process = start_ingest(sources, sqlite_settings, keyring.path)
        if after_work_starts:
            wait_for_new_files(process, sqlite_settings.data_dir)
        time.sleep(delay)
        finished = process.poll() is not None
        # A run that has already ended has no process group left to kill.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        hits = plaintext_hits(sqlite_settings.data_dir, samples)
        assert hits == [], f"plaintext on disk after a kill {delay} s into a run"
        killed_mid_work += int(after_work_starts and not finished)

    completed = start_ingest(sources, sqlite_settings, keyring.path)
    assert completed.wait(timeout=300) == 0
    store = EncryptedBlobStore(sqlite_settings.data_dir / "blobs", keyring)
    with database.session() as session:
        files = session.scalar(select(func.count()).select_from(Occurrence))
        errors = session.execute(
            select(IngestError.path, IngestError.stage, IngestError.reason)
        ).all()
        chain = verify_chain(session, sqlite_settings)
    database.dispose()
    assert chain.intact, chain.message
    assert killed_mid_work >= 2, "the ingest finished before the kills"
    assert files == total, errors
    assert list(store.tmp_dir.iterdir()) == []
    assert census(store.root).plaintext == 0
    for sha256 in store.iter_originals():
        with store.open_original(sha256) as handle:
            assert sha256_of(handle.read()) == sha256
    samples.update(distinctive(thumbnails(store)))
    assert plaintext_hits(sqlite_settings.data_dir, samples) == []


def test_demo_runs_with_sealed_store(tmp_path: Path, config_home: Path) -> None:
    environment = dict(
        os.environ, SCUT_DATA_DIR=str(tmp_path / "data"), SCUT_WORKERS="2"
    )
    evidence = tmp_path / "evidence"

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "scut",
            "demo",
            "--json",
            "--destination",
            str(evidence),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    # The verdicts the demo drew before blobs were sealed.
    assert result["verification"]["by_verdict"] == {
        "known": 17,
        "near": 6,
        "new": 23,
        "known-good": 3,
    }
    assert result["ingest"]["errors"] == 0
    assert "Created a master key" in completed.stderr
    assert (config_home / "scut" / "master-key.json").exists()
    found = census(tmp_path / "data" / "blobs")
    assert found.plaintext == 0
    assert sum(found.sealed_by_key.values()) == found.files > 0
    pictures = {
        path.name: path.read_bytes()
        for path in evidence.rglob("*")
        if path.suffix.lower() in (".jpg", ".png", ".mp4")
        and windows(path.read_bytes())
    }
    assert pictures
    assert plaintext_hits(tmp_path / "data", pictures) == []
