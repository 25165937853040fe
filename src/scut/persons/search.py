"""Person search that finds people the way analysts type them.

A query is a name in any order ("Cîrlan Ion", "ion cirlan", "Кирлан Иван
Петрович"), optionally with a partial birth date, an exact IDNP and a
category. Each word of the query is turned into the keys of
``scut.persons.names`` and compared with each word of every recorded
spelling of each person:

- last name: same key, else same loose key, else the key starts with the
  word, else the loose key starts with the word's loose key (so results
  come while the name is being typed, in either script);
- first name: same key, else the same given-name group (Ion and Иван),
  else the same loose key, else a prefix. A one-letter word is an initial;
- patronymic: same key, else the same loose key, else a prefix or an
  initial. It is optional on both sides.

Every query word must match a different word of one spelling. A query of
several words must match the last name with one of them, and a query of
one word must match the last or the first name. A record without a
patronymic also matches when the word right after the first name is
taken for that patronymic, in queries of three words or more. A birth
date leaves out persons whose known date disagrees, and keeps those
without one.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from scut.db.models import Person, PersonCategory, PersonName
from scut.errors import ScutError
from scut.persons import names
from scut.persons.dates import InvalidDate, PartialDate, parse_partial_date
from scut.persons.idnp import InvalidIdnp, mask_idnp, validate_idnp
from scut.persons.service import CATEGORIES
from scut.security.access import operation
from scut.security.caller import Caller

log = logging.getLogger(__name__)

# Name rows read before scoring. Rows matching a word exactly or loosely
# are read first, so when more rows match (two letters typed, say), the
# rows dropped are prefix matches.
MAX_CANDIDATES = 20_000
# Longest query text accepted; a name is far shorter.
MAX_QUERY_LENGTH = 400
# The shortest word taken as a prefix of a longer name. Shorter words are
# initials of a first name or patronymic.
MIN_PREFIX = 2
MAX_WORDS = 6

# Points by how a word matched. A spelling's score is the sum over the
# query words, so a typed patronymic that matches adds to the score.
_POINTS = {
    "last": {"exact": 10.0, "loose": 7.0, "prefix": 4.0, "loose prefix": 3.0},
    "first": {
        "exact": 6.0,
        "given-name group": 5.0,
        "loose": 4.0,
        "prefix": 3.0,
        "initial": 2.0,
    },
    "patronymic": {"exact": 3.0, "loose": 2.5, "prefix": 2.0, "initial": 1.0},
}
# Taken off for each word of the last or first name that no query word
# matched, so "Cîrlan Ion" ranks Cîrlan Ion above Cîrlan-Munteanu Ion.
_UNMATCHED_WORD = 0.25
_PRIMARY_BONUS = 0.5
# Added when the query has a birth date and the person's known date agrees.
_BIRTH_BONUS = 2.0
_IDNP_SCORE = 100.0


class InvalidQuery(ScutError):
    """Raised for a search with nothing to search or a malformed value."""


@dataclass(frozen=True, slots=True)
class PersonQuery:
    """What an analyst typed into the search."""

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
    # The IDNP with only its last four digits. The full number shows only
    # in the person's own record, an audited read of one person.
    idnp: str | None = None


@dataclass(frozen=True, slots=True)
class _Word:
    """One word of the query, or of a recorded name, with its keys."""

    key: str
    loose: str
    group: str


@dataclass(frozen=True, slots=True)
class _Filters:
    birth: PartialDate | None
    category: str | None


@dataclass(slots=True)
class _Best:
    """The best-scoring spelling of one person."""

    score: float
    as_typed: str
    how: list[str]


# Columns read for each candidate spelling. The birth year, month and day
# are added when the query has a birth date.
_CANDIDATE_COLUMNS = (
    PersonName.person_id,
    PersonName.kind,
    PersonName.as_typed,
    PersonName.last_key,
    PersonName.last_loose,
    PersonName.first_key,
    PersonName.first_group,
    PersonName.patronymic_key,
)

# The key tuple of a spelling: last key, last loose key, first key, first
# group and patronymic key.
_NameKeys = tuple[str, str, str, str, str | None]
# A row of _CANDIDATE_COLUMNS, then the birth year, month and day when the
# query has a birth date.
_Candidate = tuple[Any, ...]


@operation("persons.search")
def search_persons(
    session: Session, query: PersonQuery, limit: int = 50, *, caller: Caller
) -> list[SearchHit]:
    """Return at most ``limit`` persons matching ``query``, best first.

    Raises InvalidQuery when the query has no name and no IDNP, when its
    name has no word of MIN_PREFIX letters or more than MAX_WORDS words,
    or when its IDNP, birth date, category or ``limit`` is invalid.
    """
    if limit < 1:
        raise InvalidQuery(f"invalid limit {limit}: give 1 or more results")
    filters = _Filters(_birth(query.birth_date), _category(query.category))
    words = _words(query.text)
    if query.idnp is not None and query.idnp.strip():
        return _by_idnp(session, query.idnp, words, filters)
    if not words:
        raise InvalidQuery("type a name, or give an IDNP")
    if all(len(word.key) < MIN_PREFIX for word in words):
        raise InvalidQuery(
            f"type at least {MIN_PREFIX} letters of a last or first name"
        )

    best = _best_per_person(words, _candidates(session, words, filters), filters)
    ranked = sorted(best.items(), key=lambda item: (-item[1].score, item[0]))
    return _hits(session, ranked[:limit])


# --- query values -----------------------------------------------------------


def _birth(text: str | None) -> PartialDate | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_partial_date(text)
    except InvalidDate as error:
        raise InvalidQuery(str(error)) from None


def _category(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    category = text.strip().lower()
    if category not in CATEGORIES:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise InvalidQuery(
            f"unknown category {shown!r}; use one of {', '.join(CATEGORIES)}"
        )
    return category


def _words(text: str) -> list[_Word]:
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidQuery(
            f"the name has {len(text)} characters; type at most {MAX_QUERY_LENGTH}"
        )
    keys = names.search_key(text).split()
    if len(keys) > MAX_WORDS:
        raise InvalidQuery(
            f"the name has {len(keys)} words; type at most {MAX_WORDS} words"
        )
    return [_Word(key, _loose(key), names.given_name_group(key)) for key in keys]


@functools.lru_cache(maxsize=65536)
def _loose(key: str) -> str:
    return names.loose_key(key)


# --- candidates -------------------------------------------------------------


def _candidates(
    session: Session, words: list[_Word], filters: _Filters
) -> list[_Candidate]:
    """Read the spellings that may match, exact and loose matches first.

    A spelling may come twice, from both reads; scoring keeps one per
    person anyway.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    long_words = [word for word in words if len(word.key) >= MIN_PREFIX]
    include_first = len(words) == 1

    same = _same_keys(long_words, include_first)
    rows = _read(session, same, filters, MAX_CANDIDATES)
    if len(rows) < MAX_CANDIDATES:
        prefixed = _prefixes(long_words, include_first, sqlite)
        rows += _read(session, prefixed, filters, MAX_CANDIDATES - len(rows))
    if len(rows) >= MAX_CANDIDATES:
        log.debug("person search stopped at %d candidate names", len(rows))
    return rows


