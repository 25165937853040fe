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

Rows of one file that match no recorded person share one new person when
they carry the same IDNP, or the same names and full birth date. A linked
person takes the category "convicted", the row's address, and its spelling
of the name when it differs. The whole file is one transaction: a failure
stores nothing. Rejected rows, including those with a value longer than
its column or a name without letters, are reported with their row number,
field and reason. The report and the review queue show IDNPs with their
last four digits only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scut.convicted.reader import (
    MAX_REJECTED_VALUE,
    ConvictedRow,
    RejectedRow,
    read_convicted,
)
from scut.db.chunks import in_chunks
from scut.db.models import (
    ConvictedImport,
    Conviction,
    ConvictionChange,
    LinkReview,
    Person,
    PersonAddress,
    PersonCategory,
    PersonName,
)
from scut.errors import ScutError
from scut.persons import names
from scut.persons import service as persons
from scut.persons.dates import PartialDate, parse_partial_date
from scut.persons.idnp import mask_idnp, mask_in_text
from scut.persons.linkage import (
    LINKED,
    REVIEW,
    LinkCandidate,
    LinkRecord,
    decide,
    score_pairs,
)
from scut.security.access import Target, argument, operation, unchecked
from scut.security.caller import Caller

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
# Maximum length of a record key, the size of its column.
MAX_RECORD_KEY = 400
# Rows whose stored convictions one query looks up.
STORE_CHUNK = 500
# Columns that also make a person's name or place of birth, which must
# contain a letter.
NAME_FIELDS = ("last_name", "first_name", "patronymic", "birth_place")


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
        return _fit_key(f"id:{row.record_id.strip()}")
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
    return _fit_key(f"{who}|{article}|{row.sentence_date or ''}")


def _fit_key(key: str) -> str:
    """Return the key, or for one too long to store, its start and SHA-256.

    Cutting a long key short would give two records the same key.
    """
    if len(key) <= MAX_RECORD_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_RECORD_KEY - len(digest) - 1]}#{digest}"


def _import_target(result: ImportReport, *_: Any, **__: Any) -> Target:
    return Target("convicted-import", [result.import_id], detail=result.counts())


@operation("convicted.import", after=_import_target)
def import_convicted(
    session: Session,
    path: Path,
    *,
    caller: Caller,
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
        actor=caller.name,
    )
    session.add(batch)
    session.flush()
    report = ImportReport(import_id=batch.id, file=str(path), format=source.format)

    known = _PersonCache()
    seen: dict[tuple[str, str], int] = {}
    chunk: list[tuple[ConvictedRow, tuple[str, str]]] = []
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
        problem = _unstorable(item)
        if problem is not None:
            _reject(report, item.row_number, *problem)
            continue
        chunk.append((item, key))
        if len(chunk) == STORE_CHUNK:
            pending += _store(session, batch, chunk, report, known, caller)
            chunk = []
    pending += _store(session, batch, chunk, report, known, caller)
    session.flush()

    reviews = _link(session, batch, pending, report, known, accept, review, caller)
    _insert(session, batch, [conviction for _, conviction in pending], reviews)
    batch.finished_at = dt.datetime.now(dt.UTC)
    batch.counts = report.counts()
    batch.rejected = {"rows": report.rejected}
    session.flush()
    log.info("convicted import %d of %s: %s", batch.id, path, report.counts())
    return report


