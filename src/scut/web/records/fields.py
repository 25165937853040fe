"""Errors of the person and series forms, shown next to their field.

The services raise errors in English with a code naming the failed check
(InvalidPersonField, InvalidIdnp, InvalidDate). Each known code becomes a
catalog message here, with the values the service quoted, so the page
explains the error in the reader's language. An error this module does
not know is shown with a general message and the service's English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from scut.persons.dates import InvalidDate
from scut.persons.idnp import InvalidIdnp
from scut.persons.service import InvalidPersonField
from scut.web.i18n import N_


@dataclass(frozen=True, slots=True)
class FieldError:
    """An error to show next to one field of a form."""

    # A catalog message, with %(name)s placeholders filled from ``values``.
    message: str
    values: dict[str, str] = field(default_factory=dict)
    # The service's English text, shown when the page has no message for it.
    detail: str = ""


IDNP_ERRORS = MappingProxyType(
    {
        "empty": N_("Enter the IDNP, or leave the field empty."),
        "not-digits": N_("An IDNP contains digits only."),
        "length": N_("An IDNP has 13 digits, and this one has %(digits)s."),
        "organisation": N_(
            "A number that starts with 1 is an organisation's IDNO, not a "
            "person's IDNP."
        ),
        "prefix": N_("A person's IDNP starts with 2, or with 0 on old numbers."),
        "placeholder": N_(
            "A number of one repeated digit is a placeholder, not an IDNP."
        ),
        "check-digit": N_(
            "The check digit is %(given)s, but the first twelve digits give "
            "%(expected)s. Check for a mistyped digit."
        ),
        "duplicate": N_("This IDNP is already recorded for person %(person)s."),
    }
)
DATE_ERRORS = MappingProxyType(
    {
        "empty": N_("Enter a date."),
        "format": N_(
            "Write the date as DD.MM.YYYY or YYYY-MM-DD, or only the month "
            "and year (MM.YYYY, YYYY-MM) or the year (YYYY)."
        ),
        "day-needed": N_("Enter the whole date: day, month and year."),
        "day-without-month": N_("A day without a month cannot be recorded."),
        "too-early": N_("The year is before %(min_year)s."),
        "future": N_("The date is in the future."),
        "month": N_("There is no month %(month)s."),
        "day": N_("The month %(month)s has no day %(day)s."),
    }
)
# Errors whose words are the same whichever field they are on.
COMMON_ERRORS = MappingProxyType(
    {
        "empty": N_("Fill in this field."),
        "too-long": N_("Write at most %(maximum)s characters."),
        "no-letters": N_("A name must contain letters."),
    }
)
FIELD_ERRORS: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("categories", "empty"): N_("Choose at least one category."),
        ("categories", "unknown"): N_("Choose the categories from the list."),
        ("gender", "unknown"): N_("Choose the gender from the list."),
        ("role", "unknown"): N_("Choose the role from the list."),
        ("address_kind", "unknown"): N_("Choose the kind of address from the list."),
        ("nationality", "unknown"): N_(
            "Unknown country code: use an ISO 3166-1 code such as MD, RO, UA or RU."
        ),
        ("country", "unknown"): N_(
            "Unknown country code: use an ISO 3166-1 code such as MD, RO, UA or RU."
        ),
        ("identified_by", "empty"): N_(
            "Name the unit or foreign state that identified the person."
        ),
    }
)
DATE_FIELDS = frozenset({"birth_date", "identified_on"})
UNKNOWN_ERROR = N_("The value was not accepted.")


def person_field_error(error: InvalidPersonField) -> FieldError:
    """Return the words for an error of the person service on one field."""
    message = _message(error.field, error.code)
    if message is None:
        return FieldError(UNKNOWN_ERROR, detail=error.reason)
    return FieldError(message, dict(error.details))


def idnp_error(error: InvalidIdnp) -> FieldError:
    """Return the words for an IDNP that the check rejected."""
    message = IDNP_ERRORS.get(error.code)
    if message is None:
        return FieldError(UNKNOWN_ERROR, detail=str(error))
    return FieldError(message, dict(error.details))


def date_error(error: InvalidDate) -> FieldError:
    """Return the words for a date that could not be read or cannot exist."""
    message = DATE_ERRORS.get(error.code)
    if message is None:
        return FieldError(UNKNOWN_ERROR, detail=str(error))
    return FieldError(message, dict(error.details))


def _message(field_name: str, code: str) -> str | None:
    if field_name == "idnp":
        return IDNP_ERRORS.get(code)
    if field_name in DATE_FIELDS:
        return DATE_ERRORS.get(code)
    return FIELD_ERRORS.get((field_name, code)) or COMMON_ERRORS.get(code)
