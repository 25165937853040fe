"""Argon2id password hashes and the password policy."""

from __future__ import annotations

import unicodedata

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from scut.security.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    WeakPassword,
    banned_passwords,
    check_password,
    hash_password,
    verify_password,
)

GOOD = "velvet ladder beneath amber rain"


def test_policy_accepts_long_passphrase() -> None:
    check_password(GOOD, "ana.popescu")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("a" * (MIN_LENGTH - 1), "at least 15"),
        ("Tr0ub4dor&3xyz", "at least 15"),
        ("x" + "correct horse " * 19, "at most 256"),
        ("z" * 20, "one character repeated"),
        ("ааааааааааааааааааа", "one character repeated"),
        ("my-ANA.POPESCU-is-long-enough", "contains the user name"),
        ("QwertyuiopAsdfghjkl", "list of common"),
        ("1qaz2wsx3edc4rfv", "list of common"),
        ("PasswordPassword", "list of common"),
        ("Septembrie2024!", "list of common"),
        ("noiembrie2023123", "list of common"),
        ("sentyabr2019123", "list of common"),
        ("DECEMBER1999123", "list of common"),
        ("ParolaParola2024", "list of common"),
        ("ПарольПароль2024", "list of common"),
        ("пароль1пароль1пароль1", "list of common"),
    ],
)
def test_policy_rejects(password: str, rule: str) -> None:
    with pytest.raises(WeakPassword, match=rule) as raised:
        check_password(password, "ana.popescu")
    assert password not in str(raised.value)


def test_length_bounds_are_inclusive() -> None:
    check_password("lantern-harbour", "ana")
    check_password("lantern harbour " * 16, "ana")

    assert len("lantern-harbour") == MIN_LENGTH
    assert len("lantern harbour " * 16) == MAX_LENGTH


def test_length_counts_code_points_after_nfkc() -> None:
    # "ﬁ" (U+FB01) becomes "fi" under NFKC: 14 code points typed, 15 counted.
    ligature = "ﬁrm lantern rug"[:14]
    assert len(ligature) == 14
    check_password(ligature, "ana")

    # "e" with a combining acute accent becomes one code point under NFKC:
    # 15 code points typed, 14 counted.
    combining = "cafe\u0301 and a hill"[:15]
    assert len(combining) == 15
    assert len(unicodedata.normalize("NFKC", combining)) == 14
    with pytest.raises(WeakPassword, match="has 14 characters"):
        check_password(combining, "ana")


def test_emoji_count_as_one_character_each() -> None:
    check_password("🦊🐻🐼🐨🐯🦁🐮🐷🐸🐵🐔🐧🐦🐤🦆", "ana")


def test_no_composition_rules() -> None:
    check_password("only lowercase letters and spaces", "ana")
    check_password("123098475610293847", "ana")


def test_banned_list_is_large_and_in_bounds() -> None:
    banned = banned_passwords()

    assert len(banned) > 3000
    assert all(MIN_LENGTH <= len(entry) <= MAX_LENGTH for entry in banned)
    assert all(entry == entry.casefold() for entry in banned)
    for family in ("qwerty", "parola", "пароль", "iarna", "zima", "summer"):
        assert any(family in entry for entry in banned), family


def test_hash_is_argon2id_at_owasp_minimums_or_above() -> None:
    stored = hash_password(GOOD)
    parameters = extract_parameters(stored)

    assert stored.startswith("$argon2id$v=19$")
    assert parameters.type is Type.ID
    # OWASP Password Storage Cheat Sheet minimum for Argon2id.
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert parameters.parallelism >= 1
    assert parameters.memory_cost == 65536
    assert parameters.time_cost == 3
    assert parameters.parallelism == 4
    assert GOOD not in stored


def test_hashes_are_salted() -> None:
    assert hash_password(GOOD) != hash_password(GOOD)


def test_verify_right_and_wrong() -> None:
    stored = hash_password(GOOD)

    assert verify_password(stored, GOOD).matches
    assert verify_password(stored, GOOD).new_hash is None
    assert not verify_password(stored, GOOD + " ").matches
    assert not verify_password(stored, GOOD.upper()).matches


def test_verify_normalises_like_hash() -> None:
    composed = "café under the lantern"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed

    assert verify_password(hash_password(composed), decomposed).matches


def test_weaker_hash_is_rehashed_on_verify() -> None:
    old = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(GOOD)

    result = verify_password(old, GOOD)

    assert result.matches
    assert result.new_hash is not None
    assert extract_parameters(result.new_hash).memory_cost == 65536
    assert verify_password(result.new_hash, GOOD).new_hash is None


def test_wrong_password_on_weaker_hash_is_not_rehashed() -> None:
    old = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(GOOD)

    assert verify_password(old, "not the password at all") == (False, None)


def test_damaged_hash_is_a_mismatch() -> None:
    assert not verify_password("$argon2id$v=19$m=65536,t=3,p=4$broken", GOOD).matches
    assert not verify_password("", GOOD).matches


def test_unpaired_surrogate_rejected() -> None:
    with pytest.raises(WeakPassword, match="not valid Unicode"):
        check_password("lantern harbour \ud800 rain", "ana")
    assert not verify_password(hash_password(GOOD), "\ud800" * 20).matches
