import pytest

from scut.persons.countries import InvalidCountry, country_code, country_name


@pytest.mark.parametrize(
    ("value", "expected"),
    [("MD", "MD"), ("md", "MD"), ("MDA", "MD"), ("498", "MD"), ("rou", "RO")],
)
def test_codes_accepted(value: str, expected: str) -> None:
    assert country_code(value) == expected


@pytest.mark.parametrize("value", ["XX", "Moldova", "", "MDAX", "999", "M\x00"])
def test_unknown_codes_rejected(value: str) -> None:
    with pytest.raises(InvalidCountry, match="unknown country code"):
        country_code(value)


def test_name_of_code() -> None:
    assert country_name("MD") == "Moldova"
    assert country_name("ZZ") == "ZZ"
