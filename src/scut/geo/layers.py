"""The map's point layers: media GPS positions and persons' addresses.

Each layer is read for a bounding box and a grid cell size in degrees. Points
that share a cell are returned as one cluster with its count, centre and
extent, so the map stays readable at low zoom without a clustering plug-in
in the browser. A cell holding one point returns the point itself. A cell
size of 0 returns every point.

Media points carry the media's id, position, verdict and category only: no
thumbnail, path or metadata. They are listed under ``media.list`` and
audited with the ids shown. Address points carry the person's id and name.
They are personal data, so they need a justification and are audited under
``persons.read`` with the persons shown.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, and_, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from scut.db.models import Media, Occurrence, Person, PersonAddress
from scut.geo.places import GeoQueryError
from scut.matching.verdicts import VERDICTS
from scut.security.access import Target, operation
from scut.security.caller import Caller

log = logging.getLogger(__name__)

# Entries (points and clusters) one call returns by default and at most. A
# map of 1280 by 600 pixels contains about 330 cells of 48 pixels, so more
# entries mean the cell is too small for the box.
DEFAULT_LIMIT = 5_000
MAX_LIMIT = 20_000
# Largest grid cell, in degrees.
MAX_CELL = 10.0

PointT = TypeVar("PointT")


@dataclass(frozen=True, slots=True)
class Bounds:
    """A WGS 84 bounding box in degrees, west to east without crossing 180°."""

    south: float
    west: float
    north: float
    east: float

    def __post_init__(self) -> None:
        if not -90 <= self.south <= self.north <= 90:
            raise GeoQueryError(
                f"invalid bounding box: south {self.south} and north {self.north} "
                "must lie in -90..90 with south not above north"
            )
        if not -180 <= self.west <= self.east <= 180:
            raise GeoQueryError(
                f"invalid bounding box: west {self.west} and east {self.east} "
                "must lie in -180..180 with west not east of east"
            )

    @classmethod
    def clamped(cls, south: float, west: float, north: float, east: float) -> Bounds:
        """Return the box cut to the valid range, as a map panned past 180° sends."""
        return cls(
            max(-90.0, min(90.0, south)),
            max(-180.0, min(180.0, west)),
            max(-90.0, min(90.0, north)),
            max(-180.0, min(180.0, east)),
        )


@dataclass(frozen=True, slots=True)
class Cluster:
    """Points sharing a grid cell: their count, mean position and extent."""

    count: int
    latitude: float
    longitude: float
    bounds: Bounds


@dataclass(frozen=True, slots=True)
class MediaPoint:
    """A media's GPS position, with its verdict and category."""

    media_id: int
    latitude: float
    longitude: float
    # The most significant verdict of its occurrences (known, near, new,
    # known-good in that order); None when it has no occurrence.
    verdict: str | None
    category_scheme: str | None
    category_code: str | None


@dataclass(frozen=True, slots=True)
class AddressPoint:
    """A person's address with coordinates, with the person's name only."""

    address_id: int
    person_id: int
    name: str
    latitude: float
    longitude: float


@dataclass(slots=True)
class MapLayer(Generic[PointT]):
    """The points and clusters of a layer in a box, and how many points it holds."""

    points: list[PointT] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    # Points in the box, clustered or not.
    total: int = 0
    # Set when the box held more entries than the limit, so some are missing.
    truncated: bool = False


class _Floor(FunctionElement[int]):
    """floor() of a value that is never negative, on SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True
    name = "floor"


@compiles(_Floor)
def _floor_default(element: _Floor, compiler: SQLCompiler, **kw: Any) -> str:
    return f"floor({compiler.process(element.clauses, **kw)})"


@compiles(_Floor, "sqlite")
def _floor_sqlite(element: _Floor, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite has floor() only when built with its math functions. A cast
    # truncates, which is floor() for the non-negative values used here.
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@dataclass(frozen=True, slots=True)
class _Columns:
    """The id and coordinate columns of a layer's table."""

    key: InstrumentedAttribute[int]
    latitude: InstrumentedAttribute[float | None]
    longitude: InstrumentedAttribute[float | None]


