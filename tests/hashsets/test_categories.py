"""Category schemes: parsing VICS codes, labels and mapping between schemes."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from scut.hashsets.categories import (
    PROJECTVIC,
    UK,
    category_scheme_for_context,
    from_legacy_dhs,
    label,
    parse_vics_category,
    to_scheme,
)
from scut.hashsets.items import Category


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, Category(PROJECTVIC, "0")),
        (4, Category(PROJECTVIC, "4")),
        ("1", Category(PROJECTVIC, "1")),
        (" 3 ", Category(PROJECTVIC, "3")),
        (Decimal("2"), Category(PROJECTVIC, "2")),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_vics_category_values(value: object, expected: Category | None) -> None:
    assert parse_vics_category(value) == expected


def test_missing_category_differs_from_zero() -> None:
    assert parse_vics_category(None) is None
    assert parse_vics_category(0) == Category(PROJECTVIC, "0")


@pytest.mark.parametrize("value", [5, -1, "7", 255, "A", "1.5", True, 2.0, [1]])
def test_parse_vics_category_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="VICS category"):
        parse_vics_category(value)


def test_out_of_range_message_names_range() -> None:
    with pytest.raises(ValueError, match=r"5 is out of range.*codes 0 to 4"):
        parse_vics_category(5)


@pytest.mark.parametrize(
    ("context", "scheme"),
    [
        (None, PROJECTVIC),
        ("Default", PROJECTVIC),
        ("US", PROJECTVIC),
        ("us", PROJECTVIC),
        ("UK", "vics-uk"),
        ("CUSTOM", "vics-custom"),
        ("UNKNOWN", "vics-unknown"),
    ],
)
def test_scheme_for_context(context: str | None, scheme: str) -> None:
    assert category_scheme_for_context(context) == scheme


def test_uk_context_keeps_numbers_apart() -> None:
    assert parse_vics_category(2, "vics-uk") == Category("vics-uk", "2")
    assert parse_vics_category(200, "vics-uk") == Category("vics-uk", "200")
    with pytest.raises(ValueError, match="out of range"):
        parse_vics_category(256, "vics-uk")


def test_uk_context_letters_become_uk() -> None:
    assert parse_vics_category("A", "vics-uk") == Category(UK, "A")
    assert parse_vics_category(" b ", "vics-uk") == Category(UK, "B")
    with pytest.raises(ValueError):
        parse_vics_category("D", "vics-uk")


def test_unknown_vics_scheme_rejected() -> None:
    with pytest.raises(ValueError, match="unknown VICS category scheme"):
        parse_vics_category(1, "dhs")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0, None),
        (1, Category(PROJECTVIC, "1")),
        ("2", Category(PROJECTVIC, "2")),
        (3, Category(PROJECTVIC, "3")),
        (4, Category(PROJECTVIC, "4")),
        (5, Category(PROJECTVIC, "0")),
        (None, None),
    ],
)
def test_legacy_dhs_mapping(code: object, expected: Category | None) -> None:
    assert from_legacy_dhs(code) == expected


@pytest.mark.parametrize("code", [6, -1, "x"])
def test_legacy_dhs_rejects(code: object) -> None:
    with pytest.raises(ValueError):
        from_legacy_dhs(code)


def test_labels_in_english() -> None:
    assert label(Category(PROJECTVIC, "0")) == "non-pertinent"
    assert label(Category(PROJECTVIC, "1")) == "child abuse material"
    assert "computer-generated" in label(Category(PROJECTVIC, "3"))
    assert "comparison" in label(Category(PROJECTVIC, "4"))
    assert label(Category(UK, "A")).startswith("category A")
    assert "non-penetrative" in label(Category(UK, "B"))
    assert "vics-uk" in label(Category("vics-uk", "2"))


def test_label_rejects_unknown_code() -> None:
    with pytest.raises(ValueError, match="unknown projectvic category '9'"):
        label(Category(PROJECTVIC, "9"))


@pytest.mark.parametrize(
    ("category", "scheme", "expected"),
    [
        (Category(UK, "A"), PROJECTVIC, Category(PROJECTVIC, "1")),
        (Category(UK, "B"), PROJECTVIC, Category(PROJECTVIC, "1")),
        (Category(UK, "C"), PROJECTVIC, Category(PROJECTVIC, "1")),
        (Category(PROJECTVIC, "1"), UK, None),
        (Category(PROJECTVIC, "0"), UK, None),
        (Category(PROJECTVIC, "2"), UK, None),
        (Category(PROJECTVIC, "3"), UK, None),
        (Category(PROJECTVIC, "4"), UK, None),
        (Category(PROJECTVIC, "2"), PROJECTVIC, Category(PROJECTVIC, "2")),
        (Category(UK, "C"), UK, Category(UK, "C")),
        (Category("vics-uk", "1"), PROJECTVIC, None),
        (Category("vics-uk", "1"), UK, None),
    ],
)
def test_to_scheme_mapping(
    category: Category, scheme: str, expected: Category | None
) -> None:
    assert to_scheme(category, scheme) == expected


def test_to_scheme_rejects_unknown_target() -> None:
    with pytest.raises(ValueError, match="unknown category scheme 'dhs'"):
        to_scheme(Category(PROJECTVIC, "1"), "dhs")


@pytest.mark.parametrize(
    "value",
    [Decimal("1e300000"), Decimal("-1e300000"), "9" * 5000, 10**40],
)
def test_huge_category_out_of_range(value: object) -> None:
    # int(Decimal("1e300000")) takes seconds (8 s measured), and 1e999999999
    # would take hours; the check on the exponent takes microseconds.
    started = time.perf_counter()
    with pytest.raises(ValueError, match="is out of range") as raised:
        parse_vics_category(value)
    elapsed = time.perf_counter() - started

    assert elapsed < 1
    assert len(str(raised.value)) < 200


def test_huge_dhs_category_out_of_range() -> None:
    with pytest.raises(ValueError, match="DHS category 1E\\+300000 is out"):
        from_legacy_dhs(Decimal("1e300000"))