def _same_keys(words: list[_Word], include_first: bool) -> ColumnElement[bool]:
    keys = sorted({word.key for word in words})
    looses = sorted({word.loose for word in words if word.loose})
    conditions = [PersonName.last_key.in_(keys), PersonName.last_loose.in_(looses)]
    if include_first:
        groups = sorted({word.group for word in words})
        conditions.append(PersonName.first_key.in_(keys))
        conditions.append(PersonName.first_group.in_(groups))
    return or_(*conditions)


def _prefixes(
    words: list[_Word], include_first: bool, sqlite: bool
) -> ColumnElement[bool]:
    """Build the condition for keys that start with a word and are longer.

    Keys equal to a word were read by _same_keys, so they are left out.
    """
    conditions: list[ColumnElement[bool]] = []
    for word in words:
        conditions.append(_longer_with_prefix(PersonName.last_key, word.key, sqlite))
        if len(word.loose) >= MIN_PREFIX:
            conditions.append(
                _longer_with_prefix(PersonName.last_loose, word.loose, sqlite)
            )
        if include_first:
            conditions.append(
                _longer_with_prefix(PersonName.first_key, word.key, sqlite)
            )
    return or_(*conditions)


def _longer_with_prefix(
    column: InstrumentedAttribute[str], prefix: str, sqlite: bool
) -> ColumnElement[bool]:
    """Build "``column`` starts with ``prefix`` and is longer" so it uses an index.

    SQLite compares text by code point, so the range above the prefix and
    below the prefix with its last character raised by one contains exactly
    the longer keys that start with it, and the index finds them. SQLite's
    LIKE ignores case and so skips the index.

    NOTE: on PostgreSQL this is LIKE, which scans the table unless the
    database collation is C or POSIX. A range would be wrong under other
    collations, which do not order by code point.
    """
    if sqlite:
        upper = _next_string(prefix)
        if upper is not None:
            return and_(column > prefix, column < upper)
    return and_(column.startswith(prefix, autoescape=True), column != prefix)


