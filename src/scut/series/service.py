"""Series: media produced together, with the same victims.

A media belongs to one series at most. Merging moves every media, person
link, case link and clue note of the merged series into the kept one and
leaves the merged series as a record pointing at it. Splitting moves the
chosen media into a new series and copies the person and case links, since
the same victims and offenders appear on both sides. Every change is kept
as a ``SeriesEvent``.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from scut.db.models import (
    Case,
    Person,
    PersonLink,
    Series,
    SeriesCase,
    SeriesEvent,
    SeriesMedia,
    SeriesNote,
)
from scut.errors import ScutError
from scut.security.access import Target, argument, operation, result_id
from scut.security.caller import Caller

log = logging.getLogger(__name__)

NOTE_KINDS = ("object", "place", "language", "other")
MAX_NAME = 200
# The largest series number: ids are PostgreSQL integers, so a larger
# number names no series (and would fail in the database).
MAX_ID = 2**31 - 1


class SeriesError(ScutError):
    """Raised for a series operation that the records do not allow."""


class SeriesNotFound(SeriesError):
    """Raised when no series has the name or number asked for."""


@dataclass(slots=True)
class SeriesSummary:
    """A series as lists and the verification result show it."""

    series_id: int
    name: str
    media: int
    victim_identified: bool
    offender_identified: bool
    merged_into: str | None = None
    cases: list[str] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)


def find_series(session: Session, reference: str) -> Series:
    """Return the series named or numbered ``reference``, or raise SeriesNotFound."""
    text = unicodedata.normalize("NFC", " ".join(reference.split()))
    found = session.scalar(select(Series).where(Series.name == text))
    if found is None and _is_number(text):
        found = session.get(Series, int(text))
    if found is None:
        raise SeriesNotFound(f"no series named or numbered {text[:80]!r}")
    return found


def _is_number(text: str) -> bool:
    """Return whether ``text`` is a series number: ASCII digits up to MAX_ID.

    str.isdigit() also accepts digits that int() rejects, such as "²".
    """
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID


def live_series(session: Session, reference: str) -> Series:
    """Return the series, or raise SeriesError when it was merged away."""
    series = find_series(session, reference)
    if series.merged_into_id is not None:
        target = session.get_one(Series, series.merged_into_id)
        raise SeriesError(
            f"series {series.name!r} was merged into {target.name!r}; use that one"
        )
    return series


@operation("series.create", after=result_id("series"))
def create_series(session: Session, name: str, *, caller: Caller) -> Series:
    """Create an empty series with a unique name."""
    cleaned = _name(name)
    if session.scalar(select(Series.id).where(Series.name == cleaned)) is not None:
        raise SeriesError(f"a series named {cleaned!r} already exists")
    series = Series(name=cleaned, created_by=caller.name)
    session.add(series)
    session.flush()
    _event(session, series.id, "created", {"name": cleaned}, caller.name)
    log.info("%s created series %d %r", caller.name, series.id, cleaned)
    return series


@operation("series.change", before=argument("series"))
def rename_series(
    session: Session, reference: str, new_name: str, *, caller: Caller
) -> Series:
    """Rename a series; the old name stays in its history."""
    series = live_series(session, reference)
    cleaned = _name(new_name)
    if cleaned == series.name:
        return series
    if session.scalar(select(Series.id).where(Series.name == cleaned)) is not None:
        raise SeriesError(f"a series named {cleaned!r} already exists")
    old = series.name
    series.name = cleaned
    _event(session, series.id, "renamed", {"from": old, "to": cleaned}, caller.name)
    return series


@operation("series.change", before=argument("series"))
def add_media(
    session: Session,
    reference: str,
    media_ids: Sequence[int],
    *,
    caller: Caller,
    move: bool = False,
) -> int:
    """Add media to a series and return how many were added.

    A media already in another series is rejected unless ``move`` is set,
    so that no analyst takes a media out of a colleague's series unknowingly.
    """
    series = live_series(session, reference)
    current = _series_of(session, media_ids)
    elsewhere = {
        media_id: series_id
        for media_id, series_id in current.items()
        if series_id != series.id
    }
    if elsewhere and not move:
        names = _names(session, set(elsewhere.values()))
        first = next(iter(elsewhere))
        raise SeriesError(
            f"media {first} is already in series {names[elsewhere[first]]!r} "
            f"({len(elsewhere)} media in other series); move them explicitly"
        )
    added = 0
    for media_id in media_ids:
        if current.get(media_id) == series.id:
            continue
        if media_id in elsewhere:
            old = elsewhere[media_id]
            session.execute(
                update(SeriesMedia)
                .where(SeriesMedia.media_id == media_id)
                .values(series_id=series.id, added_by=caller.name)
            )
            _event(
                session,
                old,
                "media-moved-out",
                {"media": [media_id], "to": series.id},
                caller.name,
            )
        else:
            session.add(
                SeriesMedia(
                    media_id=media_id, series_id=series.id, added_by=caller.name
                )
            )
        added += 1
    if added:
        _event(
            session, series.id, "media-added", {"media": list(media_ids)}, caller.name
        )
    session.flush()
    return added


@operation("series.change", before=argument("series"))
def remove_media(
    session: Session, reference: str, media_ids: Sequence[int], *, caller: Caller
) -> int:
    """Take media out of a series and return how many were in it."""
    series = live_series(session, reference)
    result = session.execute(
        delete(SeriesMedia).where(
            SeriesMedia.series_id == series.id, SeriesMedia.media_id.in_(media_ids)
        )
    )
    removed = int(getattr(result, "rowcount", 0) or 0)
    if removed:
        _event(
            session, series.id, "media-removed", {"media": list(media_ids)}, caller.name
        )
    return removed


@operation("series.change", before=argument("series"))
def set_status(
    session: Session,
    reference: str,
    *,
    caller: Caller,
    victim_identified: bool | None = None,
    offender_identified: bool | None = None,
) -> Series:
    """Set whether the series' victims and offenders are identified."""
    series = live_series(session, reference)
    changed: dict[str, Any] = {}
    if victim_identified is not None and victim_identified != series.victim_identified:
        changed["victim_identified"] = [series.victim_identified, victim_identified]
        series.victim_identified = victim_identified
    if (
        offender_identified is not None
        and offender_identified != series.offender_identified
    ):
        changed["offender_identified"] = [
            series.offender_identified,
            offender_identified,
        ]
        series.offender_identified = offender_identified
    if changed:
        _event(session, series.id, "status", changed, caller.name)
    return series


