"""Linkage of imported registry rows to recorded persons, on synthetic data.

Names are given as search keys written by hand, as ``scut.persons.names``
would produce them: case and diacritics folded, Cyrillic transliterated.
The loose keys here collapse doubled letters, which is enough to exercise
the "same loose key" level.
"""

from __future__ import annotations

import logging
import random
import time

import pytest

from scut.persons.dates import PartialDate
from scut.persons.linkage import (
    REVIEW,
    LinkageError,
    LinkCandidate,
    LinkDecision,
    LinkRecord,
    decide,
    score_pairs,
)

log = logging.getLogger(__name__)

# Given-name groups: Romanian and Russian forms of one name share a group.
GROUPS = {
    "ion": "ion",
    "ivan": "ion",
    "vasile": "vasile",
    "vasilii": "vasile",
    "gheorghe": "gheorghe",
    "gheorghii": "gheorghe",
    "maria": "maria",
    "elena": "elena",
}


def loose(key: str) -> str:
    """Collapse doubled letters: a stand-in for the real loose key."""
    out: list[str] = []
    for letter in key:
        if not out or out[-1] != letter:
            out.append(letter)
    return "".join(out)


def person(
    record_id: str,
    last: str,
    first: str,
    born: PartialDate | None,
    *,
    patronymic: str | None = None,
    place: str | None = None,
    loose_last: str | None = None,
) -> LinkRecord:
    return LinkRecord(
        record_id=record_id,
        last_name=last,
        last_name_loose=loose_last if loose_last is not None else loose(last),
        first_name=first,
        first_name_group=GROUPS.get(first, first),
        patronymic=patronymic,
        birth_date=born,
        birth_place=place,
    )


BORN = PartialDate(1986, 4, 23)

# Recorded persons that the incoming rows below are checked against.
EXISTING = [
    person("p-cirlan", "cirlan", "ion", BORN, patronymic="vasile", place="orhei"),
    person("p-rusu", "rusu", "gheorghe", PartialDate(1979, 11, 2), place="soroca"),
    person("p-munteanu", "munteanu", "elena", PartialDate(1992, 1, 30)),
    person("p-lungu", "lungu", "maria", PartialDate(1968, 8, 11), place="balti"),
]


def decision_for(
    incoming: LinkRecord, existing: list[LinkRecord] = EXISTING
) -> LinkDecision:
    candidates = score_pairs([incoming], existing)
    (decision,) = decide([incoming], candidates)
    return decision


@pytest.mark.parametrize(
    ("incoming", "expected"),
    [
        # Cîrlan typed without the circumflex: the search keys are equal.
        (
            person("r-1", "cirlan", "ion", BORN, place="orhei"),
            "p-cirlan",
        ),
        # Кирлан Иван Васильевич: the transliterated key starts with k and
        # the Russian given name shares only the group with Ion.
        (
            person("r-2", "kirlan", "ivan", BORN, patronymic="vasilii"),
            "p-cirlan",
        ),
        # Russu for Rusu: the loose keys agree.
        (
            person("r-3", "russu", "gheorghe", PartialDate(1979, 11, 2)),
            "p-rusu",
        ),
        # Russu with a loose key that keeps the doubled letter: only
        # Jaro-Winkler similarity joins the surnames.
        (
            person(
                "r-4",
                "russu",
                "gheorghii",
                PartialDate(1979, 11, 2),
                loose_last="russu",
            ),
            "p-rusu",
        ),
    ],
)
def test_changed_spelling_links(incoming: LinkRecord, expected: str) -> None:
    decision = decision_for(incoming)

    assert decision.outcome == "linked"
    assert decision.existing_id == expected
    assert decision.candidates[0].levels["birth_date"] == "exact"


def test_same_name_other_year_unlinked() -> None:
    # A different Ion Cîrlan born 1991: the surname and given name agree,
    # but a birth date in another year outweighs them, so the pair scores
    # below min_probability and is not even returned.
    other = person("r-1", "cirlan", "ion", PartialDate(1991, 2, 9))

    candidates = score_pairs([other], EXISTING)
    (decision,) = decide([other], candidates)

    assert candidates == []
    assert decision.outcome == "unlinked"
    assert decision.existing_id is None


def test_same_name_other_month_unlinked() -> None:
    # Born the same year but another month: the year agreement is common
    # among different persons, so the pair stays below the review threshold.
    other = person("r-1", "cirlan", "ion", PartialDate(1986, 9, 3))

    candidates = score_pairs([other], EXISTING)
    (decision,) = decide([other], candidates)

    assert [c.existing_id for c in candidates] == ["p-cirlan"]
    assert candidates[0].probability < 0.5
    assert candidates[0].levels["birth_date"] == "same year"
    assert decision.outcome == "unlinked"
    assert decision.candidates == []