def _next_string(prefix: str) -> str | None:
    """Return the first string after every string that starts with ``prefix``."""
    code_point = ord(prefix[-1]) + 1
    if 0xD800 <= code_point <= 0xDFFF:
        code_point = 0xE000  # surrogates cannot be stored in UTF-8
    if code_point > 0x10FFFF:
        return None
    return prefix[:-1] + chr(code_point)


def _read(
    session: Session,
    condition: ColumnElement[bool],
    filters: _Filters,
    limit: int,
) -> list[_Candidate]:
    """Read candidate spellings; add the birth date when the query has one.

    The birth date is compared in Python. A condition on it would lead
    the planners astray: PostgreSQL misjudges how many persons a COALESCE
    keeps, and SQLite may read every person of that year or of none.
    """
    statement = select(*_CANDIDATE_COLUMNS).where(condition).limit(limit)
    if filters.birth is not None:
        statement = statement.add_columns(
            Person.birth_year, Person.birth_month, Person.birth_day
        ).join(Person, Person.id == PersonName.person_id)
    if filters.category is not None:
        statement = statement.where(
            exists().where(
                PersonCategory.person_id == PersonName.person_id,
                PersonCategory.category == filters.category,
            )
        )
    return [tuple(row) for row in session.execute(statement)]


def _birth_disagrees(filters: _Filters, row: _Candidate) -> bool:
    """Return whether the spelling's person has a known birth date that disagrees."""
    if filters.birth is None or row[8] is None:
        return False
    return not filters.birth.agrees_with(_partial_date(*row[8:11]))


@functools.lru_cache(maxsize=4096)
def _partial_date(year: int, month: int | None, day: int | None) -> PartialDate:
    return PartialDate(year, month, day)


# --- scoring ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NameWord:
    """One word of a recorded spelling and the part of the name it is in."""

    part: str
    word: _Word


@functools.lru_cache(maxsize=65536)
def _name_words(keys: _NameKeys) -> tuple[_NameWord, ...]:
    last_key, last_loose, first_key, first_group, patronymic_key = keys
    found: list[_NameWord] = []
    if " " in last_key:
        found += [_NameWord("last", _known(word)) for word in last_key.split()]
    else:
        found.append(_NameWord("last", _Word(last_key, last_loose, last_key)))
    if " " in first_key:
        found += [_NameWord("first", _known(word)) for word in first_key.split()]
    else:
        found.append(
            _NameWord("first", _Word(first_key, _loose(first_key), first_group))
        )
    if patronymic_key:
        found += [
            _NameWord("patronymic", _known(word)) for word in patronymic_key.split()
        ]
    return tuple(found)


