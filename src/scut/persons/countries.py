"""Nationality and country codes, checked against ISO 3166-1 with pycountry."""

from __future__ import annotations

import pycountry

from scut.errors import ScutError


class InvalidCountry(ScutError):
    """Raised for a value that is no ISO 3166-1 country code."""


def country_code(value: str) -> str:
    """Return the ISO 3166-1 alpha-2 code for an alpha-2, alpha-3 or numeric code.

    Case is ignored. Names are not accepted, because the same country is
    written many ways in three languages and a code is unambiguous.
    """
    text = value.strip()
    found = None
    if text.isascii() and text.isdigit() and len(text) <= 3:
        found = pycountry.countries.get(numeric=text.zfill(3))
    elif text.isascii() and text.isalpha() and len(text) == 2:
        found = pycountry.countries.get(alpha_2=text.upper())
    elif text.isascii() and text.isalpha() and len(text) == 3:
        found = pycountry.countries.get(alpha_3=text.upper())
    if found is None:
        shown = text[:40] if text.isprintable() else ascii(text[:40])
        raise InvalidCountry(
            f"unknown country code '{shown}': use an ISO 3166-1 code such as MD, "
            "RO, UA or RU (alpha-2), MDA (alpha-3) or 498 (numeric)"
        )
    return str(found.alpha_2)


def country_name(code: str) -> str:
    """Return the English short name of an alpha-2 code, or the code itself."""
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    return str(getattr(found, "common_name", None) or found.name)
