"""Map reference data for the demo: the open files for Moldova, where present.

The demo loads the geoBoundaries ADM1 file and the GeoNames postal-code
gazetteer from ``geo/`` of the shared test data (SCUT_SHARED_DATA, else
``../shared/data`` beside the repository), reading them in place. Without
them the demo goes on and its map shows points with no boundaries.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from scut.db.session import Database
from scut.geo.files import GeoFileError
from scut.geo.service import import_boundaries, import_gazetteer
from scut.security.caller import Caller

log = logging.getLogger(__name__)

BOUNDARY_FILE = "moldova_adm1_simplified.geojson"
GAZETTEER_FILE = "MD.txt"
# src/scut/demo/geo.py -> the repository root, for an editable install.
_REPOSITORY = Path(__file__).resolve().parents[3]


def demo_geo_folder() -> Path:
    """Return the folder where the demo looks for the open geographic files."""
    shared = os.environ.get("SCUT_SHARED_DATA")
    base = Path(shared) if shared else _REPOSITORY.parent / "shared" / "data"
    return base / "geo"


def load_demo_geography(database: Database, who: Caller) -> str:
    """Import the demo's boundaries and gazetteer; return a line saying what loaded.

    A missing or unusable file is reported in the line, and nothing raises:
    the rest of the demo does not need the map.
    """
    folder = demo_geo_folder()
    boundaries = folder / BOUNDARY_FILE
    gazetteer = folder / GAZETTEER_FILE
    if not boundaries.is_file():
        return (
            f"The map has no boundaries: {boundaries} was not found, so the "
            "demo goes on without them"
        )
    try:
        areas = import_boundaries(database, boundaries, caller=who)
        message = f"Map: {areas.stored} areas from {boundaries}"
        if gazetteer.is_file():
            places = import_gazetteer(database, gazetteer, caller=who)
            message += f" and {places.stored} places from {gazetteer}"
    except GeoFileError as error:
        log.warning("Demo map data not loaded: %s", error)
        return f"The map data was not loaded ({error}); the demo goes on without it"
    return message
