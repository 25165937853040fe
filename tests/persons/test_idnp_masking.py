"""IDNPs in lists keep their last four digits, and one person's record shows it whole.

Every IDNP here is invented and passes the check-digit rule.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from records_helpers import analyst
from scut.convicted.importer import import_convicted, open_reviews
from scut.db.models import ConvictedImport
from scut.db.session import Database
from scut.persons.idnp import mask_idnp, mask_in_text
from scut.persons.search import PersonQuery, search_persons
from scut.persons.service import (
    PersonInput,
    create_person,
    describe_person,
    update_person,
)
from scut.security.audit import search_events
from scut.security.caller import Caller

IDNP_A = "2002042123459"
IDNP_B = "2003045123457"
IDNP_C = "2005001000774"
IDNP_D = "2007012034560"
MISTYPED = "2002042123458"
HEADER = ("idnp", "last_name", "first_name", "birth_date", "article", "registry")


def _person(
    database: Database,
    last: str,
    first: str,
    *,
    idnp: str | None = None,
    birth_date: str | None = None,
) -> int:
    data = PersonInput(last, first, ["offender"], idnp=idnp, birth_date=birth_date)
    with database.session() as session, session.begin():
        return create_person(session, data, caller=analyst("ana")).id


def _write_list(path: Path, rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_mask_keeps_four_digits() -> None:
    assert mask_idnp(IDNP_A) == "*********3459"
    shown = mask_in_text(f"invalid IDNP '{MISTYPED}': the check digit is 8", MISTYPED)
    assert shown == "invalid IDNP '*********3458': the check digit is 8"


def test_mask_in_text_covers_grouped_digits() -> None:
    typed = "2002 0421 23458"
    assert (
        mask_in_text(f"invalid IDNP '{typed}'", typed)
        == "invalid IDNP '***********3458'"
    )
    assert mask_in_text("the number 2.00204e+12") == "the number 2.*0204e+12"
    assert mask_in_text("row 12, 1234 digits") == "row 12, 1234 digits"


def test_search_shows_masked_idnp(database: Database) -> None:
    person = _person(database, "Cîrlan", "Ion", idnp=IDNP_A)
    _person(database, "Cîrlan", "Petru")

    with database.session() as session, session.begin():
        by_name = search_persons(
            session, PersonQuery(text="cirlan"), caller=analyst("ana")
        )
        by_idnp = search_persons(
            session, PersonQuery(idnp=IDNP_A), caller=analyst("ana")
        )
        shown = describe_person(session, person, caller=analyst("ana"))

    assert {hit.person_id: hit.idnp for hit in by_name} == {
        person: "*********3459",
        person + 1: None,
    }
    assert [(hit.person_id, hit.idnp) for hit in by_idnp] == [(person, "*********3459")]
    assert shown.idnp == IDNP_A


def test_convicted_report_and_review_masked(database: Database, tmp_path: Path) -> None:
    recorded = _person(database, "Cîrlan", "Ion", birth_date="23.04.1986")
    path = _write_list(
        tmp_path / "list.csv",
        [
            (IDNP_C, "Cîrlan", "Ion", "23.04.1986", "208/1", "ANP"),
            (IDNP_D, "Cîrlan", "Ion", "23.04.1986", "186", "ANP"),
            (MISTYPED, "Rusu", "Vasile", "1980", "175", "ANP"),
        ],
    )

    with database.session() as session, session.begin():
        report = import_convicted(session, path, caller=analyst("ana"))
    with database.session() as session, session.begin():
        (item,) = open_reviews(session, caller=analyst("ana"))
        stored = session.get_one(ConvictedImport, report.import_id).rejected

    (rejected,) = report.rejected
    assert rejected["value"] == "*********3458"
    assert MISTYPED not in rejected["reason"]
    assert "check digit" in rejected["reason"]
    assert MISTYPED not in json.dumps(stored)
    assert item["person"]["id"] == recorded
    assert item["person"]["idnp"] == "*********0774"
    assert item["row"]["idnp"] == "*********4560"


def test_audit_log_has_no_full_idnp(database: Database, tmp_path: Path) -> None:
    person = _person(database, "Ceban", "Ion", idnp=IDNP_A)
    with database.session() as session, session.begin():
        update_person(session, person, {"idnp": IDNP_B}, caller=analyst("ana"))
        search_persons(session, PersonQuery(idnp=IDNP_B), caller=analyst("ana"))
        describe_person(session, person, caller=analyst("ana"))
    path = _write_list(
        tmp_path / "list.csv",
        [
            (IDNP_B, "Ceban", "Ion", "1984", "208/1", "ANP"),
            (IDNP_C, "Lungu", "Andrei", "1990", "175", "ANP"),
            (MISTYPED, "Rusu", "Vasile", "1980", "175", "ANP"),
        ],
    )
    with database.session() as session, session.begin():
        import_convicted(session, path, caller=analyst("ana"))

    auditor = Caller(user="olga", roles=frozenset({"auditor"}))
    events = search_events(database, auditor, limit=1000)

    assert {"persons.create", "persons.change", "convicted.import"} <= {
        event["action"] for event in events
    }
    written = json.dumps(events, ensure_ascii=False)
    for idnp in (IDNP_A, IDNP_B, IDNP_C, MISTYPED):
        assert idnp not in written