@operation("series.change", before=argument("series"))
def add_note(
    session: Session, reference: str, kind: str, text: str, *, caller: Caller
) -> SeriesNote:
    """Record a clue seen in a series: an object, a place, a language or other."""
    if kind not in NOTE_KINDS:
        raise SeriesError(
            f"unknown note kind {kind!r}; use one of {', '.join(NOTE_KINDS)}"
        )
    cleaned = text.strip()
    if not cleaned:
        raise SeriesError("a note must not be empty")
    series = live_series(session, reference)
    note = SeriesNote(series_id=series.id, kind=kind, text=cleaned, author=caller.name)
    session.add(note)
    session.flush()
    return note


@operation("series.change", before=argument("series"))
def link_case(
    session: Session, reference: str, case_reference: str, *, caller: Caller
) -> None:
    """Link a series to one of the centre's cases."""
    series = live_series(session, reference)
    case = session.scalar(select(Case).where(Case.reference == case_reference.strip()))
    if case is None:
        raise SeriesError(f"no case with reference {case_reference[:80]!r}")
    exists = session.get(SeriesCase, (series.id, case.id))
    if exists is None:
        session.add(SeriesCase(series_id=series.id, case_id=case.id))
        _event(session, series.id, "case-linked", {"case": case.reference}, caller.name)
        session.flush()


def _both(session: Session, keep: str, merged: str, **_: Any) -> Target:
    return Target("series", [keep, merged])


