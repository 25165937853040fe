"""Tests for importing convicted-offender lists and linking them to persons.

Every test runs on a SQLite file and on a PostgreSQL database. Every person
here is invented, and every IDNP is computed to pass the check-digit rule.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from records_helpers import analyst
from scut.convicted.importer import (
    ImportReport,
    ReviewError,
    decide_review,
    import_convicted,
    open_reviews,
    record_key,
)
from scut.convicted.reader import ConvictedFileError, ConvictedRow
from scut.db.models import (
    ConvictedImport,
    Conviction,
    ConvictionChange,
    LinkReview,
    Person,
    PersonAddress,
    PersonCategory,
    PersonEvent,
    PersonName,
)
from scut.db.session import Database
from scut.persons.dates import PartialDate
from scut.persons.service import (
    PersonInput,
    create_person,
    person_categories,
    update_person,
)

IDNP_A = "2002042123459"
IDNP_B = "2003045123457"
IDNP_C = "2005001000774"
IDNP_D = "2007012034560"
INVALID_IDNP = "2002042123458"

HEADER = (
    "record_id",
    "idnp",
    "last_name",
    "first_name",
    "patronymic",
    "birth_date",
    "birth_place",
    "address",
    "article",
    "court",
    "sentence_date",
    "release_date",
    "registry",
)
REGISTRY = "DTI MAI"
ADDRESS = "mun. Chișinău, str. Ismail 12, ap. 4"
# Tables whose row counts an import must leave alone when it changes nothing.
PERSON_TABLES = (
    Conviction,
    ConvictionChange,
    LinkReview,
    Person,
    PersonName,
    PersonAddress,
    PersonCategory,
    PersonEvent,
)


def row(**fields: str) -> dict[str, str]:
    """Return a valid list row of a new person, with ``fields`` replaced."""
    values = {
        "record_id": "",
        "idnp": "",
        "last_name": "Lungu",
        "first_name": "Andrei",
        "patronymic": "",
        "birth_date": "02.11.1990",
        "birth_place": "",
        "address": "",
        "article": "208/1",
        "court": "Judecătoria Bălți",
        "sentence_date": "15.01.2018",
        "release_date": "",
        "registry": REGISTRY,
    }
    unknown = set(fields) - set(values)
    assert not unknown, f"unknown columns {unknown}"
    values.update(fields)
    return values


def write_csv(
    path: Path, rows: Sequence[dict[str, str]], header: Sequence[str] = HEADER
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        for values in rows:
            writer.writerow([values.get(column, "") for column in header])
    return path


def write_xlsx(
    path: Path, rows: Sequence[dict[str, str]], header: Sequence[str] = HEADER
) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for values in rows:
        sheet.append([values.get(column, "") for column in header])
    workbook.save(path)
    return path


def write_list(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    """Write the rows as CSV or XLSX, chosen by the suffix of ``path``."""
    if path.suffix == ".xlsx":
        return write_xlsx(path, rows)
    return write_csv(path, rows)


def run_import(database: Database, path: Path, **options: Any) -> ImportReport:
    with database.session() as session, session.begin():
        return import_convicted(session, path, caller=analyst("analyst"), **options)


def add_person(
    database: Database,
    last_name: str,
    first_name: str,
    birth_date: str | None,
    *,
    idnp: str | None = None,
    categories: Sequence[str] = ("victim",),
    patronymic: str | None = None,
) -> int:
    with database.session() as session, session.begin():
        person = create_person(
            session,
            PersonInput(
                last_name=last_name,
                first_name=first_name,
                patronymic=patronymic,
                categories=list(categories),
                birth_date=birth_date,
                idnp=idnp,
            ),
            caller=analyst("analyst"),
        )
        return person.id


def table_counts(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            or 0
            for model in (*PERSON_TABLES, ConvictedImport)
        }


def convictions(session: Session) -> list[Conviction]:
    return list(session.scalars(select(Conviction).order_by(Conviction.id)))


def spellings(session: Session, person_id: int) -> list[str]:
    return list(
        session.scalars(
            select(PersonName.as_typed)
            .where(PersonName.person_id == person_id)
            .order_by(PersonName.id)
        )
    )


def addresses(session: Session, person_id: int) -> list[str]:
    return list(
        session.scalars(
            select(PersonAddress.address)
            .where(PersonAddress.person_id == person_id)
            .order_by(PersonAddress.id)
        )
    )


def first_list(path: Path) -> Path:
    """Write a list with one row of each outcome and two invalid rows."""
    return write_list(
        path,
        [
            # Row 2: the IDNP is recorded for Ceban Ion.
            row(idnp=IDNP_A, last_name="Ceban", first_name="Ion", address=ADDRESS),
            # Row 3: Cîrlan Ion typed without the circumflex, no IDNP.
            row(last_name="Cirlan", first_name="Ion", birth_date="23.04.1986"),
            # Row 4: only the birth year: an analyst must decide.
            row(last_name="Munteanu", first_name="Elena", birth_date="1992"),
            # Row 5: a person not recorded.
            row(idnp=IDNP_B),
            # Row 6: the check digit is wrong.
            row(idnp=INVALID_IDNP, last_name="Rusu", first_name="Vasile"),
            # Row 7: no article.
            row(last_name="Botnari", first_name="Nicolae", article=""),
        ],
    )


def recorded_persons(database: Database) -> dict[str, int]:
    return {
        "ceban": add_person(database, "Ceban", "Ion", "1984-05-17", idnp=IDNP_A),
        "cirlan": add_person(database, "Cîrlan", "Ion", "1986-04-23"),
        "munteanu": add_person(database, "Munteanu", "Elena", "1992-01-30"),
    }


# First import


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_first_import_counts(database: Database, tmp_path: Path, suffix: str) -> None:
    persons = recorded_persons(database)
    path = first_list(tmp_path / f"list{suffix}")

    report = run_import(database, path)

    assert report.format == suffix[1:]
    assert report.counts() == {
        "rows": 6,
        "new": 4,
        "updated": 0,
        "unchanged": 0,
        "linked_idnp": 1,
        "linked_probable": 1,
        "review": 1,
        "new_persons": 1,
        "rejected": 2,
    }
    assert [(item["row"], item["field"]) for item in report.rejected] == [
        (6, "idnp"),
        (7, "article"),
    ]
    assert report.rejected[0]["value"] == "*********" + INVALID_IDNP[-4:]
    assert INVALID_IDNP not in report.rejected[0]["reason"]
    assert "article is empty" in report.rejected[1]["reason"]
    with database.session() as session:
        batch = session.get_one(ConvictedImport, report.import_id)
        assert batch.counts == report.counts()
        assert batch.rejected == {"rows": report.rejected}
        assert batch.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert batch.format == suffix[1:]
        assert batch.finished_at is not None
        links = [(c.link, c.person_id) for c in convictions(session)]
        new_person = links[3][1]
        assert links[:3] == [
            ("idnp", persons["ceban"]),
            ("probable", persons["cirlan"]),
            ("review", None),
        ]
        assert links[3][0] == "new-person"
        assert new_person not in persons.values()
        created = session.get_one(Person, new_person)
        assert (created.last_name, created.first_name) == ("Lungu", "Andrei")
        assert created.idnp == IDNP_B
        assert person_categories(session, new_person) == ["convicted"]
        assert addresses(session, persons["ceban"]) == [ADDRESS]


def test_first_import_stores_row_values(database: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [
            row(
                record_id="DTI-2025-0001",
                idnp=IDNP_A,
                last_name="Ceban",
                first_name="Ion",
                patronymic="Vasile",
                birth_date="17.05.1984",
                birth_place="or. Orhei",
                address=ADDRESS,
                article="175 alin. (1)",
                court="Judecătoria Chișinău",
                sentence_date="12.03.2015",
                release_date="11.03.2021",
            )
        ],
    )

    run_import(database, path)

    with database.session() as session:
        (conviction,) = convictions(session)
        assert conviction.record_key == "id:DTI-2025-0001"
        assert conviction.source_registry == REGISTRY
        assert conviction.birth_date == "1984-05-17"
        assert str(conviction.sentence_date) == "2015-03-12"
        assert str(conviction.release_date) == "2021-03-11"
        assert conviction.patronymic == "Vasile"
        person = session.get_one(Person, conviction.person_id)
        assert person.idnp == IDNP_A
        assert person.birth_place == "or. Orhei"
        assert (person.birth_year, person.birth_month, person.birth_day) == (
            1984,
            5,
            17,
        )


def test_registry_option_fills_missing_column(
    database: Database, tmp_path: Path
) -> None:
    header = [column for column in HEADER if column != "registry"]
    path = write_csv(tmp_path / "list.csv", [row(idnp=IDNP_B)], header)

    report = run_import(database, path, registry="ANP")

    assert report.new == 1
    with database.session() as session:
        (conviction,) = convictions(session)
        assert conviction.source_registry == "ANP"


# Re-import and changes


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_reimport_changes_nothing(
    database: Database, tmp_path: Path, suffix: str
) -> None:
    recorded_persons(database)
    path = first_list(tmp_path / f"list{suffix}")
    run_import(database, path)
    before = table_counts(database)

    report = run_import(database, path)

    after = table_counts(database)
    assert after.pop("convicted_imports") == before.pop("convicted_imports") + 1
    assert after == before
    assert report.counts() == {
        "rows": 6,
        "new": 0,
        "updated": 0,
        "unchanged": 4,
        "linked_idnp": 0,
        "linked_probable": 0,
        "review": 0,
        "new_persons": 0,
        "rejected": 2,
    }


def test_changed_row_updates_conviction(database: Database, tmp_path: Path) -> None:
    ceban = add_person(database, "Ceban", "Ion", "1984-05-17", idnp=IDNP_A)
    first = {
        "record_id": "DTI-7",
        "idnp": IDNP_A,
        "last_name": "Ceban",
        "first_name": "Ion",
        "sentence_date": "12.03.2015",
    }
    run_import(
        database,
        write_csv(
            tmp_path / "march.csv",
            [row(**first, release_date="11.03.2021", address=ADDRESS)],
        ),
    )
    moved = "r-nul Ialoveni, s. Costești, str. Păcii 3"

    report = run_import(
        database,
        write_csv(
            tmp_path / "april.csv",
            [row(**first, release_date="11.09.2020", address=moved)],
        ),
    )

    assert (report.new, report.updated, report.unchanged) == (0, 1, 0)
    assert report.linked_idnp == 0
    with database.session() as session:
        (conviction,) = convictions(session)
        assert str(conviction.release_date) == "2020-09-11"
        assert conviction.address == moved
        assert conviction.last_import_id == report.import_id
        (change,) = session.scalars(select(ConvictionChange)).all()
        assert change.conviction_id == conviction.id
        assert change.import_id == report.import_id
        assert change.changes == {
            "address": [ADDRESS, moved],
            "release_date": ["2021-03-11", "2020-09-11"],
        }
        assert addresses(session, ceban) == [ADDRESS, moved]


def test_record_id_keeps_renamed_person(database: Database, tmp_path: Path) -> None:
    before = row(record_id="ANP-31", last_name="Rusu", first_name="Elena")
    after = row(record_id="ANP-31", last_name="Rusu-Ceban", first_name="Elena")
    run_import(database, write_csv(tmp_path / "one.csv", [before]))

    report = run_import(database, write_csv(tmp_path / "two.csv", [after]))

    assert (report.new, report.updated) == (0, 1)
    assert report.new_persons == 0
    with database.session() as session:
        (conviction,) = convictions(session)
        assert conviction.last_name == "Rusu-Ceban"
        (change,) = session.scalars(select(ConvictionChange)).all()
        assert change.changes == {"last_name": ["Rusu", "Rusu-Ceban"]}
        assert session.scalar(select(func.count()).select_from(Person)) == 1


def test_record_key_without_record_id() -> None:
    def convicted_row(**fields: Any) -> ConvictedRow:
        values: dict[str, Any] = {
            "row_number": 2,
            "record_id": None,
            "idnp": None,
            "last_name": "Cîrlan",
            "first_name": "Ion",
            "patronymic": None,
            "birth_date": PartialDate(1986, 4, 23),
            "birth_place": None,
            "address": None,
            "article": "175  Alin. (1)",
            "court": None,
            "sentence_date": None,
            "release_date": None,
            "registry": REGISTRY,
            "values": {},
        }
        values.update(fields)
        return ConvictedRow(**values)

    assert record_key(convicted_row()) == "name:carlan|ion|1986-04-23|175 alin. (1)|"
    assert record_key(convicted_row(last_name="Cârlan")) == record_key(convicted_row())
    assert record_key(convicted_row(idnp=IDNP_A)).startswith(f"idnp:{IDNP_A}|")
    assert record_key(convicted_row(record_id=" DTI-9 ")) == "id:DTI-9"
    # Two keys longer than the column that differ only at the end.
    long_first = convicted_row(last_name="A" * 200, first_name="B" * 199 + "C")
    long_second = convicted_row(last_name="A" * 200, first_name="B" * 199 + "D")
    assert len(record_key(long_first)) == 400
    assert record_key(long_first) != record_key(long_second)


# Linkage


@pytest.mark.parametrize(
    ("last_name", "first_name"), [("Кирлан", "Иван"), ("Cirlan", "Ion")]
)
def test_changed_spelling_links(
    database: Database, tmp_path: Path, last_name: str, first_name: str
) -> None:
    cirlan = add_person(database, "Cîrlan", "Ion", "1986-04-23")
    path = write_csv(
        tmp_path / "list.csv",
        [row(last_name=last_name, first_name=first_name, birth_date="23.04.1986")],
    )

    report = run_import(database, path)

    assert report.linked_probable == 1
    assert report.new_persons == 0
    with database.session() as session:
        (conviction,) = convictions(session)
        assert conviction.person_id == cirlan
        assert conviction.link == "probable"
        assert conviction.link_probability is not None
        assert conviction.link_probability >= 0.95
        assert spellings(session, cirlan) == ["Cîrlan Ion", f"{last_name} {first_name}"]


def test_known_spelling_not_repeated(database: Database, tmp_path: Path) -> None:
    cirlan = add_person(database, "Cîrlan", "Ion", "1986-04-23")
    path = write_csv(
        tmp_path / "list.csv",
        [row(last_name="CÎRLAN", first_name="ion", birth_date="23.04.1986")],
    )

    run_import(database, path)

    with database.session() as session:
        assert spellings(session, cirlan) == ["Cîrlan Ion"]


def test_other_birth_year_not_linked(database: Database, tmp_path: Path) -> None:
    cirlan = add_person(database, "Cîrlan", "Ion", "1986-04-23")
    path = write_csv(
        tmp_path / "list.csv",
        [row(last_name="Cîrlan", first_name="Ion", birth_date="09.02.1991")],
    )

    report = run_import(database, path)

    assert (report.linked_probable, report.review, report.new_persons) == (0, 0, 1)
    with database.session() as session:
        (conviction,) = convictions(session)
        assert conviction.person_id != cirlan
        assert conviction.link == "new-person"
        assert person_categories(session, cirlan) == ["victim"]


def test_other_idnp_not_linked(database: Database, tmp_path: Path) -> None:
    cirlan = add_person(database, "Cîrlan", "Ion", "1986-04-23", idnp=IDNP_A)
    path = write_csv(
        tmp_path / "list.csv",
        [
            row(
                idnp=IDNP_C,
                last_name="Cîrlan",
                first_name="Ion",
                birth_date="23.04.1986",
            )
        ],
    )

    report = run_import(database, path)

    assert (report.linked_idnp, report.linked_probable) == (0, 0)
    assert (report.review, report.new_persons) == (0, 1)
    with database.session() as session:
        (conviction,) = convictions(session)
        assert conviction.person_id != cirlan
        assert session.get_one(Person, conviction.person_id).idnp == IDNP_C
        assert session.get_one(Person, cirlan).idnp == IDNP_A


def test_idnp_links_despite_other_name(database: Database, tmp_path: Path) -> None:
    ceban = add_person(database, "Ceban", "Ion", "1984-05-17", idnp=IDNP_A)
    path = write_csv(
        tmp_path / "list.csv",
        [row(idnp=IDNP_A, last_name="Чебан", first_name="Иван", birth_date="")],
    )

    report = run_import(database, path)

    assert report.linked_idnp == 1
    with database.session() as session:
        (conviction,) = convictions(session)
        assert (conviction.person_id, conviction.link) == (ceban, "idnp")
        assert conviction.link_probability == 1.0
        assert spellings(session, ceban) == ["Ceban Ion", "Чебан Иван"]


def test_idnp_with_both_names_different_reviewed(
    database: Database, tmp_path: Path
) -> None:
    ceban = add_person(database, "Ceban", "Ion", "1984-05-17", idnp=IDNP_A)
    path = write_csv(
        tmp_path / "list.csv",
        [row(idnp=IDNP_A, last_name="Rusu", first_name="Vasile", birth_date="")],
    )

    report = run_import(database, path)

    assert (report.linked_idnp, report.review) == (0, 1)
    with database.session() as session:
        (conviction,) = convictions(session)
        assert (conviction.person_id, conviction.link) == (None, "review")
        assert spellings(session, ceban) == ["Ceban Ion"]
        (item,) = open_reviews(session, caller=analyst("analyst"))
    assert item["person"]["id"] == ceban
    assert item["levels"] == {"idnp": "same number", "names": "both differ"}


def test_idnp_with_new_last_name_links(database: Database, tmp_path: Path) -> None:
    # A marriage changes the last name; the given name still matches.
    munteanu = add_person(database, "Munteanu", "Elena", "1992-01-30", idnp=IDNP_B)
    path = write_csv(
        tmp_path / "list.csv",
        [row(idnp=IDNP_B, last_name="Rusu", first_name="Elena", birth_date="")],
    )

    report = run_import(database, path)

    assert (report.linked_idnp, report.review) == (1, 0)
    with database.session() as session:
        (conviction,) = convictions(session)
        assert (conviction.person_id, conviction.link) == (munteanu, "idnp")


def test_rejected_idnp_holder_gives_person_without_number(
    database: Database, tmp_path: Path
) -> None:
    ceban = add_person(database, "Ceban", "Ion", "1984-05-17", idnp=IDNP_A)
    path = write_csv(
        tmp_path / "list.csv",
        [row(idnp=IDNP_A, last_name="Rusu", first_name="Vasile", birth_date="")],
    )
    run_import(database, path)
    with database.session() as session:
        (item,) = open_reviews(session, caller=analyst("analyst"))

    with database.session() as session, session.begin():
        conviction = decide_review(
            session, item["review"], accept=False, caller=analyst("ana")
        )
        created = conviction.person_id

    assert created not in (None, ceban)
    with database.session() as session:
        (conviction,) = convictions(session)
        assert (conviction.link, conviction.idnp) == ("new-person", IDNP_A)
        person = session.get_one(Person, created)
        assert (person.last_name, person.idnp) == ("Rusu", None)
        assert session.get_one(Person, ceban).idnp == IDNP_A


def test_probable_link_adds_idnp(database: Database, tmp_path: Path) -> None:
    cirlan = add_person(database, "Cîrlan", "Ion", "1986-04-23")
    path = write_csv(
        tmp_path / "list.csv",
        [
            row(
                idnp=IDNP_C,
                last_name="Cîrlan",
                first_name="Ion",
                birth_date="23.04.1986",
            )
        ],
    )

    report = run_import(database, path)

    assert report.linked_probable == 1
    with database.session() as session:
        assert session.get_one(Person, cirlan).idnp == IDNP_C


def test_two_idnps_for_one_person_review(database: Database, tmp_path: Path) -> None:
    # Two rows name the same recorded person, who has no IDNP, with two
    # different IDNPs: the first gives the person its IDNP.
    cirlan = add_person(database, "Cîrlan", "Ion", "1986-04-23")
    path = write_csv(
        tmp_path / "list.csv",
        [
            row(
                idnp=idnp,
                last_name="Cîrlan",
                first_name="Ion",
                birth_date="23.04.1986",
                article=article,
            )
            for idnp, article in ((IDNP_C, "208/1"), (IDNP_D, "186 alin. (2)"))
        ],
    )

    report = run_import(database, path)

    assert (report.linked_probable, report.review) == (1, 1)
    with database.session() as session:
        first, second = convictions(session)
        assert (first.person_id, first.link) == (cirlan, "probable")
        assert (second.person_id, second.link) == (None, "review")
        assert session.get_one(Person, cirlan).idnp == IDNP_C
        (item,) = open_reviews(session, caller=analyst("analyst"))
        assert item["person"]["id"] == cirlan
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(ReviewError, match="IDNP differs"),
    ):
        decide_review(session, item["review"], accept=True, caller=analyst("ana"))


def test_linked_person_keeps_categories(database: Database, tmp_path: Path) -> None:
    ceban = add_person(
        database,
        "Ceban",
        "Ion",
        "1984-05-17",
        idnp=IDNP_A,
        categories=("victim", "witness"),
    )
    path = write_csv(
        tmp_path / "list.csv",
        [row(idnp=IDNP_A, last_name="Ceban", first_name="Ion")],
    )

    run_import(database, path)

    with database.session() as session:
        assert person_categories(session, ceban) == ["victim", "convicted", "witness"]


def test_same_new_idnp_twice_one_person(database: Database, tmp_path: Path) -> None:
    # Two convictions of a person not recorded yet, in one list.
    path = write_csv(
        tmp_path / "list.csv",
        [
            row(idnp=IDNP_D, article="208/1", sentence_date="15.01.2018"),
            row(idnp=IDNP_D, article="186 alin. (2)", sentence_date="03.03.2022"),
        ],
    )

    report = run_import(database, path)

    assert (report.new, report.new_persons, report.linked_idnp) == (2, 1, 1)
    with database.session() as session:
        first, second = convictions(session)
        assert first.person_id == second.person_id
        assert first.link == "new-person"
        assert second.link == "idnp"
        assert session.scalar(select(func.count()).select_from(Person)) == 1
        assert spellings(session, first.person_id) == ["Lungu Andrei"]


def test_same_new_name_twice_one_person(database: Database, tmp_path: Path) -> None:
    # The same name and full birth date, no IDNP: linkage would link the
    # second row to the first had the first been recorded already.
    path = write_csv(
        tmp_path / "list.csv",
        [
            row(article="208/1", sentence_date="15.01.2018"),
            row(article="186 alin. (2)", sentence_date="03.03.2022"),
            # Another birth date: another person.
            row(birth_date="1990", sentence_date="03.03.2022"),
        ],
    )

    report = run_import(database, path)

    assert (report.new, report.new_persons) == (3, 2)
    with database.session() as session:
        first, second, third = convictions(session)
        assert first.person_id == second.person_id
        assert third.person_id != first.person_id
        assert [first.link, second.link, third.link] == ["new-person"] * 3
        assert session.scalar(select(func.count()).select_from(Person)) == 2


def test_row_without_letters_rejected(database: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [row(last_name="1234", idnp=IDNP_B), row(idnp=IDNP_C, first_name="Petru")],
    )

    report = run_import(database, path)

    assert (report.new, report.new_persons, report.rejected_count) == (1, 1, 1)
    (rejected,) = report.rejected
    assert (rejected["row"], rejected["field"], rejected["value"]) == (
        2,
        "last_name",
        "1234",
    )
    assert "no letters" in rejected["reason"]


@pytest.mark.parametrize(
    ("column", "limit"),
    [
        ("record_id", 200),
        ("last_name", 200),
        ("first_name", 200),
        ("patronymic", 200),
        ("birth_place", 200),
        ("article", 200),
        ("court", 300),
    ],
)
def test_value_too_long_rejected(
    database: Database, tmp_path: Path, column: str, limit: int
) -> None:
    too_long = "Ă" * (limit + 1)
    path = write_csv(
        tmp_path / "list.csv",
        [row(idnp=IDNP_B, **{column: too_long}), row(idnp=IDNP_C, first_name="Petru")],
    )

    report = run_import(database, path)

    assert (report.new, report.rejected_count) == (1, 1)
    (rejected,) = report.rejected
    assert (rejected["row"], rejected["field"]) == (2, column)
    assert f"longer than {limit} characters" in rejected["reason"]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1


def test_value_at_limit_stored(database: Database, tmp_path: Path) -> None:
    place = "Ă" * 200
    path = write_csv(tmp_path / "list.csv", [row(idnp=IDNP_B, birth_place=place)])

    report = run_import(database, path)

    assert report.rejected_count == 0
    with database.session() as session:
        (conviction,) = convictions(session)
        assert conviction.birth_place == place
        assert session.get_one(Person, conviction.person_id).birth_place == place


# Review queue


def test_review_accept_links_and_closes_others(
    database: Database, tmp_path: Path
) -> None:
    # The same person recorded twice: the row fits both equally well.
    first = add_person(database, "Cîrlan", "Ion", "1986-04-23")
    second = add_person(database, "Cîrlan", "Ion", "1986-04-23")
    path = write_csv(
        tmp_path / "list.csv",
        [row(last_name="Cîrlan", first_name="Ion", birth_date="23.04.1986")],
    )

    report = run_import(database, path)

    assert (report.review, report.linked_probable) == (1, 0)
    with database.session() as session:
        items = open_reviews(session, caller=analyst("analyst"))
    assert {item["person"]["id"] for item in items} == {first, second}
    assert all(item["row"]["name"] == "Cîrlan Ion" for item in items)
    assert all(item["levels"]["birth_date"] == "exact" for item in items)
    chosen = next(item for item in items if item["person"]["id"] == first)
    other = next(item for item in items if item["person"]["id"] == second)

    with database.session() as session, session.begin():
        conviction = decide_review(
            session, chosen["review"], accept=True, caller=analyst("reviewer")
        )
        assert conviction.person_id == first

    with database.session() as session:
        (conviction,) = convictions(session)
        assert (conviction.person_id, conviction.link) == (first, "analyst")
        statuses = {
            item.person_id: (item.status, item.decided_by)
            for item in session.scalars(select(LinkReview))
        }
        assert statuses == {
            first: ("accepted", "reviewer"),
            second: ("rejected", "reviewer"),
        }
        assert open_reviews(session, caller=analyst("analyst")) == []
        assert person_categories(session, first) == ["victim", "convicted"]
        assert person_categories(session, second) == ["victim"]
    for item in (chosen, other):
        with (
            database.session() as session,
            session.begin(),
            pytest.raises(ReviewError, match="already"),
        ):
            decide_review(
                session, item["review"], accept=True, caller=analyst("reviewer")
            )


def test_review_reject_last_creates_person(database: Database, tmp_path: Path) -> None:
    munteanu = add_person(database, "Munteanu", "Elena", "1992-01-30")
    path = write_csv(
        tmp_path / "list.csv",
        [row(last_name="Munteanu", first_name="Elena", birth_date="1992")],
    )
    run_import(database, path)
    with database.session() as session:
        (item,) = open_reviews(session, caller=analyst("analyst"))
    assert item["person"]["id"] == munteanu
    assert item["row"]["birth_date"] == "1992"

    with database.session() as session, session.begin():
        conviction = decide_review(
            session, item["review"], accept=False, caller=analyst("ana")
        )
        created = conviction.person_id

    assert created is not None
    assert created != munteanu
    with database.session() as session:
        (conviction,) = convictions(session)
        assert conviction.link == "new-person"
        person = session.get_one(Person, created)
        assert (person.last_name, person.birth_year, person.birth_month) == (
            "Munteanu",
            1992,
            None,
        )
        assert person_categories(session, created) == ["convicted"]
        assert person_categories(session, munteanu) == ["victim"]
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(ReviewError, match="already rejected"),
    ):
        decide_review(session, item["review"], accept=False, caller=analyst("ana"))


def test_review_reject_one_of_two(database: Database, tmp_path: Path) -> None:
    add_person(database, "Cîrlan", "Ion", "1986-04-23")
    add_person(database, "Cîrlan", "Ion", "1986-04-23")
    path = write_csv(
        tmp_path / "list.csv",
        [row(last_name="Cîrlan", first_name="Ion", birth_date="23.04.1986")],
    )
    run_import(database, path)
    with database.session() as session:
        first, second = open_reviews(session, caller=analyst("analyst"))

    with database.session() as session, session.begin():
        conviction = decide_review(
            session, first["review"], accept=False, caller=analyst("ana")
        )
        assert conviction.person_id is None
        assert conviction.link == "review"

    with database.session() as session:
        (remaining,) = open_reviews(session, caller=analyst("analyst"))
        assert remaining["review"] == second["review"]
        assert session.scalar(select(func.count()).select_from(Person)) == 2


def test_review_uses_idnp_recorded_later(database: Database, tmp_path: Path) -> None:
    munteanu = add_person(database, "Munteanu", "Elena", "1992-01-30")
    path = write_csv(
        tmp_path / "list.csv",
        [
            row(
                idnp=IDNP_D,
                last_name="Munteanu",
                first_name="Elena",
                birth_date="1992",
            )
        ],
    )
    run_import(database, path)
    with database.session() as session:
        (item,) = open_reviews(session, caller=analyst("analyst"))
    # After the import, an analyst records both IDNPs.
    with database.session() as session, session.begin():
        update_person(session, munteanu, {"idnp": IDNP_C}, caller=analyst("ana"))
    holder = add_person(database, "Munteanu", "Elena", "1992-01-30", idnp=IDNP_D)

    with (
        database.session() as session,
        session.begin(),
        pytest.raises(ReviewError, match="IDNP differs"),
    ):
        decide_review(session, item["review"], accept=True, caller=analyst("ana"))
    with database.session() as session, session.begin():
        conviction = decide_review(
            session, item["review"], accept=False, caller=analyst("ana")
        )
        assert (conviction.person_id, conviction.link) == (holder, "idnp")

    with database.session() as session:
        assert person_categories(session, holder) == ["victim", "convicted"]
        assert person_categories(session, munteanu) == ["victim"]
        assert session.scalar(select(func.count()).select_from(Person)) == 2


def test_review_unknown_item(database: Database) -> None:
    with (
        database.session() as session,
        pytest.raises(ReviewError, match="no review item number 999"),
    ):
        decide_review(session, 999, accept=True, caller=analyst("ana"))


def test_review_reimport_keeps_queue(database: Database, tmp_path: Path) -> None:
    add_person(database, "Munteanu", "Elena", "1992-01-30")
    path = write_csv(
        tmp_path / "list.csv",
        [row(last_name="Munteanu", first_name="Elena", birth_date="1992")],
    )
    run_import(database, path)

    report = run_import(database, path)

    assert (report.unchanged, report.review) == (1, 0)
    with database.session() as session:
        assert len(open_reviews(session, caller=analyst("analyst"))) == 1


# Invalid input


def test_duplicate_record_key_rejected(database: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        [
            row(record_id="DTI-1", idnp=IDNP_B),
            row(idnp=IDNP_C, first_name="Petru"),
            row(record_id="DTI-1", idnp=IDNP_B, release_date="01.02.2030"),
            # No record id: the IDNP, article and sentence date repeat row 3.
            row(idnp=IDNP_C, first_name="Petru", court="Judecătoria Cahul"),
        ],
    )

    report = run_import(database, path)

    assert (report.rows, report.new, report.rejected_count) == (4, 2, 2)
    assert [(item["row"], item["field"]) for item in report.rejected] == [
        (4, None),
        (5, None),
    ]
    assert "row 2" in report.rejected[0]["reason"]
    assert "row 3" in report.rejected[1]["reason"]
    with database.session() as session:
        first, _ = convictions(session)
        assert first.release_date is None


def test_missing_column_stores_nothing(database: Database, tmp_path: Path) -> None:
    recorded_persons(database)
    run_import(database, first_list(tmp_path / "first.csv"))
    before = table_counts(database)
    header = [column for column in HEADER if column != "article"]
    broken = write_csv(tmp_path / "broken.csv", [row(idnp=IDNP_D)], header)

    with (
        pytest.raises(ConvictedFileError, match="required column missing"),
        database.session() as session,
        session.begin(),
    ):
        import_convicted(session, broken, caller=analyst("analyst"))

    assert table_counts(database) == before


def test_file_broken_midway_stores_nothing(database: Database, tmp_path: Path) -> None:
    recorded_persons(database)
    before = table_counts(database)
    # Enough rows that the reader has not buffered the end of the file when
    # the first row arrives, so the broken record appended then is read.
    path = write_csv(
        tmp_path / "list.csv",
        [row(record_id=f"DTI-{number}") for number in range(300)],
    )
    assert path.stat().st_size > 16_384

    def break_file(_step: int) -> None:
        if path.stat().st_size < 40_000:
            with path.open("a", encoding="utf-8") as handle:
                handle.write('DTI-x;;"Rusu;Ion\n' * 1_000)

    with (
        pytest.raises(ConvictedFileError, match="broken CSV record"),
        database.session() as session,
        session.begin(),
    ):
        import_convicted(session, path, caller=analyst("analyst"), progress=break_file)

    assert table_counts(database) == before
