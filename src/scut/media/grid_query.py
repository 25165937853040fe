"""The SQL of the media grid: keyset pages that stay fast under selective filters.

Ingest records the media of one exhibit together, so a submission's,
a case's or a series' media have ids close to each other. A page query
that scans media in id order and tests each one against such a filter
reads every media before the first one that passes. PostgreSQL's planner
picks that scan when it expects the LIMIT to end it early. So a page
with one of these filters is read from a driving table instead, in id
order. That table is the occurrences of each exhibit in scope (through
the (exhibit_id, media_id) index), the media of the series, or the
occurrences with the verdict. Each exhibit is one such stream, and the
streams are merged here. The other filters are conditions on the media
joined to each row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.orm import Session

from scut.db.chunks import in_chunks
from scut.db.models import Media, Occurrence, SeriesMedia

log = logging.getLogger(__name__)

# The columns a tile needs, leaving out the large ones (metadata tags).
TILE_COLUMNS = (
    Media.id,
    Media.kind,
    Media.mime_type,
    Media.width,
    Media.height,
    Media.duration_seconds,
    Media.category_scheme,
    Media.category_code,
    Media.category_conflict,
    Media.has_thumbnail,
    Media.has_strip,
    Media.gps_latitude,
    Media.gps_longitude,
)
# Exhibits read as one stream each. A case with more exhibits is read in
# streams of IN_CLAUSE_SIZE exhibits.
# NOTE: no index gives such a stream in media id order across its
# exhibits, so the database sorts them or scans in id order, at more cost.
MAX_EXHIBIT_STREAMS = 32


@dataclass(frozen=True, slots=True)
class Scope:
    """The occurrences and series a page is limited to. None limits nothing."""

    # The exhibits of the submission and case filters; empty when they share none.
    exhibit_ids: tuple[int, ...] | None = None
    verdict: str | None = None
    series_id: int | None = None


def page_rows(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    scope: Scope,
    after: int,
    limit: int,
) -> list[Row[Any]]:
    """Return the tile columns of up to ``limit`` media after ``after``, by id.

    ``conditions`` are on the media's own columns; ``scope`` limits the
    media to occurrences and a series.
    """
    if scope.exhibit_ids == ():
        return []
    streams = _streams(scope)
    if not streams:
        statement = select(*TILE_COLUMNS).where(Media.id > after, *conditions)
        return list(session.execute(statement.order_by(Media.id).limit(limit)))
    media_conditions = [*conditions, *_scope_conditions(scope)]
    return _merged(session, streams, media_conditions, after, limit)


@dataclass(frozen=True, slots=True)
class _Stream:
    """A driving table's rows that name media, in media id order."""

    id_column: Any
    where: tuple[ColumnElement[bool], ...]


def _streams(scope: Scope) -> list[_Stream]:
    """Return the driving streams of the scope; none when media itself drives."""
    verdict = () if scope.verdict is None else (Occurrence.verdict == scope.verdict,)
    if scope.exhibit_ids is not None:
        if len(scope.exhibit_ids) <= MAX_EXHIBIT_STREAMS:
            groups = [[exhibit_id] for exhibit_id in scope.exhibit_ids]
        else:
            groups = list(in_chunks(scope.exhibit_ids))
        return [
            _Stream(Occurrence.media_id, (Occurrence.exhibit_id.in_(group), *verdict))
            for group in groups
        ]
    if scope.series_id is not None:
        return [
            _Stream(SeriesMedia.media_id, (SeriesMedia.series_id == scope.series_id,))
        ]
    if scope.verdict is not None:
        return [_Stream(Occurrence.media_id, verdict)]
    return []


def _scope_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """Return the media conditions of the scope parts that do not drive the page."""
    conditions: list[ColumnElement[bool]] = []
    if scope.series_id is not None and scope.exhibit_ids is not None:
        members = select(SeriesMedia.media_id).where(
            SeriesMedia.series_id == scope.series_id
        )
        conditions.append(Media.id.in_(members))
    series_drives = scope.exhibit_ids is None and scope.series_id is not None
    if scope.verdict is not None and series_drives:
        in_verdict = select(Occurrence.media_id).where(
            Occurrence.verdict == scope.verdict
        )
        conditions.append(Media.id.in_(in_verdict))
    return conditions


def _merged(
    session: Session,
    streams: list[_Stream],
    conditions: list[ColumnElement[bool]],
    after: int,
    limit: int,
) -> list[Row[Any]]:
    """Read ``limit`` rows from each stream and merge them by media id.

    A stream that returned ``limit`` rows may hold more media beyond its
    last one, so only ids up to the lowest such last id are certain. When
    fewer than ``limit`` media are certain, the streams are read again
    after that id.
    """
    found: dict[int, Row[Any]] = {}
    position = after
    while True:
        certain_up_to: int | None = None
        for stream in streams:
            rows = _read(session, stream, conditions, position, limit)
            for row in rows:
                found.setdefault(row.id, row)
            if len(rows) == limit:
                last = rows[-1].id
                certain_up_to = (
                    last if certain_up_to is None else min(certain_up_to, last)
                )
        ids = sorted(
            media_id
            for media_id in found
            if certain_up_to is None or media_id <= certain_up_to
        )
        if certain_up_to is None or len(ids) >= limit:
            return [found[media_id] for media_id in ids[:limit]]
        log.debug("grid streams read again after media %d", certain_up_to)
        position = certain_up_to


def _read(
    session: Session,
    stream: _Stream,
    conditions: list[ColumnElement[bool]],
    position: int,
    limit: int,
) -> list[Row[Any]]:
    statement = (
        select(*TILE_COLUMNS)
        .select_from(stream.id_column.table)
        .join(Media, Media.id == stream.id_column)
        .where(stream.id_column > position, *stream.where, *conditions)
        .order_by(stream.id_column)
        .limit(limit)
    )
    return list(session.execute(statement))
