"""Matching again, rebuilding the PDQ index, and comparing hash sets.

match_again, rebuild_index and list_overlap are the declared operations
that the command line and the web application call. exhibits_for and
overlap_of_set, like rematch and IndexStore, check no caller: they are
building blocks for those operations and for the tests.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import aliased

from scut.db.models import Case, Exhibit, HashEntry, HashSet, Submission
from scut.db.session import Database
from scut.errors import ConfigurationError
from scut.matching.index import IndexStore, PdqIndex
from scut.matching.rematch import RematchProgress, RematchReport, rematch
from scut.security.access import Target, argument, operation
from scut.security.caller import Caller
from scut.settings import Settings

log = logging.getLogger(__name__)

# Rows listed by overlap_of_set.
MAX_OVERLAP_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class MatchRun:
    """The submissions and exhibits of one match_again call, with its counts."""

    submissions: list[int]
    exhibits: int
    report: RematchReport


def _selection_target(
    *_: Any,
    submissions: Sequence[int] = (),
    case: str | None = None,
    everything: bool = False,
    **__: Any,
) -> Target:
    return Target(
        "submission", list(submissions), detail={"case": case, "all": everything}
    )


def _match_target(
    result: MatchRun,
    *_: Any,
    case: str | None = None,
    everything: bool = False,
    **__: Any,
) -> Target:
    return Target(
        "submission",
        result.submissions,
        detail={
            "case": case,
            "all": everything,
            "exhibits": result.exhibits,
            "files": result.report.files,
            "changed": result.report.changed,
            "by_verdict": dict(result.report.by_verdict),
        },
    )


@operation("match.run", before=_selection_target, after=_match_target)
def match_again(
    database: Database,
    settings: Settings,
    *,
    caller: Caller,
    submissions: Sequence[int] = (),
    case: str | None = None,
    everything: bool = False,
    progress: RematchProgress | None = None,
) -> MatchRun:
    """Draw again the verdicts of the named submissions, case, or every file.

    Raises ConfigurationError when nothing is named or a name is unknown.
    """
    exhibit_ids = exhibits_for(database, submissions, case, everything)
    report = rematch(database, settings, exhibit_ids, progress)
    return MatchRun(_submissions_of(database, exhibit_ids), len(exhibit_ids), report)


def _submissions_of(database: Database, exhibit_ids: list[int]) -> list[int]:
    found: set[int] = set()
    with database.session() as session:
        # In chunks, because SQLite limits the parameters of one statement.
        for start in range(0, len(exhibit_ids), 1000):
            chunk = exhibit_ids[start : start + 1000]
            found.update(
                session.scalars(
                    select(Exhibit.submission_id).where(Exhibit.id.in_(chunk))
                )
            )
    return sorted(found)


def _index_target(result: PdqIndex, *_: Any, **__: Any) -> Target:
    return Target("pdq_index", detail={"hashes": len(result), "kind": result.kind})


@operation("index.rebuild", after=_index_target)
def rebuild_index(
    database: Database, settings: Settings, *, caller: Caller
) -> PdqIndex:
    """Build the PDQ index anew from the database and save it; return it."""
    return IndexStore(database, settings).rebuild()


def exhibits_for(
    database: Database,
    submissions: Sequence[int],
    case: str | None,
    everything: bool,
) -> list[int]:
    """Return the exhibit ids of the named submissions, case, or all of them.

    Raises ConfigurationError when nothing is named or a name is unknown.
    """
    if not (submissions or case or everything):
        raise ConfigurationError("name a --submission, a --case or --all")
    with database.session() as session:
        statement = select(Exhibit.id).order_by(Exhibit.id)
        if not everything:
            conditions: list[ColumnElement[bool]] = []
            if submissions:
                known = set(
                    session.scalars(
                        select(Submission.id).where(Submission.id.in_(submissions))
                    )
                )
                missing = sorted(set(submissions) - known)
                if missing:
                    raise ConfigurationError(
                        f"no submission numbered {', '.join(map(str, missing))}"
                    )
                conditions.append(Exhibit.submission_id.in_(submissions))
            if case:
                case_id = session.scalar(select(Case.id).where(Case.reference == case))
                if case_id is None:
                    raise ConfigurationError(f"no case with reference {case!r}")
                conditions.append(Exhibit.case_id == case_id)
            statement = statement.where(or_(*conditions))
        return list(session.scalars(statement))


@operation("hashsets.read", before=argument("hash_set"))
def list_overlap(
    database: Database, name: str, *, caller: Caller
) -> list[dict[str, Any]]:
    """Return the entries of set ``name`` that other sets hold, as overlap_of_set."""
    return overlap_of_set(database, name)


def overlap_of_set(database: Database, name: str) -> list[dict[str, Any]]:
    """Return the entries of set ``name`` that other sets hold, by any hash.

    This is how a partner's PhotoDNA or LACE values are matched: Scut cannot
    compute them, but can tell which of them another set already holds.
    """
    other = aliased(HashEntry)
    other_set = aliased(HashSet)
    with database.session() as session:
        set_id = session.scalar(select(HashSet.id).where(HashSet.name == name))
        if set_id is None:
            raise ConfigurationError(f"no hash set named {name!r}")
        rows = session.execute(
            select(
                HashEntry.item,
                HashEntry.algorithm,
                HashEntry.value,
                other_set.name,
                other.category_scheme,
                other.category,
            )
            .join(
                other,
                (other.algorithm == HashEntry.algorithm)
                & (other.value == HashEntry.value)
                & (other.hash_set_id != HashEntry.hash_set_id),
            )
            .join(other_set, other_set.id == other.hash_set_id)
            .where(HashEntry.hash_set_id == set_id)
            .order_by(HashEntry.item, HashEntry.algorithm, other_set.name)
            .limit(MAX_OVERLAP_ROWS)
        ).all()
    return [
        {
            "item": item,
            "algorithm": algorithm,
            "value": value,
            "other_set": other_name,
            "category": f"{scheme or 'projectvic'} {code}"
            if code is not None
            else None,
        }
        for item, algorithm, value, other_name, scheme, code in rows
    ]
