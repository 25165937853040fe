"""Importing hash sets into the database."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from scut.db.models import HashEntry, HashSet
from scut.db.session import Database
from scut.db.upsert import insert_for
from scut.errors import ConfigurationError
from scut.hashsets.plain import HashListError, PlainEntry, read_plain_list

log = logging.getLogger(__name__)

HASH_SET_KINDS = ("known-abuse", "alert", "known-good")
BATCH_SIZE = 5000


@dataclass(frozen=True, slots=True)
class ImportReport:
    """Number of hashes in a hash set after an import."""

    name: str
    kind: str
    entries: int


def import_plain_list(
    database: Database,
    path: Path,
    *,
    name: str,
    kind: str,
    source: str = "",
    version: str = "",
) -> ImportReport:
    """Import an md5sum/sha1sum/sha256sum list as the hash set ``name``.

    Importing the same name again replaces its entries, so a re-import of a
    newer version leaves no stale hashes. Raises ConfigurationError for an
    unknown kind and HashListError for a malformed line (nothing is kept).
    """
    if kind not in HASH_SET_KINDS:
        raise ConfigurationError(
            f"unknown hash set kind {kind!r}; use one of {', '.join(HASH_SET_KINDS)}"
        )
    with database.session() as session, session.begin():
        hash_set = session.scalars(
            select(HashSet).where(HashSet.name == name)
        ).one_or_none()
        if hash_set is None:
            hash_set = HashSet(name=name, kind=kind)
            session.add(hash_set)
        hash_set.kind, hash_set.source, hash_set.version = (
            kind,
            source or str(path),
            version,
        )
        hash_set.imported_at = dt.datetime.now(dt.UTC)
        session.flush()
        session.execute(delete(HashEntry).where(HashEntry.hash_set_id == hash_set.id))
        _insert_entries(session, hash_set.id, read_plain_list(path))
        count = session.scalar(
            select(func.count()).where(HashEntry.hash_set_id == hash_set.id)
        )
        if not count:
            raise HashListError(f"{path}: no hashes found; nothing was imported")
    log.info("Imported hash set %s: %d entries", name, count or 0)
    return ImportReport(name, kind, count or 0)


def _insert_entries(
    session: Session, hash_set_id: int, entries: Iterable[PlainEntry]
) -> None:
    statement = insert_for(session, HashEntry).on_conflict_do_nothing(
        index_elements=["hash_set_id", "algorithm", "value"]
    )
    rows: list[dict[str, object]] = []
    for entry in entries:
        rows.append(
            {
                "hash_set_id": hash_set_id,
                "algorithm": entry.algorithm,
                "value": entry.value,
            }
        )
        if len(rows) >= BATCH_SIZE:
            session.execute(statement, rows)
            rows = []
    if rows:
        session.execute(statement, rows)


@dataclass(frozen=True, slots=True)
class HashSetRow:
    """A hash set as listed by ``scut hashsets list``."""

    name: str
    kind: str
    entries: int
    imported_at: dt.datetime


def list_hash_sets(database: Database) -> list[HashSetRow]:
    """Return every hash set with its number of entries, by name."""
    with database.session() as session:
        rows = session.execute(
            select(
                HashSet.name,
                HashSet.kind,
                func.count(HashEntry.id),
                HashSet.imported_at,
            )
            .outerjoin(HashEntry, HashEntry.hash_set_id == HashSet.id)
            .group_by(HashSet.id)
            .order_by(HashSet.name)
        ).all()
    return [HashSetRow(*row) for row in rows]
