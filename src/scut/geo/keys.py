"""Search keys of place names, folded the way person names are.

Place names take the keys of ``scut.persons.names`` (case, diacritics,
cedilla and comma-below letters, Cyrillic transliterated), with three
additions for gazetteers and addresses:

- a Cyrillic letter inside a Latin word is read as the Latin letter it
  looks like: GeoNames writes one village "Suсleia 1" with a Cyrillic с,
  which transliteration would make "Susleia";
- a query also tries î and â as "i", because GeoNames writes Sîngerei
  and Sângerei as "Singerei", and the person keys fold both letters to "a";
- a query may start with the kind of place or area ("mun. Chișinău",
  "s. Nicolaevca", "r-nul Florești"), which is tried without it as well.
"""

from __future__ import annotations

import re

from scut.persons.names import loose_key, normalise_name, search_key, transliterate

_CYRILLIC = re.compile("[\u0400-\u052f]")
_LETTERS = re.compile(r"[^\W\d_]+")
# Cyrillic letters that look like Latin ones, in either case.
_LOOKALIKES = str.maketrans(
    "аАВсСеЕНіІјЈКМоОрРТуХхѕЅ",
    "aABcCeEHiIjJKMoOpPTyXxsS",
)
# A postal sector number after a town's name: "Soroca 4", "Varnita-2".
_SECTOR = re.compile(r" \d{1,3}$")
# Words that name the kind of a locality or an area in Romanian and Russian
# addresses, as their keys: municipiu, oraș, sat, comună, raion, UTA, and
# г. (город), с. (село), р-н (район) transliterated.
_DESIGNATORS = frozenset(
    {
        "mun", "municipiul", "municipiu", "or", "oras", "orasul", "s", "sat",
        "satul", "com", "comuna", "r", "rn", "nul", "raion", "raionul", "uta",
        "g", "gorod", "selo", "n", "pgt", "district",
    }
)  # fmt: skip


def _read_as_latin(match: re.Match[str]) -> str:
    word = match.group()
    cyrillic = len(_CYRILLIC.findall(word))
    if cyrillic > 0 and cyrillic * 2 < len(word):
        return word.translate(_LOOKALIKES)
    return word


def fold_lookalikes(text: str) -> str:
    """Replace Cyrillic look-alike letters inside mostly Latin words.

    Words written wholly or mostly in Cyrillic are left for transliteration.
    """
    if text.isascii():
        return text
    return _LETTERS.sub(_read_as_latin, text)


def place_key(text: str) -> str:
    """Return the exact-match key of a place or area name."""
    return search_key(fold_lookalikes(text))


def place_loose_key(text: str) -> str:
    """Return the loose key of a place name (scut.persons.names.loose_key)."""
    return loose_key(fold_lookalikes(text))


def locality_key(key: str) -> str:
    """Return a place key without its postal sector number ("soroca 4" -> "soroca")."""
    stripped = _SECTOR.sub("", key)
    return stripped or key


def without_designator(key: str) -> str:
    """Return a key without the leading words that name the kind of place."""
    words = key.split()
    while len(words) > 1 and words[0] in _DESIGNATORS:
        words.pop(0)
    return " ".join(words)


def query_keys(text: str) -> list[str]:
    """Return the keys a typed place or area name may stand for, best first.

    They are the name's key, the key with î and â read as "i", and both
    without a leading designator ("mun.", "s.", "r-nul"). Empty keys are
    left out, so text without letters or digits gives an empty list.
    """
    latin = transliterate(fold_lookalikes(normalise_name(text)))
    spellings = [latin, re.sub("[îâÎÂ]", "i", latin)]
    keys: list[str] = []
    for spelling in spellings:
        key = search_key(spelling)
        for candidate in (key, without_designator(key)):
            if candidate and candidate not in keys:
                keys.append(candidate)
    return keys


def query_loose_keys(text: str) -> list[str]:
    """Return the loose keys of ``query_keys(text)``."""
    keys: list[str] = []
    for key in query_keys(text):
        loose = loose_key(key)
        if loose and loose not in keys:
            keys.append(loose)
    return keys