class _PersonCache:
    """Facts about the persons an import links, loaded in bulk.

    The importer checks a fact here before it asks the person service to
    record it, so a fact already recorded costs neither a query nor a
    write. The importer adds to the cache what it records.
    """

    def __init__(self) -> None:
        self.persons: dict[int, Person] = {}
        self.convicted: set[int] = set()
        self.names: dict[int, list[_NameKey]] = {}
        self.addresses: dict[int, set[str]] = {}
        self._holders: dict[str, Person | None] = {}

    def load_idnps(self, session: Session, idnps: Iterable[str]) -> None:
        """Look up the persons recorded with these IDNPs."""
        missing = sorted({idnp for idnp in idnps if idnp not in self._holders})
        for part in in_chunks(missing):
            self._holders.update(dict.fromkeys(part))
            for person in session.scalars(select(Person).where(Person.idnp.in_(part))):
                if person.idnp is not None:
                    self._holders[person.idnp] = person

    def holder(self, session: Session, idnp: str | None) -> Person | None:
        """Return the person recorded with this IDNP, or None."""
        if not idnp:
            return None
        if idnp not in self._holders:
            self.load_idnps(session, [idnp])
        return self._holders[idnp]

    def load(self, session: Session, person_ids: Iterable[int]) -> None:
        """Load the persons, with their categories, names and addresses."""
        # Each id is checked on its own: a set minus dict keys iterates
        # over every key.
        missing = sorted({i for i in person_ids if i not in self.persons})
        for part in in_chunks(missing):
            for person in session.scalars(select(Person).where(Person.id.in_(part))):
                self.persons[person.id] = person
                self.names[person.id] = []
                self.addresses[person.id] = set()
            self.convicted.update(
                session.scalars(
                    select(PersonCategory.person_id).where(
                        PersonCategory.person_id.in_(part),
                        PersonCategory.category == CONVICTED,
                    )
                )
            )
            for person_id, last, first, patronymic in session.execute(
                select(
                    PersonName.person_id,
                    PersonName.last_key,
                    PersonName.first_key,
                    PersonName.patronymic_key,
                ).where(PersonName.person_id.in_(part))
            ):
                self.names[person_id].append(_NameKey(last, first, patronymic))
            for person_id, address in session.execute(
                select(PersonAddress.person_id, PersonAddress.address).where(
                    PersonAddress.person_id.in_(part)
                )
            ):
                self.addresses[person_id].add(address)

    def person(self, session: Session, person_id: int) -> Person:
        if person_id not in self.persons:
            self.load(session, [person_id])
        return self.persons[person_id]

    def created(self, person: Person, row: ConvictedRow) -> None:
        """Record what a person created from ``row`` holds."""
        self.persons[person.id] = person
        self.convicted.add(person.id)
        self.names[person.id] = [_name_key(row)]
        self.addresses[person.id] = set()
        if person.idnp:
            self._holders[person.idnp] = person

    def gave_idnp(self, person: Person) -> None:
        if person.idnp:
            self._holders[person.idnp] = person


@dataclass(frozen=True, slots=True)
class _NameKey:
    """The search keys of one spelling of a person's name."""

    last: str
    first: str
    patronymic: str | None

    def spells(self, other: _NameKey) -> bool:
        """Return whether ``other`` is this spelling, or it without patronymic."""
        return (
            self.last == other.last
            and self.first == other.first
            and (other.patronymic is None or other.patronymic == self.patronymic)
        )


def _name_key(row: ConvictedRow) -> _NameKey:
    return _NameKey(
        names.search_key(row.last_name),
        names.search_key(row.first_name),
        names.search_key(row.patronymic) if row.patronymic else None,
    )


