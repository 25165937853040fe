"""Reading GeoJSON boundary files: the real geoBoundaries file and broken ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.geo.conftest import GeoFiles

from scut.geo.boundaries import read_boundaries
from scut.geo.files import DEFAULT_MAX_FILE_BYTES, GeoFileError

LIMIT = DEFAULT_MAX_FILE_BYTES
SQUARE = [[28.0, 47.0], [28.1, 47.0], [28.1, 47.1], [28.0, 47.1], [28.0, 47.0]]
# A ring that crosses itself: two triangles meeting in one point.
BOWTIE = [[28.0, 47.0], [28.1, 47.1], [28.1, 47.0], [28.0, 47.1], [28.0, 47.0]]


def feature(code: str, name: str, geometry: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"shapeName": name, "shapeISO": code, "shapeType": "ADM1"},
        "geometry": geometry,
    }


def polygon(*rings: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def write(folder: Path, *features: Any, name: str = "areas.geojson") -> Path:
    path = folder / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_real_file_has_37_areas(geo_files: GeoFiles) -> None:
    parsed = read_boundaries(geo_files.boundaries, max_bytes=LIMIT)

    codes = [area.code for area in parsed.areas]
    assert parsed.features == 37
    assert len(parsed.areas) == 37
    assert parsed.rejected == []
    assert len(set(codes)) == 37
    assert {"MD-CU", "MD-BA", "MD-SN", "MD-GA"} <= set(codes)
    assert {area.level for area in parsed.areas} == {1}
    kinds = [area.geometry.geom_type for area in parsed.areas]
    assert kinds.count("MultiPolygon") == 6
    # Names are kept as the file gives them, stray capital included.
    assert {"SIngerei", "RIscani"} <= {area.name for area in parsed.areas}


def test_bad_features_rejected_others_kept(tmp_path: Path) -> None:
    open_ring = [[28.0, 47.0], [28.1, 47.0], [28.1, 47.1], [28.0, 47.1]]
    text_ring = [["28.0", 47.0], [28.1, 47.0], [28.1, 47.1], [28.0, 47.0]]
    far_ring = [[200.0, 47.0], [28.1, 47.0], [28.1, 47.1], [200.0, 47.0]]
    path = write(
        tmp_path,
        feature("MD-AA", "Good", polygon(SQUARE)),
        feature("MD-BB", "Open", polygon(open_ring + [[28.0, 47.05]])),
        feature("MD-CC", "Text", polygon(text_ring)),
        feature("MD-DD", "Point", {"type": "Point", "coordinates": [28.0, 47.0]}),
        feature("MD-EE", "Far", polygon(far_ring)),
        feature("MD-AA", "Twice", polygon(SQUARE)),
        feature("Alpha", "Not a code", polygon(SQUARE)),
        {"type": "Feature", "properties": {"shapeISO": "MD-FF"}, "geometry": None},
        "not a feature",
    )

    parsed = read_boundaries(path, max_bytes=LIMIT)

    assert [area.code for area in parsed.areas] == ["MD-AA"]
    reasons = {item.where: item.reason for item in parsed.rejected}
    assert "ring 1 is not closed" in reasons["feature 2"]
    assert "is '28.0', which is not a number" in reasons["feature 3"]
    assert "geometry type 'Point' is not an area" in reasons["feature 4"]
    assert "longitude 200.0 is outside -180 to 180" in reasons["feature 5"]
    assert "already used by feature 1" in reasons["feature 6"]
    assert "not an ISO 3166-2 code" in reasons["feature 7"]
    assert "'shapeName' (the area's name) is missing" in reasons["feature 8"]
    assert "not a GeoJSON Feature" in reasons["feature 9"]


def test_short_ring_rejected(tmp_path: Path) -> None:
    line = [[28.0, 47.0], [28.1, 47.0], [28.0, 47.0]]
    path = write(
        tmp_path,
        feature("MD-AA", "Good", polygon(SQUARE)),
        feature("MD-BB", "Line", polygon(line)),
    )

    parsed = read_boundaries(path, max_bytes=LIMIT)

    assert "fewer than 4 positions" in parsed.rejected[0].reason


def test_self_intersection_rejected_by_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        feature("MD-AA", "Good", polygon(SQUARE)),
        feature("MD-BB", "Bowtie", polygon(BOWTIE)),
    )

    parsed = read_boundaries(path, max_bytes=LIMIT)

    assert [area.code for area in parsed.areas] == ["MD-AA"]
    assert parsed.rejected[0].where == "feature 2"
    assert "Self-intersection" in parsed.rejected[0].reason
    assert "--repair" in parsed.rejected[0].reason


def test_self_intersection_repaired_on_request(tmp_path: Path) -> None:
    path = write(tmp_path, feature("MD-BB", "Bowtie", polygon(BOWTIE)))

    parsed = read_boundaries(path, max_bytes=LIMIT, repair=True)

    (area,) = parsed.areas
    assert area.geometry.is_valid
    assert area.geometry.geom_type == "MultiPolygon"
    assert area.geometry.area == pytest.approx(0.005)
    assert parsed.rejected == []
    assert parsed.repaired[0].startswith("feature 1 (MD-BB): Self-intersection")


def test_other_property_names(tmp_path: Path) -> None:
    path = tmp_path / "named.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"NAME_1": "Ştefan Vodă", "ISO": "md-sv"},
                        "geometry": polygon(SQUARE),
                    }
                ],
            }
        )
    )

    parsed = read_boundaries(
        path, max_bytes=LIMIT, name_property="NAME_1", code_property="ISO"
    )

    (area,) = parsed.areas
    assert area.code == "MD-SV"
    # Stored as typed, in NFC with comma-below letters.
    assert area.name == "Ștefan Vodă"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not JSON: Expecting property name"),
        (b'{"type": "Feature", "features": []}', "its type is 'Feature'"),
        (b"[1, 2]", "not a GeoJSON FeatureCollection but a JSON list"),
        (b'{"type": "FeatureCollection"}', "has no list of features"),
        (b'{"type": "FeatureCollection", "features": []}', "none of its 0 features"),
        (b'{"type": "FeatureCollection", "x": NaN}', "NaN is not a JSON number"),
        (b'{"type": "FeatureCollection", "n": "Sf\xe2nta"}', "not UTF-8 text"),
    ],
)
def test_unusable_file_rejected(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "broken.geojson"
    path.write_bytes(content)

    with pytest.raises(GeoFileError, match="broken.geojson") as raised:
        read_boundaries(path, max_bytes=LIMIT)

    assert reason in str(raised.value)


def test_no_usable_feature_names_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path, feature("MD-DD", "Point", {"type": "Point", "coordinates": [28, 47]})
    )

    with pytest.raises(GeoFileError) as raised:
        read_boundaries(path, max_bytes=LIMIT)

    message = str(raised.value)
    assert "none of its 1 features is a usable area" in message
    assert "feature 1: geometry type 'Point' is not an area" in message


def test_file_over_limit_rejected_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.geojson"
    # A sparse file: it claims 200 MB and takes no space.
    with path.open("wb") as handle:
        handle.truncate(200_000_000)

    with pytest.raises(GeoFileError) as raised:
        read_boundaries(path, max_bytes=LIMIT)

    assert "200,000,000 bytes, over the limit of 104,857,600 bytes" in str(raised.value)
    assert "SCUT_GEO_MAX_FILE_BYTES" in str(raised.value)


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(GeoFileError, match="file not found"):
        read_boundaries(tmp_path / "absent.geojson", max_bytes=LIMIT)


def test_folder_rejected(tmp_path: Path) -> None:
    with pytest.raises(GeoFileError, match="not a regular file"):
        read_boundaries(tmp_path, max_bytes=LIMIT)
