"""Erasure of a person or a case, reaching every copy.

A person's erasure removes the person row and everything that repeats
their data: the spellings and their search keys, addresses, categories,
links to series and media, the change history, and the convictions that
registries listed for them with their history and review items. The
audit log keeps the erasure event with the person's number only.

A case's erasure removes its submissions, exhibits, occurrences, ingest
runs and errors, its links to series, and every media found only in this
case, with its hashes, frames, categories and links. The blobs of those
media (originals, thumbnails, strips) are deleted after the transaction
commits (:func:`delete_blobs`), because deleting evidence that a rolled
back transaction still records would lose it; a crash in between leaves
blobs no media names, which :func:`orphan_blobs` finds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scut.db.chunks import in_chunks
from scut.db.models import (
    Case,
    CategoryEvent,
    Conviction,
    ConvictionChange,
    Exhibit,
    IngestError,
    IngestRun,
    LinkReview,
    Media,
    Occurrence,
    Person,
    PersonAddress,
    PersonCategory,
    PersonEvent,
    PersonLink,
    PersonName,
    PictureHash,
    SeriesCase,
    SeriesMedia,
    Submission,
    VideoFrame,
)
from scut.errors import ScutError
from scut.security.access import Target, operation
from scut.security.caller import Caller
from scut.storage.blobs import BlobStore

log = logging.getLogger(__name__)


class ErasureError(ScutError):
    """Raised for an erasure of a record that does not exist."""


@dataclass(slots=True)
class ErasureReport:
    """The rows an erasure removed, and the blobs to delete once it commits."""

    rows: dict[str, int] = field(default_factory=dict)
    blobs_to_delete: list[str] = field(default_factory=list)

    def add(self, table: str, count: int) -> None:
        """Count rows removed from ``table``."""
        if count:
            self.rows[table] = self.rows.get(table, 0) + count


def _person_target(session: Session, person_id: int, **_: object) -> Target:
    return Target("person", [person_id])


@operation("persons.erase", before=_person_target)
def erase_person(session: Session, person_id: int, *, caller: Caller) -> ErasureReport:
    """Remove a person and every row that repeats their data."""
    if session.get(Person, person_id) is None:
        raise ErasureError(f"no person number {person_id}")
    report = ErasureReport()
    convictions = list(
        session.scalars(select(Conviction.id).where(Conviction.person_id == person_id))
    )
    reviewed = list(
        session.scalars(
            select(LinkReview.conviction_id).where(LinkReview.person_id == person_id)
        )
    )
    report.add(
        "link_reviews",
        _delete(session, LinkReview, LinkReview.person_id == person_id),
    )
    if convictions:
        report.add(
            "link_reviews",
            _delete(session, LinkReview, LinkReview.conviction_id.in_(convictions)),
        )
        report.add(
            "conviction_changes",
            _delete(
                session,
                ConvictionChange,
                ConvictionChange.conviction_id.in_(convictions),
            ),
        )
        report.add(
            "convictions", _delete(session, Conviction, Conviction.id.in_(convictions))
        )
    for model, column in (
        (PersonName, PersonName.person_id),
        (PersonAddress, PersonAddress.person_id),
        (PersonCategory, PersonCategory.person_id),
        (PersonLink, PersonLink.person_id),
        (PersonEvent, PersonEvent.person_id),
        (Person, Person.id),
    ):
        report.add(model.__tablename__, _delete(session, model, column == person_id))
    # A conviction that waited for review against this person and has no
    # other candidate left is marked unlinked, so it is not lost from view.
    for conviction_id in set(reviewed) - set(convictions):
        still_open = session.scalar(
            select(LinkReview.id).where(
                LinkReview.conviction_id == conviction_id, LinkReview.status == "open"
            )
        )
        conviction = session.get(Conviction, conviction_id)
        if (
            still_open is None
            and conviction is not None
            and conviction.person_id is None
        ):
            conviction.link = "unlinked"
    log.info(
        "%s erased person %d with %d convictions",
        caller.name,
        person_id,
        len(convictions),
    )
    return report


def _case_target(session: Session, reference: str, **_: object) -> Target:
    return Target("case", [reference])


@operation("cases.erase", before=_case_target)
def erase_case(session: Session, reference: str, *, caller: Caller) -> ErasureReport:
    """Remove a case, its submissions and the media no other case holds."""
    case = session.scalar(select(Case).where(Case.reference == reference.strip()))
    if case is None:
        raise ErasureError(f"no case with reference {reference[:100]!r}")
    report = ErasureReport()
    exhibits = list(
        session.scalars(select(Exhibit.id).where(Exhibit.case_id == case.id))
    )
    media = set(
        session.scalars(
            select(Occurrence.media_id).where(Occurrence.exhibit_id.in_(exhibits))
        )
    ) | set(
        session.scalars(
            select(IngestError.media_id).where(
                IngestError.exhibit_id.in_(exhibits), IngestError.media_id.is_not(None)
            )
        )
    )
    elsewhere = set(
        session.scalars(
            select(Occurrence.media_id).where(
                Occurrence.media_id.in_(media), Occurrence.exhibit_id.not_in(exhibits)
            )
        )
    )
    only_here = sorted(
        media_id for media_id in media - elsewhere if media_id is not None
    )
    report.add(
        "occurrences", _delete(session, Occurrence, Occurrence.exhibit_id.in_(exhibits))
    )
    report.add(
        "ingest_errors",
        _delete(session, IngestError, IngestError.exhibit_id.in_(exhibits)),
    )
    report.add(
        "ingest_runs", _delete(session, IngestRun, IngestRun.exhibit_id.in_(exhibits))
    )
    report.add("exhibits", _delete(session, Exhibit, Exhibit.id.in_(exhibits)))
    report.add(
        "submissions", _delete(session, Submission, Submission.case_id == case.id)
    )
    report.add(
        "series_cases", _delete(session, SeriesCase, SeriesCase.case_id == case.id)
    )
    for chunk in in_chunks(only_here):
        report.blobs_to_delete.extend(
            session.scalars(select(Media.sha256).where(Media.id.in_(chunk)))
        )
        for model, column in (
            (PictureHash, PictureHash.media_id),
            (VideoFrame, VideoFrame.media_id),
            (CategoryEvent, CategoryEvent.media_id),
            (SeriesMedia, SeriesMedia.media_id),
            (PersonLink, PersonLink.media_id),
            (IngestError, IngestError.media_id),
            (Media, Media.id),
        ):
            report.add(model.__tablename__, _delete(session, model, column.in_(chunk)))
    session.delete(case)
    report.add("cases", 1)
    log.info(
        "%s erased case %s: %d media only in it", caller.name, reference, len(only_here)
    )
    return report


def delete_blobs(store: BlobStore, sha256s: Iterable[str]) -> int:
    """Delete the blobs of erased media; call it after the erasure commits."""
    count = 0
    for sha256 in sha256s:
        store.delete_original(sha256)
        count += 1
    return count


def orphan_blobs(session: Session, store: BlobStore) -> list[str]:
    """Return stored originals that no media row names (left by a crash)."""
    stored = list(store.iter_originals())
    known: set[str] = set()
    for chunk in in_chunks(stored):
        known.update(
            session.scalars(select(Media.sha256).where(Media.sha256.in_(chunk)))
        )
    return [sha256 for sha256 in stored if sha256 not in known]


def count_rows(session: Session, model: type[object]) -> int:
    """Return the number of rows of a table, for erasure checks."""
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _delete(session: Session, model: type[object], condition: object) -> int:
    result = session.execute(delete(model).where(condition))  # type: ignore[arg-type]
    return int(getattr(result, "rowcount", 0) or 0)
