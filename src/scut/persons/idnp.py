"""The IDNP, Moldova's personal identification number.

Thirteen digits: the first is 2 for persons (0 on some old numbers), then
three of the year the number was assigned, three of the registering office,
five of sequence and a check digit. The check digit is the sum of the first
twelve digits weighted 7, 3, 1, 7, 3, 1, ... modulo 10, the rule the
organisation number (IDNO) shares, so python-stdnum's ``stdnum.md.idno``
computes it. The number encodes neither the birth date nor the sex.
"""

from __future__ import annotations

import re

from stdnum.md import idno

from scut.errors import ScutError

LENGTH = 13
# First digits of personal numbers; 1 starts an organisation's IDNO.
PERSON_PREFIXES = ("0", "2")
# A run of this many digits or more may be an IDNP or most of one.
_DIGIT_RUN = re.compile(r"[0-9]{5,}")


class InvalidIdnp(ScutError):
    """Raised for a value that is not a valid IDNP; the message gives the reason.

    ``code`` names the failed check (empty, not-digits, length, organisation,
    prefix, placeholder or check-digit) and ``details`` contains the numbers the
    message quotes, so that pages can show the reason in the reader's language.
    """

    def __init__(self, message: str, code: str = "invalid", **details: str) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


def validate_idnp(value: str) -> str:
    """Return the 13 digits of an IDNP, or raise InvalidIdnp naming the reason.

    Spaces, hyphens and dots that people type between digit groups are
    removed first.
    """
    digits = "".join(ch for ch in value if ch not in " -.\t")
    shown = quoted(value)
    if not digits:
        raise InvalidIdnp("invalid IDNP: the value is empty", "empty")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidIdnp(
            f"invalid IDNP {shown}: it must contain digits only", "not-digits"
        )
    if len(digits) != LENGTH:
        raise InvalidIdnp(
            f"invalid IDNP {shown}: it has {len(digits)} digits, an IDNP has {LENGTH}",
            "length",
            digits=str(len(digits)),
        )
    if digits[0] == "1":
        raise InvalidIdnp(
            f"invalid IDNP {shown}: a number starting with 1 is an organisation's "
            "IDNO, not a person's IDNP",
            "organisation",
        )
    if digits[0] not in PERSON_PREFIXES:
        raise InvalidIdnp(
            f"invalid IDNP {shown}: a person's IDNP starts with 2 "
            "(or 0 on old numbers)",
            "prefix",
        )
    if len(set(digits)) == 1:
        raise InvalidIdnp(
            f"invalid IDNP {shown}: a number of one repeated digit is a placeholder",
            "placeholder",
        )
    expected = idno.calc_check_digit(digits[:12])
    if digits[12] != expected:
        raise InvalidIdnp(
            f"invalid IDNP {shown}: the check digit is {digits[12]}, "
            f"the first twelve digits give {expected}; check for a mistyped digit",
            "check-digit",
            given=digits[12],
            expected=expected,
        )
    return digits


def is_valid_idnp(value: str) -> bool:
    """Return whether ``value`` is a valid IDNP."""
    try:
        validate_idnp(value)
    except InvalidIdnp:
        return False
    return True


def mask_idnp(value: str, visible: int = 4) -> str:
    """Return the IDNP with all but its last ``visible`` digits hidden."""
    if visible <= 0:
        return "*" * len(value)
    return "*" * max(len(value) - visible, 0) + value[-visible:]


def mask_in_text(text: str, value: str | None = None) -> str:
    """Return ``text`` with ``value`` and every run of five or more digits masked.

    For messages that quote a value given as an IDNP, valid or mistyped,
    such as the reason a row of a list was rejected. ``value`` is replaced
    whole first, so digits typed in groups are masked together.
    """
    if value:
        text = text.replace(value, mask_idnp(value))
    return _DIGIT_RUN.sub(lambda found: mask_idnp(found.group()), text)


def quoted(value: str) -> str:
    """Quote a user's value for a message, cut short and with controls escaped."""
    text = value if len(value) <= 40 else value[:40] + "..."
    return ascii(text) if not text.isprintable() else f"'{text}'"
