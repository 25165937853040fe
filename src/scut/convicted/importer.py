"""Import of convicted-offender lists and their linkage to recorded persons.

Each valid row becomes a ``Conviction`` keyed by its registry and record
key (``record_key``). Importing the same file again changes nothing; a row
whose values changed updates its conviction and keeps the old values in
``conviction_changes``. A new conviction is linked to a person:

1. a valid IDNP recorded for a person links outright;
2. otherwise Splink scores it against every recorded spelling of every
   person (``scut.persons.linkage``): a sure pair links, an uncertain one
   waits in the review queue (``link_reviews``), and a row that matches
   nobody becomes a new person of category "convicted".

A linked person takes the category "convicted", the row's address, and
its spelling of the name when it differs. The whole file is one
transaction: a failure stores nothing, and rejected rows are reported with
their row number, field and reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scut.convicted.reader import ConvictedRow, RejectedRow, read_convicted
from scut.db.models import (
    ConvictedImport,
    Conviction,
    ConvictionChange,
    LinkReview,
    Person,
    PersonAddress,
    PersonName,
)
from scut.errors import ScutError
from scut.persons import names
from scut.persons import service as persons
from scut.persons.dates import PartialDate, parse_partial_date
from scut.persons.linkage import LinkRecord, decide, score_pairs

log = logging.getLogger(__name__)

# Rejected rows kept in the stored report; the count covers every one.
MAX_STORED_REJECTIONS = 10_000
# Fields compared between imports, in the order changes are reported.
TRACKED = (
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
)
CONVICTED = "convicted"


class ReviewError(ScutError):
    """Raised for a review decision that the queue does not allow."""


@dataclass(slots=True)
class ImportReport:
    """What an import did, by row outcome."""

    import_id: int
    file: str
    format: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    linked_idnp: int = 0
    linked_probable: int = 0
    review: int = 0
    new_persons: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_count: int = 0

    def counts(self) -> dict[str, int]:
        """Return the outcome counts as plain data."""
        return {
            "rows": self.rows,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "linked_idnp": self.linked_idnp,
            "linked_probable": self.linked_probable,
            "review": self.review,
            "new_persons": self.new_persons,
            "rejected": self.rejected_count,
        }


def record_key(row: ConvictedRow) -> str:
    """Return the key that finds a row's conviction again in a later list.

    The registry's own record id when the file has one; else the IDNP, or
    the folded names and birth date, with the article and sentence date.
    A changed key makes a new conviction, so lists without record ids
    should keep names and dates stable.
    """
    if row.record_id:
        return f"id:{row.record_id.strip()}"[:400]
    who = (
        f"idnp:{row.idnp}"
        if row.idnp
        else "name:"
        + "|".join(
            (
                names.search_key(row.last_name),
                names.search_key(row.first_name),
                str(row.birth_date or ""),
            )
        )
    )
    article = " ".join(row.article.lower().split())
    return f"{who}|{article}|{row.sentence_date or ''}"[:400]


def import_convicted(
    session: Session,
    path: Path,
    *,
    actor: str,
    registry: str | None = None,
    accept: float = 0.95,
    review: float = 0.5,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a CSV or XLSX list of convicted offenders; the caller commits."""
    source = read_convicted(path, registry=registry)
    digest = _sha256(path)
    batch = ConvictedImport(
        file_name=str(path.name)[:500],
        file_sha256=digest,
        format=source.format,
        actor=actor,
    )
    session.add(batch)
    session.flush()
    report = ImportReport(import_id=batch.id, file=str(path), format=source.format)
    seen: dict[tuple[str, str], int] = {}
    pending: list[tuple[ConvictedRow, Conviction]] = []
    for item in source.rows:
        report.rows += 1
        if progress is not None:
            progress(1)
        if isinstance(item, RejectedRow):
            _reject(report, item.row_number, item.field, item.value, item.reason)
            continue
        key = (item.registry, record_key(item))
        if key in seen:
            _reject(
                report,
                item.row_number,
                None,
                None,
                f"the same conviction as row {seen[key]} (same record key)",
            )
            continue
        seen[key] = item.row_number
        conviction = _store(session, batch, item, key, report)
        if conviction is not None:
            pending.append((item, conviction))
    session.flush()
    _link(session, batch, pending, report, actor, accept, review)
    batch.finished_at = dt.datetime.now(dt.UTC)
    batch.counts = report.counts()
    batch.rejected = {"rows": report.rejected}
    session.flush()
    log.info("convicted import %d of %s: %s", batch.id, path, report.counts())
    return report


