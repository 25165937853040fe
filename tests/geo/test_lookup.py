"""Place search, point location, geocoding and the map's GeoJSON."""

from __future__ import annotations

import json

import pytest
import shapely
from tests.geo.conftest import Loaded
from tests.records_helpers import analyst

from scut.db.session import Database
from scut.geo.places import GeoQueryError
from scut.geo.service import (
    areas_geojson,
    find_places,
    geocode,
    list_areas,
    locate_point,
)
from scut.security.caller import Caller

# Piața Marii Adunări Naționale, in the centre of Chișinău.
CHISINAU_CENTRE = (47.0245, 28.8327)


@pytest.fixture
def ana() -> Caller:
    return analyst("ana")


def test_point_in_chisinau(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        areas = locate_point(session, *CHISINAU_CENTRE, caller=ana)

    assert [(area.code, area.name) for area in areas] == [("MD-CU", "Chisinau")]
    assert areas[0].places == 36


def test_points_in_other_areas(loaded: Loaded, ana: Caller) -> None:
    points = {
        (47.7617, 27.9289): "MD-BA",  # Bălți
        (46.8403, 29.6433): "MD-SN",  # Tiraspol
        (46.3003, 28.6572): "MD-GA",  # Comrat
    }
    with loaded.database.session() as session:
        for (latitude, longitude), code in points.items():
            found = locate_point(session, latitude, longitude, caller=ana)
            assert [area.code for area in found] == [code]


def test_point_outside_every_area(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        assert locate_point(session, 44.4323, 26.1063, caller=ana) == []


def test_point_out_of_range(loaded: Loaded, ana: Caller) -> None:
    with (
        loaded.database.session() as session,
        pytest.raises(GeoQueryError, match="latitude 95.0 is outside -90 to 90"),
    ):
        locate_point(session, 95.0, 28.0, caller=ana)


def test_balti_found_by_any_spelling(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        for query in ("Balti", "Bălți", "BĂLŢI", "Бэлць"):
            found = find_places(session, query, caller=ana)

            assert [(place.name, place.match, place.area_code) for place in found] == [
                ("Balti", "exact", "MD-BA")
            ], query
            assert (found[0].latitude, found[0].longitude) == (47.7617, 27.9289)


def test_chisinau_found_first(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        for query in ("Chișinău", "chisinau", "Кишинэу"):
            found = find_places(session, query, caller=ana)

            assert found[0].name == "Chisinau", query
            assert found[0].match == "exact", query
            assert found[0].postal_code == "MD-2000", query


def test_prefix_search(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        found = find_places(session, "Chisin", caller=ana)

    assert ("Chisinau", "prefix") in [(place.name, place.match) for place in found]


def test_cyrillic_lookalike_name_found(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        found = find_places(session, "Sucleia", caller=ana)

    assert [(place.name, place.match) for place in found] == [
        ("Sucleia", "exact"),
        ("Su\u0441leia 1", "sector"),
    ]


def test_area_filter_by_code_and_name(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        everywhere = find_places(session, "Soroca", caller=ana)
        by_code = find_places(session, "Soroca", caller=ana, area="MD-SO")
        by_name = find_places(session, "Nicolaevca", caller=ana, area="Florești")

    assert {place.area_code for place in everywhere} == {"MD-GL", "MD-SO"}
    assert [(place.name, place.match) for place in by_code] == [
        ("Soroca 4", "sector"),
        ("Soroca 5", "sector"),
        ("Soroca 6", "sector"),
    ]
    assert {place.area_code for place in by_name} == {"MD-FL"}
    assert len(by_name) == 3


def test_unknown_area_rejected(loaded: Loaded, ana: Caller) -> None:
    with (
        loaded.database.session() as session,
        pytest.raises(GeoQueryError, match="no loaded area has the code or name"),
    ):
        find_places(session, "Soroca", caller=ana, area="Atlantis")


def test_query_without_letters_rejected(loaded: Loaded, ana: Caller) -> None:
    with (
        loaded.database.session() as session,
        pytest.raises(GeoQueryError, match="has no letters or digits"),
    ):
        find_places(session, "?!", caller=ana)


def test_list_areas_counts_places(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        areas = {area.code: area for area in list_areas(session, caller=ana)}

    assert len(areas) == 37
    assert areas["MD-CU"].name == "Chisinau"
    assert areas["MD-CU"].places == 36
    assert areas["MD-BA"].places == 4


def test_geocode_one_place(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        result = geocode(session, "mun. Chișinău", caller=ana)

    assert result.match == "exact"
    assert not result.ambiguous
    assert result.location is not None
    assert (result.location.latitude, result.location.longitude) == (47.0056, 28.8575)
    assert result.location.area_code == "MD-CU"


def test_geocode_same_place_two_postal_codes(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        result = geocode(session, "Taraclia", caller=ana, area="Cantemir")

    assert result.location is not None
    assert len(result.location.place_ids) == 2
    assert result.location.area_code == "MD-CT"


def test_geocode_town_of_postal_sectors(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        result = geocode(session, "Cahul", caller=ana)

    assert result.location is not None
    assert result.location.basis == "postal sectors"
    assert len(result.location.place_ids) == 4
    # The mean of the four sector points.
    assert result.location.latitude == pytest.approx(45.9092, abs=1e-4)
    assert result.location.longitude == pytest.approx(28.1990, abs=1e-4)


def test_geocode_never_guesses_between_villages(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        anywhere = geocode(session, "Nicolaevca", caller=ana)
        in_raion = geocode(session, "s. Nicolaevca", caller=ana, area="r-nul Florești")

    assert anywhere.ambiguous
    assert anywhere.location is None
    assert len(anywhere.candidates) == 7
    assert in_raion.ambiguous
    assert in_raion.location is None
    assert [(item.area_code, item.latitude) for item in in_raion.candidates] == [
        ("MD-FL", 47.7539),
        ("MD-FL", 47.9192),
    ]


def test_geocode_village_and_town_both_returned(loaded: Loaded, ana: Caller) -> None:
    # A village Soroca in Glodeni, and the town of Soroca by its postal sectors.
    with loaded.database.session() as session:
        exact = geocode(session, "Soroca", caller=ana)
        loose = geocode(session, "Soroka", caller=ana)

    for result in (exact, loose):
        assert result.ambiguous
        assert [(item.area_code, item.basis) for item in result.candidates] == [
            ("MD-GL", "place"),
            ("MD-SO", "postal sectors"),
        ]
    assert (exact.match, loose.match) == ("exact", "loose")


def test_geocode_unknown_locality(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        result = geocode(session, "Atlantis", caller=ana)

    assert result.candidates == ()
    assert result.match == ""
    assert result.location is None


def test_map_geojson(loaded: Loaded, ana: Caller) -> None:
    with loaded.database.session() as session:
        simplified = areas_geojson(session, caller=ana)
        whole = areas_geojson(session, caller=ana, tolerance=0)

    features = simplified["features"]
    assert simplified["type"] == "FeatureCollection"
    assert len(features) == 37
    chisinau = next(item for item in features if item["properties"]["code"] == "MD-CU")
    assert chisinau["properties"] == {
        "code": "MD-CU",
        "name": "Chisinau",
        "level": 1,
        "places": 36,
    }
    shapes = [shapely.geometry.shape(item["geometry"]) for item in features]
    originals = [shapely.geometry.shape(item["geometry"]) for item in whole["features"]]
    kept = shapely.get_num_coordinates(shapes).sum()
    assert kept < 0.75 * shapely.get_num_coordinates(originals).sum()
    assert len(json.dumps(simplified)) < 120_000
    # Neighbours keep a common border.
    assert bool(shapely.coverage_is_valid(shapes))
    point = shapely.Point(CHISINAU_CENTRE[1], CHISINAU_CENTRE[0])
    assert shapely.geometry.shape(chisinau["geometry"]).contains(point)


def test_map_tolerance_checked(loaded: Loaded, ana: Caller) -> None:
    with (
        loaded.database.session() as session,
        pytest.raises(GeoQueryError, match="tolerance must be from 0 to 1.0"),
    ):
        areas_geojson(session, caller=ana, tolerance=-1)


def test_nothing_loaded(database: Database, ana: Caller) -> None:
    with database.session() as session:
        assert areas_geojson(session, caller=ana) == {
            "type": "FeatureCollection",
            "features": [],
        }
        assert list_areas(session, caller=ana) == []
        assert locate_point(session, *CHISINAU_CENTRE, caller=ana) == []
        assert find_places(session, "Balti", caller=ana) == []
        assert geocode(session, "Balti", caller=ana).candidates == ()
