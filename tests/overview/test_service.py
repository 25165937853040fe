"""Recent submissions, counts and work waiting, as each role may see them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from records_helpers import add_media, add_submission, analyst
from scut.db.models import (
    AuditEvent,
    ConvictedImport,
    Conviction,
    LinkReview,
    Media,
    Occurrence,
    Person,
    Submission,
)
from scut.db.session import Database
from scut.overview.service import (
    CategoryCount,
    OverviewError,
    count_records,
    recent_submissions,
    waiting_work,
)
from scut.security.access import AccessDenied
from scut.security.caller import Caller

AUDITOR = Caller(user="olga", roles=frozenset({"auditor"}))
ADMIN = Caller(user="dan", roles=frozenset({"admin"}))


def _submitter(session: Session, submission_id: int) -> Caller:
    submission = session.get(Submission, submission_id)
    assert submission is not None
    return Caller(
        user="sam", roles=frozenset({"submitter"}), unit_id=submission.unit_id
    )


def _two_units(session: Session) -> tuple[int, int]:
    """Record submission A (3 media) and B (2 media, one shared with A)."""
    first = add_media(session, 3)
    second = add_media(session, 1, start=3) + first[:1]
    a = add_submission(session, first, case="CASE-A", unit="Unit A")
    b = add_submission(session, second, case="CASE-B", unit="Unit B")
    for submission_id, day in ((a, 1), (b, 2)):
        submission = session.get(Submission, submission_id)
        assert submission is not None
        submission.received_at = dt.datetime(2026, 3, day, tzinfo=dt.UTC)
    session.flush()
    return a, b


def _add_archive(session: Session, start: int) -> None:
    """Record a media that is an archive, which never gets a category."""
    archive = session.get(Media, add_media(session, 1, start=start)[0])
    assert archive is not None
    archive.kind = "archive"


def test_recent_submissions_newest_first(database: Database) -> None:
    with database.session() as session, session.begin():
        a, b = _two_units(session)
        lines = recent_submissions(session, caller=analyst("ana"))
    assert [line.submission_id for line in lines] == [b, a]
    assert [line.case for line in lines] == ["CASE-B", "CASE-A"]
    assert [line.unit for line in lines] == ["Unit B", "Unit A"]
    assert [line.files for line in lines] == [2, 3]
    assert [line.exhibits for line in lines] == [1, 1]
    assert lines[1].verdicts == {"new": 3}
    assert lines[0].received_at == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def test_recent_submissions_limit(database: Database) -> None:
    with database.session() as session, session.begin():
        _, b = _two_units(session)
        lines = recent_submissions(session, 1, caller=analyst("ana"))
        assert [line.submission_id for line in lines] == [b]
        for wrong in (0, 101):
            with pytest.raises(OverviewError, match=f"not {wrong}"):
                recent_submissions(session, wrong, caller=analyst("ana"))


def test_submitter_sees_own_unit(database: Database) -> None:
    with database.session() as session, session.begin():
        a, _ = _two_units(session)
        submitter = _submitter(session, a)
        lines = recent_submissions(session, caller=submitter)
        counts = count_records(session, caller=submitter)
    assert [line.submission_id for line in lines] == [a]
    assert counts.files_by_verdict == {"new": 3}
    assert counts.media_by_category == (CategoryCount(None, None, 3),)


def test_submitter_without_unit_denied(database: Database) -> None:
    nobody = Caller(user="sam", roles=frozenset({"submitter"}))
    with database.session() as session, session.begin():
        _two_units(session)
        with pytest.raises(AccessDenied, match="their own unit"):
            recent_submissions(session, caller=nobody)
        with pytest.raises(AccessDenied, match="their own unit"):
            count_records(session, caller=nobody)


@pytest.mark.parametrize("caller", [AUDITOR, ADMIN])
def test_auditor_and_admin_denied(database: Database, caller: Caller) -> None:
    with database.session() as session, session.begin():
        _two_units(session)
        for call in (recent_submissions, count_records, waiting_work):
            with pytest.raises(AccessDenied, match="may not call"):
                call(session, caller=caller)


def test_submitter_denied_work_queue(database: Database) -> None:
    with database.session() as session, session.begin():
        a, _ = _two_units(session)
        with pytest.raises(AccessDenied, match="may not call work.read"):
            waiting_work(session, caller=_submitter(session, a))


def test_counts_by_verdict_and_category(database: Database) -> None:
    with database.session() as session, session.begin():
        _two_units(session)
        media = session.scalars(select(Media).order_by(Media.id)).all()
        media[0].category_scheme, media[0].category_code = "projectvic", "1"
        media[1].category_scheme, media[1].category_code = "uk", "B"
        _add_archive(session, 10)
        occurrence = session.scalars(select(Occurrence).limit(1)).one()
        occurrence.verdict = "known"
        counts = count_records(session, caller=analyst("ana"))
    assert counts.files_by_verdict == {"known": 1, "new": 4}
    assert counts.media_by_category == (
        CategoryCount(None, None, 2),
        CategoryCount("projectvic", "1", 1),
        CategoryCount("uk", "B", 1),
    )


def _open_review(session: Session, status: str) -> None:
    batch = ConvictedImport(
        file_name="list.csv", file_sha256="0" * 64, format="csv", actor="ana"
    )
    person = Person(last_name="Rusu", first_name="Ion", review_due=dt.date(2030, 1, 1))
    session.add_all([batch, person])
    session.flush()
    conviction = Conviction(
        source_registry="registry",
        record_key=f"key {status}",
        link="review",
        last_name="Rusu",
        first_name="Ion",
        article="208/1",
        fingerprint="f" * 64,
        first_import_id=batch.id,
        last_import_id=batch.id,
    )
    session.add(conviction)
    session.flush()
    session.add(
        LinkReview(
            conviction_id=conviction.id,
            person_id=person.id,
            probability=0.7,
            import_id=batch.id,
            status=status,
        )
    )
    session.flush()


def test_work_waiting(database: Database) -> None:
    with database.session() as session, session.begin():
        _two_units(session)
        media = session.scalars(select(Media).order_by(Media.id)).all()
        # Categorised: not waiting.
        media[0].category_scheme, media[0].category_code = "projectvic", "2"
        # Only ever seen as known-good: not waiting.
        for occurrence in session.scalars(
            select(Occurrence).where(Occurrence.media_id == media[2].id)
        ):
            occurrence.verdict = "known-good"
        # Never categorised: not waiting.
        _add_archive(session, 20)
        _open_review(session, "open")
        _open_review(session, "accepted")
        work = waiting_work(session, caller=analyst("ana"))
    assert work.uncategorised_media == 2
    assert work.open_link_reviews == 1


def test_reads_not_audited(database: Database) -> None:
    with database.session() as session, session.begin():
        a, _ = _two_units(session)
        recent_submissions(session, caller=analyst("ana"))
        count_records(session, caller=_submitter(session, a))
        waiting_work(session, caller=analyst("ana"))
    with database.session() as session:
        assert session.scalars(select(AuditEvent)).all() == []
