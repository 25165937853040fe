"""Rows the analysts' record tests start from: media, exhibits and occurrences."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from scut.db.models import Case, Exhibit, Media, Occurrence, Submission, Unit
from scut.security.caller import Caller


def add_media(session: Session, count: int, *, start: int = 0) -> list[int]:
    """Insert ``count`` picture media with distinct digests and return their ids."""
    ids = []
    for number in range(start, start + count):
        seed = f"media {number}".encode()
        media = Media(
            sha256=hashlib.sha256(seed).hexdigest(),
            sha1=hashlib.sha1(seed).hexdigest(),
            md5=hashlib.md5(seed).hexdigest(),
            size=1000 + number,
            mime_type="image/jpeg",
            kind="image",
        )
        session.add(media)
        session.flush()
        ids.append(media.id)
    return ids


def add_submission(
    session: Session,
    media_ids: list[int],
    *,
    case: str = "CASE-1",
    unit: str = "Unit A",
    details: dict[int, dict[str, Any]] | None = None,
) -> int:
    """Record a submission with one exhibit holding the media; return its id."""
    unit_row = Unit(name=unit)
    case_row = Case(reference=case)
    session.add_all([unit_row, case_row])
    session.flush()
    submission = Submission(case_id=case_row.id, unit_id=unit_row.id)
    session.add(submission)
    session.flush()
    exhibit = Exhibit(case_id=case_row.id, submission_id=submission.id, label="E1")
    session.add(exhibit)
    session.flush()
    for index, media_id in enumerate(media_ids):
        session.add(
            Occurrence(
                exhibit_id=exhibit.id,
                media_id=media_id,
                path=f"DCIM/{index:04d}.jpg",
                verdict="new",
                verdict_detail=(details or {}).get(media_id, {}),
            )
        )
    session.flush()
    return submission.id


def analyst(name: str, justification: str = "CASE-1") -> Caller:
    """Return a signed-in analyst of the centre, with a justification."""
    return Caller(
        user=name,
        roles=frozenset({"analyst"}),
        source="test",
        justification=justification,
    )
