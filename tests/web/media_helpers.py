"""Media with sealed thumbnails for the media page tests, and signed-in clients."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from drawn_pictures import draw_picture
from scut.db.models import Case, Exhibit, Media, Occurrence, Submission, Unit
from scut.db.session import Database
from scut.ingest.analyse import STRIP_NAME, THUMBNAIL_NAME
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.web.security import CSRF_HEADER
from web.helpers import SteppingClock, Users, csrf_of, sign_in


def thumbnail_jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """Return a drawn picture (shapes over a gradient) as a thumbnail JPEG."""
    output = io.BytesIO()
    draw_picture(seed, size).save(output, format="JPEG", quality=85)
    return output.getvalue()


@dataclass
class MediaSpec:
    """A test media: its kind, verdict, category and metadata."""

    kind: str = "image"
    verdict: str = "new"
    category: tuple[str, str] | None = None
    body_serial: str | None = None
    gps: tuple[float, float] | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    thumbnail: bool = True


def add_grid_media(
    database: Database,
    settings: Settings,
    specs: list[MediaSpec],
    *,
    case: str = "CASE-1",
    unit: str = "Unit A",
    exhibit: str = "E1",
) -> list[int]:
    """Record media in one new submission with sealed thumbnails, and return their ids.

    A picture gets a drawn thumbnail and a video a frame strip of three
    drawn frames.
    """
    store = open_blob_store(settings)
    ids = []
    with database.session() as session, session.begin():
        exhibit_id = _exhibit(session, case, unit, exhibit)
        for spec in specs:
            media = _media(session, spec)
            ids.append(media.id)
            session.add(
                Occurrence(
                    exhibit_id=exhibit_id,
                    media_id=media.id,
                    path=f"DCIM/{exhibit}/{media.id:05d}.{_extension(spec.kind)}",
                    verdict=spec.verdict,
                    verdict_detail={},
                )
            )
            if spec.thumbnail and spec.kind == "image":
                media.has_thumbnail = True
                store.put_derived(
                    media.sha256, THUMBNAIL_NAME, thumbnail_jpeg(media.id)
                )
            elif spec.thumbnail and spec.kind == "video":
                media.has_strip = True
                store.put_derived(media.sha256, STRIP_NAME, _strip(media.id))
    return ids


def _exhibit(session: Session, case: str, unit: str, label: str) -> int:
    unit_row = session.query(Unit).filter_by(name=unit).one_or_none() or Unit(name=unit)
    case_row = session.query(Case).filter_by(reference=case).one_or_none() or Case(
        reference=case
    )
    session.add_all([unit_row, case_row])
    session.flush()
    submission = Submission(
        case_id=case_row.id, unit_id=unit_row.id, officer=f"officer {label}"
    )
    session.add(submission)
    session.flush()
    exhibit = Exhibit(case_id=case_row.id, submission_id=submission.id, label=label)
    session.add(exhibit)
    session.flush()
    return exhibit.id


def _media(session: Session, spec: MediaSpec) -> Media:
    seed = uuid.uuid4().bytes
    media = Media(
        sha256=hashlib.sha256(seed).hexdigest(),
        sha1=hashlib.sha1(seed).hexdigest(),
        md5=hashlib.md5(seed).hexdigest(),
        size=2000,
        mime_type="video/mp4" if spec.kind == "video" else "image/jpeg",
        kind=spec.kind,
        width=480,
        height=360,
        body_serial=spec.body_serial,
        metadata_tags=spec.tags,
    )
    if spec.category is not None:
        media.category_scheme, media.category_code = spec.category
    if spec.gps is not None:
        media.gps_latitude, media.gps_longitude = spec.gps
    session.add(media)
    session.flush()
    return media


def _extension(kind: str) -> str:
    return {"image": "jpg", "video": "mp4"}.get(kind, "bin")


def _strip(seed: int) -> bytes:
    frames = [draw_picture(seed * 10 + index, (160, 90)) for index in range(3)]
    strip = Image.new("RGB", (480, 90))
    for index, frame in enumerate(frames):
        strip.paste(frame, (160 * index, 0))
    output = io.BytesIO()
    strip.save(output, format="JPEG", quality=80)
    return output.getvalue()


def signed_in(
    client: TestClient,
    users: Users,
    clock: SteppingClock,
    username: str = "ana",
    roles: tuple[str, ...] = ("analyst",),
) -> dict[str, str]:
    """Sign a new user in on ``client`` and return the CSRF header of the session."""
    user = users.add(username, roles, unit="Centre")
    sign_in(client, user, clock)
    return {CSRF_HEADER: csrf_of(client.get("/dashboard").text)}


def add_occurrence(
    database: Database,
    media_id: int,
    *,
    verdict: str,
    case: str,
    exhibit: str,
    unit: str = "Unit A",
) -> int:
    """Record an existing media again in a new submission, and return the submission."""
    with database.session() as session, session.begin():
        exhibit_id = _exhibit(session, case, unit, exhibit)
        session.add(
            Occurrence(
                exhibit_id=exhibit_id,
                media_id=media_id,
                path=f"copies/{exhibit}/{media_id}.jpg",
                verdict=verdict,
                verdict_detail={},
            )
        )
        return session.get_one(Exhibit, exhibit_id).submission_id
