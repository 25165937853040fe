"""Probabilistic linkage of imported registry rows to recorded persons.

Rows of a convicted-offender list that carry no matching IDNP are scored
against the persons already recorded with Splink (DuckDB backend, in
memory) on surname, given name, patronymic, date of birth and place of
birth. ``score_pairs`` returns the scored candidate pairs and ``decide``
turns them into one outcome per incoming row: linked, review (an analyst
decides) or unlinked.

The model is not trained. An import has too few rows for EM training to
be reliable, so every m and u probability below is an estimate set by
hand, with its reasoning beside it. The m probability of a level is the
share of pairs of records of the same person that fall in it, and the u
probability the share of pairs of different persons. Each comparison ends in an "else"
level whose probabilities are what remains of 1, so that each set sums to
1. All names are compared as the search keys the caller computed.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from scut.errors import ScutError
from scut.persons.dates import PartialDate

logger = logging.getLogger(__name__)

LINKED = "linked"
REVIEW = "review"
UNLINKED = "unlinked"

# Share of the rows of a convicted-offender list expected to be a person
# already recorded. It is an estimate: most convicted offenders never
# appear in a victim-identification case.
EXPECTED_LINKED_SHARE = 0.25
# The prior (probability_two_random_records_match) divides the expected
# share by the number of existing records, but by no fewer than this many.
# A small database (a new one, or a test) covers few of the offenders on a
# list, so one chance in its size would overstate the prior and link on
# names alone.
MIN_PRIOR_PERSONS = 10_000

# Label of the null level, where either record lacks the field.
_MISSING = "missing"
_INCOMING = "incoming"
_EXISTING = "existing"

_SCHEMA = pa.schema(
    [
        ("unique_id", pa.string()),
        ("last_name", pa.string()),
        ("last_name_loose", pa.string()),
        ("first_name", pa.string()),
        ("first_name_group", pa.string()),
        ("patronymic", pa.string()),
        ("birth_year", pa.int32()),
        ("birth_month", pa.int32()),
        ("birth_day", pa.int32()),
        ("birth_place", pa.string()),
    ]
)

# A pair is compared when any rule holds. A changed spelling of the
# surname is still caught by the birth date, by the given-name group and
# birth year, or by the year and the first two letters of the surname.
_BLOCKING_RULES = [
    block_on("last_name_loose"),
    block_on("birth_year", "birth_month", "birth_day"),
    block_on("first_name_group", "birth_year"),
    block_on("birth_year", "substr(last_name, 1, 2)"),
]


class LinkageError(ScutError):
    """Raised for linkage input that is invalid: ids, thresholds, candidates."""


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A person as the linkage compares it, with names as search keys."""

    record_id: str
    last_name: str
    last_name_loose: str
    first_name: str
    first_name_group: str
    patronymic: str | None
    birth_date: PartialDate | None
    birth_place: str | None


@dataclass(frozen=True, slots=True)
class LinkCandidate:
    """A scored pair: an incoming row and a recorded person it may be.

    ``levels`` maps each compared field (last_name, first_name, patronymic,
    birth_date, birth_place) to the label of the comparison level the pair
    fell in, for the review screen.
    """

    incoming_id: str
    existing_id: str
    probability: float
    match_weight: float
    levels: dict[str, str]


@dataclass(frozen=True, slots=True)
class LinkDecision:
    """The outcome for one incoming row: linked, review or unlinked.

    ``existing_id`` is set only for "linked". ``candidates`` lists, best
    first, the candidates at or above the review threshold, so it contains
    the linked person alone for "linked" and is empty for "unlinked".
    """

    incoming_id: str
    outcome: str
    existing_id: str | None
    candidates: list[LinkCandidate]


@dataclass(frozen=True, slots=True)
class _Level:
    label: str
    sql: str
    m: float
    u: float


@dataclass(frozen=True, slots=True)
class _Comparison:
    """One compared field: a null level, agreement levels and an else level."""

    name: str
    null_sql: str
    levels: tuple[_Level, ...]
    else_label: str = "different"

    def settings(self) -> dict[str, Any]:
        """Return the comparison as a Splink settings dictionary."""
        null = {
            "sql_condition": self.null_sql,
            "label_for_charts": _MISSING,
            "is_null_level": True,
        }
        levels = [null] + [_level_settings(level) for level in self.levels]
        m_else = 1.0 - sum(level.m for level in self.levels)
        u_else = 1.0 - sum(level.u for level in self.levels)
        levels.append(_level_settings(_Level(self.else_label, "ELSE", m_else, u_else)))
        return {"output_column_name": self.name, "comparison_levels": levels}

    def label(self, gamma: int) -> str:
        """Return the label of the level with Splink comparison vector value gamma.

        Splink 5.0 numbers the null level -1 and the others from the number
        of non-null levels minus one, in order, down to 0 for the else level.
        """
        if gamma == -1:
            return _MISSING
        labels = [level.label for level in self.levels] + [self.else_label]
        return labels[len(labels) - 1 - gamma]