def _store(
    session: Session,
    batch: ConvictedImport,
    chunk: list[tuple[ConvictedRow, tuple[str, str]]],
    report: ImportReport,
    known: _PersonCache,
    caller: Caller,
) -> list[tuple[ConvictedRow, Conviction]]:
    """Update the rows' stored convictions; return new ones, not yet added."""
    existing = _stored_convictions(session, [key for _, key in chunk])
    created: list[tuple[ConvictedRow, Conviction]] = []
    moved: list[tuple[int, ConvictedRow]] = []
    for row, key in chunk:
        values = _values(row)
        fingerprint = hashlib.sha256(
            json.dumps(values, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        conviction = existing.get(key)
        if conviction is None:
            conviction = Conviction(
                source_registry=key[0],
                record_key=key[1],
                link="review",
                fingerprint=fingerprint,
                first_import_id=batch.id,
                last_import_id=batch.id,
                **_columns(row),
            )
            created.append((row, conviction))
            report.new += 1
        elif conviction.fingerprint == fingerprint:
            report.unchanged += 1
        else:
            changes = _update(session, batch, conviction, row, values, fingerprint)
            report.updated += 1
            if conviction.person_id is not None and "address" in changes:
                moved.append((conviction.person_id, row))
    known.load(session, [person_id for person_id, _ in moved])
    for person_id, row in moved:
        _add_address(session, known, person_id, row, caller)
    return created


def _stored_convictions(
    session: Session, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], Conviction]:
    """Return the stored convictions with these registry and record keys."""
    if not keys:
        return {}
    wanted = set(keys)
    query = select(Conviction).where(
        Conviction.record_key.in_(sorted({key for _, key in wanted}))
    )
    return {
        (conviction.source_registry, conviction.record_key): conviction
        for conviction in session.scalars(query)
        if (conviction.source_registry, conviction.record_key) in wanted
    }


def _update(
    session: Session,
    batch: ConvictedImport,
    conviction: Conviction,
    row: ConvictedRow,
    values: dict[str, str | None],
    fingerprint: str,
) -> dict[str, list[str | None]]:
    """Bring a conviction to the row's values; keep the old ones as a change."""
    old = _stored_values(conviction)
    changes = {
        name: [old.get(name), values.get(name)]
        for name in TRACKED
        if old.get(name) != values.get(name)
    }
    for name, value in _columns(row).items():
        setattr(conviction, name, value)
    conviction.fingerprint = fingerprint
    conviction.last_import_id = batch.id
    conviction.updated_at = dt.datetime.now(dt.UTC)
    session.add(
        ConvictionChange(
            conviction_id=conviction.id, import_id=batch.id, changes=changes
        )
    )
    return changes


def _link(
    session: Session,
    batch: ConvictedImport,
    pending: list[tuple[ConvictedRow, Conviction]],
    report: ImportReport,
    known: _PersonCache,
    accept: float,
    review: float,
    caller: Caller,
) -> list[tuple[Conviction, list[LinkCandidate]]]:
    """Link each new conviction by IDNP, else by Splink, else to a new person.

    Return the convictions left for review, with their candidates.
    """
    reviews: list[tuple[Conviction, list[LinkCandidate]]] = []
    known.load_idnps(session, [row.idnp for row, _ in pending if row.idnp])
    holders = [known.holder(session, row.idnp) for row, _ in pending]
    known.load(session, [holder.id for holder in holders if holder is not None])
    remaining: list[tuple[ConvictedRow, Conviction]] = []
    for (row, conviction), holder in zip(pending, holders, strict=True):
        if holder is None:
            remaining.append((row, conviction))
        elif _names_disagree(row, known.names[holder.id]):
            _mark_review(conviction, [_idnp_candidate(holder)], reviews)
            report.review += 1
        else:
            _attach(session, known, conviction, holder, row, "idnp", 1.0, caller)
            report.linked_idnp += 1
    if not remaining:
        return reviews

    incoming = [
        _incoming_record(index, row) for index, (row, _) in enumerate(remaining)
    ]
    candidates = _person_candidates(session, [row for row, _ in remaining], incoming)
    decisions = decide(incoming, candidates, accept=accept, review=review)
    known.load(
        session,
        [int(d.existing_id) for d in decisions if d.existing_id is not None],
    )
    created: dict[tuple[str, ...], Person] = {}
    for decision in decisions:
        row, conviction = remaining[int(decision.incoming_id)]
        # An earlier row of this file may have given the IDNP to a person.
        holder = known.holder(session, row.idnp)
        if holder is not None:
            known.load(session, [holder.id])
            if _names_disagree(row, known.names[holder.id]):
                _mark_review(conviction, [_idnp_candidate(holder)], reviews)
                report.review += 1
            else:
                _attach(session, known, conviction, holder, row, "idnp", 1.0, caller)
                report.linked_idnp += 1
        elif decision.outcome == LINKED and decision.existing_id is not None:
            person = known.person(session, int(decision.existing_id))
            if _idnps_differ(row.idnp, person.idnp):
                # An earlier row of this file gave the person another IDNP.
                _mark_review(conviction, decision.candidates, reviews)
                report.review += 1
                continue
            probability = decision.candidates[0].probability
            _attach(
                session, known, conviction, person, row, "probable", probability, caller
            )
            report.linked_probable += 1
        elif decision.outcome == REVIEW:
            _mark_review(conviction, decision.candidates, reviews)
            report.review += 1
        else:
            _link_new_person(session, known, conviction, row, report, caller, created)
    return reviews


def _person_candidates(
    session: Session, rows: list[ConvictedRow], incoming: list[LinkRecord]
) -> list[LinkCandidate]:
    """Score the rows against every recorded spelling; keep each person's best.

    A pair whose row and person carry two different IDNPs is dropped.
    """
    existing, owners, idnps = _existing_records(session)
    best: dict[tuple[str, int], LinkCandidate] = {}
    for candidate in score_pairs(incoming, existing):
        person_id = owners[candidate.existing_id]
        row = rows[int(candidate.incoming_id)]
        if _idnps_differ(row.idnp, idnps[person_id]):
            continue
        pair = (candidate.incoming_id, person_id)
        if pair not in best or candidate.probability > best[pair].probability:
            best[pair] = candidate
    return [
        dataclasses.replace(candidate, existing_id=str(person_id))
        for (_, person_id), candidate in best.items()
    ]


def _names_disagree(row: ConvictedRow, spellings: list[_NameKey]) -> bool:
    """Return whether neither name of the row is any recorded spelling's.

    An IDNP links a row outright only when its last name or its given name
    is one the person is recorded under (loosely: Rusu and Russu, Ion and
    Ivan). A row whose both names differ carries a number that more likely
    belongs to someone else (a typing slip that kept the check digit, a
    relative's number), so it goes to review. A changed last name with the
    same given name, as after a marriage, still links.
    """
    if not spellings:
        return False
    key = _name_key(row)
    last = names.loose_key(key.last)
    group = names.given_name_group(key.first)
    for spelling in spellings:
        if last and names.loose_key(spelling.last) == last:
            return False
        if group and names.given_name_group(spelling.first) == group:
            return False
    return True


def _idnp_candidate(holder: Person) -> LinkCandidate:
    """Return the review candidate of a person found by IDNP alone."""
    return LinkCandidate(
        incoming_id="0",
        existing_id=str(holder.id),
        probability=1.0,
        match_weight=0.0,
        levels={"idnp": "same number", "names": "both differ"},
    )


def _idnps_differ(first: str | None, second: str | None) -> bool:
    return first is not None and second is not None and first != second


def _mark_review(
    conviction: Conviction,
    candidates: list[LinkCandidate],
    reviews: list[tuple[Conviction, list[LinkCandidate]]],
) -> None:
    conviction.link = "review"
    conviction.link_probability = candidates[0].probability
    reviews.append((conviction, candidates))


def _insert(
    session: Session,
    batch: ConvictedImport,
    convictions: list[Conviction],
    reviews: list[tuple[Conviction, list[LinkCandidate]]],
) -> None:
    """Insert the linked new convictions, then queue the review candidates.

    Inserting the convictions once linked takes one batch of statements,
    where inserting them first would update each one after.
    """
    session.add_all(convictions)
    session.flush()
    for conviction, candidates in reviews:
        for candidate in candidates:
            session.add(
                LinkReview(
                    conviction_id=conviction.id,
                    person_id=int(candidate.existing_id),
                    probability=candidate.probability,
                    levels=dict(candidate.levels),
                    import_id=batch.id,
                )
            )
    session.flush()


def _link_new_person(
    session: Session,
    known: _PersonCache,
    conviction: Conviction,
    row: ConvictedRow,
    report: ImportReport,
    caller: Caller,
    created: dict[tuple[str, ...], Person],
) -> None:
    """Link a conviction that matched no recorded person to a new person.

    Rows of one file with the same names and full birth date share the
    person, as linkage would have linked them had the first been recorded.
    """
    key = _same_person_key(row)
    person = created.get(key) if key is not None else None
    if person is None or _idnps_differ(row.idnp, person.idnp):
        person = _new_person(session, known, row, caller)
        report.new_persons += 1
        if key is not None:
            created[key] = person
    _attach(session, known, conviction, person, row, "new-person", None, caller)


def _same_person_key(row: ConvictedRow) -> tuple[str, ...] | None:
    if row.birth_date is None or not row.birth_date.is_full:
        return None
    return (
        names.search_key(row.last_name),
        names.search_key(row.first_name),
        names.search_key(row.patronymic) if row.patronymic else "",
        str(row.birth_date),
    )


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
            PersonName.id,
            PersonName.person_id,
            PersonName.last_key,
            PersonName.last_loose,
            PersonName.first_key,
            PersonName.first_group,
            PersonName.patronymic_key,
            Person.birth_year,
            Person.birth_month,
            Person.birth_day,
            Person.birth_place_key,
            Person.idnp,
        ).join(Person, Person.id == PersonName.person_id)
    )
    for name_id, person_id, *keys, year, month, day, place, idnp in rows:
        last, last_loose, first, first_group, patronymic = keys
        record_id = f"n{name_id}"
        owners[record_id] = person_id
        idnps[person_id] = idnp
        records.append(
            LinkRecord(
                record_id=record_id,
                last_name=last,
                last_name_loose=last_loose,
                first_name=first,
                first_name_group=first_group,
                patronymic=patronymic,
                birth_date=PartialDate(year, month, day) if year else None,
                birth_place=place,
            )
        )
    return records, owners, idnps


