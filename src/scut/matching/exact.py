"""Exact matching at ingest: hash sets by MD5, SHA-1 or SHA-256, and earlier exhibits.

The verdict of a file, in order of precedence:

- ``known-good``: in a known-good set (such as NSRL); set aside.
- ``known``: in a set of known abuse material or an alert list.
- ``seen-before``: already recorded in another exhibit.
- ``new``: none of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from scut.db.models import Case, Exhibit, HashEntry, HashSet, Occurrence

KNOWN_GOOD = "known-good"
KNOWN = "known"
SEEN_BEFORE = "seen-before"
NEW = "new"
VERDICTS = (KNOWN, SEEN_BEFORE, NEW, KNOWN_GOOD)

# Earlier exhibits listed per file in a seen-before verdict.
MAX_EARLIER_SIGHTINGS = 5

Verdicts = dict[str, tuple[str, dict[str, Any]]]


class HashedFile(Protocol):
    """Anything with digests: an ingest result or a stored media."""

    @property
    def digests(self) -> Any: ...


def verdicts_for(
    session: Session,
    exhibit_id: int,
    files: Sequence[HashedFile],
    media_ids: dict[str, int],
) -> Verdicts:
    """Return each file's verdict and its detail, keyed by SHA-256."""
    entries = _hash_set_entries(session, files)
    sightings = _earlier_sightings(session, exhibit_id, list(media_ids.values()))
    verdicts: Verdicts = {}
    for file in files:
        digests = file.digests
        matched = [
            entry
            for key in (
                ("md5", digests.md5),
                ("sha1", digests.sha1),
                ("sha256", digests.sha256),
            )
            for entry in entries.get(key, [])
        ]
        earlier = sightings.get(media_ids[digests.sha256], [])
        verdicts[digests.sha256] = _verdict(matched, earlier)
    return verdicts


def _verdict(
    matched: list[dict[str, Any]], earlier: list[dict[str, str]]
) -> tuple[str, dict[str, Any]]:
    good = [entry for entry in matched if entry["kind"] == KNOWN_GOOD]
    known = [entry for entry in matched if entry["kind"] != KNOWN_GOOD]
    detail: dict[str, Any] = {}
    if earlier:
        detail["seen_in"] = earlier
    if known:
        detail["hash_sets"] = known
        return KNOWN, detail
    if good:
        detail["hash_sets"] = good
        return KNOWN_GOOD, detail
    if earlier:
        return SEEN_BEFORE, detail
    return NEW, detail


def _hash_set_entries(
    session: Session, files: Sequence[HashedFile]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    keys = set()
    for file in files:
        keys.add(("md5", file.digests.md5))
        keys.add(("sha1", file.digests.sha1))
        keys.add(("sha256", file.digests.sha256))
    rows = session.execute(
        select(HashEntry, HashSet.name, HashSet.kind)
        .join(HashSet, HashSet.id == HashEntry.hash_set_id)
        .where(tuple_(HashEntry.algorithm, HashEntry.value).in_(sorted(keys)))
    )
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry, set_name, kind in rows:
        found.setdefault((entry.algorithm, entry.value), []).append(
            {
                "hash_set": set_name,
                "kind": kind,
                "algorithm": entry.algorithm,
                "category": entry.category,
                "series": entry.series,
                "victim_identified": entry.victim_identified,
                "offender_identified": entry.offender_identified,
            }
        )
    return found


def _earlier_sightings(
    session: Session, exhibit_id: int, media_ids: list[int]
) -> dict[int, list[dict[str, str]]]:
    if not media_ids:
        return {}
    rows = session.execute(
        select(Occurrence.media_id, Case.reference, Exhibit.label, Occurrence.path)
        .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
        .join(Case, Case.id == Exhibit.case_id)
        .where(Occurrence.media_id.in_(media_ids), Occurrence.exhibit_id != exhibit_id)
        .order_by(Occurrence.id)
    )
    found: dict[int, list[dict[str, str]]] = {}
    for media_id, case, exhibit, path in rows:
        listed = found.setdefault(media_id, [])
        if len(listed) < MAX_EARLIER_SIGHTINGS:
            listed.append({"case": case, "exhibit": exhibit, "path": path})
    return found