def _level_settings(level: _Level) -> dict[str, Any]:
    return {
        "sql_condition": level.sql,
        "label_for_charts": level.label,
        "m_probability": level.m,
        "u_probability": level.u,
    }


def _null_sql(column: str) -> str:
    return f"{column}_l IS NULL OR {column}_r IS NULL"


def _similar(column: str, threshold: float, m: float, u: float) -> _Level:
    """Return a level for a Jaro-Winkler similarity at or above ``threshold``."""
    return _Level(
        f"similar (Jaro-Winkler >= {threshold})",
        f"jaro_winkler_similarity({column}_l, {column}_r) >= {threshold}",
        m,
        u,
    )


# Surnames: a few Moldovan surnames (Rusu, Ceban, Ciobanu) are common, so
# two different persons are estimated to share the key once in 200 pairs.
# The loose key catches spellings that the search key keeps apart (doubled
# letters, transliterations), which random pairs seldom share.
# NOTE: no term-frequency adjustment is made, so a common surname or given
# name weighs as much as a rare one.
_LAST_NAME = _Comparison(
    "last_name",
    _null_sql("last_name"),
    (
        _Level("exact", "last_name_l = last_name_r", 0.85, 0.005),
        _Level("same loose key", "last_name_loose_l = last_name_loose_r", 0.08, 0.001),
        _similar("last_name", 0.92, 0.03, 0.002),
        _similar("last_name", 0.85, 0.03, 0.01),
    ),
)

# Given names: a few names (Ion, Vasile, Maria, Elena) are very common, so
# two different persons are estimated to share the key once in 40 pairs. The group
# joins Romanian and Russian forms (Ion and Ivan) that a Russian-language
# record may hold.
_FIRST_NAME = _Comparison(
    "first_name",
    _null_sql("first_name"),
    (
        _Level("exact", "first_name_l = first_name_r", 0.85, 0.025),
        _Level(
            "same name group", "first_name_group_l = first_name_group_r", 0.08, 0.004
        ),
        _similar("first_name", 0.9, 0.04, 0.01),
    ),
)

# Patronymics: optional and often miswritten, so disagreement is weak
# evidence. Agreement is weak too, because a patronymic is a common male
# given name and brothers share it with the surname and place of birth.
_PATRONYMIC = _Comparison(
    "patronymic",
    _null_sql("patronymic"),
    (
        _Level("exact", "patronymic_l = patronymic_r", 0.7, 0.08),
        _similar("patronymic", 0.88, 0.12, 0.03),
    ),
)

# Dates of birth: adults born over about 60 years, so two different
# persons share a full date about once in 365 * 60 pairs and a year once
# in 60. A partial date that agrees on the parts it has counts as the
# agreement of those parts, scaled by the share of records with the rest
# unknown (about 3% lack the day, 2% the month).
_YEARS = 60
_DAYS = 365 * _YEARS
_SAME_YEAR = "birth_year_l = birth_year_r"
_SAME_MONTH = "birth_month_l = birth_month_r"
_BIRTH_DATE = _Comparison(
    "birth_date",
    _null_sql("birth_year"),
    (
        _Level(
            "exact",
            f"{_SAME_YEAR} AND {_SAME_MONTH} AND birth_day_l = birth_day_r",
            0.85,
            1 / _DAYS,
        ),
        # A clerk swapped day and month: rare, but about as specific as an
        # exact date.
        _Level(
            "day and month transposed",
            f"{_SAME_YEAR} AND birth_month_l = birth_day_r"
            " AND birth_day_l = birth_month_r",
            0.01,
            1 / _DAYS,
        ),
        _Level(
            "same year and month, day unknown",
            f"{_SAME_YEAR} AND {_SAME_MONTH}"
            " AND (birth_day_l IS NULL OR birth_day_r IS NULL)",
            0.03 * 0.95,
            0.03 / (12 * _YEARS),
        ),
        _Level(
            "same year, month unknown",
            f"{_SAME_YEAR} AND (birth_month_l IS NULL OR birth_month_r IS NULL)",
            0.02 * 0.95,
            0.02 / _YEARS,
        ),
        _Level(
            "same year and month",
            f"{_SAME_YEAR} AND {_SAME_MONTH}",
            0.03,
            1 / (12 * _YEARS) - 1 / _DAYS,
        ),
        _Level("same year", _SAME_YEAR, 0.03, 1 / _YEARS - 1 / (12 * _YEARS)),
        _Level(
            "one year apart",
            "abs(birth_year_l - birth_year_r) = 1",
            0.02,
            2 / _YEARS,
        ),
    ),
)

