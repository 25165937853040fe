"""The checks of a submission's origin fields and of uploaded file names."""

from __future__ import annotations

import datetime as dt

import pytest

from scut.errors import ArchiveError
from scut.web.submissions.forms import (
    FUTURE_DATE,
    INVALID_DATE,
    MISSING,
    NOT_PRINTABLE,
    TOO_LONG,
    UNKNOWN_UNIT,
    OriginForm,
    read_origin,
)
from scut.web.submissions.uploads import checked_name

TODAY = dt.date(2026, 12, 4)
VALID = {
    "unit": "Unit A",
    "case": "CASE-1",
    "exhibit": "PHONE-1",
    "officer": "Officer Ion",
    "criminal_case_number": "2026-0417",
    "seizure_date": "2026-11-30",
    "legal_basis": "Order 17/2026",
    "device": "Phone, Model 9",
}


def _read(fields: dict[str, str], fixed_unit: str | None = None) -> OriginForm:
    return read_origin(fields, fixed_unit=fixed_unit, units=["Unit A"], today=TODAY)


def test_origin_valid_fields() -> None:
    form = _read({**VALID, "case": "  CASE-1  "})
    assert form.valid
    origin = form.origin()
    assert origin.case == "CASE-1"
    assert origin.unit == "Unit A"
    assert origin.seizure_date == dt.date(2026, 11, 30)
    assert origin.device == "Phone, Model 9"


def test_origin_required_fields() -> None:
    form = _read({"unit": "Unit A"})
    assert form.errors == {
        "case": MISSING,
        "exhibit": MISSING,
        "criminal_case_number": MISSING,
        "legal_basis": MISSING,
    }
    with pytest.raises(ValueError, match="invalid fields"):
        form.origin()


def test_origin_fixed_unit_ignores_field() -> None:
    form = _read({**VALID, "unit": "Another Unit"}, fixed_unit="Unit B")
    assert form.valid
    assert form.origin().unit == "Unit B"


def test_origin_unit_from_list() -> None:
    assert _read({**VALID, "unit": "Unit Z"}).errors == {"unit": UNKNOWN_UNIT}
    assert _read({**VALID, "unit": ""}).errors == {"unit": UNKNOWN_UNIT}


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("case", "C" * 101, TOO_LONG),
        ("exhibit", "E\n1", NOT_PRINTABLE),
        ("officer", "Ion\x1b[31m", NOT_PRINTABLE),
        ("seizure_date", "30.11.2026", INVALID_DATE),
        ("seizure_date", "20261130", INVALID_DATE),
        ("seizure_date", "2026-12-05", FUTURE_DATE),
    ],
)
def test_origin_invalid_value(name: str, value: str, error: str) -> None:
    assert _read({**VALID, name: value}).errors == {name: error}


def test_origin_seizure_date_optional() -> None:
    form = _read({**VALID, "seizure_date": ""})
    assert form.valid
    assert form.origin().seizure_date is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("IMG_0001.jpg", "IMG_0001.jpg"),
        ("DCIM/100/IMG_0001.jpg", "DCIM/100/IMG_0001.jpg"),
        ("DCIM\\IMG_0001.jpg", "DCIM/IMG_0001.jpg"),
        ("./a//b.jpg", "a/b.jpg"),
        ("<img src=x onerror=alert(1)>.jpg", "<img src=x onerror=alert(1)>.jpg"),
        ("poză ș.jpg", "poză ș.jpg"),
    ],
)
def test_upload_name_kept(raw: str, expected: str) -> None:
    assert checked_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("../escape.jpg", "climbs out of the upload"),
        ("a/../../escape.jpg", "climbs out of the upload"),
        ("/etc/passwd", "absolute path"),
        ("C:\\Windows\\x.jpg", "absolute path"),
        ("a\x00b.jpg", "NUL byte"),
        ("", "is empty"),
        ("x" * 256, "longer than 255 bytes"),
        ("/".join(["d" * 200] * 6), "longer than 1024 bytes"),
    ],
)
def test_upload_name_rejected(raw: str, reason: str) -> None:
    with pytest.raises(ArchiveError, match=reason):
        checked_name(raw)
