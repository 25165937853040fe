"""The media grid: pictures and videos by filter, one page at a time.

Pages are cut by keyset on the media id (``id > after``, ascending), never
by OFFSET, so a page deep in the list costs what the first page costs.
A media found several times is listed once. The SQL of a page is in
scut.media.grid_query; this module checks the filters and describes
the media listed.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, or_, select
from sqlalchemy.orm import Session

from scut.db.chunks import in_chunks
from scut.db.models import Case, Exhibit, Media, Occurrence, Series
from scut.db.models import Submission as SubmissionRow
from scut.errors import ScutError
from scut.hashsets.categories import PROJECTVIC, UK, UK_LABELS, to_scheme
from scut.hashsets.items import Category
from scut.matching.verdicts import VERDICTS
from scut.media.grid_query import Scope, page_rows
from scut.security.access import Target, operation
from scut.security.caller import Caller
from scut.series.status import SeriesStatus, series_of_media

log = logging.getLogger(__name__)

PICTURE = "image"
VIDEO = "video"
# Media kinds the grid lists: archives and other files have no picture
# and are never categorised.
GRID_KINDS = (PICTURE, VIDEO)
PROJECTVIC_CODES = ("0", "1", "2", "3", "4")
# The category filter's value for media that no source has categorised.
NO_CATEGORY = "none"
DEFAULT_PAGE_SIZE = 48
MAX_PAGE_SIZE = 200
# Bounds of the text filters, the lengths of their columns.
MAX_SERIAL = 200
MAX_SERIES_NAME = 200
MAX_CASE_REFERENCE = 100


class GridFilterError(ScutError):
    """Raised for a filter value that is invalid or names no record.

    ``field`` names the filter, so a page can show the error beside it.
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class GridFilters:
    """The filters of the grid. None leaves a filter out."""

    # known, near, new or known-good, of an occurrence in scope.
    verdict: str | None = None
    # A Project VIC code "0" to "4", or NO_CATEGORY.
    category: str | None = None
    # image or video.
    kind: str | None = None
    # The exact name of a series.
    series: str | None = None
    # The exact body serial number of the camera, as EXIF records it.
    camera_serial: str | None = None
    # True: only media with a GPS position. False: only media without one.
    has_gps: bool | None = None
    # Only media found in this submission, or in this case (its reference).
    submission: int | None = None
    case: str | None = None

    def as_detail(self) -> dict[str, Any]:
        """Return the filters that are set, for the audit event."""
        return {
            name: value for name, value in asdict(self).items() if value is not None
        }


@dataclass(frozen=True, slots=True)
class GridItem:
    """A media as a grid tile shows it: no picture, only what names it."""

    media_id: int
    kind: str
    mime_type: str
    width: int | None
    height: int | None
    duration_seconds: float | None
    category_scheme: str | None
    category_code: str | None
    category_conflict: bool
    # The gravest verdict of its occurrences in scope, by the precedence of
    # scut.matching.verdicts; "" when it has none in scope.
    verdict: str
    # The file name of its first occurrence in scope.
    name: str
    series: str | None
    # Whether a thumbnail (a video: a frame strip) can be previewed.
    has_preview: bool
    has_gps: bool


@dataclass(frozen=True, slots=True)
class GridPage:
    """One page of the grid, and the id to continue after (None at the end)."""

    items: list[GridItem]
    next_after: int | None


def _listed(page: GridPage, *args: Any, **kwargs: Any) -> Target:
    filters = kwargs.get("filters", args[1] if len(args) > 1 else GridFilters())
    detail = {"filters": filters.as_detail(), "after": kwargs.get("after", 0)}
    return Target("media", [item.media_id for item in page.items], detail=detail)


@operation("media.list", after=_listed)
def media_grid(
    session: Session,
    filters: GridFilters,
    *,
    caller: Caller,
    after: int = 0,
    size: int = DEFAULT_PAGE_SIZE,
) -> GridPage:
    """Return the pictures and videos after media ``after`` that pass ``filters``.

    Media come in ascending id order, ``size`` at most. The audit event
    names every media listed. Raises GridFilterError for an invalid filter
    value, and for a series, case or submission that does not exist.
    """
    _check_page(after, size)
    scope = _scope(session, filters)
    rows = page_rows(session, _media_conditions(filters), scope, after, size + 1)
    more = len(rows) > size
    rows = rows[:size]

    ids = [row.id for row in rows]
    seen = _occurrences_in_scope(session, ids, scope)
    series = series_of_media(session, ids)
    items = [_item(row, seen.get(row.id, []), series.get(row.id)) for row in rows]
    log.debug("media grid page after %d: %d media", after, len(items))
    return GridPage(items, rows[-1].id if more and rows else None)


def _check_page(after: int, size: int) -> None:
    if after < 0:
        raise GridFilterError(
            f"invalid position {after}: it must be 0 or more", "after"
        )
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise GridFilterError(
            f"invalid page size {size}: it must be from 1 to {MAX_PAGE_SIZE}", "size"
        )


def _media_conditions(filters: GridFilters) -> list[ColumnElement[bool]]:
    """Return the conditions of the filters on the media's own columns."""
    conditions: list[ColumnElement[bool]] = [Media.kind.in_(_kinds(filters.kind))]
    if filters.category is not None:
        conditions.append(_category_condition(filters.category))
    if filters.has_gps is not None:
        located = Media.gps_latitude.is_not(None) & Media.gps_longitude.is_not(None)
        conditions.append(located if filters.has_gps else ~located)
    if filters.camera_serial is not None:
        serial = _bounded(filters.camera_serial, MAX_SERIAL, "camera_serial")
        conditions.append(Media.body_serial == serial)
    return conditions


