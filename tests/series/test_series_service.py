import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from records_helpers import add_media as add_media_rows
from records_helpers import analyst
from scut.db.models import Case, Person, PersonLink, SeriesMedia
from scut.db.session import Database
from scut.series.service import (
    SeriesError,
    add_media,
    add_note,
    create_series,
    find_series,
    link_case,
    list_series,
    live_series,
    merge_series,
    remove_media,
    rename_series,
    series_history,
    series_media,
    set_status,
    split_series,
    summarise,
)


def _person(session: Session, name: str) -> int:
    person = Person(last_name=name, first_name="Test", review_due=dt.date(2040, 1, 1))
    session.add(person)
    session.flush()
    return person.id


def test_create_add_and_list(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media_rows(session, 4)
        create_series(session, "Lake house", caller=analyst("ana"))
        assert add_media(session, "Lake house", ids[:3], caller=analyst("ana")) == 3
        assert add_media(session, "Lake house", ids[:3], caller=analyst("ana")) == 0
        assert series_media(session, "Lake house") == ids[:3]
        (summary,) = list_series(session, caller=analyst("ana"))
        assert summary.name == "Lake house"
        assert summary.media == 3
        assert summary.victim_identified is False


def test_duplicate_and_empty_names_rejected(database: Database) -> None:
    with database.session() as session, session.begin():
        create_series(session, "Red room", caller=analyst("ana"))
        with pytest.raises(SeriesError, match="already exists"):
            create_series(session, "  Red   room ", caller=analyst("ion"))
        with pytest.raises(SeriesError, match="must not be empty"):
            create_series(session, "   ", caller=analyst("ion"))
        with pytest.raises(SeriesError, match="control characters"):
            create_series(session, "bad\x1bname", caller=analyst("ion"))


def test_media_in_other_series_needs_move(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media_rows(session, 2)
        create_series(session, "A", caller=analyst("ana"))
        create_series(session, "B", caller=analyst("ana"))
        add_media(session, "A", ids, caller=analyst("ana"))
        with pytest.raises(SeriesError, match="already in series 'A'"):
            add_media(session, "B", ids[:1], caller=analyst("ion"))
        assert add_media(session, "B", ids[:1], caller=analyst("ion"), move=True) == 1
        assert series_media(session, "A") == ids[1:]
        assert series_media(session, "B") == ids[:1]


def test_remove_media(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media_rows(session, 3)
        create_series(session, "A", caller=analyst("ana"))
        add_media(session, "A", ids, caller=analyst("ana"))
        assert remove_media(session, "A", ids[:2], caller=analyst("ana")) == 2
        assert series_media(session, "A") == ids[2:]


def test_rename_keeps_history(database: Database) -> None:
    with database.session() as session, session.begin():
        create_series(session, "Old", caller=analyst("ana"))
        rename_series(session, "Old", "New", caller=analyst("ion"))
        assert find_series(session, "New").name == "New"
        with pytest.raises(SeriesError, match="no series named"):
            find_series(session, "Old")
        actions = [event["action"] for event in series_history(session, "New")]
        assert actions == ["created", "renamed"]


def test_merge_keeps_every_link(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media_rows(session, 5)
        session.add_all([Case(reference="C-1"), Case(reference="C-2")])
        keep = create_series(session, "Keep", caller=analyst("ana"))
        gone = create_series(session, "Gone", caller=analyst("ana"))
        add_media(session, "Keep", ids[:2], caller=analyst("ana"))
        add_media(session, "Gone", ids[2:], caller=analyst("ana"))
        victim = _person(session, "Victim")
        offender = _person(session, "Offender")
        session.add_all(
            [
                PersonLink(person_id=victim, series_id=keep.id, role="victim"),
                PersonLink(person_id=victim, series_id=gone.id, role="victim"),
                PersonLink(person_id=offender, series_id=gone.id, role="offender"),
            ]
        )
        link_case(session, "Keep", "C-1", caller=analyst("ana"))
        link_case(session, "Gone", "C-2", caller=analyst("ana"))
        add_note(session, "Gone", "language", "Romanian speech", caller=analyst("ana"))
        set_status(session, "Gone", caller=analyst("ana"), offender_identified=True)

        merge_series(session, "Keep", "Gone", caller=analyst("ion"))

        assert series_media(session, "Keep") == ids
        summary = summarise(session, keep)
        assert summary.cases == ["C-1", "C-2"]
        assert [note["text"] for note in summary.notes] == ["Romanian speech"]
        roles = {(item["person"], item["role"]) for item in summary.persons}
        assert roles == {(victim, "victim"), (offender, "offender")}
        assert summary.offender_identified is True
        links = session.scalars(select(PersonLink)).all()
        assert {link.series_id for link in links} == {keep.id}
        assert len(links) == 2
        with pytest.raises(SeriesError, match="was merged into 'Keep'"):
            live_series(session, "Gone")
        assert [item.name for item in list_series(session, caller=analyst("ana"))] == [
            "Keep"
        ]
        assert (
            len(list_series(session, caller=analyst("ana"), include_merged=True)) == 2
        )


def test_merge_into_itself_rejected(database: Database) -> None:
    with database.session() as session, session.begin():
        create_series(session, "A", caller=analyst("ana"))
        with pytest.raises(SeriesError, match="into itself"):
            merge_series(session, "A", "A", caller=analyst("ana"))


def test_split_copies_links(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media_rows(session, 4)
        session.add(Case(reference="C-1"))
        source = create_series(session, "Whole", caller=analyst("ana"))
        add_media(session, "Whole", ids, caller=analyst("ana"))
        victim = _person(session, "Victim")
        session.add(PersonLink(person_id=victim, series_id=source.id, role="victim"))
        link_case(session, "Whole", "C-1", caller=analyst("ana"))
        set_status(session, "Whole", caller=analyst("ana"), victim_identified=True)

        part = split_series(session, "Whole", ids[2:], "Part", caller=analyst("ion"))

        assert series_media(session, "Whole") == ids[:2]
        assert series_media(session, "Part") == ids[2:]
        part_summary = summarise(session, part)
        assert part_summary.cases == ["C-1"]
        assert [item["person"] for item in part_summary.persons] == [victim]
        assert part_summary.victim_identified is True
        assert summarise(session, source).persons[0]["person"] == victim


def test_split_rejects_foreign_or_all_media(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media_rows(session, 3)
        create_series(session, "A", caller=analyst("ana"))
        add_media(session, "A", ids[:2], caller=analyst("ana"))
        with pytest.raises(SeriesError, match="is not in series 'A'"):
            split_series(session, "A", [ids[2]], "B", caller=analyst("ana"))
        with pytest.raises(SeriesError, match="leave the series empty"):
            split_series(session, "A", ids[:2], "B", caller=analyst("ana"))
        with pytest.raises(SeriesError, match="name the media"):
            split_series(session, "A", [], "B", caller=analyst("ana"))


def test_status_and_notes(database: Database) -> None:
    with database.session() as session, session.begin():
        create_series(session, "A", caller=analyst("ana"))
        series = set_status(
            session,
            "A",
            caller=analyst("ana"),
            victim_identified=True,
            offender_identified=False,
        )
        assert series.victim_identified is True
        with pytest.raises(SeriesError, match="unknown note kind"):
            add_note(session, "A", "smell", "x", caller=analyst("ana"))
        with pytest.raises(SeriesError, match="must not be empty"):
            add_note(session, "A", "object", "  ", caller=analyst("ana"))
        with pytest.raises(SeriesError, match="no case with reference"):
            link_case(session, "A", "NOPE", caller=analyst("ana"))
        actions = [event["action"] for event in series_history(session, "A")]
        assert actions == ["created", "status"]


def test_series_found_by_number(database: Database) -> None:
    with database.session() as session, session.begin():
        series = create_series(session, "Named", caller=analyst("ana"))
        assert find_series(session, str(series.id)).name == "Named"


def test_one_series_per_media_enforced_by_database(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media_rows(session, 1)
        create_series(session, "A", caller=analyst("ana"))
        add_media(session, "A", ids, caller=analyst("ana"))
        rows = session.scalars(select(SeriesMedia)).all()
        assert len(rows) == 1


def test_digit_names_rejected_and_forms_joined(database: Database) -> None:
    with database.session() as session, session.begin():
        with pytest.raises(SeriesError, match="only digits"):
            create_series(session, "12", caller=analyst("ana"))
        create_series(session, "Cafe\u0301", caller=analyst("ana"))
        with pytest.raises(SeriesError, match="already exists"):
            create_series(session, "Caf\u00e9", caller=analyst("ana"))
        assert find_series(session, "Caf\u00e9").name == "Caf\u00e9"
