import datetime as dt

import pytest
from sqlalchemy import select

from records_helpers import analyst
from scut.db.models import PersonEvent, PersonName, Series
from scut.db.session import Database
from scut.persons.service import (
    InvalidPersonField,
    PersonError,
    PersonInput,
    add_address,
    add_categories,
    add_name,
    create_person,
    describe_person,
    due_for_review,
    link_person,
    mark_reviewed,
    person_history,
    remove_category,
    set_identification,
    unlink_person,
    update_person,
)
from scut.series.service import create_series

VALID_IDNP = "2002042123459"


def _victim(**fields: object) -> PersonInput:
    values: dict[str, object] = {
        "last_name": "Țurcanu",
        "first_name": "Maria",
        "categories": ["victim"],
    }
    values.update(fields)
    return PersonInput(**values)  # type: ignore[arg-type]


def test_create_stores_normalised_and_typed(database: Database) -> None:
    with database.session() as session, session.begin():
        person = create_person(
            session,
            _victim(last_name="Ţurcanu", patronymic="Ivanovna", birth_date="2011-03"),
            caller=analyst("ana"),
        )
        assert person.last_name == "Țurcanu"  # cedilla stored as comma below
        assert (person.birth_year, person.birth_month, person.birth_day) == (
            2011,
            3,
            None,
        )
        (name,) = session.scalars(select(PersonName)).all()
        assert name.as_typed == "Ţurcanu Maria Ivanovna"
        assert name.kind == "primary"
        assert name.last_key == "turcanu"
        view = describe_person(session, person.id, caller=analyst("ana"))
        assert view.categories == ["victim"]
        assert view.birth_date == "2011-03"


@pytest.mark.parametrize(
    ("fields", "field_name", "message"),
    [
        ({"idnp": "2002042123458"}, "idnp", "check digit"),
        ({"birth_date": "2010-02-30"}, "birth_date", "has no day 30"),
        ({"nationality": "XX"}, "nationality", "unknown country code 'XX'"),
        ({"categories": []}, "categories", "needs a category"),
        ({"categories": ["hero"]}, "categories", "unknown category 'hero'"),
        ({"gender": "robot"}, "gender", "unknown gender"),
        ({"last_name": "  "}, "last_name", "must not be empty"),
        ({"first_name": "123"}, "first_name", "contains no letters"),
    ],
)
def test_invalid_fields_rejected(
    database: Database, fields: dict[str, object], field_name: str, message: str
) -> None:
    with database.session() as session, session.begin():
        with pytest.raises(InvalidPersonField) as raised:
            create_person(session, _victim(**fields), caller=analyst("ana"))
        assert raised.value.field == field_name
        assert message in str(raised.value)


def test_idnp_unique(database: Database) -> None:
    with database.session() as session, session.begin():
        first = create_person(session, _victim(idnp=VALID_IDNP), caller=analyst("ana"))
        with pytest.raises(InvalidPersonField, match=f"person {first.id}"):
            create_person(
                session,
                _victim(first_name="Elena", idnp=VALID_IDNP),
                caller=analyst("ana"),
            )


def test_update_keeps_history_and_old_name(database: Database) -> None:
    with database.session() as session, session.begin():
        person = create_person(session, _victim(), caller=analyst("ana"))
        changed = update_person(
            session,
            person.id,
            {"last_name": "Rotaru", "nationality": "md", "birth_date": "2011"},
            caller=analyst("ion"),
        )
        assert changed["last_name"] == ["Țurcanu", "Rotaru"]
        assert changed["nationality"] == [None, "MD"]
        assert changed["birth_date"] == [None, "2011"]
        kinds = {
            (row.kind, row.last_name)
            for row in session.scalars(
                select(PersonName).where(PersonName.person_id == person.id)
            )
        }
        assert kinds == {("alias", "Țurcanu"), ("primary", "Rotaru")}
        events = session.scalars(
            select(PersonEvent.action).where(PersonEvent.person_id == person.id)
        ).all()
        assert events == ["created", "updated"]
        (_, update) = person_history(session, person.id, caller=analyst("ana"))
        assert update["actor"] == "ion"
        assert update["detail"]["last_name"] == ["Țurcanu", "Rotaru"]
        with pytest.raises(PersonError, match="unknown person field"):
            update_person(session, person.id, {"shoe_size": 40}, caller=analyst("ion"))
        assert (
            update_person(
                session, person.id, {"last_name": "Rotaru"}, caller=analyst("x")
            )
            == {}
        )


def test_categories_add_and_remove(database: Database) -> None:
    with database.session() as session, session.begin():
        person = create_person(
            session, _victim(categories=["suspect"]), caller=analyst("ana")
        )
        due_before = person.review_due
        assert add_categories(
            session, person.id, ["offender", "suspect"], caller=analyst("a")
        ) == ["offender"]
        assert person.review_due > due_before  # offenders are kept longer
        remove_category(session, person.id, "suspect", caller=analyst("a"))
        with pytest.raises(PersonError, match="must keep a category"):
            remove_category(session, person.id, "offender", caller=analyst("a"))
        with pytest.raises(PersonError, match="does not hold"):
            remove_category(session, person.id, "witness", caller=analyst("a"))