def _scope(session: Session, filters: GridFilters) -> Scope:
    """Check the verdict, series, submission and case filters; return their scope."""
    if filters.verdict is not None and filters.verdict not in VERDICTS:
        raise GridFilterError(
            f"unknown verdict {filters.verdict!r}; use one of {', '.join(VERDICTS)}",
            "verdict",
        )
    series_id = _series_id(session, filters.series) if filters.series else None
    return Scope(
        exhibit_ids=_exhibit_ids(session, filters),
        verdict=filters.verdict,
        series_id=series_id,
    )


def _kinds(kind: str | None) -> tuple[str, ...]:
    if kind is None:
        return GRID_KINDS
    if kind not in GRID_KINDS:
        raise GridFilterError(
            f"unknown media type {kind!r}; use {PICTURE} or {VIDEO}", "kind"
        )
    return (kind,)


def _category_condition(code: str) -> ColumnElement[bool]:
    """Return the condition of a Project VIC code, or of no category at all.

    UK categories A, B and C map to Project VIC 1, so code 1 finds them too.
    """
    if code == NO_CATEGORY:
        return Media.category_code.is_(None)
    if code not in PROJECTVIC_CODES:
        raise GridFilterError(
            f"unknown category {code!r}; use a Project VIC code "
            f"{', '.join(PROJECTVIC_CODES)} or {NO_CATEGORY!r}",
            "category",
        )
    wanted = Category(PROJECTVIC, code)
    uk_codes = [
        uk_code
        for uk_code in UK_LABELS
        if to_scheme(Category(UK, uk_code), PROJECTVIC) == wanted
    ]
    condition = and_(Media.category_scheme == PROJECTVIC, Media.category_code == code)
    if uk_codes:
        uk = and_(Media.category_scheme == UK, Media.category_code.in_(uk_codes))
        return or_(condition, uk)
    return condition


def _series_id(session: Session, name: str) -> int:
    wanted = _bounded(name, MAX_SERIES_NAME, "series")
    series_id = session.scalar(select(Series.id).where(Series.name == wanted))
    if series_id is None:
        raise GridFilterError(f"no series named {wanted!r}", "series")
    return series_id


def _exhibit_ids(session: Session, filters: GridFilters) -> tuple[int, ...] | None:
    """Return the exhibits of the submission and case filters; None without both."""
    found: set[int] | None = None
    if filters.submission is not None:
        if session.get(SubmissionRow, filters.submission) is None:
            raise GridFilterError(
                f"no submission number {filters.submission}", "submission"
            )
        found = set(
            session.scalars(
                select(Exhibit.id).where(Exhibit.submission_id == filters.submission)
            )
        )
    if filters.case is not None:
        reference = _bounded(filters.case, MAX_CASE_REFERENCE, "case")
        case_id = session.scalar(select(Case.id).where(Case.reference == reference))
        if case_id is None:
            raise GridFilterError(f"no case with reference {reference!r}", "case")
        in_case = set(
            session.scalars(select(Exhibit.id).where(Exhibit.case_id == case_id))
        )
        found = in_case if found is None else found & in_case
    return None if found is None else tuple(sorted(found))


def _bounded(value: str, limit: int, field: str) -> str:
    text = value.strip()
    if not text or len(text) > limit:
        raise GridFilterError(
            f"invalid {field.replace('_', ' ')} {value[:60]!r}: give 1 to {limit} "
            "characters",
            field,
        )
    # PostgreSQL rejects a NUL in a query parameter, and no stored value
    # holds a control character, so such a filter is invalid, not an error.
    if not text.isprintable():
        raise GridFilterError(
            f"invalid {field.replace('_', ' ')} {value[:60]!r}: remove the control "
            "characters",
            field,
        )
    return text


def _occurrences_in_scope(
    session: Session, media_ids: list[int], scope: Scope
) -> dict[int, list[tuple[str, str]]]:
    """Return (verdict, path) of each media's occurrences in scope, oldest first.

    The verdict filter does not limit them: a tile shows the gravest
    verdict of the media in the submission or case.
    """
    exhibits = None if scope.exhibit_ids is None else set(scope.exhibit_ids)
    found: dict[int, list[tuple[str, str]]] = {}
    for chunk in in_chunks(media_ids):
        rows = session.execute(
            select(
                Occurrence.media_id,
                Occurrence.exhibit_id,
                Occurrence.verdict,
                Occurrence.path,
            )
            .where(Occurrence.media_id.in_(chunk))
            .order_by(Occurrence.id)
        )
        for media_id, exhibit_id, verdict, path in rows:
            if exhibits is None or exhibit_id in exhibits:
                found.setdefault(media_id, []).append((verdict, path))
    return found


def _item(
    media: Row[Any], seen: list[tuple[str, str]], series: SeriesStatus | None
) -> GridItem:
    verdicts = {verdict for verdict, _ in seen}
    gravest = next((verdict for verdict in VERDICTS if verdict in verdicts), "")
    return GridItem(
        media_id=media.id,
        kind=media.kind,
        mime_type=media.mime_type,
        width=media.width,
        height=media.height,
        duration_seconds=media.duration_seconds,
        category_scheme=media.category_scheme,
        category_code=media.category_code,
        category_conflict=media.category_conflict,
        verdict=gravest,
        name=posixpath.basename(seen[0][1]) if seen else "",
        series=series.name if series is not None else None,
        has_preview=media.has_thumbnail or media.has_strip,
        has_gps=media.gps_latitude is not None and media.gps_longitude is not None,
    )