@operation("series.merge", before=_both)
def merge_series(
    session: Session, keep_reference: str, merged_reference: str, *, caller: Caller
) -> Series:
    """Merge one series into another, moving every media, link and note."""
    keep = live_series(session, keep_reference)
    merged = live_series(session, merged_reference)
    if keep.id == merged.id:
        raise SeriesError("a series cannot be merged into itself")
    media = list(
        session.scalars(
            select(SeriesMedia.media_id).where(SeriesMedia.series_id == merged.id)
        )
    )
    session.execute(
        update(SeriesMedia)
        .where(SeriesMedia.series_id == merged.id)
        .values(series_id=keep.id)
    )
    _move_person_links(session, merged.id, keep.id)
    for case_id in session.scalars(
        select(SeriesCase.case_id).where(SeriesCase.series_id == merged.id)
    ).all():
        if session.get(SeriesCase, (keep.id, case_id)) is None:
            session.add(SeriesCase(series_id=keep.id, case_id=case_id))
    session.execute(delete(SeriesCase).where(SeriesCase.series_id == merged.id))
    session.execute(
        update(SeriesNote)
        .where(SeriesNote.series_id == merged.id)
        .values(series_id=keep.id)
    )
    keep.victim_identified = keep.victim_identified or merged.victim_identified
    keep.offender_identified = keep.offender_identified or merged.offender_identified
    merged.merged_into_id = keep.id
    _event(
        session,
        keep.id,
        "merged",
        {"from": merged.name, "from_id": merged.id, "media": media},
        caller.name,
    )
    _event(
        session,
        merged.id,
        "merged-into",
        {"into": keep.name, "into_id": keep.id},
        caller.name,
    )
    session.flush()
    log.info(
        "%s merged series %d into %d (%d media)",
        caller.name,
        merged.id,
        keep.id,
        len(media),
    )
    return keep


@operation("series.split", before=argument("series"))
def split_series(
    session: Session,
    reference: str,
    media_ids: Sequence[int],
    new_name: str,
    *,
    caller: Caller,
) -> Series:
    """Move some media of a series into a new series that keeps its links."""
    source = live_series(session, reference)
    if not media_ids:
        raise SeriesError("name the media to split off")
    members = _series_of(session, media_ids)
    outside = [media_id for media_id in media_ids if members.get(media_id) != source.id]
    if outside:
        raise SeriesError(
            f"media {outside[0]} is not in series {source.name!r}; "
            "only its own media can be split off"
        )
    total = session.scalar(
        select(func.count())
        .select_from(SeriesMedia)
        .where(SeriesMedia.series_id == source.id)
    )
    if total == len(set(media_ids)):
        raise SeriesError(
            "splitting off every media would leave the series empty; rename it instead"
        )
    created = create_series(session, new_name, caller=caller)
    created.victim_identified = source.victim_identified
    created.offender_identified = source.offender_identified
    session.execute(
        update(SeriesMedia)
        .where(SeriesMedia.media_id.in_(media_ids))
        .values(series_id=created.id)
    )
    for link in session.scalars(
        select(PersonLink).where(PersonLink.series_id == source.id)
    ).all():
        session.add(
            PersonLink(
                person_id=link.person_id,
                series_id=created.id,
                role=link.role,
                created_by=caller.name,
            )
        )
    for case_id in session.scalars(
        select(SeriesCase.case_id).where(SeriesCase.series_id == source.id)
    ).all():
        session.add(SeriesCase(series_id=created.id, case_id=case_id))
    _event(
        session,
        source.id,
        "split",
        {"into": created.name, "media": list(media_ids)},
        caller.name,
    )
    _event(
        session,
        created.id,
        "split-from",
        {"from": source.name, "media": list(media_ids)},
        caller.name,
    )
    session.flush()
    return created


