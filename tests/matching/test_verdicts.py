"""decide(): verdict precedence, identification flags, category, series, cases."""

from __future__ import annotations

from typing import Any

import pytest

from scut.matching import verdicts
from scut.matching.verdicts import (
    KNOWN,
    KNOWN_GOOD,
    MAX_MATCHES,
    NEAR,
    NEW,
    decide,
    flag_of,
    merge_flags,
)


def _entry(
    how: str = "md5",
    *,
    kind: str = "known-abuse",
    set_name: str = "partner-set",
    distance: int = 0,
    category: tuple[str, str] | None = None,
    series: str | None = None,
    victim: bool | None = None,
    offender: bool | None = None,
    baseline: bool | None = None,
) -> dict[str, Any]:
    """Return a hash set match shaped as the matcher builds it."""
    return {
        "source": "hash-set",
        "hash_set": set_name,
        "set_kind": kind,
        "entry_id": 1,
        "item": 1,
        "how": how,
        "distance": distance,
        "category": (
            {"scheme": category[0], "code": category[1]} if category else None
        ),
        "series": series,
        "victim_identified": victim,
        "offender_identified": offender,
        "baseline": baseline,
    }


def _media(
    how: str = "sha256",
    *,
    distance: int = 0,
    cases: tuple[str, ...] = ("C-OLD",),
    category: tuple[str, str] | None = None,
    category_source: str | None = None,
) -> dict[str, Any]:
    """Return an earlier-media match shaped as the matcher builds it."""
    match: dict[str, Any] = {
        "source": "case",
        "how": how,
        "distance": distance,
        "media_id": 7,
        "seen_in": [
            {"case": case, "exhibit": "E1", "path": f"{case}.jpg"} for case in cases
        ],
    }
    if category is not None:
        match["category"] = {"scheme": category[0], "code": category[1]}
        match["category_source"] = category_source
    return match


# Precedence.


def test_nothing_matched_is_new() -> None:
    result = decide([], [])

    assert result.verdict == NEW
    assert result.detail == {}
    assert result.category is None


def test_exact_abuse_beats_known_good() -> None:
    good = _entry("md5", kind=KNOWN_GOOD, set_name="nsrl")
    abuse = _entry("sha1", set_name="partner-set")

    result = decide([good, abuse], [])

    assert result.verdict == KNOWN
    assert [m["hash_set"] for m in result.detail["matches"]] == ["partner-set"]


def test_alert_list_exact_match_is_known() -> None:
    alert = _entry("sha256", kind="alert", set_name="alerts")

    result = decide([alert], [])

    assert result.verdict == KNOWN
    assert result.detail["alert"] is True


def test_known_good_beats_near() -> None:
    good = _entry("md5", kind=KNOWN_GOOD, set_name="nsrl")
    near_entry = _entry("pdq", distance=12, set_name="partner-set")
    near_media = _media("pdq", distance=8)

    result = decide([good, near_entry], [near_media])

    assert result.verdict == KNOWN_GOOD
    assert [m["hash_set"] for m in result.detail["matches"]] == ["nsrl"]
    assert result.detail["cases"] == []
    assert result.category is None


def test_same_file_in_other_exhibit_is_known() -> None:
    result = decide([], [_media("sha256", cases=("C-OLD",))])

    assert result.verdict == KNOWN
    assert result.detail["matches"][0]["how"] == "sha256"
    assert result.detail["cases"] == ["C-OLD"]


def test_same_file_beats_near_entries() -> None:
    near_entry = _entry("pdq", distance=4)

    result = decide([near_entry], [_media("sha256")])

    assert result.verdict == KNOWN
    assert [m["how"] for m in result.detail["matches"]] == ["sha256"]


@pytest.mark.parametrize("how", ["pdq", "video-frames", "local-features"])
def test_perceptual_media_match_is_near(how: str) -> None:
    result = decide([], [_media(how, distance=20)])

    assert result.verdict == NEAR
    assert result.detail["matches"][0]["how"] == how


def test_near_abuse_entry_is_near() -> None:
    result = decide([_entry("pdq", distance=17)], [])

    assert result.verdict == NEAR
    assert result.detail["matches"][0]["distance"] == 17


def test_near_known_good_entry_alone_is_new() -> None:
    near_good = _entry("pdq", kind=KNOWN_GOOD, distance=3, set_name="nsrl")

    result = decide([near_good], [])

    assert result.verdict == NEW
    assert result.detail == {}


