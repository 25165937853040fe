"""Person search that finds people the way analysts type them.

A query is a name in any order ("Cîrlan Ion", "ion cirlan", "Кирлан Иван
Петрович"), optionally with a partial birth date, an exact IDNP and a
category. Each word of the query is turned into the keys of
``scut.persons.names`` and compared with every recorded spelling of each
person:

- last name: same key, else same loose key, else the key starts with the
  word (so results come while the name is being typed);
- first name: same key, else the same given-name group (Ion and Иван),
  else a prefix;
- patronymic: same key or a prefix; optional on both sides.

Every word must match some part of a spelling, except that a third word
may stand for a patronymic the record lacks. A birth date filters out
persons whose known date disagrees, and keeps those without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from scut.db.models import Person, PersonCategory, PersonName
from scut.errors import ScutError
from scut.persons import names
from scut.persons.dates import InvalidDate, PartialDate, parse_partial_date
from scut.persons.idnp import InvalidIdnp, validate_idnp

# Rows read from person_names before scoring; a query matching more is
# too vague to list whole.
MAX_CANDIDATES = 20_000
# The shortest word taken as a prefix of a longer name.
MIN_PREFIX = 2

# Points by how a word matched; a result's score is the sum over its words.
_LAST = {"exact": 10.0, "loose": 7.0, "prefix": 4.0}
_FIRST = {"exact": 6.0, "group": 5.0, "loose": 4.0, "prefix": 3.0}
_PATRONYMIC = {"exact": 3.0, "prefix": 2.0}


class InvalidQuery(ScutError):
    """Raised for a search with nothing to search or a malformed value."""


@dataclass(frozen=True, slots=True)
class PersonQuery:
    """The words, birth date, IDNP and category an analyst typed into the search."""

    text: str = ""
    birth_date: str | None = None
    idnp: str | None = None
    category: str | None = None


@dataclass(slots=True)
class SearchHit:
    """A person found, with the spelling that matched and how."""

    person_id: int
    score: float
    name: str
    matched: str
    how: list[str] = field(default_factory=list)
    birth_date: str | None = None
    categories: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Word:
    key: str
    loose: str
    group: str


def search_persons(
    session: Session, query: PersonQuery, limit: int = 50
) -> list[SearchHit]:
    """Return persons matching ``query``, best first."""
    birth = _birth(query.birth_date)
    words = _words(query.text)
    if query.idnp and query.idnp.strip():
        return _by_idnp(session, query, birth, words, limit)
    if not words:
        raise InvalidQuery("type a name, or give an IDNP")
    rows = _candidates(session, words)
    best: dict[int, tuple[float, PersonName, list[str]]] = {}
    for row in rows:
        scored = _score(words, row)
        if scored is None:
            continue
        points, how = scored
        if row.kind == "primary":
            points += 0.5
        if row.person_id not in best or points > best[row.person_id][0]:
            best[row.person_id] = (points, row, how)
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))
    hits = _hits(session, ranked, birth, query.category, limit)
    return hits


def _by_idnp(
    session: Session,
    query: PersonQuery,
    birth: PartialDate | None,
    words: list[_Word],
    limit: int,
) -> list[SearchHit]:
    try:
        digits = validate_idnp(query.idnp or "")
    except InvalidIdnp as error:
        raise InvalidQuery(str(error)) from None
    person_id = session.scalar(select(Person.id).where(Person.idnp == digits))
    if person_id is None:
        return []
    rows = session.scalars(
        select(PersonName).where(PersonName.person_id == person_id)
    ).all()
    primary = next((row for row in rows if row.kind == "primary"), rows[0])
    how = ["idnp"]
    if words:
        scored = [_score(words, row) for row in rows]
        if not any(scored):
            return []
        how += max((item for item in scored if item), key=lambda item: item[0])[1]
    ranked = [(person_id, (100.0, primary, how))]
    return _hits(session, ranked, birth, query.category, limit)


def _hits(
    session: Session,
    ranked: list[tuple[int, tuple[float, PersonName, list[str]]]],
    birth: PartialDate | None,
    category: str | None,
    limit: int,
) -> list[SearchHit]:
    hits: list[SearchHit] = []
    for start in range(0, len(ranked), 500):
        chunk = ranked[start : start + 500]
        ids = [person_id for person_id, _ in chunk]
        persons = {
            person.id: person
            for person in session.scalars(select(Person).where(Person.id.in_(ids)))
        }
        held: dict[int, list[str]] = {}
        for person_id, held_category in session.execute(
            select(PersonCategory.person_id, PersonCategory.category).where(
                PersonCategory.person_id.in_(ids)
            )
        ):
            held.setdefault(person_id, []).append(held_category)
        for person_id, (points, row, how) in chunk:
            person = persons[person_id]
            known = _known_birth(person)
            if birth is not None and known is not None and not birth.agrees_with(known):
                continue
            if category and category not in held.get(person_id, []):
                continue
            score = points + (2.0 if birth is not None and known is not None else 0.0)
            hits.append(
                SearchHit(
                    person_id=person_id,
                    score=score,
                    name=" ".join(
                        part
                        for part in (
                            person.last_name,
                            person.first_name,
                            person.patronymic,
                        )
                        if part
                    ),
                    matched=row.as_typed,
                    how=how,
                    birth_date=str(known) if known else None,
                    categories=sorted(held.get(person_id, [])),
                )
            )
            if len(hits) >= limit:
                return sorted(hits, key=lambda hit: (-hit.score, hit.person_id))
    return sorted(hits, key=lambda hit: (-hit.score, hit.person_id))


def _known_birth(person: Person) -> PartialDate | None:
    if person.birth_year is None:
        return None
    return PartialDate(person.birth_year, person.birth_month, person.birth_day)


def _birth(text: str | None) -> PartialDate | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_partial_date(text)
    except InvalidDate as error:
        raise InvalidQuery(str(error)) from None


def _words(text: str) -> list[_Word]:
    words: list[_Word] = []
    for part in names.search_key(text).split():
        key = part
        words.append(_Word(key, names.loose_key(key), names.given_name_group(key)))
    if len(words) > 6:
        raise InvalidQuery("type at most six words of a name")
    return words


def _candidates(session: Session, words: list[_Word]) -> list[PersonName]:
    keys = sorted({word.key for word in words})
    looses = sorted({word.loose for word in words if word.loose})
    groups = sorted({word.group for word in words})
    conditions: list[ColumnElement[bool]] = [
        PersonName.last_key.in_(keys),
        PersonName.last_loose.in_(looses),
        PersonName.first_key.in_(keys),
        PersonName.first_group.in_(groups),
        PersonName.patronymic_key.in_(keys),
    ]
    for word in words:
        if len(word.key) >= MIN_PREFIX:
            conditions.append(PersonName.last_key.startswith(word.key, autoescape=True))
            conditions.append(
                PersonName.first_key.startswith(word.key, autoescape=True)
            )
    rows = session.scalars(
        select(PersonName).where(or_(*conditions)).limit(MAX_CANDIDATES)
    ).all()
    return list(rows)


def _score(words: list[_Word], row: PersonName) -> tuple[float, list[str]] | None:
    """Return the best fit of the words to the name's parts, or None when none fits."""
    if len(words) > 3:
        return None
    best: tuple[float, list[str]] | None = None
    # Each order of the words over last name, first name and patronymic.
    for order in permutations(("last", "first", "patronymic"), len(words)):
        if len(words) > 1 and "last" not in order:
            continue  # several words without the last name are too loose
        fitted = _fit(words, order, row)
        if fitted is not None and (best is None or fitted[0] > best[0]):
            best = fitted
    return best