def summarise(session: Session, series: Series) -> SeriesSummary:
    """Describe a series: media count, status, cases, notes and linked persons."""
    count = session.scalar(
        select(func.count())
        .select_from(SeriesMedia)
        .where(SeriesMedia.series_id == series.id)
    )
    merged_into = (
        session.get_one(Series, series.merged_into_id).name
        if series.merged_into_id is not None
        else None
    )
    cases = list(
        session.scalars(
            select(Case.reference)
            .join(SeriesCase, SeriesCase.case_id == Case.id)
            .where(SeriesCase.series_id == series.id)
            .order_by(Case.reference)
        )
    )
    notes = [
        {"kind": note.kind, "text": note.text, "author": note.author}
        for note in session.scalars(
            select(SeriesNote)
            .where(SeriesNote.series_id == series.id)
            .order_by(SeriesNote.id)
        )
    ]
    persons = [
        {
            "person": person.id,
            "role": role,
            "name": f"{person.last_name} {person.first_name}",
            "identification": person.identification,
        }
        for person, role in session.execute(
            select(Person, PersonLink.role)
            .join(PersonLink, PersonLink.person_id == Person.id)
            .where(PersonLink.series_id == series.id)
            .order_by(PersonLink.role, Person.id)
        )
    ]
    return SeriesSummary(
        series_id=series.id,
        name=series.name,
        media=int(count or 0),
        victim_identified=series.victim_identified,
        offender_identified=series.offender_identified,
        merged_into=merged_into,
        cases=cases,
        notes=notes,
        persons=persons,
    )


@operation("series.list")
def list_series(
    session: Session, *, caller: Caller, include_merged: bool = False
) -> list[SeriesSummary]:
    """Return every series, merged ones only when asked."""
    query = select(Series).order_by(Series.name)
    if not include_merged:
        query = query.where(Series.merged_into_id.is_(None))
    return [summarise(session, series) for series in session.scalars(query).all()]


@operation("series.read", before=argument("series"))
def describe_series(
    session: Session, reference: str, *, caller: Caller
) -> dict[str, Any]:
    """Return a series with its media numbers and history, for reading."""
    found = find_series(session, reference)
    data = asdict(summarise(session, found))
    data["media_ids"] = series_media(session, reference)
    data["history"] = series_history(session, reference)
    return data


def series_history(session: Session, reference: str) -> list[dict[str, Any]]:
    """Return the events of a series, oldest first."""
    series = find_series(session, reference)
    return [
        {
            "at": event.created_at.isoformat(timespec="seconds"),
            "action": event.action,
            "actor": event.actor,
            "detail": event.detail,
        }
        for event in session.scalars(
            select(SeriesEvent)
            .where(SeriesEvent.series_id == series.id)
            .order_by(SeriesEvent.id)
        )
    ]


def series_media(session: Session, reference: str) -> list[int]:
    """Return the ids of a series' media."""
    series = find_series(session, reference)
    return list(
        session.scalars(
            select(SeriesMedia.media_id)
            .where(SeriesMedia.series_id == series.id)
            .order_by(SeriesMedia.media_id)
        )
    )


def _move_person_links(session: Session, from_id: int, to_id: int) -> None:
    existing = {
        (link.person_id, link.role)
        for link in session.scalars(
            select(PersonLink).where(PersonLink.series_id == to_id)
        )
    }
    for link in session.scalars(
        select(PersonLink).where(PersonLink.series_id == from_id)
    ).all():
        if (link.person_id, link.role) in existing:
            session.delete(link)
        else:
            link.series_id = to_id


def _series_of(session: Session, media_ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    ids = list(media_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            session.execute(
                select(SeriesMedia.media_id, SeriesMedia.series_id).where(
                    SeriesMedia.media_id.in_(chunk)
                )
            ).all()
        )
    return found


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(
        session.execute(select(Series.id, Series.name).where(Series.id.in_(ids))).all()
    )


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise SeriesError("a series name must not be empty")
    if len(cleaned) > MAX_NAME:
        raise SeriesError(f"a series name may have at most {MAX_NAME} characters")
    if not cleaned.isprintable():
        raise SeriesError("a series name must not contain control characters")
    if cleaned.isdigit():
        raise SeriesError(
            f"a series name must not be only digits ({cleaned!r}): series are "
            "also found by their number"
        )
    return unicodedata.normalize("NFC", cleaned)


def _event(
    session: Session, series_id: int, action: str, detail: dict[str, Any], actor: str
) -> None:
    session.add(
        SeriesEvent(series_id=series_id, action=action, detail=detail, actor=actor)
    )
