"""Choosing what to match again, and comparing hash sets with each other."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import aliased

from scut.db.models import Case, Exhibit, HashEntry, HashSet, Submission
from scut.db.session import Database
from scut.errors import ConfigurationError

log = logging.getLogger(__name__)

# Rows listed by overlap_of_set.
MAX_OVERLAP_ROWS = 10_000


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
