"""Password hashing with Argon2id and the password policy.

The policy follows NIST SP 800-63B: a minimum length, no composition
rules, and a list of passwords known to be common or easy to guess.
"""

from __future__ import annotations

import logging
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from scut.errors import ScutError

log = logging.getLogger(__name__)

# Length bounds in Unicode code points after NFKC normalisation.
MIN_LENGTH = 15
MAX_LENGTH = 256
BANNED_LIST = "banned-passwords.txt"

# Argon2id with 64 MiB of memory, 3 iterations and 4 lanes: the RFC 9106
# low-memory profile, which argon2-cffi 25.1 uses by default. Each value is
# above the minimum of the OWASP Password Storage Cheat Sheet (19 MiB, 2
# iterations, 1 lane for Argon2id), read at
# https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
TIME_COST = 3
MEMORY_COST_KIB = 64 * 1024
PARALLELISM = 4

_hasher = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_COST_KIB,
    parallelism=PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)


class WeakPassword(ScutError):
    """Raised when a new password breaks the policy; the message names the rule."""


class Verification(NamedTuple):
    """The result of checking a password against its stored hash."""

    matches: bool
    # A new hash of the same password when the stored one was made with
    # weaker parameters than the current ones; None otherwise.
    new_hash: str | None = None


def hash_password(password: str) -> str:
    """Hash ``password``, NFKC-normalised, with Argon2id and a random salt.

    Returns the PHC string, which carries the salt and the parameters.
    """
    return _hasher.hash(_normalise(password))


def verify_password(stored_hash: str, password: str) -> Verification:
    """Check ``password`` against ``stored_hash`` in constant time.

    A hash that cannot be read counts as a mismatch and is logged, so a
    damaged row fails the sign-in instead of raising an exception.
    """
    normalised = _normalise(password)
    if not _encodable(normalised):
        return Verification(matches=False)
    try:
        _hasher.verify(stored_hash, normalised)
    except VerifyMismatchError:
        return Verification(matches=False)
    except (InvalidHashError, VerificationError) as error:
        log.error("stored password hash cannot be verified: %s", error)
        return Verification(matches=False)
    if _hasher.check_needs_rehash(stored_hash):
        return Verification(matches=True, new_hash=_hasher.hash(normalised))
    return Verification(matches=True)


def spend_verification_time(password: str) -> None:
    """Verify ``password`` against a fixed hash and discard the result.

    Sign-in calls it for an unknown user name, so that the rejection
    takes as long as for a known one.
    """
    verify_password(_placeholder_hash(), password)


def check_password(password: str, username: str) -> None:
    """Raise WeakPassword unless ``password`` meets the policy for ``username``.

    The rules: 15 to 256 code points after NFKC normalisation, not one
    character repeated, not containing the user name, and not on the list
    of banned passwords (compared without regard to case).
    """
    normalised = _normalise(password)
    if not _encodable(normalised):
        raise WeakPassword(
            "the password contains characters that are not valid Unicode text; "
            "type it again"
        )
    length = len(normalised)
    if length < MIN_LENGTH:
        raise WeakPassword(
            f"the password has {length} characters; use at least {MIN_LENGTH}, "
            "for example a few unrelated words"
        )
    if length > MAX_LENGTH:
        raise WeakPassword(
            f"the password has {length} characters; use at most {MAX_LENGTH}"
        )
    if len(set(normalised)) == 1:
        raise WeakPassword(
            "the password is one character repeated; choose a password that is "
            "hard to guess"
        )
    folded = normalised.casefold()
    name = _normalise(username).strip().casefold()
    if name and name in folded:
        raise WeakPassword(
            "the password contains the user name; choose one that does not"
        )
    if folded in banned_passwords():
        raise WeakPassword(
            "the password is on the list of common and easily guessed passwords; "
            "choose another"
        )


@lru_cache(maxsize=1)
def banned_passwords() -> frozenset[str]:
    """Return the banned passwords, normalised and case-folded."""
    text = resources.files("scut.security").joinpath(BANNED_LIST).read_text("utf-8")
    entries = (line.strip() for line in text.splitlines())
    return frozenset(
        _normalise(entry).casefold()
        for entry in entries
        if entry and not entry.startswith("#")
    )


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=1)
def _placeholder_hash() -> str:
    return _hasher.hash("placeholder for user names that do not exist")
