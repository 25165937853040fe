import pytest

from scut.persons.idnp import InvalidIdnp, is_valid_idnp, mask_idnp, validate_idnp


def _with_check(first_twelve: str) -> str:
    weights = [7, 3, 1] * 4
    total = sum(w * int(d) for w, d in zip(weights, first_twelve, strict=True))
    return first_twelve + str(total % 10)


@pytest.mark.parametrize(
    "value",
    [
        "2002042123459",
        _with_check("200500100001"),
        _with_check("201900412345"),
        _with_check("099800300077"),
        _with_check("200000000000"),
    ],
)
def test_valid_numbers(value: str) -> None:
    assert validate_idnp(value) == value


def test_check_digit_vector() -> None:
    # 2*7 + 0*3 + 0*1 + 2*7 + 0*3 + 4*1 + 2*7 + 1*3 + 2*1 + 3*7 + 4*3 + 5*1 = 89
    assert _with_check("200204212345") == "2002042123459"


def test_spaces_and_hyphens_removed() -> None:
    assert validate_idnp(" 2002 042 123 459 ") == "2002042123459"
    assert validate_idnp("2002-042-12345-9") == "2002042123459"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2002042123458", "check digit is 8, the first twelve digits give 9"),
        ("2002042123450", "check digit is 0"),
        ("200204212345", "has 12 digits"),
        ("20020421234590", "has 14 digits"),
        ("200204212345X", "digits only"),
        ("", "empty"),
        ("   ", "empty"),
        ("１００２０４２１２３４５９", "digits only"),
        (_with_check("100204212345"), "organisation's IDNO"),
        (_with_check("500204212345"), "starts with 2"),
    ],
)
def test_invalid_numbers(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdnp) as raised:
        validate_idnp(value)
    assert reason in str(raised.value)


def test_swapped_digits_detected() -> None:
    swapped = "2020042123459"
    assert not is_valid_idnp(swapped)


def test_message_names_value() -> None:
    with pytest.raises(InvalidIdnp, match="'2002042123458'"):
        validate_idnp("2002042123458")


def test_control_characters_escaped_in_message() -> None:
    with pytest.raises(InvalidIdnp) as raised:
        validate_idnp("2002\x1b[31m")
    assert "\x1b" not in str(raised.value)


def test_mask_keeps_last_digits() -> None:
    assert mask_idnp("2002042123459") == "*********3459"
    assert mask_idnp("2002042123459", visible=0) == "*************"


def test_placeholder_rejected() -> None:
    with pytest.raises(InvalidIdnp, match="placeholder"):
        validate_idnp("0000000000000")