# Places of birth: Chisinau alone is the birthplace of an estimated quarter
# of the population, and surnames cluster by region, so agreement is weak.
# Records also name a village in one place and its raion in another.
_BIRTH_PLACE = _Comparison(
    "birth_place",
    _null_sql("birth_place"),
    (
        _Level("exact", "birth_place_l = birth_place_r", 0.8, 0.15),
        _similar("birth_place", 0.9, 0.06, 0.02),
    ),
)

_COMPARISONS = (_LAST_NAME, _FIRST_NAME, _PATRONYMIC, _BIRTH_DATE, _BIRTH_PLACE)


def score_pairs(
    incoming: Sequence[LinkRecord],
    existing: Sequence[LinkRecord],
    *,
    min_probability: float = 0.05,
) -> list[LinkCandidate]:
    """Score incoming rows against recorded persons and return likely pairs.

    Only pairs that a blocking rule selects are compared, and only those
    with a match probability at or above ``min_probability`` are returned,
    best first within each incoming row. Empty inputs return an empty list
    without starting DuckDB.

    Raises LinkageError for an empty or repeated record id within either
    sequence, or for ``min_probability`` outside 0..1.
    """
    if not 0.0 <= min_probability <= 1.0:
        raise LinkageError(
            f"invalid min_probability {min_probability}: use a value from 0 to 1"
        )
    _check_ids(incoming, _INCOMING)
    _check_ids(existing, _EXISTING)
    if not incoming or not existing:
        return []

    started = time.perf_counter()
    prior = EXPECTED_LINKED_SHARE / max(len(existing), MIN_PRIOR_PERSONS)
    with _quiet_splink():
        compared, rows = _predict(incoming, existing, prior, min_probability)
    candidates = sorted(
        (_candidate(row) for row in rows),
        key=lambda c: (c.incoming_id, -c.probability, c.existing_id),
    )

    logger.info(
        "linkage compared %d pairs of %d incoming and %d existing records "
        "in %.2f s; %d pairs scored at or above %.2f",
        compared,
        len(incoming),
        len(existing),
        time.perf_counter() - started,
        len(candidates),
        min_probability,
    )
    return candidates


def decide(
    incoming: Sequence[LinkRecord],
    candidates: Sequence[LinkCandidate],
    *,
    accept: float = 0.95,
    review: float = 0.5,
) -> list[LinkDecision]:
    """Decide, for each incoming row in order, whether it links to a person.

    The row is linked to its best candidate when that candidate's
    probability is at least ``accept``, no other candidate reaches
    ``review`` (two plausible persons need an analyst) and the given names
    are not wholly different (twins). Otherwise the
    row goes to review when its best candidate reaches ``review``, and is
    unlinked when none does. Several rows may link to the same person, who
    can have several convictions.

    Raises LinkageError when the thresholds are not 0 < review <= accept <= 1
    or a candidate names an incoming id that is not in ``incoming``.
    """
    if not 0.0 < review <= accept <= 1.0:
        raise LinkageError(
            f"invalid thresholds accept={accept}, review={review}: "
            "use 0 < review <= accept <= 1"
        )
    by_incoming: dict[str, list[LinkCandidate]] = defaultdict(list)
    for candidate in candidates:
        by_incoming[candidate.incoming_id].append(candidate)
    unknown = by_incoming.keys() - {record.record_id for record in incoming}
    if unknown:
        raise LinkageError(
            f"candidates name incoming ids not in the input: {sorted(unknown)[:5]}"
        )

    decisions = []
    for record in incoming:
        ranked = sorted(
            by_incoming.get(record.record_id, []),
            key=lambda c: (-c.probability, c.existing_id),
        )
        plausible = [c for c in ranked if c.probability >= review]
        decisions.append(_decision(record.record_id, plausible, accept))

    counts: dict[str, int] = defaultdict(int)
    for decision in decisions:
        counts[decision.outcome] += 1
    logger.info(
        "linkage decided %d rows: %d linked, %d for review, %d unlinked",
        len(decisions),
        counts[LINKED],
        counts[REVIEW],
        counts[UNLINKED],
    )
    return decisions