def test_near_good_entry_dropped_beside_abuse() -> None:
    near_good = _entry("pdq", kind=KNOWN_GOOD, distance=1, set_name="nsrl")
    near_abuse = _entry("pdq", distance=25, set_name="partner-set")

    result = decide([near_good, near_abuse], [])

    assert result.verdict == NEAR
    assert [m["hash_set"] for m in result.detail["matches"]] == ["partner-set"]


# Identification flags.


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((True, False, None), True),
        ((False, True), True),
        ((None, False, None), False),
        ((False, False), False),
        ((None, None), None),
    ],
)
def test_identification_flags_merge(
    flags: tuple[bool | None, ...], expected: bool | None
) -> None:
    entries = [
        _entry("md5", set_name=f"set-{n}", victim=flag, offender=flag)
        for n, flag in enumerate(flags)
    ]

    detail = decide(entries, []).detail

    assert detail["victim_identified"] is expected
    assert detail["offender_identified"] is expected


def test_victim_and_offender_flags_merged_separately() -> None:
    entries = [
        _entry("md5", set_name="a", victim=True, offender=None),
        _entry("sha1", set_name="b", victim=None, offender=False),
    ]

    detail = decide(entries, []).detail

    assert detail["victim_identified"] is True
    assert detail["offender_identified"] is False


def test_flags_unknown_for_media_match_only() -> None:
    detail = decide([], [_media("sha256")]).detail

    assert detail["victim_identified"] is None
    assert detail["offender_identified"] is None
    assert detail["series"] == []


def test_baseline_flag_from_any_set() -> None:
    entries = [
        _entry("md5", set_name="a", baseline=None),
        _entry("sha1", set_name="b", baseline=True),
    ]

    assert decide(entries, []).detail["baseline"] is True
    assert decide(entries[:1], []).detail["baseline"] is False


# Category.


def test_gravest_projectvic_category_wins() -> None:
    entries = [
        _entry("md5", set_name="set-a", category=("projectvic", "2")),
        _entry("sha1", set_name="set-b", category=("projectvic", "1")),
        _entry("sha256", set_name="set-c", category=("projectvic", "0")),
    ]

    result = decide(entries, [])

    assert result.category == ("projectvic", "1", "hash set set-b")
    assert result.detail["category"] == {"scheme": "projectvic", "code": "1"}
    assert result.detail["category_source"] == "hash set set-b"
    assert result.detail["category_conflict"] is True


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (("0", "4"), "4"),
        (("4", "2"), "2"),
        (("2", "3"), "3"),
        (("3", "1"), "1"),
    ],
)
def test_category_gravity_order(codes: tuple[str, str], expected: str) -> None:
    entries = [
        _entry("md5", set_name=f"set-{code}", category=("projectvic", code))
        for code in codes
    ]

    result = decide(entries, [])

    assert result.category is not None
    assert result.category[1] == expected


def test_agreeing_sources_not_a_conflict() -> None:
    entries = [
        _entry("md5", set_name="set-b", category=("projectvic", "3")),
        _entry("sha1", set_name="set-a", category=("projectvic", "3")),
    ]

    result = decide(entries, [])

    assert result.detail["category_conflict"] is False
    # Among equal categories the source named first alphabetically is kept.
    assert result.detail["category_source"] == "hash set set-a"


def test_projectvic_preferred_to_other_scheme() -> None:
    entries = [
        _entry("md5", set_name="caid", category=("vics-custom", "7")),
        _entry("sha1", set_name="partner-set", category=("projectvic", "2")),
    ]

    result = decide(entries, [])

    assert result.category == ("projectvic", "2", "hash set partner-set")
    assert result.detail["category_conflict"] is True


def test_uk_grade_a_beats_projectvic_3() -> None:
    entries = [
        _entry("md5", set_name="uk-set", category=("uk", "A")),
        _entry("sha1", set_name="partner-set", category=("projectvic", "3")),
    ]

    result = decide(entries, [])

    assert result.category is not None
    assert result.category[2] == "hash set uk-set"


def test_category_from_earlier_media() -> None:
    match = _media(
        "sha256", category=("projectvic", "1"), category_source="hash set old-set"
    )

    result = decide([], [match])

    assert result.category == ("projectvic", "1", "hash set old-set")