def _attach(
    session: Session,
    known: _PersonCache,
    conviction: Conviction,
    person: Person,
    row: ConvictedRow,
    how: str,
    probability: float | None,
    caller: Caller,
) -> None:
    """Link a conviction to a person and bring the row's facts to the person."""
    known.load(session, [person.id])
    conviction.person_id = person.id
    conviction.link = how
    conviction.link_probability = probability
    if person.id not in known.convicted:
        unchecked(persons.add_categories)(
            session, person.id, [CONVICTED], caller=caller
        )
        known.convicted.add(person.id)
    changes: dict[str, Any] = {}
    if row.idnp and person.idnp is None and known.holder(session, row.idnp) is None:
        changes["idnp"] = row.idnp
    if person.birth_year is None and row.birth_date is not None:
        changes["birth_date"] = row.birth_date
    if changes:
        unchecked(persons.update_person)(session, person.id, changes, caller=caller)
        known.gave_idnp(person)
    spelling = _name_key(row)
    if not any(name.spells(spelling) for name in known.names[person.id]):
        unchecked(persons.add_name)(
            session,
            person.id,
            row.last_name,
            row.first_name,
            row.patronymic,
            kind="spelling",
            caller=caller,
        )
        known.names[person.id].append(spelling)
    _add_address(session, known, person.id, row, caller)


