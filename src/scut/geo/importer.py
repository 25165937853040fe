"""Storing map reference data: an import replaces the data of its kind.

Each import runs in one transaction that deletes the stored data of its
kind (boundaries or gazetteer) and stores the file's. Readers see the old
data until the new data is complete, and a file that fails as a whole
leaves the old data in place. Imports of both kinds take one lock (an
advisory lock on PostgreSQL, the write lock on SQLite), so two imports at
once run one after the other.

A place's area comes from its coordinates, because GeoNames' admin names
carry typos: a gazetteer import places each line in the stored areas, and
a boundary import places every stored place again in the new areas.

These functions check no caller; scut.geo.service declares the operations.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from scut.db.models import GeoArea, GeoImport, GeoPlace, GeoPlaceName
from scut.db.session import Database
from scut.geo.areas import AreaIndex, AreaShape
from scut.geo.boundaries import AreaRecord, BoundaryFile
from scut.geo.files import GeoFileError, Rejected, sha256_of
from scut.geo.gazetteer import Gazetteer, PlaceRecord, Skipped
from scut.geo.keys import locality_key, place_key, place_loose_key

log = logging.getLogger(__name__)

BOUNDARIES = "boundaries"
GAZETTEER = "gazetteer"
# Key of the PostgreSQL advisory lock held by imports ("SCGE" in ASCII).
GEO_LOCK_KEY = 0x53434745
# Places written per INSERT.
BATCH_SIZE = 2000
# Rejected lines and places outside every area named in the stored report;
# the counts cover all of them.
MAX_LISTED = 1000
# Length of the key columns.
MAX_KEY_LENGTH = 200

# Called with (bytes read, total bytes) as a gazetteer import goes on.
ImportProgress = Callable[[int, int], None]


@dataclass(slots=True)
class ImportReport:
    """Counts of one import's rows, with the rows left out and why."""

    kind: str
    format: str
    file: str
    import_id: int = 0
    rows_read: int = 0
    stored: int = 0
    rejected: list[str] = field(default_factory=list)
    rejected_count: int = 0
    # Lines of the main GeoNames export that are not populated places.
    skipped: int = 0
    # Stored places whose coordinates lie outside every loaded area.
    outside: list[str] = field(default_factory=list)
    outside_count: int = 0
    # Stored places left without an area because no boundaries are loaded.
    unplaced: int = 0
    # Areas whose invalid polygons were repaired (boundaries with repair).
    repaired: list[str] = field(default_factory=list)

    def reject(self, item: Rejected) -> None:
        """Count a rejected line or feature and list the first MAX_LISTED."""
        self.rejected_count += 1
        if len(self.rejected) < MAX_LISTED:
            self.rejected.append(str(item))

    def place_outside(self, description: str) -> None:
        """Count a place outside every area and list the first MAX_LISTED."""
        self.outside_count += 1
        if len(self.outside) < MAX_LISTED:
            self.outside.append(description)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain data, as the import record stores it."""
        return {
            "rejected": self.rejected,
            "skipped": self.skipped,
            "outside": self.outside,
            "outside_count": self.outside_count,
            "unplaced": self.unplaced,
            "repaired": self.repaired,
        }


def lock_reference_data(session: Session) -> None:
    """Take the lock that serialises imports, held until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": GEO_LOCK_KEY}
        )
    else:
        # Any UPDATE takes SQLite's write lock for the rest of the
        # transaction, even one that matches no row.
        session.execute(text("UPDATE geo_imports SET id = id WHERE 0"))


def load_area_shapes(session: Session) -> list[AreaShape]:
    """Return every stored area with its geometry."""
    rows = session.execute(
        select(GeoArea.id, GeoArea.code, GeoArea.level, GeoArea.geometry)
    )
    return [
        AreaShape(area_id, code, level, shapely.from_geojson(geometry))
        for area_id, code, level, geometry in rows
    ]


