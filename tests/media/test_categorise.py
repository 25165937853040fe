import pytest

from records_helpers import add_media, add_submission, analyst
from scut.db.models import CategoryEvent, Media
from scut.db.session import Database
from scut.hashsets.items import Category
from scut.media.categorise import (
    InvalidCategory,
    categorise,
    category_history,
    check_category,
    conflicting_media,
)
from scut.media.lookup import MediaNotFound, resolve_media, submission_media

CSAM = Category("projectvic", "1")
EXPLOITIVE = Category("projectvic", "2")


def test_categorise_sets_category_and_history(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media(session, 3)
        changes = categorise(
            session, ids, CSAM, caller=analyst("ana"), reason="reviewed"
        )
        assert [change.conflict for change in changes] == [False, False, False]
        media = session.get_one(Media, ids[0])
        assert (media.category_scheme, media.category_code) == ("projectvic", "1")
        assert media.category_by_analyst is True
        assert media.category_source == "analyst ana"
        history = category_history(session, ids[0], caller=analyst("ana"))
        assert len(history) == 1
        assert history[0].actor == "ana"
        assert history[0].reason == "reviewed"
        assert history[0].previous is None


def test_recategorise_keeps_previous(database: Database) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
        categorise(session, [media_id], CSAM, caller=analyst("ana"))
        categorise(
            session, [media_id], EXPLOITIVE, caller=analyst("ana"), reason="age unclear"
        )
        history = category_history(session, media_id, caller=analyst("ana"))
        assert [line.category for line in history] == ["projectvic 1", "projectvic 2"]
        assert history[1].previous == "projectvic 1"
        # The same analyst changing their mind is no conflict.
        assert history[1].conflict is False


def test_same_category_twice_adds_no_event(database: Database) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
        categorise(session, [media_id], CSAM, caller=analyst("ana"))
        categorise(session, [media_id], CSAM, caller=analyst("ana"))
        assert len(category_history(session, media_id, caller=analyst("ana"))) == 1


def test_two_analysts_disagree_flags_conflict(database: Database) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
        categorise(session, [media_id], CSAM, caller=analyst("ana"))
        (change,) = categorise(session, [media_id], EXPLOITIVE, caller=analyst("ion"))
        assert change.conflict is True
        assert ("analyst ana", "projectvic 1") in change.disagreeing
        assert conflicting_media(session, caller=analyst("ana")) == [media_id]
        # When the first analyst agrees, the conflict is gone.
        (change,) = categorise(session, [media_id], EXPLOITIVE, caller=analyst("ana"))
        assert change.conflict is False
        assert conflicting_media(session, caller=analyst("ana")) == []


def test_hash_set_disagreement_flags_conflict(database: Database) -> None:
    detail = {
        "matches": [
            {
                "source": "hash-set",
                "hash_set": "partner",
                "how": "md5",
                "category": {"scheme": "projectvic", "code": "2"},
            }
        ]
    }
    with database.session() as session, session.begin():
        ids = add_media(session, 2)
        add_submission(session, ids, details={ids[0]: detail, ids[1]: detail})
        (change,) = categorise(session, [ids[0]], CSAM, caller=analyst("ana"))
        assert change.conflict is True
        assert change.disagreeing == (("hash set partner", "projectvic 2"),)
        (change,) = categorise(session, [ids[1]], EXPLOITIVE, caller=analyst("ana"))
        assert change.conflict is False


def test_uk_and_projectvic_agree(database: Database) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
        categorise(session, [media_id], CSAM, caller=analyst("ana"))
        (change,) = categorise(
            session, [media_id], Category("uk", "A"), caller=analyst("ion")
        )
        assert change.conflict is False


@pytest.mark.parametrize(
    ("scheme", "code", "message"),
    [
        ("projectvic", "7", "unknown projectvic category '7'"),
        ("uk", "D", "unknown uk category 'D'"),
        ("dhs", "1", "unknown category scheme 'dhs'"),
    ],
)
def test_invalid_category(scheme: str, code: str, message: str) -> None:
    with pytest.raises(InvalidCategory, match=message):
        check_category(scheme, code)


def test_uk_code_case_folded() -> None:
    assert check_category("uk", "b") == Category("uk", "B")


def test_resolve_media_references(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media(session, 2)
        sha = session.get_one(Media, ids[1]).sha256
        assert resolve_media(session, [str(ids[0]), sha[:12]]) == ids
        assert resolve_media(session, [sha.upper()]) == [ids[1]]
        with pytest.raises(MediaNotFound, match="no media number 999"):
            resolve_media(session, ["999"])
        with pytest.raises(MediaNotFound, match="invalid media reference"):
            resolve_media(session, ["abc"])
        with pytest.raises(MediaNotFound, match="no media with SHA-256 starting"):
            resolve_media(session, ["00000000000000"])


def test_submission_media_lists_each_once(database: Database) -> None:
    with database.session() as session, session.begin():
        ids = add_media(session, 3)
        submission = add_submission(session, ids)
        assert submission_media(session, submission) == ids


def test_events_survive_commit(database: Database) -> None:
    with database.session() as session, session.begin():
        (media_id,) = add_media(session, 1)
        categorise(session, [media_id], CSAM, caller=analyst("ana"))
    with database.session() as session:
        assert session.query(CategoryEvent).count() == 1
