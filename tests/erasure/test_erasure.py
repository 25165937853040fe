import pytest
from sqlalchemy import select

from records_helpers import add_media as add_media_rows
from records_helpers import add_submission, analyst
from scut.db.models import (
    Case,
    Media,
    Occurrence,
    Person,
    PersonAddress,
    PersonEvent,
    PersonName,
    SeriesMedia,
)
from scut.db.session import Database
from scut.erasure import ErasureError, count_rows, erase_case, erase_person
from scut.persons.search import PersonQuery, search_persons
from scut.persons.service import PersonInput, add_address, create_person, link_person
from scut.security.access import AccessDenied
from scut.security.caller import Caller
from scut.series.service import add_media, create_series

SUPERVISOR = Caller(
    user="vera", roles=frozenset({"supervisor"}), justification="erasure order 5"
)


def test_person_erasure_reaches_every_copy(database: Database) -> None:
    with database.session() as session, session.begin():
        person = create_person(
            session,
            PersonInput("Cîrlan", "Ion", ["offender"], idnp="2002042123459"),
            caller=analyst("ana"),
        )
        add_address(session, person.id, "str. Viilor 12", caller=analyst("ana"))
        series = create_series(session, "Orchard", caller=analyst("ana"))
        link_person(
            session, person.id, "offender", caller=analyst("a"), series_id=series.id
        )
        person_id = person.id
    with database.session() as session, session.begin():
        report = erase_person(session, person_id, caller=SUPERVISOR)
    assert report.rows["persons"] == 1
    assert report.rows["person_names"] == 1
    with database.session() as session:
        for model in (Person, PersonName, PersonAddress, PersonEvent):
            assert count_rows(session, model) == 0, model.__tablename__
        hits = search_persons(session, PersonQuery("cirlan"), caller=analyst("ana"))
        assert hits == []


def test_person_erasure_needs_supervisor(database: Database) -> None:
    with database.session() as session, session.begin():
        person = create_person(
            session, PersonInput("Rusu", "Ana", ["victim"]), caller=analyst("ana")
        )
        with pytest.raises(AccessDenied, match="may not call persons.erase"):
            erase_person(session, person.id, caller=analyst("ana"))
        with pytest.raises(ErasureError, match="no person number 999"):
            erase_person(session, 999, caller=SUPERVISOR)


def test_case_erasure_keeps_shared_media(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media_rows(session, 3)
        add_submission(session, ids, case="GONE", unit="Unit A")
        # The second case holds the last media too, so it must stay.
        other = add_media_rows(session, 1, start=10)
        add_submission(session, [ids[2], *other], case="KEPT", unit="Unit B")
        create_series(session, "S", caller=analyst("ana"))
        add_media(session, "S", ids, caller=analyst("ana"))
        erased_digests = [
            session.get_one(Media, media_id).sha256 for media_id in ids[:2]
        ]
    with database.session() as session, session.begin():
        report = erase_case(session, "GONE", caller=SUPERVISOR)
    assert sorted(report.blobs_to_delete) == sorted(erased_digests)
    with database.session() as session:
        remaining = set(session.scalars(select(Media.id)))
        assert remaining == {ids[2], *other}
        assert session.scalar(select(Case).where(Case.reference == "GONE")) is None
        assert set(session.scalars(select(SeriesMedia.media_id))) == {ids[2]}
        assert count_rows(session, Occurrence) == 2