def test_swapped_day_month_links() -> None:
    # Born 11 August 1968, typed as 8 November 1968.
    lungu = person("r-1", "lungu", "maria", PartialDate(1968, 11, 8), place="balti")

    decision = decision_for(lungu)

    assert decision.outcome == "linked"
    assert decision.existing_id == "p-lungu"
    assert decision.candidates[0].levels["birth_date"] == "day and month transposed"


def test_birth_year_only_review() -> None:
    year_only = person("r-1", "munteanu", "elena", PartialDate(1992))

    decision = decision_for(year_only)

    assert decision.outcome == "review"
    assert decision.existing_id is None
    assert [c.existing_id for c in decision.candidates] == ["p-munteanu"]
    assert decision.candidates[0].levels["birth_date"] == "same year, month unknown"


def test_year_and_month_known_links() -> None:
    month_only = person("r-1", "munteanu", "elena", PartialDate(1992, 1))

    decision = decision_for(month_only)

    assert decision.outcome == "linked"
    assert decision.candidates[0].levels["birth_date"] == (
        "same year and month, day unknown"
    )


def test_duplicate_existing_person_review() -> None:
    twice = [
        *EXISTING,
        person("p-cirlan-2", "cirlan", "ion", BORN, place="orhei"),
    ]
    incoming = person("r-1", "cirlan", "ion", BORN, patronymic="vasile")

    decision = decision_for(incoming, twice)

    assert decision.outcome == "review"
    assert decision.existing_id is None
    assert {c.existing_id for c in decision.candidates} == {"p-cirlan", "p-cirlan-2"}
    assert decision.candidates[0].probability >= decision.candidates[1].probability


def test_no_birth_date_not_linked() -> None:
    # Rusu Gheorghe is a common name. With the patronymic and place of
    # birth agreeing as well the row is worth a look, but a brother or a
    # namesake from the same town would agree just as well.
    full = person("r-1", "rusu", "gheorghe", None, patronymic="ion", place="soroca")
    recorded = person(
        "p-rusu",
        "rusu",
        "gheorghe",
        PartialDate(1979, 11, 2),
        patronymic="ion",
        place="soroca",
    )
    bare = person("r-2", "rusu", "gheorghe", None)

    with_details = decision_for(full, [recorded])

    assert with_details.outcome == "review"
    assert with_details.candidates[0].levels["birth_date"] == "missing"
    assert decision_for(bare).outcome == "unlinked"


def test_levels_name_every_field() -> None:
    same = person("r-1", "cirlan", "ion", BORN, patronymic="vasile", place="orhei")

    (candidate,) = score_pairs([same], EXISTING)

    assert candidate.levels == {
        "last_name": "exact",
        "first_name": "exact",
        "patronymic": "exact",
        "birth_date": "exact",
        "birth_place": "exact",
    }
    assert candidate.probability > 0.999
    assert candidate.match_weight > 10


def test_empty_values_count_as_missing() -> None:
    blank = LinkRecord("r-1", "cirlan", "cirlan", "ion", "ion", "", BORN, "")

    (candidate,) = score_pairs([blank], EXISTING)

    assert candidate.levels["patronymic"] == "missing"
    assert candidate.levels["birth_place"] == "missing"


def test_empty_inputs_return_nothing() -> None:
    rows = [person("r-1", "cirlan", "ion", BORN)]

    assert score_pairs([], EXISTING) == []
    assert score_pairs(rows, []) == []
    assert decide([], []) == []


def test_repeated_record_id_rejected() -> None:
    row = person("r-1", "cirlan", "ion", BORN)

    with pytest.raises(LinkageError, match="'r-1' appears more than once"):
        score_pairs([row, row], EXISTING)
    with pytest.raises(LinkageError, match="record id is empty"):
        score_pairs(EXISTING, [person("", "rusu", "ion", BORN)])


def test_min_probability_out_of_range() -> None:
    rows = [person("r-1", "cirlan", "ion", BORN)]

    with pytest.raises(LinkageError, match="min_probability 1.5"):
        score_pairs(rows, EXISTING, min_probability=1.5)


def test_min_probability_filters_pairs() -> None:
    other = person("r-1", "cirlan", "ion", PartialDate(1986, 9, 3))

    assert score_pairs([other], EXISTING, min_probability=0.5) == []
    assert len(score_pairs([other], EXISTING, min_probability=0.0)) >= 1


