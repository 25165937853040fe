"""The series of media and their identification status, for matching and results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from scut.db.chunks import in_chunks
from scut.db.models import Series, SeriesMedia


@dataclass(frozen=True, slots=True)
class SeriesStatus:
    """A series' name and whether its victims and offenders are identified."""

    series_id: int
    name: str
    victim_identified: bool
    offender_identified: bool


def series_of_media(
    session: Session, media_ids: Iterable[int]
) -> dict[int, SeriesStatus]:
    """Return the series of each media that is in one, with its current status."""
    ids = sorted(set(media_ids))
    found: dict[int, SeriesStatus] = {}
    for chunk in in_chunks(ids):
        rows = session.execute(
            select(
                SeriesMedia.media_id,
                Series.id,
                Series.name,
                Series.victim_identified,
                Series.offender_identified,
            )
            .join(Series, Series.id == SeriesMedia.series_id)
            .where(SeriesMedia.media_id.in_(chunk))
        )
        for media_id, series_id, name, victim, offender in rows:
            found[media_id] = SeriesStatus(series_id, name, victim, offender)
    return found