def test_names_and_addresses(database: Database) -> None:
    with database.session() as session, session.begin():
        person = create_person(session, _victim(), caller=analyst("ana"))
        add_name(
            session,
            person.id,
            "Цуркану",
            "Мария",
            kind="spelling",
            caller=analyst("ana"),
        )
        add_address(
            session,
            person.id,
            "str. Livezilor 7, Orhei",
            caller=analyst("ana"),
            latitude=47.38,
            longitude=28.82,
        )
        with pytest.raises(InvalidPersonField, match="give both"):
            add_address(session, person.id, "x", caller=analyst("ana"), latitude=47.0)
        with pytest.raises(InvalidPersonField, match="outside"):
            add_address(
                session, person.id, "x", caller=analyst("a"), latitude=95, longitude=1
            )
        with pytest.raises(InvalidPersonField, match="unknown country code"):
            add_address(session, person.id, "x", caller=analyst("ana"), country="ZZ")
        view = describe_person(session, person.id, caller=analyst("ana"))
        assert [item["kind"] for item in view.names] == ["primary", "spelling"]
        assert view.addresses[0]["address"] == "str. Livezilor 7, Orhei"


def test_identified_person_marks_series(database: Database) -> None:
    with database.session() as session, session.begin():
        series = create_series(session, "Orchard", caller=analyst("ana"))
        victim = create_person(session, _victim(), caller=analyst("ana"))
        offender = create_person(
            session,
            _victim(first_name="Ion", categories=["offender"]),
            caller=analyst("ana"),
        )
        link_person(
            session, victim.id, "victim", caller=analyst("ana"), series_id=series.id
        )
        assert series.victim_identified is False
        set_identification(
            session,
            victim.id,
            identified=True,
            caller=analyst("ana"),
            by="Police, Orhei",
        )
        assert series.victim_identified is True
        set_identification(
            session, offender.id, identified=True, caller=analyst("a"), by="RO"
        )
        link_person(
            session, offender.id, "offender", caller=analyst("ana"), series_id=series.id
        )
        assert session.get_one(Series, series.id).offender_identified is True
        view = describe_person(session, victim.id, caller=analyst("ana"))
        assert view.identification == "identified"
        assert view.identified_by == "Police, Orhei"
        assert view.links == [{"role": "victim", "series": "Orchard", "media": None}]
        set_identification(session, victim.id, identified=False, caller=analyst("a"))
        assert session.get_one(Series, series.id).victim_identified is False
        assert session.get_one(Series, series.id).offender_identified is True
        assert unlink_person(
            session, victim.id, "victim", caller=analyst("a"), series_id=series.id
        )


def test_identification_needs_who(database: Database) -> None:
    with database.session() as session, session.begin():
        person = create_person(session, _victim(), caller=analyst("ana"))
        with pytest.raises(InvalidPersonField, match="name the unit"):
            set_identification(
                session, person.id, identified=True, caller=analyst("ana")
            )
        with pytest.raises(InvalidPersonField, match="in the future"):
            set_identification(
                session,
                person.id,
                identified=True,
                caller=analyst("ana"),
                by="x",
                on=dt.date.today() + dt.timedelta(days=2),
            )


def test_link_checks(database: Database) -> None:
    with database.session() as session, session.begin():
        person = create_person(session, _victim(), caller=analyst("ana"))
        with pytest.raises(InvalidPersonField, match="unknown role"):
            link_person(session, person.id, "hero", caller=analyst("ana"), series_id=1)
        with pytest.raises(PersonError, match="either a series or a media"):
            link_person(session, person.id, "victim", caller=analyst("ana"))
        with pytest.raises(PersonError, match="no series number 99"):
            link_person(
                session, person.id, "victim", caller=analyst("ana"), series_id=99
            )


def test_review_due_and_reviewed(database: Database) -> None:
    with database.session() as session, session.begin():
        witness = create_person(
            session, _victim(categories=["witness"]), caller=analyst("a")
        )
        create_person(session, _victim(categories=["offender"]), caller=analyst("a"))
        in_four_years = dt.date.today() + dt.timedelta(days=4 * 366)
        due = due_for_review(session, in_four_years, caller=analyst("ana"))
        assert [person.id for person in due] == [witness.id]
        witness.review_due = dt.date.today() - dt.timedelta(days=1)
        assert [
            p.id
            for p in due_for_review(session, dt.date.today(), caller=analyst("ana"))
        ] == [witness.id]
        mark_reviewed(session, witness.id, caller=analyst("ana"))
        assert due_for_review(session, dt.date.today(), caller=analyst("ana")) == []
