"""The origin fields of a submission: read, checked, and turned into an Origin.

The form and ``POST /api/submissions`` share these checks. Each error is a
catalog message, which the form shows translated beside its field and the
API returns in English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from scut.ingest.records import Origin
from scut.web.i18n import N_

# Field names, in the order the form shows them.
ORIGIN_FIELDS = (
    "unit",
    "case",
    "exhibit",
    "officer",
    "criminal_case_number",
    "seizure_date",
    "legal_basis",
    "device",
)
# The lengths of the database columns that keep each value.
MAX_LENGTHS = {
    "unit": 200,
    "case": 100,
    "exhibit": 200,
    "officer": 200,
    "criminal_case_number": 100,
    "legal_basis": 300,
    "device": 300,
}
# A unit sends material under a criminal case and a legal basis, and the
# centre files it under a case and an exhibit.
REQUIRED = ("case", "exhibit", "criminal_case_number", "legal_basis")

MISSING = N_("Fill in this field.")
TOO_LONG = N_("This value is too long.")
NOT_PRINTABLE = N_("Remove the line breaks and other control characters.")
INVALID_DATE = N_("Enter the date as YYYY-MM-DD.")
FUTURE_DATE = N_("The seizure date cannot be in the future.")
UNKNOWN_UNIT = N_("Choose a unit from the list.")
NO_FILES = N_("Choose the files or the folder to send.")
NO_FILE_ACCEPTED = N_("None of the files could be accepted; the reasons are listed.")


@dataclass(slots=True)
class OriginForm:
    """The values of the origin fields, their errors, and the Origin when valid."""

    values: dict[str, str]
    # Field name -> catalog message.
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """Return whether every field passed its checks."""
        return not self.errors

    def origin(self) -> Origin:
        """Return the Origin of valid values; raises ValueError when invalid."""
        if self.errors:
            raise ValueError(f"the origin has invalid fields: {sorted(self.errors)}")
        seizure = self.values["seizure_date"]
        return Origin(
            case=self.values["case"],
            exhibit=self.values["exhibit"],
            unit=self.values["unit"],
            officer=self.values["officer"],
            criminal_case_number=self.values["criminal_case_number"],
            seizure_date=dt.date.fromisoformat(seizure) if seizure else None,
            legal_basis=self.values["legal_basis"],
            device=self.values["device"],
        )


def read_origin(
    fields: Mapping[str, str],
    *,
    fixed_unit: str | None,
    units: Sequence[str],
    today: dt.date,
) -> OriginForm:
    """Check the origin fields of a submission.

    ``fixed_unit`` is the caller's own unit for a submitter, who sends for
    that unit only, and the field is ignored. Otherwise the unit must be
    one of ``units``. ``today`` is the local date that a seizure date may
    not pass.
    """
    values = {name: fields.get(name, "").strip() for name in ORIGIN_FIELDS}
    if fixed_unit is not None:
        values["unit"] = fixed_unit
    form = OriginForm(values)
    for name, value in values.items():
        if name in REQUIRED and not value:
            form.errors[name] = MISSING
        elif len(value) > MAX_LENGTHS.get(name, 100):
            form.errors[name] = TOO_LONG
        elif not value.isprintable():
            form.errors[name] = NOT_PRINTABLE
    if fixed_unit is None and "unit" not in form.errors and values["unit"] not in units:
        form.errors["unit"] = UNKNOWN_UNIT
    _check_seizure_date(form, today)
    return form


def _check_seizure_date(form: OriginForm, today: dt.date) -> None:
    value = form.values["seizure_date"]
    if not value or "seizure_date" in form.errors:
        return
    try:
        seizure = dt.date.fromisoformat(value)
    except ValueError:
        form.errors["seizure_date"] = INVALID_DATE
        return
    if len(value) != len("YYYY-MM-DD"):
        form.errors["seizure_date"] = INVALID_DATE
    elif seizure > today:
        form.errors["seizure_date"] = FUTURE_DATE
