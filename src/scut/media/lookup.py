"""Find media by the references analysts type: a number or a SHA-256 prefix."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from scut.db.models import Exhibit, Media, Occurrence, Series, SeriesMedia, Submission
from scut.errors import ScutError
from scut.security.access import argument, operation
from scut.security.caller import Caller

# A SHA-256 prefix shorter than this would too often name several media.
MIN_PREFIX = 8
_HEX = re.compile(r"[0-9a-f]+")


class MediaNotFound(ScutError):
    """Raised for a media reference that names no media or several."""


def resolve_media(session: Session, references: Iterable[str]) -> list[int]:
    """Return the media ids of numbers or SHA-256 prefixes, in the given order.

    Raises MediaNotFound for the first reference that names no media, or
    more than one.
    """
    found: list[int] = []
    for reference in references:
        text = reference.strip().lower()
        if text.isascii() and text.isdigit() and len(text) < MIN_PREFIX:
            media_id = session.scalar(select(Media.id).where(Media.id == int(text)))
            if media_id is None:
                raise MediaNotFound(f"no media number {text}")
        elif _HEX.fullmatch(text) and MIN_PREFIX <= len(text) <= 64:
            ids = session.scalars(
                select(Media.id).where(Media.sha256.startswith(text)).limit(2)
            ).all()
            if not ids:
                raise MediaNotFound(f"no media with SHA-256 starting {text}")
            if len(ids) > 1:
                raise MediaNotFound(
                    f"SHA-256 prefix {text} names several media; give more digits"
                )
            media_id = ids[0]
        else:
            raise MediaNotFound(
                f"invalid media reference {reference[:80]!r}: give a media number "
                f"or at least {MIN_PREFIX} hex digits of its SHA-256"
            )
        if media_id not in found:
            found.append(media_id)
    return found


def submission_media(
    session: Session, submission_id: int, *, pictures_and_videos: bool = False
) -> list[int]:
    """Return the ids of every media found in a submission's exhibits.

    With ``pictures_and_videos``, archives, other files and files whose
    only verdict there is known-good are left out, as categorisation wants.
    """
    if session.get(Submission, submission_id) is None:
        raise MediaNotFound(f"no submission number {submission_id}")
    query = (
        select(Occurrence.media_id)
        .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
        .where(Exhibit.submission_id == submission_id)
    )
    if pictures_and_videos:
        query = query.join(Media, Media.id == Occurrence.media_id).where(
            Media.kind.in_(("image", "video")), Occurrence.verdict != "known-good"
        )
    return list(session.scalars(query.distinct().order_by(Occurrence.media_id)))


@dataclass(frozen=True, slots=True)
class MediaLine:
    """A media as the analysts' lists show it."""

    media_id: int
    sha256: str
    kind: str
    path: str
    verdict: str
    category: str | None
    category_source: str | None
    category_conflict: bool
    series: str | None


@operation("media.list", before=argument("media"))
def list_media(
    session: Session,
    media_ids: Sequence[int],
    *,
    caller: Caller,
    submission: int | None = None,
) -> list[MediaLine]:
    """Describe media for a list: path, verdict, category and series.

    The path and verdict are those of the media's first occurrence in
    ``submission`` when one is given, else of its first occurrence anywhere.
    """
    lines: list[MediaLine] = []
    for start in range(0, len(media_ids), 500):
        chunk = list(media_ids[start : start + 500])
        first_seen = {
            media_id: (path, verdict)
            for media_id, path, verdict in session.execute(
                select(Occurrence.media_id, Occurrence.path, Occurrence.verdict)
                .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
                .where(
                    Occurrence.media_id.in_(chunk),
                    true()
                    if submission is None
                    else Exhibit.submission_id == submission,
                )
                .order_by(Occurrence.id.desc())
            )
        }
        rows = session.execute(
            select(Media, Series.name)
            .outerjoin(SeriesMedia, SeriesMedia.media_id == Media.id)
            .outerjoin(Series, Series.id == SeriesMedia.series_id)
            .where(Media.id.in_(chunk))
            .order_by(Media.id)
        )
        for media, series in rows:
            path, verdict = first_seen.get(media.id, ("", ""))
            category = (
                f"{media.category_scheme} {media.category_code}"
                if media.category_code is not None
                else None
            )
            lines.append(
                MediaLine(
                    media_id=media.id,
                    sha256=media.sha256,
                    kind=media.kind,
                    path=path,
                    verdict=verdict,
                    category=category,
                    category_source=media.category_source,
                    category_conflict=media.category_conflict,
                    series=series,
                )
            )
    return lines