def _check(cell: float, limit: int) -> None:
    if not 0 <= cell <= MAX_CELL:
        raise GeoQueryError(
            f"the cell size must be from 0 to {MAX_CELL} degrees, got {cell}"
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise GeoQueryError(f"the limit must be from 1 to {MAX_LIMIT}, got {limit}")


def _within(columns: _Columns, bounds: Bounds | None) -> ColumnElement[bool]:
    located = and_(columns.latitude.is_not(None), columns.longitude.is_not(None))
    if bounds is None:
        return located
    return and_(
        located,
        columns.latitude.between(bounds.south, bounds.north),
        columns.longitude.between(bounds.west, bounds.east),
    )


def _grid(
    session: Session,
    columns: _Columns,
    bounds: Bounds | None,
    cell: float,
    limit: int,
) -> tuple[list[int], list[Cluster], int, bool]:
    """Group a layer's rows by grid cell.

    Returns the ids of the rows alone in their cell, the clusters of the
    other cells, the number of rows in the box, and whether cells beyond
    ``limit`` were left out (the fullest cells are kept).
    """
    where = _within(columns, bounds)
    if cell == 0:
        ids = list(
            session.scalars(
                select(columns.key).where(where).order_by(columns.key).limit(limit + 1)
            )
        )
        total = session.scalar(select(func.count()).where(where)) or 0
        return ids[:limit], [], int(total), len(ids) > limit
    latitude = columns.latitude
    longitude = columns.longitude
    # Offsets keep the divided values non-negative, as _Floor requires.
    row = _Floor((latitude + 90.0) / cell).label("grid_row")
    column = _Floor((longitude + 180.0) / cell).label("grid_column")
    cells = session.execute(
        select(
            row,
            column,
            func.count().label("points"),
            func.avg(latitude).label("latitude"),
            func.avg(longitude).label("longitude"),
            func.min(latitude).label("south"),
            func.min(longitude).label("west"),
            func.max(latitude).label("north"),
            func.max(longitude).label("east"),
            func.min(columns.key).label("first_id"),
        )
        .where(where)
        .group_by(row, column)
        .order_by(func.count().desc(), row, column)
    ).all()
    singles: list[int] = []
    clusters: list[Cluster] = []
    total = 0
    for entry in cells:
        total += entry.points
        if len(singles) + len(clusters) >= limit:
            continue
        if entry.points == 1:
            singles.append(int(entry.first_id))
            continue
        extent = Bounds(
            float(entry.south), float(entry.west), float(entry.north), float(entry.east)
        )
        clusters.append(
            Cluster(
                count=int(entry.points),
                latitude=float(entry.latitude),
                longitude=float(entry.longitude),
                bounds=extent,
            )
        )
    return singles, clusters, total, len(cells) > limit


def _verdicts(session: Session, media_ids: Sequence[int]) -> dict[int, str]:
    """Return the most significant verdict of each media's occurrences."""
    rank = {verdict: position for position, verdict in enumerate(VERDICTS)}
    found: dict[int, str] = {}
    for start in range(0, len(media_ids), 500):
        chunk = list(media_ids[start : start + 500])
        for media_id, verdict in session.execute(
            select(Occurrence.media_id, Occurrence.verdict)
            .where(Occurrence.media_id.in_(chunk))
            .distinct()
        ):
            known = found.get(media_id)
            if known is None or rank.get(verdict, len(rank)) < rank.get(
                known, len(rank)
            ):
                found[media_id] = verdict
    return found


def _media_target(layer: MapLayer[MediaPoint], *_: Any, **__: Any) -> Target:
    return Target(
        "media",
        [point.media_id for point in layer.points],
        detail={
            "map": True,
            "clusters": len(layer.clusters),
            "clustered_media": sum(cluster.count for cluster in layer.clusters),
        },
    )


@operation("media.list", after=_media_target)
def media_points(
    session: Session,
    *,
    caller: Caller,
    bounds: Bounds | None = None,
    cell: float = 0.0,
    limit: int = DEFAULT_LIMIT,
) -> MapLayer[MediaPoint]:
    """Return the GPS positions of the media in ``bounds``, clustered by ``cell``.

    ``cell`` is the grid cell size in degrees (0 returns every point).
    Raises GeoQueryError for a cell size or limit out of range.
    """
    _check(cell, limit)
    columns = _Columns(Media.id, Media.gps_latitude, Media.gps_longitude)
    ids, clusters, total, truncated = _grid(session, columns, bounds, cell, limit)
    verdicts = _verdicts(session, ids)
    points: list[MediaPoint] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for media in session.scalars(select(Media).where(Media.id.in_(chunk))):
            points.append(
                MediaPoint(
                    media_id=media.id,
                    latitude=float(media.gps_latitude or 0.0),
                    longitude=float(media.gps_longitude or 0.0),
                    verdict=verdicts.get(media.id),
                    category_scheme=media.category_scheme,
                    category_code=media.category_code,
                )
            )
    points.sort(key=lambda point: point.media_id)
    log.debug(
        "Map media layer: %d points, %d clusters, %d in the box",
        len(points),
        len(clusters),
        total,
    )
    return MapLayer(points, clusters, total, truncated)


def _address_target(layer: MapLayer[AddressPoint], *_: Any, **__: Any) -> Target:
    return Target(
        "person",
        sorted({point.person_id for point in layer.points}),
        detail={
            "map": True,
            "addresses": [point.address_id for point in layer.points],
            "clusters": len(layer.clusters),
            "clustered_addresses": sum(cluster.count for cluster in layer.clusters),
        },
    )


@operation("persons.read", after=_address_target)
def address_points(
    session: Session,
    *,
    caller: Caller,
    bounds: Bounds | None = None,
    cell: float = 0.0,
    limit: int = DEFAULT_LIMIT,
) -> MapLayer[AddressPoint]:
    """Return persons' addresses with coordinates in ``bounds``, clustered by ``cell``.

    Each point names the person by last and first name only. Raises
    GeoQueryError for a cell size or limit out of range.
    """
    _check(cell, limit)
    columns = _Columns(
        PersonAddress.id, PersonAddress.latitude, PersonAddress.longitude
    )
    ids, clusters, total, truncated = _grid(session, columns, bounds, cell, limit)
    points: list[AddressPoint] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(PersonAddress, Person.last_name, Person.first_name)
            .join(Person, Person.id == PersonAddress.person_id)
            .where(PersonAddress.id.in_(chunk))
        )
        for address, last_name, first_name in rows:
            points.append(
                AddressPoint(
                    address_id=address.id,
                    person_id=address.person_id,
                    name=f"{last_name} {first_name}".strip(),
                    latitude=float(address.latitude or 0.0),
                    longitude=float(address.longitude or 0.0),
                )
            )
    points.sort(key=lambda point: point.address_id)
    return MapLayer(points, clusters, total, truncated)
