"""Reading GeoNames gazetteer files: postal-code and main exports, bad lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.geo.conftest import GeoFiles

from scut.geo.files import DEFAULT_MAX_FILE_BYTES, GeoFileError, Rejected
from scut.geo.gazetteer import PLACES, POSTAL, Gazetteer, PlaceRecord, Skipped

LIMIT = DEFAULT_MAX_FILE_BYTES


def postal_line(
    name: str,
    latitude: str = "47.0",
    longitude: str = "28.8",
    *,
    admin: str = "Orhei",
    accuracy: str = "4",
) -> str:
    empty_admin_columns = [""] * 5
    columns = ["MD", "MD-3500", name, admin, *empty_admin_columns]
    return "\t".join([*columns, latitude, longitude, accuracy])


def place_line(
    geonameid: str,
    name: str,
    feature_class: str = "P",
    alternates: str = "",
    population: str = "0",
    ascii_name: str = "",
) -> str:
    return "\t".join(
        [
            geonameid,
            name,
            ascii_name or name,
            alternates,
            "47.00556",
            "28.8575",
            feature_class,
            "PPLC" if feature_class == "P" else "ADM1",
            "MD",
            "",
            "57",
            "",
            "",
            "",
            population,
            "",
            "52",
            "Europe/Chisinau",
            "2024-01-01",
        ]
    )


def read_all(path: Path) -> list[PlaceRecord | Rejected | Skipped]:
    return list(Gazetteer(path, LIMIT).records())


def test_real_postal_file(geo_files: GeoFiles) -> None:
    gazetteer = Gazetteer(geo_files.gazetteer, LIMIT)
    items = list(gazetteer.records())

    places = [item for item in items if isinstance(item, PlaceRecord)]
    assert gazetteer.format == POSTAL
    assert len(items) == 1753
    assert len(places) == 1753
    assert gazetteer.bytes_read == gazetteer.size == 92_345
    first = places[0]
    assert (first.name, first.admin_name, first.postal_code) == (
        "Chisinau",
        "Mun.Chisinau",
        "MD-2000",
    )
    assert (first.latitude, first.longitude, first.accuracy) == (47.0056, 28.8575, 4)
    assert sum(place.accuracy is None for place in places) == 91


def test_bad_postal_lines_reported(tmp_path: Path) -> None:
    path = tmp_path / "MD.txt"
    lines = [
        postal_line("Orhei 2"),
        postal_line("Short")[:-2],
        "MD\tMD-1\tTwo columns",
        postal_line("Letters", latitude="forty-seven"),
        postal_line("Far", longitude="190.5"),
        postal_line("Nowhere", latitude=""),
        postal_line("   "),
        postal_line("Vague", accuracy="9"),
        postal_line("Infinite", latitude="inf"),
        postal_line("Ivancea"),
        postal_line("X"),
    ]
    content = "\n".join(lines).encode() + b"\n"
    # Line 12 is Latin-1, not UTF-8; line 13 is blank.
    content += b"MD\tMD-3501\tSf\xe2nta\tOrhei\t\t\t\t\t\t47.1\t28.8\t4\n\n"
    path.write_bytes(content)

    items = read_all(path)

    rejected = {item.where: item.reason for item in items if isinstance(item, Rejected)}
    kept = [item.name for item in items if isinstance(item, PlaceRecord)]
    assert kept == ["Orhei 2", "Ivancea", "X"]
    assert rejected == {
        "line 2": "11 columns where this file has 12",
        "line 3": "3 columns where this file has 12",
        "line 4": "latitude 'forty-seven' is not a number",
        "line 5": "longitude 190.5 is outside -180 to 180",
        "line 6": "the latitude is missing",
        "line 7": "the place name is empty",
        "line 8": "accuracy 9 is not a GeoNames accuracy (1 to 6)",
        "line 9": "latitude 'inf' is not a finite number",
        "line 12": "not valid UTF-8 (byte 0xe2 at column 14); save the file as UTF-8",
    }


def test_main_export_keeps_populated_places(tmp_path: Path) -> None:
    path = tmp_path / "MD-places.txt"
    lines = [
        place_line(
            "618426",
            "Chişinău",
            alternates="Kishinev,Кишинёв,Chisinau,,",
            ascii_name="Chisinau",
        ),
        place_line("617302", "Moldova region", feature_class="A"),
        place_line("x1", "Broken id"),
        place_line("618427", "Bad population", population="many"),
    ]
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")

    gazetteer = Gazetteer(path, LIMIT)
    items = list(gazetteer.records())

    assert gazetteer.format == PLACES
    assert isinstance(items[0], PlaceRecord)
    # Cedilla letters are stored as comma-below ones.
    assert items[0].name == "Chișinău"
    assert items[0].geonames_id == 618426
    assert items[0].feature_code == "PPLC"
    assert items[0].admin_code == "57"
    assert items[0].alternate_names == ("Chisinau", "Kishinev", "Кишинёв")
    assert items[1] == Skipped(2)
    assert items[2] == Rejected("line 3", "geonameid 'x1' is not a whole number")
    assert items[3] == Rejected("line 4", "population 'many' is not a whole number")


def test_unknown_layout_rejected(tmp_path: Path) -> None:
    path = tmp_path / "cities.csv"
    path.write_text("name,lat,lon\nChisinau,47,28.8\n")

    with pytest.raises(GeoFileError) as raised:
        Gazetteer(path, LIMIT)

    assert "cities.csv: the first line has 1 tab-separated columns" in str(raised.value)


def test_empty_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("\n\n")

    with pytest.raises(GeoFileError, match="contains no data lines"):
        Gazetteer(path, LIMIT)


def test_file_over_limit_rejected(geo_files: GeoFiles) -> None:
    with pytest.raises(GeoFileError, match="over the limit of 1,000 bytes"):
        Gazetteer(geo_files.gazetteer, 1000)
