"""The blob store check (``store.verify``) on real stores and both databases.

Media rows come from records_helpers, which gives media N the SHA-256 of
the text ``media N``. The tests store that text as the original, so it
re-hashes to its row, and then break the store in one way per finding.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from records_helpers import add_media
from scut.db.models import AuditEvent, Media
from scut.db.session import Database
from scut.integrity import BlobCheckFailed, verify_blobs
from scut.security.access import AccessDenied
from scut.security.caller import Caller
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.blobs import FileBlobStore
from scut.storage.check import scan_store
from scut.storage.encrypted import EncryptedBlobStore
from scut.storage.keyfiles import key_file_path, wrap_data_key
from scut.storage.segments import SegmentWriter

SUPERVISOR = Caller(user="vera", roles=frozenset({"supervisor"}), source="test")
THUMBNAIL = "thumb.jpg"


@pytest.fixture
def store(settings: Settings) -> EncryptedBlobStore:
    """An empty encrypted store under a master key given in the settings."""
    key = base64.b64encode(os.urandom(32)).decode()
    keyed = settings.model_copy(update={"master_key": SecretStr(key)})
    return open_blob_store(keyed)


def seed(number: int) -> bytes:
    """The original content whose SHA-256 records_helpers gives media ``number``."""
    return f"media {number}".encode()


def stored_media(
    database: Database, store: EncryptedBlobStore, count: int
) -> list[str]:
    """Record ``count`` media with thumbnails and store them; return their SHA-256."""
    with database.session() as session, session.begin():
        ids = add_media(session, count)
        session.execute(update(Media).values(has_thumbnail=True))
        digests = [session.get_one(Media, media_id).sha256 for media_id in ids]
    for number, sha256 in enumerate(digests):
        store.put_original(sha256, seed(number))
        store.put_derived(sha256, THUMBNAIL, b"thumbnail %d" % number)
    return digests


def store_events(database: Database) -> list[AuditEvent]:
    with database.session() as session:
        query = select(AuditEvent).where(AuditEvent.action == "store.verify")
        return list(session.scalars(query.order_by(AuditEvent.id)))


def seal_as(store: EncryptedBlobStore, sha256: str, content: bytes) -> None:
    """Seal other ``content`` under the name ``sha256`` with a valid key file.

    Only someone holding the master key could do this, and then only the
    digest shows the swap.
    """
    data_key = os.urandom(32)
    path = store.original_path(sha256)
    with path.open("wb") as handle:
        writer = SegmentWriter(handle, data_key, sha256)
        writer.write(content)
        writer.finish()
    wrapped = wrap_data_key(store.keyring, data_key, writer.header.blob_id, sha256)
    key_file_path(path).write_bytes(wrapped.to_json())


def test_intact_store_passes(database: Database, store: EncryptedBlobStore) -> None:
    stored_media(database, store, 3)

    report = verify_blobs(database, store, caller=SUPERVISOR)

    assert report.intact
    assert report.media == 3
    assert report.originals_checked == 3
    assert report.derived_checked == 3
    (event,) = store_events(database)
    assert event.outcome == "succeeded"
    assert event.detail["originals_checked"] == 3
    assert event.detail["mismatched"] == 0


def test_sample_rehashes_only_its_media(
    database: Database, store: EncryptedBlobStore
) -> None:
    digests = stored_media(database, store, 4)
    store.original_path(digests[2]).unlink()

    with pytest.raises(BlobCheckFailed) as raised:
        verify_blobs(database, store, caller=SUPERVISOR, sample=1)

    report = raised.value.report
    assert report.sample == 1
    assert report.originals_checked <= 1
    assert report.derived_checked == 1
    # The listing covers every row, so a missing blob is found unsampled.
    assert report.counts["missing"] == 1
    assert report.findings[0].name == digests[2]


def test_each_kind_of_damage_found(
    database: Database, store: EncryptedBlobStore
) -> None:
    digests = stored_media(database, store, 7)
    store.original_path(digests[0]).unlink()
    seal_as(store, digests[1], b"other content")
    sealed = store.original_path(digests[2])
    damaged = bytearray(sealed.read_bytes())
    damaged[-1] ^= 0x01
    sealed.write_bytes(bytes(damaged))
    key_file_path(store.derived_path(digests[3], THUMBNAIL)).unlink()
    store.derived_path(digests[4], THUMBNAIL).unlink()
    store.original_path(digests[5]).unlink()
    key_file_path(store.original_path(digests[5])).unlink()
    FileBlobStore(store.root).put_original(digests[5], seed(5))
    orphan = hashlib.sha256(b"no row").hexdigest()
    store.put_original(orphan, b"no row")
    stray = store.root / "originals" / "zz" / "zz" / "notes.txt"
    stray.parent.mkdir(parents=True)
    stray.write_text("left here")

    with pytest.raises(BlobCheckFailed) as raised:
        verify_blobs(database, store, caller=SUPERVISOR)

    report = raised.value.report
    found = {(item.kind, item.name) for item in report.findings}
    assert ("missing", digests[0]) in found
    assert ("mismatched", digests[1]) in found
    assert ("undecryptable", digests[2]) in found
    assert ("undecryptable", f"{digests[3]}.{THUMBNAIL}") in found
    assert ("missing", f"{digests[4]}.{THUMBNAIL}") in found
    assert ("plaintext", digests[5]) in found
    assert ("orphan", orphan) in found
    assert ("orphan", "originals/zz/zz/notes.txt") in found
    assert report.counts == {
        "missing": 2,
        "mismatched": 1,
        "undecryptable": 2,
        "plaintext": 1,
        "orphan": 2,
    }
    (event,) = store_events(database)
    assert event.outcome == "failed"
    assert event.detail["mismatched"] == 1
    assert event.detail["orphan"] == 2


def test_analyst_may_not_verify_store(
    database: Database, store: EncryptedBlobStore
) -> None:
    analyst = Caller(user="ana", roles=frozenset({"analyst"}))

    with pytest.raises(AccessDenied, match="may not call store.verify"):
        verify_blobs(database, store, caller=analyst)

    assert store_events(database) == []


def test_scan_store_sorted_by_digest(tmp_path: Path, store: EncryptedBlobStore) -> None:
    contents = [b"picture %d" % number for number in range(40)]
    for content in contents:
        sha256 = hashlib.sha256(content).hexdigest()
        store.put_original(sha256, content)
        store.put_derived(sha256, THUMBNAIL, content)
    unexpected: list[str] = []

    entries = list(scan_store(store.root, unexpected))

    digests = [entry.sha256 for entry in entries]
    assert digests == sorted(hashlib.sha256(c).hexdigest() for c in contents)
    assert all(entry.original for entry in entries)
    assert all(entry.derived == {THUMBNAIL} for entry in entries)
    assert all(entry.lone_key_files() == [] for entry in entries)
    assert unexpected == []


def test_media_stored_during_check_not_orphan(
    database: Database, store: EncryptedBlobStore
) -> None:
    stored_media(database, store, 2)
    # Content whose digest sorts after every stored one, so the walk lists
    # its folder only after the progress callback below has stored it.
    number = 0
    while not hashlib.sha256(b"late %d" % number).hexdigest().startswith("ff"):
        number += 1
    late = b"late %d" % number
    late_sha256 = hashlib.sha256(late).hexdigest()
    store.original_path(late_sha256).parent.mkdir(parents=True)

    def ingest_meanwhile(done: int, total: int) -> None:
        if done == 1:
            store.put_original(late_sha256, late)
            with database.session() as session, session.begin():
                (media_id,) = add_media(session, 1, start=50)
                session.get_one(Media, media_id).sha256 = late_sha256

    report = verify_blobs(database, store, caller=SUPERVISOR, progress=ingest_meanwhile)

    assert report.intact, report.findings
    assert store.has_original(late_sha256)
