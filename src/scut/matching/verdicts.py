"""The verdict on one file, drawn from what matching found.

In order of precedence:

- ``known``: its digest is in a set of known abuse material or an alert
  list, or the same file was recorded in another exhibit, or it matches
  perceptually a media that the centre's analysts categorised or put in a
  series (they confirmed what it shows);
- ``known-good``: its digest is only in known-good sets (such as NSRL); it
  is set aside;
- ``near``: no exact match, but a perceptual one (PDQ distance, matching
  video frames or local features) with a hash set entry or earlier media
  that no analyst has confirmed;
- ``new``: nothing matched.

The detail says what matched and how, the category of the source, the
series named and whether the source (a hash set, or the series of the
centre's media) says the victims and offenders are identified. It never
holds personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scut.hashsets.categories import PROJECTVIC, to_scheme
from scut.hashsets.items import Category

KNOWN = "known"
KNOWN_GOOD = "known-good"
NEAR = "near"
NEW = "new"
VERDICTS = (KNOWN, NEAR, NEW, KNOWN_GOOD)
# Prefix of a category source that names a hash set.
HASH_SET_SOURCE = "hash set "
# Matches kept in a file's detail, best first.
MAX_MATCHES = 10
# Project VIC codes from the gravest to the least grave, to choose among
# sources that disagree.
_GRAVITY = {"1": 0, "3": 1, "2": 2, "4": 3, "0": 4}


@dataclass(frozen=True, slots=True)
class FileVerdict:
    """A file's verdict, its detail, and the category its sources give it."""

    verdict: str
    detail: dict[str, Any]
    # (scheme, code, source) for known material, or None.
    category: tuple[str, str, str] | None = None


def decide(entries: list[dict[str, Any]], media: list[dict[str, Any]]) -> FileVerdict:
    """Draw a verdict from hash set matches and earlier-media matches."""
    abuse_exact = [
        m for m in entries if m["how"] != "pdq" and m["set_kind"] != KNOWN_GOOD
    ]
    good_exact = [
        m for m in entries if m["how"] != "pdq" and m["set_kind"] == KNOWN_GOOD
    ]
    near_entries = [
        m for m in entries if m["how"] == "pdq" and m["set_kind"] != KNOWN_GOOD
    ]
    same_file = [m for m in media if m["how"] == "sha256"]
    confirmed = [m for m in media if m["how"] != "sha256" and m.get("confirmed")]
    near_media = [m for m in media if m["how"] != "sha256" and not m.get("confirmed")]
    if abuse_exact or same_file or confirmed:
        verdict = KNOWN
        relevant = abuse_exact + same_file + confirmed
    elif good_exact:
        verdict = KNOWN_GOOD
        relevant = good_exact
    elif near_entries or near_media:
        verdict = NEAR
        relevant = near_entries + near_media
    else:
        return FileVerdict(NEW, {})
    relevant.sort(key=lambda match: (match["distance"], match["source"]))
    detail: dict[str, Any] = {"matches": relevant[:MAX_MATCHES]}
    if len(relevant) > MAX_MATCHES:
        detail["more_matches"] = len(relevant) - MAX_MATCHES
    sets = [m for m in relevant if m["source"] == "hash-set"]
    detail["victim_identified"] = flag_of(relevant, "victim_identified")
    detail["offender_identified"] = flag_of(relevant, "offender_identified")
    detail["series"] = sorted({m["series"] for m in relevant if m.get("series")})
    detail["alert"] = any(m.get("set_kind") == "alert" for m in sets)
    detail["baseline"] = any(m.get("baseline") for m in sets)
    detail["cases"] = sorted(
        {sighting["case"] for m in relevant for sighting in m.get("seen_in", [])}
    )
    category = _category(relevant) if verdict == KNOWN else None
    if category is not None:
        detail["category"] = {"scheme": category[0], "code": category[1]}
        detail["category_source"] = category[2]
        codes = {
            (m["category"]["scheme"], m["category"]["code"])
            for m in relevant
            if m.get("category")
        }
        detail["category_conflict"] = len(codes) > 1
    return FileVerdict(verdict, detail, category)


def merge_flags(*values: bool | None) -> bool | None:
    """Combine identification flags: any yes wins, then any no, else unknown."""
    if True in values:
        return True
    if False in values:
        return False
    return None


def flag_of(matches: Iterable[Mapping[str, Any]], name: str) -> bool | None:
    """Return the combined flag ``name`` (victim_identified, ...) of the matches."""
    return merge_flags(*(match.get(name) for match in matches))


def _category(matches: list[dict[str, Any]]) -> tuple[str, str, str] | None:
    """Return the gravest category the sources give, with its source."""
    sourced = []
    for match in matches:
        category = match.get("category")
        if not category:
            continue
        if match["source"] == "hash-set":
            source = f"{HASH_SET_SOURCE}{match['hash_set']}"
        else:
            source = match.get("category_source") or "earlier media"
        sourced.append((category["scheme"], str(category["code"]), source))
    if not sourced:
        return None
    return min(sourced, key=_rank)


def _rank(item: tuple[str, str, str]) -> tuple[int, bool, str]:
    """Order categories by gravity in Project VIC terms, whatever their scheme."""
    scheme, code, source = item
    if scheme == PROJECTVIC:
        equivalent: Category | None = Category(scheme, code)
    else:
        try:
            equivalent = to_scheme(Category(scheme, code), PROJECTVIC)
        except ValueError:
            equivalent = None
    gravity = _GRAVITY.get(equivalent.code, 9) if equivalent else 9
    return gravity, scheme != PROJECTVIC, source