def _add_address(
    session: Session,
    known: _PersonCache,
    person_id: int,
    row: ConvictedRow,
    caller: Caller,
) -> None:
    text = " ".join((row.address or "").split())
    if not text or text in known.addresses[person_id]:
        return
    unchecked(persons.add_address)(
        session,
        person_id,
        text,
        caller=caller,
        kind="last-known",
        source=f"registry {row.registry}",
    )
    known.addresses[person_id].add(text)


def _new_person(
    session: Session, known: _PersonCache, row: ConvictedRow, caller: Caller
) -> Person:
    person = unchecked(persons.create_person)(
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
        caller=caller,
    )
    known.created(person, row)
    return person


@operation("convicted.read")
def open_reviews(
    session: Session, *, caller: Caller, limit: int = 200
) -> list[dict[str, Any]]:
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
                "idnp": _masked(conviction.idnp),
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
                "idnp": _masked(person.idnp),
            },
            "levels": item.levels,
        }
        for item, conviction, person in rows
    ]


@operation("convicted.review", before=argument("review"))
def decide_review(
    session: Session, review_id: int, *, accept: bool, caller: Caller
) -> Conviction:
    """Accept or reject one review item.

    Accepting links the conviction to that person and closes its other
    items. Rejecting the last open item of a conviction links it to the
    person recorded with its IDNP, or else to a new person. Raises
    ReviewError for an unknown or already decided item, and for accepting
    a person recorded with an IDNP other than the row's.
    """
    item = session.get(LinkReview, review_id)
    if item is None:
        raise ReviewError(f"no review item number {review_id}")
    if item.status != "open":
        raise ReviewError(f"review item {review_id} is already {item.status}")
    conviction = session.get_one(Conviction, item.conviction_id)
    row = _row_of(conviction)
    known = _PersonCache()
    person = known.person(session, item.person_id)
    if accept and _idnps_differ(row.idnp, person.idnp):
        raise ReviewError(
            f"review item {review_id}: the row's IDNP differs from the one "
            f"recorded for person {person.id}; reject the item instead"
        )
    now = dt.datetime.now(dt.UTC)
    item.status = "accepted" if accept else "rejected"
    item.decided_by = caller.name
    item.decided_at = now
    if accept:
        for other in session.scalars(
            select(LinkReview).where(
                LinkReview.conviction_id == conviction.id,
                LinkReview.status == "open",
                LinkReview.id != item.id,
            )
        ):
            other.status = "rejected"
            other.decided_by = caller.name
            other.decided_at = now
        _attach(
            session, known, conviction, person, row, "analyst", item.probability, caller
        )
    else:
        session.flush()
        still_open = session.scalar(
            select(LinkReview.id).where(
                LinkReview.conviction_id == conviction.id, LinkReview.status == "open"
            )
        )
        if still_open is None:
            _link_rejected(session, known, conviction, row, caller)
    session.flush()
    return conviction