def _known(key: str) -> _Word:
    return _Word(key, _loose(key), names.given_name_group(key))


def _match(word: _Word, name: _NameWord) -> str | None:
    """Return how ``word`` matches the recorded word ``name``, or None."""
    known = name.word
    if word.key == known.key:
        return "exact"
    if name.part == "first" and word.group == known.group:
        return "given-name group"
    if word.loose and word.loose == known.loose:
        return "loose"
    if len(word.key) < MIN_PREFIX:
        if name.part != "last" and known.key.startswith(word.key):
            return "initial"
        return None
    if known.key.startswith(word.key):
        return "prefix"
    if (
        name.part == "last"
        and len(word.loose) >= MIN_PREFIX
        and known.loose.startswith(word.loose)
    ):
        return "loose prefix"
    return None


def _best_per_person(
    words: list[_Word], rows: list[_Candidate], filters: _Filters
) -> dict[int, _Best]:
    """Score each candidate spelling and keep the best one of each person."""
    scorer = _Scorer(words)
    best: dict[int, _Best] = {}
    for row in rows:
        fit = scorer.fit(row[3:8])
        if fit is None:
            continue
        score = fit[0]
        if row[1] == "primary":
            score += _PRIMARY_BONUS
        if filters.birth is not None and row[8] is not None:
            if _birth_disagrees(filters, row):
                continue
            score += _BIRTH_BONUS
        person_id = row[0]
        held = best.get(person_id)
        if held is None or score > held.score:
            best[person_id] = _Best(score, row[2], fit[1])
    return best


class _Scorer:
    """The fit of one query's words to recorded names, computed once per name.

    Many spellings share a last or first name, so the matches of each
    recorded word and the fit of each whole name are computed once per
    query.
    """

    def __init__(self, words: list[_Word]) -> None:
        self.words = words
        self.may_skip = len(words) >= 3
        self._matches: dict[tuple[str, str], list[tuple[int, float, str]]] = {}
        self._fits: dict[_NameKeys, tuple[float, list[str]] | None] = {}

    def fit(self, keys: _NameKeys) -> tuple[float, list[str]] | None:
        """Return the score and how each word matched, or None when they do not."""
        if keys in self._fits:
            return self._fits[keys]
        name_words = _name_words(keys)
        options: list[list[tuple[int, float, str]]] = [[] for _ in self.words]
        for index, name in enumerate(name_words):
            for position, points, label in self._word_matches(name):
                options[position].append((index, points, label))
        fit = None
        unmatched = sum(1 for choices in options if not choices)
        may_skip = self.may_skip and keys[4] is None
        if unmatched <= (1 if may_skip else 0):
            search = _FitSearch(options, name_words, may_skip)
            search.place(0, [], 0.0, [])
            fit = search.best
        self._fits[keys] = fit
        return fit

    def _word_matches(self, name: _NameWord) -> list[tuple[int, float, str]]:
        """Return (query word position, points, label) for each word matching."""
        memo = (name.part, name.word.key)
        found = self._matches.get(memo)
        if found is None:
            found = []
            for position, word in enumerate(self.words):
                how = _match(word, name)
                if how is not None:
                    label = f"{name.part} {how}"
                    found.append((position, _POINTS[name.part][how], label))
            self._matches[memo] = found
        return found


