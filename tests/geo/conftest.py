"""Fixtures of the map reference data tests: the open files and the callers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from scut.db.session import Database
from scut.geo.importer import ImportReport
from scut.geo.service import import_boundaries, import_gazetteer
from scut.security.caller import Caller


@dataclass(frozen=True)
class GeoFiles:
    """The geoBoundaries ADM1 file and the GeoNames postal-code file for Moldova."""

    boundaries: Path
    gazetteer: Path


@dataclass(frozen=True)
class Loaded:
    """A database with both files imported, and the two import reports."""

    database: Database
    boundaries: ImportReport
    gazetteer: ImportReport


@pytest.fixture(scope="session")
def geo_files(shared_data: Path) -> GeoFiles:
    files = GeoFiles(
        boundaries=shared_data / "geo" / "moldova_adm1_simplified.geojson",
        gazetteer=shared_data / "geo" / "MD.txt",
    )
    for path in (files.boundaries, files.gazetteer):
        if not path.is_file():
            pytest.fail(f"geographic test file not found: {path}")
    return files


@pytest.fixture
def supervisor() -> Caller:
    return Caller(user="vera", roles=frozenset({"supervisor"}), source="test")


@pytest.fixture
def loaded(database: Database, geo_files: GeoFiles, supervisor: Caller) -> Loaded:
    """Import the boundaries, then the gazetteer, as a supervisor."""
    boundaries = import_boundaries(database, geo_files.boundaries, caller=supervisor)
    gazetteer = import_gazetteer(database, geo_files.gazetteer, caller=supervisor)
    return Loaded(database, boundaries, gazetteer)