def test_category_of_earlier_media_without_source() -> None:
    match = _media("sha256", category=("projectvic", "2"))

    result = decide([], [match])

    assert result.category == ("projectvic", "2", "earlier media")


def test_near_verdict_carries_no_category() -> None:
    result = decide([_entry("pdq", distance=9, category=("projectvic", "1"))], [])

    assert result.verdict == NEAR
    assert result.category is None
    assert "category" not in result.detail
    assert result.detail["matches"][0]["category"] == {
        "scheme": "projectvic",
        "code": "1",
    }


def test_known_without_category() -> None:
    result = decide([_entry("md5")], [])

    assert result.category is None
    assert "category" not in result.detail
    assert "category_conflict" not in result.detail


# Series and cases.


def test_series_listed_once_and_sorted() -> None:
    entries = [
        _entry("md5", set_name="a", series="Series B"),
        _entry("sha1", set_name="b", series="Series A"),
        _entry("sha256", set_name="c", series="Series B"),
        _entry("md5", set_name="d", series=None),
    ]

    assert decide(entries, []).detail["series"] == ["Series A", "Series B"]


def test_cases_listed_once_and_sorted() -> None:
    media = [
        _media("pdq", distance=4, cases=("C-9", "C-2")),
        _media("local-features", distance=60, cases=("C-2", "C-5")),
    ]

    assert decide([], media).detail["cases"] == ["C-2", "C-5", "C-9"]


def test_cases_only_from_matches_behind_verdict() -> None:
    good = _entry("md5", kind=KNOWN_GOOD)
    near_media = _media("pdq", distance=5, cases=("C-3",))

    assert decide([good], [near_media]).detail["cases"] == []


# Match list.


def test_matches_cut_at_maximum() -> None:
    extra = 4
    entries = [
        _entry("pdq", set_name=f"set-{n:02d}", distance=30 - n)
        for n in range(MAX_MATCHES + extra)
    ]

    detail = decide(entries, []).detail

    assert len(detail["matches"]) == MAX_MATCHES
    assert detail["more_matches"] == extra
    distances = [m["distance"] for m in detail["matches"]]
    assert distances == sorted(distances)
    assert distances[0] == 30 - (MAX_MATCHES + extra - 1)


def test_no_more_matches_key_within_maximum() -> None:
    entries = [_entry("pdq", set_name=f"s{n}", distance=n) for n in range(3)]

    detail = decide(entries, []).detail

    assert len(detail["matches"]) == 3
    assert "more_matches" not in detail


def test_matches_sorted_by_distance_then_source() -> None:
    entries = [_entry("pdq", distance=6)]
    media = [_media("pdq", distance=6), _media("pdq", distance=2)]

    matches = decide(entries, media).detail["matches"]

    assert [(m["distance"], m["source"]) for m in matches] == [
        (2, "case"),
        (6, "case"),
        (6, "hash-set"),
    ]


def test_verdict_names_listed() -> None:
    assert set(verdicts.VERDICTS) == {KNOWN, KNOWN_GOOD, NEAR, NEW}


def _confirmed(distance: int = 4, **series: Any) -> dict[str, Any]:
    """Return a perceptual match of media that an analyst categorised or grouped."""
    match = _media("pdq", distance=distance, category=("projectvic", "1"))
    match["confirmed"] = True
    match.update(series)
    return match


def test_copy_of_confirmed_media_is_known() -> None:
    result = decide([], [_confirmed()])
    assert result.verdict == KNOWN
    assert result.category == ("projectvic", "1", "earlier media")


def test_copy_of_unconfirmed_media_stays_near() -> None:
    result = decide([], [_media("pdq", distance=4, category=("projectvic", "1"))])
    assert result.verdict == NEAR


def test_series_of_confirmed_media_sets_flags() -> None:
    match = _confirmed(
        series="Orchard", victim_identified=True, offender_identified=False
    )
    result = decide([_entry(victim=False, offender=True, series="Partner")], [match])
    assert result.detail["series"] == ["Orchard", "Partner"]
    assert result.detail["victim_identified"] is True
    assert result.detail["offender_identified"] is True


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((), None),
        ((None, None), None),
        ((False, None), False),
        ((None, False, True), True),
        ((True, False), True),
    ],
)
def test_identification_flags_combined(
    values: tuple[bool | None, ...], expected: bool | None
) -> None:
    matches = [{"victim_identified": value} for value in values]

    assert merge_flags(*values) is expected
    assert flag_of(matches, "victim_identified") is expected
