"""Categorisation of media by analysts, with its history and conflicts.

Every categorisation is kept as a ``CategoryEvent``. A media's category is
in conflict when its sources disagree: two analysts' latest decisions, or
an analyst and a hash set that matched it. Codes are compared in Project VIC
terms, so UK A and Project VIC 1 agree. An analyst's category stays until
another analyst changes it; matching no longer overrides it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scut.db.models import CategoryEvent, Media, Occurrence
from scut.errors import ScutError
from scut.hashsets.categories import PROJECTVIC, SCHEMES, label, to_scheme
from scut.hashsets.items import Category
from scut.matching.verdicts import HASH_SET_SOURCE
from scut.security.access import argument, operation
from scut.security.caller import Caller

log = logging.getLogger(__name__)

ANALYST_SOURCE = "analyst"
MAX_REASON = 2000


class InvalidCategory(ScutError):
    """Raised for a scheme or code that the category schemes do not define."""


@dataclass(frozen=True, slots=True)
class CategoryChange:
    """The outcome of categorising one media."""

    media_id: int
    previous: Category | None
    category: Category
    conflict: bool
    # Sources that disagree, as (source, "scheme code") pairs.
    disagreeing: tuple[tuple[str, str], ...] = ()


def check_category(scheme: str, code: str) -> Category:
    """Return the category, or raise InvalidCategory naming the known codes."""
    if scheme not in SCHEMES:
        raise InvalidCategory(
            f"unknown category scheme {scheme!r}; use one of {', '.join(SCHEMES)}"
        )
    category = Category(scheme, code.strip().upper() if scheme != PROJECTVIC else code)
    try:
        label(category)
    except ValueError as error:
        raise InvalidCategory(str(error)) from None
    return category


@operation("media.categorise", before=argument("media"))
def categorise(
    session: Session,
    media_ids: Sequence[int],
    category: Category,
    *,
    caller: Caller,
    reason: str = "",
) -> list[CategoryChange]:
    """Set the category of media as an analyst's decision and record it.

    The caller commits. Media that already have this category from this
    analyst get no new event.
    """
    check_category(category.scheme, category.code)
    changes: list[CategoryChange] = []
    for media_id in media_ids:
        media = session.get_one(Media, media_id)
        previous = (
            Category(media.category_scheme, media.category_code)
            if media.category_scheme and media.category_code is not None
            else None
        )
        latest = _latest_by_analyst(session, media_id)
        if previous == category and latest.get(caller.name) == category:
            changes.append(CategoryChange(media_id, previous, category, False))
            continue
        latest[caller.name] = category
        disagreeing = _disagreeing(session, media_id, latest, category)
        conflict = bool(disagreeing)
        media.category_scheme = category.scheme
        media.category_code = category.code
        media.category_source = f"{ANALYST_SOURCE} {caller.name}"[:300]
        media.category_by_analyst = True
        media.category_conflict = conflict
        session.add(
            CategoryEvent(
                media_id=media_id,
                scheme=category.scheme,
                code=category.code,
                previous_scheme=previous.scheme if previous else None,
                previous_code=previous.code if previous else None,
                source=ANALYST_SOURCE,
                actor=caller.name,
                reason=reason[:MAX_REASON],
                conflict=conflict,
            )
        )
        changes.append(
            CategoryChange(media_id, previous, category, conflict, tuple(disagreeing))
        )
    session.flush()
    log.info(
        "%s categorised %d media as %s %s",
        caller.name,
        len(media_ids),
        category.scheme,
        category.code,
    )
    return changes


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One categorisation in a media's history."""

    at: str
    category: str
    previous: str | None
    source: str
    actor: str
    reason: str
    conflict: bool


@operation("media.history", before=argument("media"))
def category_history(
    session: Session, media_id: int, *, caller: Caller
) -> list[HistoryLine]:
    """Return every categorisation of a media, oldest first."""
    events = session.scalars(
        select(CategoryEvent)
        .where(CategoryEvent.media_id == media_id)
        .order_by(CategoryEvent.id)
    )
    return [
        HistoryLine(
            at=event.created_at.isoformat(timespec="seconds"),
            category=f"{event.scheme} {event.code}",
            previous=f"{event.previous_scheme} {event.previous_code}"
            if event.previous_code is not None
            else None,
            source=event.source,
            actor=event.actor,
            reason=event.reason,
            conflict=event.conflict,
        )
        for event in events
    ]


@operation("media.conflicts")
def conflicting_media(
    session: Session, *, caller: Caller, limit: int = 1000
) -> list[int]:
    """Return ids of media whose category sources disagree."""
    return list(
        session.scalars(
            select(Media.id)
            .where(Media.category_conflict.is_(True))
            .order_by(Media.id)
            .limit(limit)
        )
    )


def _latest_by_analyst(session: Session, media_id: int) -> dict[str, Category]:
    latest: dict[str, Category] = {}
    for actor, scheme, code in session.execute(
        select(CategoryEvent.actor, CategoryEvent.scheme, CategoryEvent.code)
        .where(
            CategoryEvent.media_id == media_id,
            CategoryEvent.source == ANALYST_SOURCE,
        )
        .order_by(CategoryEvent.id)
    ):
        latest[actor] = Category(scheme, code)
    return latest


def _hash_set_categories(session: Session, media_id: int) -> dict[str, Category]:
    """Return the category each matching hash set gives, from stored verdicts."""
    found: dict[str, Category] = {}
    details = session.scalars(
        select(Occurrence.verdict_detail).where(Occurrence.media_id == media_id)
    )
    for detail in details:
        for match in (detail or {}).get("matches", []):
            category = match.get("category")
            if match.get("source") != "hash-set" or not category:
                continue
            if match.get("how") == "pdq":
                continue  # a look-alike is not the same file
            name = f"{HASH_SET_SOURCE}{match.get('hash_set')}"
            found[name] = Category(str(category["scheme"]), str(category["code"]))
    return found


def _disagreeing(
    session: Session,
    media_id: int,
    latest: dict[str, Category],
    chosen: Category,
) -> list[tuple[str, str]]:
    sources: dict[str, Category] = {
        f"{ANALYST_SOURCE} {actor}": category for actor, category in latest.items()
    }
    sources.update(_hash_set_categories(session, media_id))
    wanted = _comparable(chosen)
    return [
        (source, f"{category.scheme} {category.code}")
        for source, category in sorted(sources.items())
        if _comparable(category) != wanted
    ]


def same_category(first: Category, second: Category) -> bool:
    """Return whether two categories agree, in Project VIC terms where they map."""
    return bool(_comparable(first) == _comparable(second))


def _comparable(category: Category) -> Any:
    """Return the category in Project VIC terms when it maps, else itself."""
    try:
        mapped = to_scheme(category, PROJECTVIC)
    except ValueError:
        mapped = None
    return mapped or category