def _decision(
    incoming_id: str, plausible: list[LinkCandidate], accept: float
) -> LinkDecision:
    if not plausible:
        return LinkDecision(incoming_id, UNLINKED, None, [])
    best = plausible[0]
    # Twins share surname, birth date, birth place and patronymic, which
    # outweigh a different given name in the scores: such a pair needs an
    # analyst, however high its probability.
    different_name = best.levels.get("first_name") == _FIRST_NAME.else_label
    if best.probability >= accept and len(plausible) == 1 and not different_name:
        return LinkDecision(incoming_id, LINKED, best.existing_id, plausible)
    return LinkDecision(incoming_id, REVIEW, None, plausible)


def _check_ids(records: Sequence[LinkRecord], side: str) -> None:
    seen: set[str] = set()
    for record in records:
        if not record.record_id:
            raise LinkageError(f"invalid {side} record: the record id is empty")
        if record.record_id in seen:
            raise LinkageError(
                f"invalid {side} records: the record id {record.record_id!r} "
                "appears more than once"
            )
        seen.add(record.record_id)


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Hold Splink's loggers at WARNING unless this module logs at DEBUG.

    NOTE: the level of the "splink" logger is process-wide, so a linkage
    running in another thread at the same time shares it.
    """
    splink_logger = logging.getLogger("splink")
    previous = splink_logger.level
    if not logger.isEnabledFor(logging.DEBUG):
        splink_logger.setLevel(max(previous, logging.WARNING))
    try:
        yield
    finally:
        splink_logger.setLevel(previous)


def _predict(
    incoming: Sequence[LinkRecord],
    existing: Sequence[LinkRecord],
    prior: float,
    min_probability: float,
) -> tuple[int, list[dict[str, Any]]]:
    """Run Splink and return the number of compared pairs and the kept rows."""
    db_api = DuckDBAPI(":memory:")
    try:
        tables = [
            db_api.register(_table(incoming), table_name=_INCOMING),
            db_api.register(_table(existing), table_name=_EXISTING),
        ]
        settings = SettingsCreator(
            link_type="link_only",
            comparisons=[comparison.settings() for comparison in _COMPARISONS],
            blocking_rules_to_generate_predictions=list(_BLOCKING_RULES),
            probability_two_random_records_match=prior,
            retain_matching_columns=True,
            retain_intermediate_calculation_columns=False,
        )
        linker = Linker(tables, settings, log_level=None)
        predictions = linker.inference.predict(warning_mode="never")

        count = predictions.query_sql("SELECT count(*) AS pairs FROM {this}")
        compared = int(count.as_record_list()[0]["pairs"])
        gammas = ", ".join(f"gamma_{c.name}" for c in _COMPARISONS)
        kept = predictions.query_sql(
            "SELECT source_dataset_l, unique_id_l, unique_id_r, match_probability,"
            f" match_weight, {gammas} FROM {{this}}"
            f" WHERE match_probability >= {float(min_probability)!r}"
        )
        return compared, kept.as_record_list()
    finally:
        db_api.duckdb_con.close()


def _table(records: Sequence[LinkRecord]) -> Any:
    """Return the records as an Arrow table, with empty strings as nulls."""
    columns: dict[str, list[Any]] = {field.name: [] for field in _SCHEMA}
    for record in records:
        date = record.birth_date
        columns["unique_id"].append(record.record_id)
        columns["last_name"].append(record.last_name or None)
        columns["last_name_loose"].append(record.last_name_loose or None)
        columns["first_name"].append(record.first_name or None)
        columns["first_name_group"].append(record.first_name_group or None)
        columns["patronymic"].append(record.patronymic or None)
        columns["birth_year"].append(date.year if date else None)
        columns["birth_month"].append(date.month if date else None)
        columns["birth_day"].append(date.day if date else None)
        columns["birth_place"].append(record.birth_place or None)
    return pa.Table.from_pydict(columns, schema=_SCHEMA)


def _candidate(row: dict[str, Any]) -> LinkCandidate:
    if row["source_dataset_l"] == _INCOMING:
        incoming_id, existing_id = row["unique_id_l"], row["unique_id_r"]
    else:
        incoming_id, existing_id = row["unique_id_r"], row["unique_id_l"]
    levels = {c.name: c.label(int(row[f"gamma_{c.name}"])) for c in _COMPARISONS}
    return LinkCandidate(
        incoming_id=str(incoming_id),
        existing_id=str(existing_id),
        probability=float(row["match_probability"]),
        match_weight=float(row["match_weight"]),
        levels=levels,
    )