class _FitSearch:
    """A depth-first search over the ways to place query words on a name.

    A query has at most MAX_WORDS words and a name a handful, so trying
    every placement is cheap.
    """

    def __init__(
        self,
        options: list[list[tuple[int, float, str]]],
        name_words: tuple[_NameWord, ...],
        may_skip: bool,
    ) -> None:
        self.options = options
        self.name_words = name_words
        self.may_skip = may_skip
        self.best: tuple[float, list[str]] | None = None

    def place(
        self, position: int, used: list[int | None], points: float, how: list[str]
    ) -> None:
        if position == len(self.options):
            self._finish(used, points, how)
            return
        for index, gained, label in self.options[position]:
            if index in used:
                continue
            used.append(index)
            how.append(label)
            self.place(position + 1, used, points + gained, how)
            used.pop()
            how.pop()
        if self._can_skip(position, used):
            used.append(None)
            how.append("patronymic not recorded")
            self.place(position + 1, used, points, how)
            used.pop()
            how.pop()

    def _can_skip(self, position: int, used: list[int | None]) -> bool:
        """Return whether the word at ``position`` may be a missing patronymic."""
        if not self.may_skip or position == 0 or None in used:
            return False
        before = used[position - 1]
        return before is not None and self.name_words[before].part == "first"

    def _finish(self, used: list[int | None], points: float, how: list[str]) -> None:
        parts = {self.name_words[index].part for index in used if index is not None}
        if len(used) == 1 and parts.isdisjoint(("last", "first")):
            return
        if len(used) > 1 and "last" not in parts:
            return
        for index, name in enumerate(self.name_words):
            if name.part != "patronymic" and index not in used:
                points -= _UNMATCHED_WORD
        if self.best is None or points > self.best[0]:
            self.best = (points, list(how))


# --- results ----------------------------------------------------------------


def _by_idnp(
    session: Session, idnp: str, words: list[_Word], filters: _Filters
) -> list[SearchHit]:
    """Find the person with this IDNP, if the name words and filters fit."""
    try:
        digits = validate_idnp(idnp)
    except InvalidIdnp as error:
        raise InvalidQuery(str(error)) from None
    person_id = session.scalar(select(Person.id).where(Person.idnp == digits))
    if person_id is None:
        return []
    rows = _read(session, PersonName.person_id == person_id, filters, MAX_CANDIDATES)
    if words:
        found = _best_per_person(words, rows, filters).get(person_id)
        if found is None:
            return []
        best = _Best(_IDNP_SCORE + found.score, found.as_typed, ["idnp", *found.how])
        return _hits(session, [(person_id, best)])

    primary = next((row for row in rows if row[1] == "primary"), None)
    if primary is None or _birth_disagrees(filters, primary):
        return []
    return _hits(session, [(person_id, _Best(_IDNP_SCORE, primary[2], ["idnp"]))])


def _hits(session: Session, ranked: list[tuple[int, _Best]]) -> list[SearchHit]:
    """Build the hits of ``ranked`` persons, reading their records."""
    if not ranked:
        return []
    ids = [person_id for person_id, _ in ranked]
    persons = {
        row.id: row
        for row in session.execute(
            select(
                Person.id,
                Person.last_name,
                Person.first_name,
                Person.patronymic,
                Person.birth_year,
                Person.birth_month,
                Person.birth_day,
                Person.idnp,
            ).where(Person.id.in_(ids))
        )
    }
    held: dict[int, list[str]] = {}
    for person_id, category in session.execute(
        select(PersonCategory.person_id, PersonCategory.category).where(
            PersonCategory.person_id.in_(ids)
        )
    ):
        held.setdefault(person_id, []).append(category)

    hits: list[SearchHit] = []
    for person_id, best in ranked:
        person = persons[person_id]
        birth = None
        if person.birth_year is not None:
            birth = PartialDate(person.birth_year, person.birth_month, person.birth_day)
        parts = (person.last_name, person.first_name, person.patronymic)
        hits.append(
            SearchHit(
                person_id=person_id,
                score=best.score,
                name=" ".join(part for part in parts if part),
                matched=best.as_typed,
                how=best.how,
                birth_date=str(birth) if birth else None,
                categories=sorted(held.get(person_id, [])),
                idnp=mask_idnp(person.idnp) if person.idnp else None,
            )
        )
    return hits
