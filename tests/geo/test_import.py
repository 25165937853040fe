"""Importing boundaries and gazetteers into SQLite and PostgreSQL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.geo.conftest import GeoFiles, Loaded

from scut.db.models import AuditEvent, GeoArea, GeoImport, GeoPlace, GeoPlaceName
from scut.db.session import Database
from scut.geo.files import GeoFileError
from scut.geo.service import (
    find_places,
    import_boundaries,
    import_gazetteer,
    list_areas,
    loaded_data,
)
from scut.security.caller import Caller

SQUARE = [[28.0, 47.0], [28.1, 47.0], [28.1, 47.1], [28.0, 47.1], [28.0, 47.0]]


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _area_of(database: Database, name: str) -> set[str | None]:
    with database.session() as session:
        return set(
            session.scalars(
                select(GeoArea.code)
                .select_from(GeoPlace)
                .outerjoin(GeoArea, GeoArea.id == GeoPlace.area_id)
                .where(GeoPlace.name == name)
            )
        )


def test_real_files_imported(loaded: Loaded, supervisor: Caller) -> None:
    assert loaded.boundaries.stored == 37
    assert loaded.boundaries.rejected_count == 0
    assert loaded.gazetteer.rows_read == 1753
    assert loaded.gazetteer.stored == 1753
    assert loaded.gazetteer.rejected_count == 0
    assert _count(loaded.database, GeoArea) == 37
    assert _count(loaded.database, GeoPlace) == 1753
    with loaded.database.session() as session:
        areas = list_areas(session, caller=supervisor)
        records = loaded_data(session, caller=supervisor)
    assert len(areas) == 37
    assert sum(area.places for area in areas) == 1753
    assert [(item.kind, item.stored, item.file_name) for item in records] == [
        ("boundaries", 37, "moldova_adm1_simplified.geojson"),
        ("gazetteer", 1753, "MD.txt"),
    ]


def test_every_place_in_an_area_or_reported(loaded: Loaded) -> None:
    with loaded.database.session() as session:
        unplaced = session.scalars(
            select(GeoPlace.name).where(GeoPlace.area_id.is_(None))
        ).all()
    reported = loaded.gazetteer.outside

    assert len(unplaced) == loaded.gazetteer.outside_count
    for name in unplaced:
        assert any(name in line for line in reported), name


def test_place_outside_areas_reported(
    database: Database, geo_files: GeoFiles, supervisor: Caller, tmp_path: Path
) -> None:
    import_boundaries(database, geo_files.boundaries, caller=supervisor)
    gazetteer = tmp_path / "MD.txt"
    lines = geo_files.gazetteer.read_text(encoding="utf-8").splitlines()[:3]
    # Bucharest lies outside every Moldovan area.
    lines.append("RO\t010011\tBucuresti\tBucuresti\t\t\t\t\t\t44.4323\t26.1063\t4")
    gazetteer.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = import_gazetteer(database, gazetteer, caller=supervisor)

    assert report.stored == 4
    assert report.outside_count == 1
    assert report.outside == ["line 4: Bucuresti (44.4323, 26.1063)"]
    assert _area_of(database, "Bucuresti") == {None}
    with database.session() as session:
        stored = session.scalars(select(GeoImport.report).order_by(GeoImport.id)).all()
    assert stored[-1]["outside"] == report.outside


def test_admin_name_typos_placed_by_coordinates(loaded: Loaded) -> None:
    # GeoNames gives these admin names as Uhnheni, Cantrmir, Canul and
    # Slobozia Tr.; the coordinates decide the area.
    assert _area_of(loaded.database, "Izvoreni") >= {"MD-UN"}
    assert _area_of(loaded.database, "Ciietu") == {"MD-CT"}
    assert _area_of(loaded.database, "Slobozia Mare") == {"MD-CA"}
    assert _area_of(loaded.database, "Su\u0441leia 1") == {"MD-SN"}
    assert _area_of(loaded.database, "Comrat 1") == {"MD-GA"}


def test_gazetteer_before_boundaries(
    database: Database, geo_files: GeoFiles, supervisor: Caller
) -> None:
    first = import_gazetteer(database, geo_files.gazetteer, caller=supervisor)
    assert first.unplaced == 1753
    assert _area_of(database, "Chisinau") == {None}

    boundaries = import_boundaries(database, geo_files.boundaries, caller=supervisor)

    assert boundaries.outside_count == 0
    assert _area_of(database, "Chisinau") == {"MD-CU"}
    with database.session() as session:
        unplaced = session.scalar(
            select(func.count()).where(GeoPlace.area_id.is_(None))
        )
    assert unplaced == 0


def test_reimport_replaces(
    loaded: Loaded, geo_files: GeoFiles, supervisor: Caller
) -> None:
    database = loaded.database

    again = import_boundaries(database, geo_files.boundaries, caller=supervisor)
    places = import_gazetteer(database, geo_files.gazetteer, caller=supervisor)

    assert (again.stored, places.stored) == (37, 1753)
    assert _count(database, GeoArea) == 37
    assert _count(database, GeoPlace) == 1753
    assert _count(database, GeoImport) == 4
    with database.session() as session:
        area_imports = set(session.scalars(select(GeoArea.import_id)))
        place_imports = set(session.scalars(select(GeoPlace.import_id)))
    assert area_imports == {again.import_id}
    assert place_imports == {places.import_id}
    assert _area_of(database, "Balti") == {"MD-BA"}


def _broken_collection(folder: Path) -> Path:
    open_ring = SQUARE[:-1]
    text_ring = [[str(x), y] for x, y in SQUARE]
    features = [
        {"type": "Feature", "properties": properties, "geometry": geometry}
        for properties, geometry in (
            (
                {"shapeName": "Open", "shapeISO": "MD-OP"},
                {"type": "Polygon", "coordinates": [open_ring]},
            ),
            (
                {"shapeName": "Text", "shapeISO": "MD-TX"},
                {"type": "Polygon", "coordinates": [text_ring]},
            ),
            (
                {"shapeName": "Point", "shapeISO": "MD-PT"},
                {"type": "Point", "coordinates": [28.0, 47.0]},
            ),
        )
    ]
    path = folder / "broken.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_broken_boundaries_keep_earlier(
    loaded: Loaded, supervisor: Caller, tmp_path: Path
) -> None:
    database = loaded.database

    with pytest.raises(GeoFileError) as raised:
        import_boundaries(database, _broken_collection(tmp_path), caller=supervisor)

    message = str(raised.value)
    assert "none of its 3 features is a usable area" in message
    assert "feature 1: ring 1 is not closed" in message
    assert "feature 2: position 1 of ring 1 is '28.0', which is not a number" in (
        message
    )
    assert "feature 3: geometry type 'Point' is not an area" in message
    assert _count(database, GeoArea) == 37
    assert _count(database, GeoImport) == 2
    assert _area_of(database, "Chisinau") == {"MD-CU"}


def test_size_setting_keeps_earlier(
    loaded: Loaded,
    geo_files: GeoFiles,
    supervisor: Caller,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = loaded.database
    huge = tmp_path / "huge.geojson"
    with huge.open("wb") as handle:
        handle.truncate(200_000_000)

    with pytest.raises(GeoFileError, match="over the limit of 104,857,600 bytes"):
        import_boundaries(database, huge, caller=supervisor)
    monkeypatch.setenv("SCUT_GEO_MAX_FILE_BYTES", "64KiB")
    with pytest.raises(GeoFileError, match="92,345 bytes, over the limit of 65,536"):
        import_gazetteer(database, geo_files.gazetteer, caller=supervisor)

    assert _count(database, GeoArea) == 37
    assert _count(database, GeoPlace) == 1753


def test_gazetteer_bad_lines_reported_rest_stored(
    database: Database, supervisor: Caller, tmp_path: Path
) -> None:
    path = tmp_path / "MD.txt"
    path.write_bytes(
        b"MD\tMD-2000\tChisinau\tMun.Chisinau\t\t\t\t\t\t47.0056\t28.8575\t4\n"
        b"MD\tMD-2001\tNorth\tMun.Chisinau\t\t\t\t\t\tnorth\t28.8\t4\n"
        b"MD\tMD-2002\tShort\tMun.Chisinau\t47.0\t28.8\n"
        b"MD\tMD-3501\tSf\xe2nta\tOrhei\t\t\t\t\t\t47.1\t28.8\t4\n"
        b"MD\tMD-2004\t---\tMun.Chisinau\t\t\t\t\t\t47.0\t28.8\t4\n"
        b"MD\tMD-3100\tBalti\tBalti\t\t\t\t\t\t47.7617\t27.9289\t4\n"
    )

    report = import_gazetteer(database, path, caller=supervisor)

    assert (report.rows_read, report.stored, report.rejected_count) == (6, 2, 4)
    assert report.rejected == [
        "line 2: latitude 'north' is not a number",
        "line 3: 6 columns where this file has 12",
        "line 4: not valid UTF-8 (byte 0xe2 at column 14); save the file as UTF-8",
        "line 5: the place name has no letters",
    ]
    with database.session() as session:
        record = session.scalars(select(GeoImport)).one()
        names = set(session.scalars(select(GeoPlace.name)))
    assert (record.rows_read, record.stored, record.rejected) == (6, 2, 4)
    assert record.report["rejected"] == report.rejected
    assert names == {"Chisinau", "Balti"}


def test_gazetteer_without_usable_line_keeps_earlier(
    loaded: Loaded, supervisor: Caller, tmp_path: Path
) -> None:
    path = tmp_path / "MD.txt"
    path.write_text("MD\tMD-1\tNowhere\tX\t\t\t\t\t\tfar\t28\t4\n")

    with pytest.raises(GeoFileError) as raised:
        import_gazetteer(loaded.database, path, caller=supervisor)

    assert "none of its 1 lines is a usable populated place" in str(raised.value)
    assert "line 1: latitude 'far' is not a number" in str(raised.value)
    assert _count(loaded.database, GeoPlace) == 1753


def test_main_export_with_other_names(
    database: Database, geo_files: GeoFiles, supervisor: Caller, tmp_path: Path
) -> None:
    import_boundaries(database, geo_files.boundaries, caller=supervisor)
    path = tmp_path / "MD-places.txt"
    rows = [
        ["618426", "Chişinău", "Chisinau", "Kishinev,Кишинёв,Chisinau", "47.00556",
         "28.8575", "P", "PPLC", "MD", "", "57", "", "", "", "635994", "", "52",
         "Europe/Chisinau", "2024-01-01"],
        ["617302", "Municipiul Chişinău", "Municipiul Chisinau", "", "47.0", "28.9",
         "A", "ADM1", "MD", "", "57", "", "", "", "0", "", "60", "Europe/Chisinau",
         "2024-01-01"],
    ]  # fmt: skip
    path.write_text("\n".join("\t".join(row) for row in rows) + "\n", encoding="utf-8")

    report = import_gazetteer(database, path, caller=supervisor)

    assert (report.format, report.rows_read, report.stored) == (
        "geonames-places",
        2,
        1,
    )
    assert report.skipped == 1
    with database.session() as session:
        place = session.scalars(select(GeoPlace)).one()
        other_names = set(session.scalars(select(GeoPlaceName.name)))
        found = find_places(session, "Кишинёв", caller=supervisor)
    assert (place.name, place.geonames_id, place.population) == (
        "Chișinău",
        618426,
        635994,
    )
    assert other_names == {"Kishinev", "Кишинёв"}
    assert [(item.name, item.matched_name, item.match) for item in found] == [
        ("Chișinău", "Кишинёв", "exact")
    ]
    assert found[0].area_code == "MD-CU"


def test_import_audited_with_counts(loaded: Loaded) -> None:
    with loaded.database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "geo.import")
        ).all()

    assert [event.detail["kind"] for event in events] == ["boundaries", "gazetteer"]
    assert [event.detail["stored"] for event in events] == [37, 1753]
    assert {event.user for event in events} == {"vera"}


def test_concurrent_imports_leave_one_set(
    database: Database, geo_files: GeoFiles, supervisor: Caller
) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(
                import_gazetteer, database, geo_files.gazetteer, caller=supervisor
            )
            for _ in range(2)
        ]
        reports = [run.result(timeout=120) for run in runs]

    assert [report.stored for report in reports] == [1753, 1753]
    assert _count(database, GeoPlace) == 1753
    with database.session() as session:
        import_ids = set(session.scalars(select(GeoPlace.import_id)))
    assert len(import_ids) == 1
