"""Opening a media and revealing its thumbnail: access, audit and the sealed store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from drawn_pictures import draw_picture
from records_helpers import add_media, add_submission, analyst
from scut.db.models import AuditEvent, Media, Series, SeriesMedia
from scut.db.session import Database
from scut.hashsets.items import Category
from scut.ingest.images import analyse_image
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.media.categorise import categorise
from scut.media.lookup import MediaNotFound
from scut.media.view import (
    ThumbnailUnavailable,
    media_detail,
    reveal_thumbnail,
)
from scut.security.access import AccessDenied
from scut.security.audit import AuditError
from scut.security.caller import Caller
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.encrypted import EncryptedBlobStore

THUMBNAIL = b"\xff\xd8\xff\xe0 a stand-in JPEG thumbnail \xff\xd9"
HASH_SET_MATCH = {
    "source": "hash-set",
    "hash_set": "projectvic-2026",
    "set_kind": "known-abuse",
    "how": "pdq",
    "distance": 12,
    "category": {"scheme": "projectvic", "code": "1"},
    "series": "Lake",
}


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def _media_with_thumbnail(database: Database, store: EncryptedBlobStore) -> int:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
        add_submission(session, [media_id])
        media = session.get_one(Media, media_id)
        media.has_thumbnail = True
        store.put_derived(media.sha256, "thumb.jpg", THUMBNAIL)
    return media_id


def _outsider(role: str) -> Caller:
    return Caller(user=f"{role}-1", roles=frozenset({role}), justification="C-1")


def test_detail_lists_occurrences_and_matches(database: Database) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
        add_submission(
            session, [media_id], details={media_id: {"matches": [HASH_SET_MATCH]}}
        )
        add_submission(session, [media_id], case="CASE-2", unit="Unit B")
        media = session.get_one(Media, media_id)
        media.body_serial = "SN 0042"
        media.gps_latitude, media.gps_longitude = 47.01, 28.86
        media.metadata_tags = {"Exif.Image.Make": "Example"}
        series = Series(name="Lake")
        session.add(series)
        session.flush()
        session.add(SeriesMedia(media_id=media_id, series_id=series.id))
        categorise(
            session, [media_id], Category("projectvic", "2"), caller=analyst("ana")
        )

    with database.session() as session, session.begin():
        detail = media_detail(session, media_id, caller=analyst("ana"))

    assert detail.sha256 == hashlib.sha256(b"media 0").hexdigest()
    assert detail.md5 == hashlib.md5(b"media 0").hexdigest()
    assert detail.metadata.body_serial == "SN 0042"
    assert detail.metadata.gps_latitude == 47.01
    assert detail.metadata.tags == {"Exif.Image.Make": "Example"}
    assert [line.unit for line in detail.occurrences] == ["Unit A", "Unit B"]
    assert [line.case for line in detail.occurrences] == ["CASE-1", "CASE-2"]
    assert detail.occurrences[0].path == "DCIM/0000.jpg"
    (match,) = detail.matches
    assert (match.hash_set, match.how, match.distance) == ("projectvic-2026", "pdq", 12)
    assert match.category == "projectvic 1"
    assert detail.category == "projectvic 2"
    assert [line.category for line in detail.category_history] == ["projectvic 2"]
    assert detail.series == "Lake"


def test_view_writes_one_event(database: Database) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
    with database.session() as session, session.begin():
        media_detail(session, media_id, caller=analyst("ana"))

    (event,) = _events(database, "media.view")
    assert event.object_type == "media"
    assert event.object_ids == f'["{media_id}"]'
    assert event.user == "ana"
    assert event.outcome == "succeeded"
    with database.session() as session:
        assert len(session.scalars(select(AuditEvent)).all()) == 1


def test_view_of_unknown_media_fails(database: Database) -> None:
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(MediaNotFound, match="no media number 99"),
    ):
        media_detail(session, 99, caller=analyst("ana"))
    assert _events(database, "media.view") == []


@pytest.mark.parametrize("role", ["auditor", "admin", "submitter"])
def test_view_and_reveal_denied(
    database: Database, settings: Settings, role: str
) -> None:
    store = open_blob_store(settings)
    media_id = _media_with_thumbnail(database, store)
    found: list[object] = []

    def attempt(session: Session) -> None:
        found.append(media_detail(session, media_id, caller=_outsider(role)))

    def reveal(session: Session) -> None:
        found.append(reveal_thumbnail(session, store, media_id, caller=_outsider(role)))

    for call in (attempt, reveal):
        with (
            database.session() as session,
            session.begin(),
            pytest.raises(AccessDenied, match="may not call media"),
        ):
            call(session)
    assert found == []
    with database.session() as session:
        assert session.scalars(select(AuditEvent)).all() == []


def test_reveal_writes_one_event(database: Database, settings: Settings) -> None:
    store = open_blob_store(settings)
    media_id = _media_with_thumbnail(database, store)

    with database.session() as session, session.begin():
        data = reveal_thumbnail(session, store, media_id, caller=analyst("ana"))

    assert data == THUMBNAIL
    (event,) = _events(database, "media.reveal")
    assert event.object_ids == f'["{media_id}"]'
    assert event.object_type == "media"
    assert event.justification == "CASE-1"
    assert _events(database, "media.view") == []


def test_reveal_without_thumbnail_fails(database: Database, settings: Settings) -> None:
    store = open_blob_store(settings)
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(ThumbnailUnavailable, match=f"media {media_id} .* no thumbnail"),
    ):
        reveal_thumbnail(session, store, media_id, caller=analyst("ana"))
    assert _events(database, "media.reveal") == []


def test_reveal_fails_when_audit_field_invalid(
    database: Database, settings: Settings
) -> None:
    store = open_blob_store(settings)
    media_id = _media_with_thumbnail(database, store)
    # The audit log's user column is limited to 200 characters, so this
    # name makes record_event raise after the thumbnail was read.
    long_name = Caller(user="a" * 201, roles=frozenset({"analyst"}))
    revealed: list[bytes] = []

    with (
        pytest.raises(AuditError, match="audit field user"),
        database.session() as session,
        session.begin(),
    ):
        revealed.append(reveal_thumbnail(session, store, media_id, caller=long_name))

    assert revealed == []
    assert _events(database, "media.reveal") == []


def test_reveal_fails_when_database_rejects_event(
    database: Database, settings: Settings
) -> None:
    store = open_blob_store(settings)
    media_id = _media_with_thumbnail(database, store)
    _reject_audit_inserts(database)
    revealed: list[bytes] = []

    with (
        pytest.raises(AuditError, match="could not be written"),
        database.session() as session,
        session.begin(),
    ):
        revealed.append(
            reveal_thumbnail(session, store, media_id, caller=analyst("ana"))
        )

    assert revealed == []
    assert _events(database, "media.reveal") == []


def _reject_audit_inserts(database: Database) -> None:
    """Make the database itself refuse every new audit row, as a full disk would."""
    with database.session() as session, session.begin():
        if session.get_bind().dialect.name == "sqlite":
            session.execute(
                text(
                    "CREATE TRIGGER reject_audit BEFORE INSERT ON audit_events "
                    "BEGIN SELECT RAISE(ABORT, 'audit insert rejected'); END"
                )
            )
            return
        session.execute(
            text(
                "CREATE FUNCTION reject_audit() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'audit insert rejected'; END $$"
            )
        )
        session.execute(
            text(
                "CREATE TRIGGER reject_audit BEFORE INSERT ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION reject_audit()"
            )
        )


def test_reveal_returns_pipeline_thumbnail(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "seized"
    folder.mkdir()
    picture = folder / "picture.jpg"
    draw_picture(7).save(picture, quality=90)
    origin = Origin(case="C-1", exhibit="E1", unit="Border Police")
    IngestJob(database, settings, [folder], origin).run()
    original = picture.read_bytes()
    expected = analyse_image(
        original, settings.thumbnail_size, settings.picture_views
    ).thumbnail_jpeg
    sha256 = hashlib.sha256(original).hexdigest()
    with database.session() as session:
        media_id = session.scalars(select(Media.id).where(Media.sha256 == sha256)).one()

    store = open_blob_store(settings)
    with database.session() as session, session.begin():
        revealed = reveal_thumbnail(session, store, media_id, caller=analyst("ana"))

    assert revealed == expected
    on_disk = store.derived_path(sha256, "thumb.jpg").read_bytes()
    assert expected not in on_disk
    assert expected[:64] not in on_disk
    assert expected[-64:] not in on_disk