def _link_rejected(
    session: Session,
    known: _PersonCache,
    conviction: Conviction,
    row: ConvictedRow,
    caller: Caller,
) -> None:
    """Link a conviction whose every candidate was rejected."""
    holder = known.holder(session, row.idnp)
    if holder is not None:
        known.load(session, [holder.id])
        if not _names_disagree(row, known.names[holder.id]):
            _attach(session, known, conviction, holder, row, "idnp", 1.0, caller)
            return
        # The analyst ruled out the holder of the number, so the new person
        # is recorded without it; the conviction keeps the number as listed.
        log.warning(
            "conviction %d: IDNP %s belongs to person %d, whom the review "
            "rejected; recording a new person without it",
            conviction.id,
            mask_idnp(row.idnp or ""),
            holder.id,
        )
        row = dataclasses.replace(row, idnp=None)
    person = _new_person(session, known, row, caller)
    _attach(session, known, conviction, person, row, "new-person", None, caller)


@operation("convicted.read")
def import_history(
    session: Session, *, caller: Caller, limit: int = 50
) -> list[ConvictedImport]:
    """Return the latest imports, newest first."""
    return list(
        session.scalars(
            select(ConvictedImport).order_by(ConvictedImport.id.desc()).limit(limit)
        )
    )


class ImportNotFound(ScutError):
    """Raised when no convicted-offender import has the number asked for."""


@dataclass(frozen=True, slots=True)
class StoredReport:
    """An import as recorded: its file, who ran it, counts and rejected rows."""

    import_id: int
    file_name: str
    file_sha256: str
    format: str
    actor: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict[str, int]
    # Row number, field, value and reason of each stored rejected row.
    rejected: list[dict[str, Any]]


@operation("convicted.read", before=argument("convicted-import"))
def import_report(session: Session, import_id: int, *, caller: Caller) -> StoredReport:
    """Return the stored report of one import; raise ImportNotFound.

    A rejected IDNP keeps its last four digits only, also in reports that
    versions which stored it in full wrote.
    """
    batch = session.get(ConvictedImport, import_id)
    if batch is None:
        raise ImportNotFound(f"no convicted-offender import number {import_id}")
    return StoredReport(
        import_id=batch.id,
        file_name=batch.file_name,
        file_sha256=batch.file_sha256,
        format=batch.format,
        actor=batch.actor,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        counts=dict(batch.counts or {}),
        rejected=[_masked_rejection(item) for item in batch.rejected.get("rows", [])],
    )


def _masked_rejection(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("field") != "idnp" or not item.get("value"):
        return dict(item)
    value = str(item["value"])
    return {
        **item,
        "value": mask_idnp(value),
        "reason": mask_in_text(str(item.get("reason", "")), value),
    }


def _masked(idnp: str | None) -> str | None:
    """Return an IDNP with only its last four digits, as lists show it."""
    return mask_idnp(idnp) if idnp else None


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
        "last_name": names.normalise_name(row.last_name),
        "first_name": names.normalise_name(row.first_name),
        "patronymic": names.normalise_name(row.patronymic or "") or None,
        "birth_date": str(row.birth_date) if row.birth_date else None,
        "birth_place": row.birth_place,
        "address": row.address,
        "article": row.article,
        "court": row.court,
        "sentence_date": row.sentence_date,
        "release_date": row.release_date,
    }


def _text_limits() -> dict[str, int]:
    """Return the maximum length of each text column of ``convictions``."""
    limits: dict[str, int] = {}
    for column in Conviction.__table__.columns:
        length = getattr(column.type, "length", None)
        if column.name in TRACKED and isinstance(length, int):
            limits[column.name] = length
    return limits


# The person's names and place of birth have the same limits (scut.persons).
_TEXT_LIMITS = _text_limits()


def _unstorable(row: ConvictedRow) -> tuple[str, str, str] | None:
    """Return the field, value and reason of a value that cannot be stored.

    The reader accepts cells of up to 500 characters, but the database
    columns are shorter, and a person's name needs a letter.
    """
    columns = _columns(row)
    for name, limit in _TEXT_LIMITS.items():
        value = columns[name]
        if isinstance(value, str) and len(value) > limit:
            return (
                name,
                value[:MAX_REJECTED_VALUE],
                f"the value has {len(value)} characters, longer than {limit} "
                f"characters, the maximum Scut stores for {name}",
            )
    for name in NAME_FIELDS:
        value = columns[name]
        if value is not None and not any(char.isalpha() for char in value):
            return (
                name,
                getattr(row, name),
                f"{name} {value!r} contains no letters, so it cannot name a "
                "person or place",
            )
    return None


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
    if field_name == "idnp":
        # Every reader of the report gets its rows, so a rejected IDNP, even
        # a mistyped one, keeps only its last four digits. The row number
        # finds the row in the file.
        reason = mask_in_text(reason, value)
        value = mask_idnp(value) if value else value
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