def _store(
    session: Session,
    batch: ConvictedImport,
    row: ConvictedRow,
    key: tuple[str, str],
    report: ImportReport,
) -> Conviction | None:
    """Insert or update the row's conviction; return it when it needs linking."""
    values = _values(row)
    fingerprint = hashlib.sha256(
        json.dumps(values, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    existing = session.scalar(
        select(Conviction).where(
            Conviction.source_registry == key[0], Conviction.record_key == key[1]
        )
    )
    if existing is None:
        conviction = Conviction(
            source_registry=key[0],
            record_key=key[1],
            link="review",
            fingerprint=fingerprint,
            first_import_id=batch.id,
            last_import_id=batch.id,
            **_columns(row),
        )
        session.add(conviction)
        report.new += 1
        return conviction
    if existing.fingerprint == fingerprint:
        report.unchanged += 1
        return None
    old = _stored_values(existing)
    changes = {
        name: [old.get(name), values.get(name)]
        for name in TRACKED
        if old.get(name) != values.get(name)
    }
    for name, value in _columns(row).items():
        setattr(existing, name, value)
    existing.fingerprint = fingerprint
    existing.last_import_id = batch.id
    existing.updated_at = dt.datetime.now(dt.UTC)
    session.add(
        ConvictionChange(conviction_id=existing.id, import_id=batch.id, changes=changes)
    )
    report.updated += 1
    if existing.person_id is not None and "address" in changes and row.address:
        _add_address(session, existing.person_id, row, batch.actor)
    return None


def _link(
    session: Session,
    batch: ConvictedImport,
    pending: list[tuple[ConvictedRow, Conviction]],
    report: ImportReport,
    actor: str,
    accept: float,
    review: float,
) -> None:
    remaining: list[tuple[ConvictedRow, Conviction]] = []
    for row, conviction in pending:
        person = (
            session.scalar(select(Person).where(Person.idnp == row.idnp))
            if row.idnp
            else None
        )
        if person is not None:
            _attach(session, conviction, person, row, "idnp", 1.0, actor)
            report.linked_idnp += 1
        else:
            remaining.append((row, conviction))
    if not remaining:
        return
    incoming = [
        _incoming_record(index, row) for index, (row, _) in enumerate(remaining)
    ]
    existing, owners, idnps = _existing_records(session)
    candidates = [
        candidate
        for candidate in score_pairs(incoming, existing)
        if _compatible(
            remaining[int(candidate.incoming_id)][0], idnps, owners, candidate
        )
    ]
    # One candidate per person: the best of its spellings.
    best: dict[tuple[str, int], Any] = {}
    for candidate in candidates:
        person_id = owners[candidate.existing_id]
        pair = (candidate.incoming_id, person_id)
        if pair not in best or candidate.probability > best[pair].probability:
            best[pair] = candidate
    by_person = [
        type(candidate)(
            incoming_id=candidate.incoming_id,
            existing_id=str(person_id),
            probability=candidate.probability,
            match_weight=candidate.match_weight,
            levels=candidate.levels,
        )
        for (_, person_id), candidate in best.items()
    ]
    for decision in decide(incoming, by_person, accept=accept, review=review):
        row, conviction = remaining[int(decision.incoming_id)]
        if decision.outcome == "linked" and decision.existing_id is not None:
            person = session.get_one(Person, int(decision.existing_id))
            probability = decision.candidates[0].probability
            _attach(session, conviction, person, row, "probable", probability, actor)
            report.linked_probable += 1
        elif decision.outcome == "review":
            conviction.link = "review"
            for candidate in decision.candidates:
                session.add(
                    LinkReview(
                        conviction_id=conviction.id,
                        person_id=int(candidate.existing_id),
                        probability=candidate.probability,
                        levels=dict(candidate.levels),
                        import_id=batch.id,
                    )
                )
            conviction.link_probability = decision.candidates[0].probability
            report.review += 1
        else:
            person = _new_person(session, row, actor)
            _attach(session, conviction, person, row, "new-person", None, actor)
            report.new_persons += 1


def _compatible(
    row: ConvictedRow,
    idnps: Mapping[int, str | None],
    owners: Mapping[str, int],
    candidate: Any,
) -> bool:
    """Return False for a pair whose two different valid IDNPs tell them apart."""
    recorded = idnps.get(owners[candidate.existing_id])
    return not (row.idnp and recorded and recorded != row.idnp)


def _incoming_record(index: int, row: ConvictedRow) -> LinkRecord:
    last = names.search_key(row.last_name)
    first = names.search_key(row.first_name)
    return LinkRecord(
        record_id=str(index),
        last_name=last,
        last_name_loose=names.loose_key(row.last_name),
        first_name=first,
        first_name_group=names.given_name_group(first),
        patronymic=names.search_key(row.patronymic) if row.patronymic else None,
        birth_date=row.birth_date,
        birth_place=names.search_key(row.birth_place) if row.birth_place else None,
    )


def _existing_records(
    session: Session,
) -> tuple[list[LinkRecord], dict[str, int], dict[int, str | None]]:
    """Return a link record per recorded spelling, its owner, and persons' IDNPs."""
    records: list[LinkRecord] = []
    owners: dict[str, int] = {}
    idnps: dict[int, str | None] = {}
    rows = session.execute(
        select(
            PersonName,
            Person.birth_year,
            Person.birth_month,
            Person.birth_day,
            Person.birth_place_key,
            Person.idnp,
        ).join(Person, Person.id == PersonName.person_id)
    )
    for name, year, month, day, place, idnp in rows:
        record_id = f"n{name.id}"
        owners[record_id] = name.person_id
        idnps[name.person_id] = idnp
        records.append(
            LinkRecord(
                record_id=record_id,
                last_name=name.last_key,
                last_name_loose=name.last_loose,
                first_name=name.first_key,
                first_name_group=name.first_group,
                patronymic=name.patronymic_key,
                birth_date=PartialDate(year, month, day) if year else None,
                birth_place=place,
            )
        )
    return records, owners, idnps


def _attach(
    session: Session,
    conviction: Conviction,
    person: Person,
    row: ConvictedRow,
    how: str,
    probability: float | None,
    actor: str,
) -> None:
    """Link a conviction to a person and bring the row's facts to the person."""
    conviction.person_id = person.id
    conviction.link = how
    conviction.link_probability = probability
    persons.add_categories(session, person.id, [CONVICTED], actor=actor)
    if row.idnp and person.idnp is None:
        holder = session.scalar(select(Person.id).where(Person.idnp == row.idnp))
        if holder is None:
            persons.update_person(session, person.id, {"idnp": row.idnp}, actor=actor)
    if person.birth_year is None and row.birth_date is not None:
        persons.update_person(
            session, person.id, {"birth_date": row.birth_date}, actor=actor
        )
    last = names.search_key(row.last_name)
    first = names.search_key(row.first_name)
    patronymic = names.search_key(row.patronymic) if row.patronymic else None
    # A row without a patronymic spells a recorded name that has one.
    already_known = any(
        name.last_key == last
        and name.first_key == first
        and (patronymic is None or patronymic == name.patronymic_key)
        for name in session.scalars(
            select(PersonName).where(PersonName.person_id == person.id)
        )
    )
    if not already_known:
        persons.add_name(
            session,
            person.id,
            row.last_name,
            row.first_name,
            row.patronymic,
            kind="spelling",
            actor=actor,
        )
    if row.address:
        _add_address(session, person.id, row, actor)


def _add_address(
    session: Session, person_id: int, row: ConvictedRow, actor: str
) -> None:
    text = " ".join((row.address or "").split())
    known = set(
        session.scalars(
            select(PersonAddress.address).where(PersonAddress.person_id == person_id)
        )
    )
    if text and text not in known:
        persons.add_address(
            session,
            person_id,
            text,
            actor=actor,
            kind="last-known",
            source=f"registry {row.registry}",
        )


def _new_person(session: Session, row: ConvictedRow, actor: str) -> Person:
    return persons.create_person(
        session,
        persons.PersonInput(
            last_name=row.last_name,
            first_name=row.first_name,
            patronymic=row.patronymic,
            categories=[CONVICTED],
            birth_date=row.birth_date,
            birth_place=row.birth_place,
            idnp=row.idnp,
        ),
        actor=actor,
    )


def open_reviews(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Return the open review items with both sides, best first per conviction."""
    rows = session.execute(
        select(LinkReview, Conviction, Person)
        .join(Conviction, Conviction.id == LinkReview.conviction_id)
        .join(Person, Person.id == LinkReview.person_id)
        .where(LinkReview.status == "open")
        .order_by(LinkReview.conviction_id, LinkReview.probability.desc())
        .limit(limit)
    )
    return [
        {
            "review": item.id,
            "conviction": conviction.id,
            "probability": round(item.probability, 4),
            "row": {
                "name": " ".join(
                    part
                    for part in (
                        conviction.last_name,
                        conviction.first_name,
                        conviction.patronymic,
                    )
                    if part
                ),
                "birth_date": conviction.birth_date,
                "birth_place": conviction.birth_place,
                "registry": conviction.source_registry,
            },
            "person": {
                "id": person.id,
                "name": " ".join(
                    part
                    for part in (person.last_name, person.first_name, person.patronymic)
                    if part
                ),
                "birth_date": persons.birth_text(person),
                "birth_place": person.birth_place,
            },
            "levels": item.levels,
        }
        for item, conviction, person in rows
    ]


def decide_review(
    session: Session, review_id: int, *, accept: bool, actor: str
) -> Conviction:
    """Accept or reject one review item.

    Accepting links the conviction to that person and closes its other
    items. Rejecting the last open item of a conviction gives the
    conviction a new person.
    """
    item = session.get(LinkReview, review_id)
    if item is None:
        raise ReviewError(f"no review item number {review_id}")
    if item.status != "open":
        raise ReviewError(f"review item {review_id} is already {item.status}")
    conviction = session.get_one(Conviction, item.conviction_id)
    now = dt.datetime.now(dt.UTC)
    item.status = "accepted" if accept else "rejected"
    item.decided_by = actor
    item.decided_at = now
    row = _row_of(conviction)
    if accept:
        for other in session.scalars(
            select(LinkReview).where(
                LinkReview.conviction_id == conviction.id,
                LinkReview.status == "open",
                LinkReview.id != item.id,
            )
        ):
            other.status = "rejected"
            other.decided_by = actor
            other.decided_at = now
        person = session.get_one(Person, item.person_id)
        _attach(session, conviction, person, row, "analyst", item.probability, actor)
    else:
        session.flush()
        still_open = session.scalar(
            select(LinkReview.id).where(
                LinkReview.conviction_id == conviction.id, LinkReview.status == "open"
            )
        )
        if still_open is None:
            person = _new_person(session, row, actor)
            _attach(session, conviction, person, row, "new-person", None, actor)
    session.flush()
    return conviction


def import_history(session: Session, limit: int = 50) -> list[ConvictedImport]:
    """Return the latest imports, newest first."""
    return list(
        session.scalars(
            select(ConvictedImport).order_by(ConvictedImport.id.desc()).limit(limit)
        )
    )


def _row_of(conviction: Conviction) -> ConvictedRow:
    birth = parse_partial_date(conviction.birth_date) if conviction.birth_date else None
    return ConvictedRow(
        row_number=0,
        record_id=conviction.record_id,
        idnp=conviction.idnp,
        last_name=conviction.last_name,
        first_name=conviction.first_name,
        patronymic=conviction.patronymic,
        birth_date=birth,
        birth_place=conviction.birth_place,
        address=conviction.address,
        article=conviction.article,
        court=conviction.court,
        sentence_date=conviction.sentence_date,
        release_date=conviction.release_date,
        registry=conviction.source_registry,
        values={},
    )


def _columns(row: ConvictedRow) -> dict[str, Any]:
    return {
        "record_id": row.record_id,
        "idnp": row.idnp,
        "last_name": names.normalise_name(row.last_name)[:200],
        "first_name": names.normalise_name(row.first_name)[:200],
        "patronymic": names.normalise_name(row.patronymic)[:200]
        if row.patronymic
        else None,
        "birth_date": str(row.birth_date) if row.birth_date else None,
        "birth_place": row.birth_place,
        "address": row.address,
        "article": row.article[:200],
        "court": row.court,
        "sentence_date": row.sentence_date,
        "release_date": row.release_date,
    }


def _values(row: ConvictedRow) -> dict[str, str | None]:
    return {
        name: (str(value) if value is not None else None)
        for name, value in _columns(row).items()
    }


def _stored_values(conviction: Conviction) -> dict[str, str | None]:
    return {
        name: (
            str(getattr(conviction, name))
            if getattr(conviction, name) is not None
            else None
        )
        for name in TRACKED
    }


def _reject(
    report: ImportReport,
    row_number: int,
    field_name: str | None,
    value: str | None,
    reason: str,
) -> None:
    report.rejected_count += 1
    if len(report.rejected) < MAX_STORED_REJECTIONS:
        report.rejected.append(
            {"row": row_number, "field": field_name, "value": value, "reason": reason}
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