def candidate(incoming: str, existing: str, probability: float) -> LinkCandidate:
    return LinkCandidate(incoming, existing, probability, 0.0, {})


ROWS = [person(f"r-{n}", "rusu", "ion", BORN) for n in range(1, 5)]


def test_decide_rules() -> None:
    candidates = [
        candidate("r-1", "p-1", 0.99),
        candidate("r-1", "p-2", 0.30),
        candidate("r-2", "p-1", 0.97),
        candidate("r-2", "p-3", 0.60),
        candidate("r-3", "p-4", 0.70),
        candidate("r-3", "p-5", 0.80),
        candidate("r-4", "p-6", 0.49),
    ]

    clear, ambiguous, uncertain, weak = decide(ROWS, candidates)

    assert (clear.outcome, clear.existing_id) == ("linked", "p-1")
    assert [c.existing_id for c in clear.candidates] == ["p-1"]
    assert (ambiguous.outcome, ambiguous.existing_id) == ("review", None)
    assert [c.existing_id for c in ambiguous.candidates] == ["p-1", "p-3"]
    assert uncertain.outcome == "review"
    assert [c.existing_id for c in uncertain.candidates] == ["p-5", "p-4"]
    assert (weak.outcome, weak.candidates) == ("unlinked", [])


def test_decide_same_person_twice() -> None:
    candidates = [candidate("r-1", "p-1", 0.99), candidate("r-2", "p-1", 0.98)]

    decisions = decide(ROWS[:2], candidates)

    assert [d.outcome for d in decisions] == ["linked", "linked"]
    assert [d.existing_id for d in decisions] == ["p-1", "p-1"]


def test_decide_thresholds_inclusive() -> None:
    candidates = [candidate("r-1", "p-1", 0.9), candidate("r-2", "p-2", 0.4)]

    linked, review = decide(ROWS[:2], candidates, accept=0.9, review=0.4)

    assert linked.outcome == "linked"
    assert review.outcome == "review"


@pytest.mark.parametrize(("accept", "review"), [(0.5, 0.9), (1.2, 0.5), (0.9, 0.0)])
def test_decide_invalid_thresholds(accept: float, review: float) -> None:
    with pytest.raises(LinkageError, match="invalid thresholds"):
        decide(ROWS, [], accept=accept, review=review)


def test_decide_unknown_incoming_id() -> None:
    with pytest.raises(LinkageError, match="r-9"):
        decide(ROWS, [candidate("r-9", "p-1", 0.99)])


def test_splink_logs_held_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    rows = [person("r-1", "cirlan", "ion", BORN)]

    with caplog.at_level(logging.INFO):
        score_pairs(rows, EXISTING)
    quiet = [r for r in caplog.records if r.name.startswith("splink")]
    ours = [r for r in caplog.records if r.name == "scut.persons.linkage"]
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        score_pairs(rows, EXISTING)
    verbose = [r for r in caplog.records if r.name.startswith("splink")]

    assert quiet == []
    assert len(ours) == 1
    assert verbose != []
    assert logging.getLogger("splink").level == logging.NOTSET


# Synthetic populations for the scale check: made-up stems with endings
# common in Moldovan surnames and place names, drawn with a long-tailed
# frequency so that a few surnames are common and one place dominates.
SURNAME_ENDINGS = [
    "u", "an", "anu", "aru", "escu", "eanu", "ici", "uc", "ea", "ii",
    "ovici", "enco", "ciuc", "ache", "oi", "ulescu", "at", "ar", "ut",
]  # fmt: skip
PLACE_ENDINGS = ["eni", "esti", "ani", "ita", "ova", "eu"]
FIRST_NAMES = [
    "ion", "ivan", "vasile", "vasilii", "gheorghe", "gheorghii", "maria",
    "elena", "nicolae", "andrei", "sergiu", "alexandru", "vladimir",
    "dumitru", "mihai", "victor", "igor", "ana", "natalia", "tatiana",
    "olga", "svetlana", "ludmila", "irina", "valentina", "cristina",
    "ecaterina", "galina", "valeriu", "petru",
]  # fmt: skip
RUSSIAN_FORMS = {"ion": "ivan", "vasile": "vasilii", "gheorghe": "gheorghii"}


def made_up_words(count: int, endings: list[str], rng: random.Random) -> list[str]:
    consonants, vowels = "bcdfghlmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        stem = rng.choice(consonants) + rng.choice(vowels) + rng.choice(consonants)
        if rng.random() < 0.5:
            stem += rng.choice(vowels) + rng.choice(consonants)
        words.add(stem + rng.choice(endings))
    shuffled = sorted(words)
    rng.shuffle(shuffled)
    return shuffled