def store_boundaries(
    database: Database, parsed: BoundaryFile, *, actor: str
) -> ImportReport:
    """Replace the stored areas by those of ``parsed`` and place every place again."""
    report = ImportReport(
        kind=BOUNDARIES,
        format="geojson",
        file=str(parsed.path),
        rows_read=parsed.features,
        stored=len(parsed.areas),
        repaired=list(parsed.repaired),
    )
    for item in parsed.rejected:
        report.reject(item)
    with database.session() as session, session.begin():
        lock_reference_data(session)
        record = _start(session, report, parsed.sha256, actor)
        session.execute(update(GeoPlace).values(area_id=None))
        session.execute(delete(GeoArea))
        rows = [_area_row(area, record.id) for area in parsed.areas]
        session.add_all(rows)
        session.flush()
        index = AreaIndex(
            [
                AreaShape(row.id, row.code, row.level, area.geometry)
                for row, area in zip(rows, parsed.areas, strict=True)
            ]
        )
        _place_stored_places(session, index, report)
        _finish(record, report)
    log.info(
        "Imported %d areas from %s (%d rejected); %d places outside every area",
        report.stored,
        parsed.path,
        report.rejected_count,
        report.outside_count,
    )
    return report


def _area_row(area: AreaRecord, import_id: int) -> GeoArea:
    min_lon, min_lat, max_lon, max_lat = area.geometry.bounds
    return GeoArea(
        code=area.code,
        name=area.name,
        name_key=place_key(area.name)[:MAX_KEY_LENGTH],
        level=area.level,
        geometry=shapely.to_geojson(area.geometry),
        min_longitude=min_lon,
        min_latitude=min_lat,
        max_longitude=max_lon,
        max_latitude=max_lat,
        import_id=import_id,
    )


def _place_stored_places(
    session: Session, index: AreaIndex, report: ImportReport
) -> None:
    """Set the area of every stored place from its coordinates."""
    places = session.execute(
        select(GeoPlace.id, GeoPlace.name, GeoPlace.longitude, GeoPlace.latitude)
    ).all()
    for start in range(0, len(places), BATCH_SIZE):
        batch = places[start : start + BATCH_SIZE]
        found = index.locate([row[2] for row in batch], [row[3] for row in batch])
        changes = []
        for (place_id, name, longitude, latitude), area_id in zip(
            batch, found, strict=True
        ):
            if area_id is None:
                report.place_outside(
                    f"place {place_id} {name} ({latitude}, {longitude})"
                )
            else:
                changes.append({"id": place_id, "area_id": area_id})
        if changes:
            session.execute(update(GeoPlace), changes)


