"""``scut geo`` from the command line, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.geo.conftest import GeoFiles


def _scut(*arguments: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, SCUT_DATA_DIR=str(data_dir), COLUMNS="200")
    environment.pop("SCUT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "scut", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ok(*arguments: str, data_dir: Path) -> str:
    result = _scut(*arguments, data_dir=data_dir)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_import_and_look_up(tmp_path: Path, geo_files: GeoFiles) -> None:
    data = tmp_path / "data"

    imported = _ok(
        "geo",
        "import",
        "--boundaries",
        str(geo_files.boundaries),
        "--gazetteer",
        str(geo_files.gazetteer),
        data_dir=data,
    )
    areas = json.loads(_ok("geo", "areas", "--json", data_dir=data))
    places = json.loads(_ok("geo", "places", "Bălți", "--json", data_dir=data))
    located = _ok("geo", "locate", "47.0245", "28.8327", data_dir=data)
    coded = json.loads(
        _ok("geo", "geocode", "Nicolaevca", "--area", "MD-FL", "--json", data_dir=data)
    )

    assert "Imported 37 areas from moldova_adm1_simplified.geojson" in imported
    assert "Imported 1753 places from MD.txt (geonames-postal): 1753 read" in imported
    assert len(areas) == 37
    assert {"code": "MD-CU", "name": "Chisinau", "level": 1, "places": 36} in areas
    assert [(place["name"], place["area_code"]) for place in places] == [
        ("Balti", "MD-BA")
    ]
    assert located.strip() == "MD-CU Chisinau (level 1)"
    assert coded["ambiguous"] is True
    assert len(coded["candidates"]) == 2


def test_errors_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "Feature"}')

    no_file = _scut("geo", "import", data_dir=data)
    not_collection = _scut("geo", "import", "--boundaries", str(broken), data_dir=data)
    unknown_area = _scut("geo", "places", "Balti", "--area", "MD-XX", data_dir=data)
    outside = _scut("geo", "locate", "44.43", "26.10", data_dir=data)

    assert no_file.returncode == 2
    assert "give --boundaries FILE, --gazetteer FILE or both" in no_file.stderr
    assert not_collection.returncode == 1
    assert "not a GeoJSON FeatureCollection (its type is 'Feature')" in (
        not_collection.stderr
    )
    assert unknown_area.returncode == 1
    assert "no loaded area has the code or name 'MD-XX'" in unknown_area.stderr
    assert outside.returncode == 1
    assert "outside every loaded area" in outside.stdout
