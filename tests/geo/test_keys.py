"""Keys of place names: person-name folding plus look-alikes, î/â and designators."""

from __future__ import annotations

import pytest

from scut.geo.keys import (
    fold_lookalikes,
    locality_key,
    place_key,
    query_keys,
    without_designator,
)


@pytest.mark.parametrize(
    "spelling", ["Bălți", "Balti", "BALŢI", "Bălţi", "Бэлць", "bălți"]
)
def test_balti_spellings_share_key(spelling: str) -> None:
    assert place_key(spelling) == "balti"


@pytest.mark.parametrize("spelling", ["Chișinău", "Chisinau", "Кишинэу"])
def test_chisinau_spellings_share_key(spelling: str) -> None:
    assert place_key(spelling) == "chisinau"


def test_cyrillic_lookalike_in_latin_word() -> None:
    # GeoNames writes this village with a Cyrillic с (U+0441).
    assert fold_lookalikes("Su\u0441leia 1") == "Sucleia 1"
    assert place_key("Su\u0441leia 1") == "sucleia 1"


def test_cyrillic_word_left_for_transliteration() -> None:
    assert fold_lookalikes("Сорока") == "Сорока"
    assert place_key("Сорока") == "soroca"


def test_postal_sector_removed_from_locality() -> None:
    assert locality_key("soroca 4") == "soroca"
    assert locality_key("varnita 2") == "varnita"
    assert locality_key("soroca") == "soroca"
    assert locality_key("4") == "4"


def test_query_tries_i_for_i_circumflex() -> None:
    assert query_keys("Sîngerei") == ["sangerei", "singerei"]
    assert query_keys("Sângerei") == ["sangerei", "singerei"]


def test_query_without_designator() -> None:
    assert query_keys("mun. Chișinău") == ["mun chisinau", "chisinau"]
    assert "nicolaevca" in query_keys("с. Николаевка")
    assert "floresti" in query_keys("r-nul Florești")
    # A designator alone is a name.
    assert without_designator("sat") == "sat"


def test_query_without_letters_is_empty() -> None:
    assert query_keys("!!! --") == []