def synthetic_people(count: int, prefix: str, rng: random.Random) -> list[LinkRecord]:
    surnames = made_up_words(1_000, SURNAME_ENDINGS, rng)
    surname_weights = [1 / (rank + 5) for rank in range(len(surnames))]
    places = made_up_words(40, PLACE_ENDINGS, rng)
    place_weights = [10.0] + [1.0] * (len(places) - 1)
    people = []
    for n in range(count):
        born = PartialDate(
            rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)
        )
        place = rng.choices(places, place_weights)[0]
        people.append(
            person(
                f"{prefix}-{n}",
                rng.choices(surnames, surname_weights)[0],
                rng.choice(FIRST_NAMES),
                born,
                patronymic=rng.choice([None, rng.choice(FIRST_NAMES[:10])]),
                place=rng.choice([None, place]),
            )
        )
    return people


def variant(source: LinkRecord, record_id: str, rng: random.Random) -> LinkRecord:
    """Return a copy of ``source`` with one change that real records show."""
    born = source.birth_date
    assert born is not None
    assert born.month is not None
    last, first, place = source.last_name, source.first_name, source.birth_place
    change = rng.choice(["none", "double", "c-k", "group", "no-day", "no-place"])
    if change == "double":
        last = last[:2] + last[1:]
    elif change == "c-k":
        last = "k" + last[1:] if last[0] == "c" else last[:-1] + "i"
    elif change == "group":
        first = RUSSIAN_FORMS.get(first, first)
    elif change == "no-day":
        born = PartialDate(born.year, born.month)
    elif change == "no-place":
        place = None
    return person(
        record_id, last, first, born, patronymic=source.patronymic, place=place
    )


@pytest.mark.slow
def test_scale_20000_by_2000(caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(20240611)
    existing = synthetic_people(20_000, "p", rng)
    incoming = synthetic_people(1_500, "r", rng)
    planted = {}
    for n, source in enumerate(rng.sample(existing, 500)):
        planted[f"m-{n}"] = source.record_id
        incoming.append(variant(source, f"m-{n}", rng))

    rows = {record.record_id: record for record in incoming}
    people = {record.record_id: record for record in existing}

    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="scut.persons.linkage"):
        decisions = decide(incoming, score_pairs(incoming, existing))
    elapsed = time.perf_counter() - started
    (scored,) = [
        r for r in caplog.records if r.getMessage().startswith("linkage compared")
    ]
    pairs = scored.args[0] if isinstance(scored.args, tuple) else -1
    log.info("score_pairs + decide: %.2f s, %s pairs compared", elapsed, pairs)

    by_id = {d.incoming_id: d for d in decisions}
    found = [by_id[m].existing_id == p for m, p in planted.items()]
    wrong = [
        d
        for d in decisions
        if d.outcome == "linked"
        and planted.get(d.incoming_id) != d.existing_id
        and not namesakes(rows[d.incoming_id], people[d.existing_id or ""])
    ]
    assert len(decisions) == 2_000
    assert sum(found) >= 0.95 * len(planted)
    assert wrong == []
    assert isinstance(pairs, int)
    assert pairs < 0.01 * len(incoming) * len(existing)


def namesakes(left: LinkRecord, right: LinkRecord) -> bool:
    """Return whether two records agree on surname, given name and birth date.

    Such pairs happen by chance in a random population and no model can
    tell them apart, so the scale check does not count them as errors.
    """
    return (left.last_name, left.first_name, left.birth_date) == (
        right.last_name,
        right.first_name,
        right.birth_date,
    )


def test_twin_with_other_given_name_goes_to_review() -> None:
    born = PartialDate(1986, 4, 23)
    recorded = LinkRecord(
        record_id="p1",
        last_name="carlan",
        last_name_loose="karlan",
        first_name="ion",
        first_name_group="ion",
        patronymic="vasile",
        birth_date=born,
        birth_place="orhei",
    )
    twin = LinkRecord(
        record_id="r1",
        last_name="carlan",
        last_name_loose="karlan",
        first_name="petru",
        first_name_group="petru",
        patronymic="vasile",
        birth_date=born,
        birth_place="orhei",
    )
    candidates = score_pairs([twin], [recorded])
    (decision,) = decide([twin], candidates)
    assert decision.outcome == REVIEW
    assert decision.existing_id is None
