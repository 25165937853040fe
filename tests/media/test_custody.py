"""A media's chain of custody: receipts, ingests, categorisations and views."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from drawn_pictures import draw_picture
from records_helpers import add_media, add_submission, analyst
from scut.db.models import AuditEvent, Media
from scut.db.session import Database
from scut.hashsets.items import Category
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.media.categorise import categorise
from scut.media.custody import custody_history
from scut.media.lookup import MediaNotFound
from scut.media.view import media_detail, reveal_thumbnail
from scut.security.access import AccessDenied
from scut.security.audit import DENIED, record_separately
from scut.security.caller import Caller
from scut.settings import Settings
from scut.storage import open_blob_store

AUDITOR = Caller(user="olga", roles=frozenset({"auditor"}))


def _ingest(
    database: Database, settings: Settings, folder: Path, origin: Origin
) -> None:
    IngestJob(database, settings, [folder], origin).run()


def test_custody_of_media_ingested_twice(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    picture = folder / "IMG_0001.jpg"
    draw_picture(11).save(picture, quality=90)
    sha256 = hashlib.sha256(picture.read_bytes()).hexdigest()
    first = Origin(
        case="C-1",
        exhibit="card",
        unit="Police, Orhei",
        officer="Popa",
        criminal_case_number="2026/117",
        seizure_date=dt.date(2026, 3, 2),
        legal_basis="order 7/2026",
    )
    second = Origin(case="C-2", exhibit="laptop", unit="Customs", officer="Rusu")
    _ingest(database, settings, folder, first)
    _ingest(database, settings, folder, second)
    with database.session() as session:
        media_id = session.scalars(select(Media.id).where(Media.sha256 == sha256)).one()
    with database.session() as session, session.begin():
        categorise(
            session, [media_id], Category("projectvic", "1"), caller=analyst("ana")
        )
    with database.session() as session, session.begin():
        media_detail(session, media_id, caller=analyst("ion"))

    with database.session() as session, session.begin():
        events = custody_history(session, media_id, caller=analyst("ana"))

    assert [event.event for event in events] == [
        "received",
        "ingested",
        "received",
        "ingested",
        "categorised",
        "viewed",
    ]
    assert [event.at for event in events] == sorted(event.at for event in events)
    received, ingested = events[0], events[1]
    assert received.by == "Popa"
    assert received.detail["unit"] == "Police, Orhei"
    assert received.detail["criminal_case_number"] == "2026/117"
    assert received.detail["seizure_date"] == "2026-03-02"
    assert received.detail["legal_basis"] == "order 7/2026"
    assert received.detail["exhibit"] == "card"
    assert ingested.detail["sha256"] == sha256
    assert ingested.by == getpass.getuser()
    assert ingested.detail["ingest_run"] is not None
    assert events[2].by == "Rusu"
    assert events[2].detail["unit"] == "Customs"
    assert events[2].detail["submission"] != received.detail["submission"]
    assert events[4].by == "ana"
    assert events[4].detail["category"] == "projectvic 1"
    assert events[5].by == "ion"
    assert "path" not in received.detail


def test_custody_lists_reveals_not_denials(
    database: Database, settings: Settings
) -> None:
    store = open_blob_store(settings)
    with database.session() as session, session.begin():
        media_id, other_id = add_media(session, 2)
        add_submission(session, [media_id, other_id])
        media = session.get_one(Media, media_id)
        media.has_thumbnail = True
        store.put_derived(media.sha256, "thumb.jpg", b"thumbnail")
    with database.session() as session, session.begin():
        reveal_thumbnail(session, store, media_id, caller=analyst("ana"))
        media_detail(session, other_id, caller=analyst("ana"))
    record_separately(
        database,
        analyst("eve"),
        "media.reveal",
        outcome=DENIED,
        object_type="media",
        object_ids=[media_id],
    )
    # A person with the same number is not this media.
    record_separately(
        database,
        analyst("ana"),
        "media.view",
        outcome="succeeded",
        object_type="person",
        object_ids=[media_id],
    )

    with database.session() as session, session.begin():
        events = custody_history(session, media_id, caller=AUDITOR)

    assert [event.event for event in events] == ["received", "ingested", "revealed"]
    revealed = events[-1]
    assert revealed.by == "ana"
    assert revealed.detail["action"] == "media.reveal"
    assert revealed.detail["justification"] == "CASE-1"
    # A receipt recorded without an ingest run names no one.
    assert events[1].by == ""


def test_custody_lists_exports_and_transfers(database: Database) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
    for action in ("export.vics", "transfer.referral", "exporter.other"):
        record_separately(
            database,
            analyst("ana"),
            action,
            outcome="succeeded",
            object_type="media",
            object_ids=[media_id + 10, media_id],
        )

    with database.session() as session, session.begin():
        events = custody_history(session, media_id, caller=analyst("ana"))

    assert [event.event for event in events] == ["exported", "transferred"]


def test_custody_read_is_audited(database: Database) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
    with database.session() as session, session.begin():
        custody_history(session, media_id, caller=AUDITOR)
    with database.session() as session:
        (event,) = session.scalars(select(AuditEvent)).all()
    assert (event.action, event.user) == ("media.custody", "olga")
    assert event.object_ids == f'["{media_id}"]'


@pytest.mark.parametrize("role", ["submitter", "admin"])
def test_custody_denied(database: Database, role: str) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
    caller = Caller(user="x", roles=frozenset({role}), unit_id=1)
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(AccessDenied, match="may not call media.custody"),
    ):
        custody_history(session, media_id, caller=caller)


def test_custody_of_unknown_media(database: Database) -> None:
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(MediaNotFound, match="no media number 5"),
    ):
        custody_history(session, 5, caller=analyst("ana"))
