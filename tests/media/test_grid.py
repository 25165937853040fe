"""The media grid query: each filter, keyset pages, what a tile shows, access."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from records_helpers import analyst
from scut.db.models import AuditEvent, Exhibit, Occurrence, Series, SeriesMedia
from scut.db.session import Database
from scut.media.grid import (
    MAX_PAGE_SIZE,
    GridFilterError,
    GridFilters,
    GridItem,
    media_grid,
)
from scut.security.access import AccessDenied
from scut.security.caller import Caller
from scut.settings import Settings
from web.media_helpers import MediaSpec, add_grid_media, add_occurrence


@dataclass(frozen=True)
class Corpus:
    """The media of the filter tests, by letter, and their submissions."""

    ids: dict[str, int]
    first_submission: int
    second_submission: int


@pytest.fixture
def corpus(database: Database, settings: Settings) -> Corpus:
    specs = {
        "a": MediaSpec(
            category=("projectvic", "1"), body_serial="SN1", gps=(47.02, 28.83)
        ),
        "b": MediaSpec(kind="video", verdict="known", category=("uk", "B")),
        "f": MediaSpec(),
        "g": MediaSpec(category=("projectvic", "2")),
    }
    first = add_grid_media(
        database, settings, [specs[letter] for letter in "abfg"], case="C1"
    )
    second = add_grid_media(
        database,
        settings,
        [
            MediaSpec(verdict="near", body_serial="SN2"),
            MediaSpec(verdict="known-good", category=("projectvic", "0")),
        ],
        case="C2",
        exhibit="E2",
    )
    add_grid_media(
        database, settings, [MediaSpec(kind="archive", thumbnail=False)], exhibit="E4"
    )
    ids = dict(zip("abfg", first, strict=True)) | dict(zip("cd", second, strict=True))
    add_occurrence(database, ids["f"], verdict="known", case="C1", exhibit="E3")
    with database.session() as session, session.begin():
        series = Series(name="Lake")
        session.add(series)
        session.flush()
        session.add(SeriesMedia(media_id=ids["g"], series_id=series.id))
        submissions = {
            media_id: submission
            for media_id, submission in session.execute(
                select(Occurrence.media_id, Exhibit.submission_id)
                .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
                .order_by(Occurrence.id)
            )
            if media_id in (ids["a"], ids["c"])
        }
    return Corpus(ids, submissions[ids["a"]], submissions[ids["c"]])


def _letters(corpus: Corpus, filters: GridFilters, database: Database) -> str:
    with database.session() as session, session.begin():
        page = media_grid(session, filters, caller=analyst("ana"))
    names = {media_id: letter for letter, media_id in corpus.ids.items()}
    return "".join(sorted(names[item.media_id] for item in page.items))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (GridFilters(), "abcdfg"),
        (GridFilters(verdict="known"), "bf"),
        (GridFilters(verdict="new"), "afg"),
        (GridFilters(verdict="known-good"), "d"),
        (GridFilters(category="1"), "ab"),
        (GridFilters(category="0"), "d"),
        (GridFilters(category="none"), "cf"),
        (GridFilters(kind="video"), "b"),
        (GridFilters(kind="image"), "acdfg"),
        (GridFilters(camera_serial="SN1"), "a"),
        (GridFilters(camera_serial=" SN2 "), "c"),
        (GridFilters(has_gps=True), "a"),
        (GridFilters(has_gps=False), "bcdfg"),
        (GridFilters(case="C2"), "cd"),
        (GridFilters(case="C1", verdict="known"), "bf"),
        (GridFilters(series="Lake"), "g"),
        (GridFilters(category="1", kind="image"), "a"),
        (GridFilters(series="Lake", verdict="new"), "g"),
        (GridFilters(series="Lake", verdict="known"), ""),
        (GridFilters(series="Lake", case="C1"), "g"),
        (GridFilters(series="Lake", case="C2"), ""),
        (GridFilters(verdict="known", category="none"), "f"),
    ],
)
def test_filter_selects_media(
    corpus: Corpus, database: Database, filters: GridFilters, expected: str
) -> None:
    assert _letters(corpus, filters, database) == expected


def test_submission_filter(corpus: Corpus, database: Database) -> None:
    first = GridFilters(submission=corpus.first_submission)
    second = GridFilters(submission=corpus.second_submission)
    assert _letters(corpus, first, database) == "abfg"
    assert _letters(corpus, second, database) == "cd"


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (GridFilters(verdict="famous"), "verdict"),
        (GridFilters(category="5"), "category"),
        (GridFilters(category="A"), "category"),
        (GridFilters(kind="archive"), "kind"),
        (GridFilters(series="Sea"), "series"),
        (GridFilters(case="C9"), "case"),
        (GridFilters(submission=999), "submission"),
        (GridFilters(camera_serial="  "), "camera_serial"),
        (GridFilters(camera_serial="S" * 201), "camera_serial"),
        (GridFilters(camera_serial="\x00"), "camera_serial"),
        (GridFilters(series="Sea\x07"), "series"),
        (GridFilters(case="C\x001"), "case"),
    ],
)
def test_invalid_filter_names_field(
    corpus: Corpus, database: Database, filters: GridFilters, field: str
) -> None:
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(GridFilterError) as raised,
    ):
        media_grid(session, filters, caller=analyst("ana"))
    assert raised.value.field == field


@pytest.mark.parametrize(("after", "size"), [(-1, 10), (0, 0), (0, MAX_PAGE_SIZE + 1)])
def test_invalid_page_rejected(database: Database, after: int, size: int) -> None:
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(GridFilterError, match="invalid"),
    ):
        media_grid(
            session, GridFilters(), caller=analyst("ana"), after=after, size=size
        )


def test_keyset_pages_cover_all_once(corpus: Corpus, database: Database) -> None:
    seen: list[int] = []
    after = 0
    pages = 0
    while True:
        with database.session() as session, session.begin():
            page = media_grid(
                session, GridFilters(), caller=analyst("ana"), after=after, size=4
            )
        seen += [item.media_id for item in page.items]
        pages += 1
        if page.next_after is None:
            break
        assert page.next_after == page.items[-1].media_id
        after = page.next_after
    assert pages == 2
    assert seen == sorted(corpus.ids.values())


@pytest.mark.parametrize("size", [1, 2, 3])
def test_case_pages_merge_exhibits(
    corpus: Corpus, database: Database, size: int
) -> None:
    """Case C1 has two exhibits, and media f is in both."""
    seen: list[int] = []
    after = 0
    while True:
        with database.session() as session, session.begin():
            page = media_grid(
                session,
                GridFilters(case="C1"),
                caller=analyst("ana"),
                after=after,
                size=size,
            )
        seen += [item.media_id for item in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == sorted(corpus.ids[letter] for letter in "abfg")


def test_exact_last_page_has_no_next(corpus: Corpus, database: Database) -> None:
    with database.session() as session, session.begin():
        page = media_grid(session, GridFilters(), caller=analyst("ana"), size=6)
    assert len(page.items) == 6
    assert page.next_after is None


def _item(
    corpus: Corpus, database: Database, letter: str, **filters: object
) -> GridItem:
    with database.session() as session, session.begin():
        page = media_grid(session, GridFilters(**filters), caller=analyst("ana"))  # type: ignore[arg-type]
    (item,) = [line for line in page.items if line.media_id == corpus.ids[letter]]
    return item


def test_tile_shows_gravest_verdict_in_scope(
    corpus: Corpus, database: Database
) -> None:
    everywhere = _item(corpus, database, "f")
    first_submission = _item(corpus, database, "f", submission=corpus.first_submission)
    in_copy = _item(corpus, database, "f", verdict="known", case="C1")
    assert everywhere.verdict == "known"
    assert everywhere.name == f"{corpus.ids['f']:05d}.jpg"
    assert first_submission.verdict == "new"
    assert in_copy.name == f"{corpus.ids['f']:05d}.jpg"


def test_tile_fields(corpus: Corpus, database: Database) -> None:
    picture = _item(corpus, database, "a")
    video = _item(corpus, database, "b")
    in_series = _item(corpus, database, "g")
    assert (picture.kind, picture.has_gps, picture.has_preview) == ("image", True, True)
    assert (picture.category_scheme, picture.category_code) == ("projectvic", "1")
    assert (video.kind, video.has_gps, video.has_preview) == ("video", False, True)
    assert (video.category_scheme, video.category_code) == ("uk", "B")
    assert in_series.series == "Lake"
    assert picture.series is None


def test_listing_audited_with_filters(corpus: Corpus, database: Database) -> None:
    with database.session() as session, session.begin():
        media_grid(
            session, GridFilters(kind="video"), caller=analyst("ana"), after=1, size=5
        )
    with database.session() as session:
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "media.list")
        ).all()
    assert event.object_ids == f'["{corpus.ids["b"]}"]'
    assert event.detail == {"filters": {"kind": "video"}, "after": 1}


@pytest.mark.parametrize("role", ["auditor", "admin", "submitter"])
def test_grid_denied_to_other_roles(database: Database, role: str) -> None:
    caller = Caller(user=f"{role}-1", roles=frozenset({role}))
    with (
        database.session() as session,
        session.begin(),
        pytest.raises(AccessDenied, match="may not call media.list"),
    ):
        media_grid(session, GridFilters(), caller=caller)


def test_media_twice_in_exhibit_listed_once(
    database: Database, settings: Settings
) -> None:
    first, second = add_grid_media(database, settings, [MediaSpec(), MediaSpec()])
    with database.session() as session, session.begin():
        exhibit_id = session.scalars(
            select(Occurrence.exhibit_id).where(Occurrence.media_id == first)
        ).one()
        session.add(
            Occurrence(
                exhibit_id=exhibit_id,
                media_id=first,
                path="copy/of/first.jpg",
                verdict="new",
                verdict_detail={},
            )
        )

    with database.session() as session, session.begin():
        page = media_grid(
            session, GridFilters(case="CASE-1"), caller=analyst("ana"), size=1
        )
        rest = media_grid(
            session,
            GridFilters(case="CASE-1"),
            caller=analyst("ana"),
            after=first,
            size=1,
        )

    assert [item.media_id for item in page.items] == [first]
    assert page.next_after == first
    assert [item.media_id for item in rest.items] == [second]
    assert rest.next_after is None