def _fit(
    words: list[_Word], order: tuple[str, ...], row: PersonName
) -> tuple[float, list[str]] | None:
    total = 0.0
    how: list[str] = []
    for word, part in zip(words, order, strict=True):
        matched = _match(word, row, part)
        if matched is None:
            return None
        total += matched[0]
        how.append(f"{part} {matched[1]}")
    return total, how


def _match(word: _Word, row: PersonName, part: str) -> tuple[float, str] | None:
    if part == "last":
        if word.key == row.last_key:
            return _LAST["exact"], "exact"
        if word.loose and word.loose == row.last_loose:
            return _LAST["loose"], "loose"
        if len(word.key) >= MIN_PREFIX and row.last_key.startswith(word.key):
            return _LAST["prefix"], "prefix"
        return None
    if part == "first":
        if word.key == row.first_key:
            return _FIRST["exact"], "exact"
        if word.group == row.first_group:
            return _FIRST["group"], "given-name group"
        if word.loose and word.loose == names.loose_key(row.first_key):
            return _FIRST["loose"], "loose"
        if len(word.key) >= MIN_PREFIX and row.first_key.startswith(word.key):
            return _FIRST["prefix"], "prefix"
        return None
    if row.patronymic_key is None:
        # The record has no patronymic: the word may be one, at no points.
        return 0.0, "patronymic not recorded"
    if word.key == row.patronymic_key:
        return _PATRONYMIC["exact"], "exact"
    if len(word.key) >= MIN_PREFIX and row.patronymic_key.startswith(word.key):
        return _PATRONYMIC["prefix"], "prefix"
    return None