def store_gazetteer(
    database: Database,
    gazetteer: Gazetteer,
    *,
    actor: str,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Replace the stored places by the gazetteer's populated places.

    Raises GeoFileError, keeping the stored places, when no line is usable
    or the file cannot be read to its end.
    """
    report = ImportReport(
        kind=GAZETTEER, format=gazetteer.format, file=str(gazetteer.path)
    )
    digest = sha256_of(gazetteer.path)
    with database.session() as session, session.begin():
        lock_reference_data(session)
        index = AreaIndex(load_area_shapes(session))
        record = _start(session, report, digest, actor)
        session.execute(delete(GeoPlaceName))
        session.execute(delete(GeoPlace))
        batch: list[PlaceRecord] = []
        for item in gazetteer.records():
            report.rows_read += 1
            if isinstance(item, Skipped):
                report.skipped += 1
                continue
            if isinstance(item, Rejected):
                report.reject(item)
                continue
            if not place_key(item.name):
                report.reject(
                    Rejected(f"line {item.line}", "the place name has no letters")
                )
                continue
            batch.append(item)
            if len(batch) == BATCH_SIZE:
                _insert_places(session, batch, index, record.id, report)
                batch = []
                if progress is not None:
                    progress(gazetteer.bytes_read, gazetteer.size)
        _insert_places(session, batch, index, record.id, report)
        if not report.stored:
            raise GeoFileError(_nothing_usable(gazetteer, report))
        _finish(record, report)
    if progress is not None:
        progress(gazetteer.size, gazetteer.size)
    log.info(
        "Imported %d places from %s (%d lines read, %d rejected, %d skipped)",
        report.stored,
        gazetteer.path,
        report.rows_read,
        report.rejected_count,
        report.skipped,
    )
    return report


def _nothing_usable(gazetteer: Gazetteer, report: ImportReport) -> str:
    first = f"; first problem: {report.rejected[0]}" if report.rejected else ""
    return (
        f"{gazetteer.path}: none of its {report.rows_read} lines is a usable "
        f"populated place{first}. The stored gazetteer is kept."
    )


def _insert_places(
    session: Session,
    batch: Sequence[PlaceRecord],
    index: AreaIndex,
    import_id: int,
    report: ImportReport,
) -> None:
    if not batch:
        return
    area_ids = index.locate(
        [place.longitude for place in batch], [place.latitude for place in batch]
    )
    rows = [
        _place_row(place, area_id, import_id)
        for place, area_id in zip(batch, area_ids, strict=True)
    ]
    place_ids = session.scalars(
        insert(GeoPlace).returning(GeoPlace.id, sort_by_parameter_order=True), rows
    ).all()
    names = [
        alternate
        for place, place_id in zip(batch, place_ids, strict=True)
        for alternate in _alternate_rows(place, place_id)
    ]
    if names:
        session.execute(insert(GeoPlaceName), names)
    report.stored += len(batch)
    for place, area_id in zip(batch, area_ids, strict=True):
        if area_id is not None:
            continue
        if len(index):
            report.place_outside(
                f"line {place.line}: {place.name} ({place.latitude}, {place.longitude})"
            )
        else:
            report.unplaced += 1


def _place_row(
    place: PlaceRecord, area_id: int | None, import_id: int
) -> dict[str, Any]:
    key = place_key(place.name)[:MAX_KEY_LENGTH]
    locality = locality_key(key)
    return {
        "name": place.name,
        "name_key": key,
        "locality_key": locality,
        "loose_key": place_loose_key(locality)[:MAX_KEY_LENGTH],
        "country": place.country,
        "admin_name": place.admin_name,
        "admin_code": place.admin_code,
        "area_id": area_id,
        "postal_code": place.postal_code,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "accuracy": place.accuracy,
        "geonames_id": place.geonames_id,
        "feature_code": place.feature_code,
        "population": place.population,
        "import_id": import_id,
    }


def _alternate_rows(place: PlaceRecord, place_id: int) -> list[dict[str, Any]]:
    """Return the place's other names whose keys differ from its name's."""
    keys = {place_key(place.name)[:MAX_KEY_LENGTH]}
    rows = []
    for name in place.alternate_names:
        key = place_key(name)[:MAX_KEY_LENGTH]
        if key and key not in keys:
            keys.add(key)
            rows.append(
                {
                    "place_id": place_id,
                    "name": name,
                    "name_key": key,
                    "loose_key": place_loose_key(name)[:MAX_KEY_LENGTH],
                }
            )
    return rows


def _start(
    session: Session, report: ImportReport, digest: str, actor: str
) -> GeoImport:
    record = GeoImport(
        kind=report.kind,
        format=report.format,
        file_name=Path(report.file).name,
        file_sha256=digest,
        actor=actor[:200],
        imported_at=dt.datetime.now(dt.UTC),
    )
    session.add(record)
    session.flush()
    report.import_id = record.id
    return record


def _finish(record: GeoImport, report: ImportReport) -> None:
    record.rows_read = report.rows_read
    record.stored = report.stored
    record.rejected = report.rejected_count
    record.report = report.as_dict()


def latest_import(session: Session, kind: str) -> GeoImport | None:
    """Return the import that loaded the stored data of ``kind``, if any."""
    return session.scalars(
        select(GeoImport)
        .where(GeoImport.kind == kind)
        .order_by(GeoImport.id.desc())
        .limit(1)
    ).one_or_none()
