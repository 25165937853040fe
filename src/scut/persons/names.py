"""Person names: the stored form, search keys and Cyrillic transliteration.

Records reach Scut in Romanian (Latin script) and in the Russian form of
Moldovan names written in Cyrillic. Every name gets three forms:

- ``normalise_name``: the form to store. It is NFC, it uses comma-below ș
  and ț where older data has cedilla ş and ţ, and its spacing is clean.
- ``search_key``: the exact-match key. It transliterates Cyrillic and
  removes diacritics and case, so Ștefan, Ştefan, STEFAN and Штефан share
  one key. The letters ă, â and î all become "a" in it (Cîrlan = Cârlan).
- ``loose_key``: a second-tier key built from the search key. It folds the
  spelling differences between Russian forms and Romanian spellings
  (Кирлан and Cîrlan, Мунтяну and Munteanu spelt Muntianu, Rusu and Russu).

Given names also have equivalents across languages (Ion, Ioan, Иван); the
groups are listed in ``given_names.csv`` beside this module.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from importlib import resources

from scut.errors import ScutError

log = logging.getLogger(__name__)

GIVEN_NAMES_FILE = "given_names.csv"


class GivenNameListError(ScutError):
    """Raised when the given-name equivalence list has an invalid line."""


class _CharTable(dict[int, int | str | None]):
    """A ``str.translate`` table that computes each character's entry once.

    A full table over all of Unicode would cost a scan of 1.1 million code
    points at import, so this one fills in only the characters it meets.
    """

    def __init__(self, rule: Callable[[str], int | str | None]) -> None:
        super().__init__()
        self._rule = rule

    def __missing__(self, code_point: int) -> int | str | None:
        value = self._rule(chr(code_point))
        self[code_point] = value
        return value


# --- normalise_name -------------------------------------------------------

_CEDILLA_TO_COMMA = (("ş", "ș"), ("ţ", "ț"), ("Ş", "Ș"), ("Ţ", "Ț"))


def _clean_char(char: str) -> int | str | None:
    """Map whitespace to a space; drop control, format and surrogate code points."""
    if char.isspace():
        return " "
    if unicodedata.category(char) in ("Cc", "Cf", "Cs"):
        return None
    return ord(char)


_CLEAN_TABLE = _CharTable(_clean_char)


def normalise_name(text: str) -> str:
    """Normalise ``text`` to the form to store, keeping its case.

    The result is NFC with cedilla ş/ţ replaced by comma-below ș/ț, every
    run of whitespace made one space, and the ends stripped. Control and
    format characters (categories Cc and Cf, such as right-to-left marks and
    zero-width spaces) are removed, and so are lone surrogates (Cs), which
    no database can encode. Any ``str`` is accepted.
    """
    # str.isprintable() is False for every character that needs cleaning,
    # so a clean name skips the per-character table.
    if not text.isprintable():
        text = text.translate(_CLEAN_TABLE)
    if not text.isascii():
        # For a few replacements str.replace is faster than str.translate.
        text = unicodedata.normalize("NFC", text)
        for cedilla, comma in _CEDILLA_TO_COMMA:
            text = text.replace(cedilla, comma)
    return " ".join(text.split())


# --- Cyrillic ---------------------------------------------------------------

_CYRILLIC_RANGES = "\u0400-\u052f\u1c80-\u1c8f\ua640-\ua69f"
_CYRILLIC_CHAR = re.compile(f"[{_CYRILLIC_RANGES}]")
_CYRILLIC_LETTER = re.compile(rf"(?=[^\W\d_])[{_CYRILLIC_RANGES}]")
_LETTER = re.compile(r"[^\W\d_]")
# A word is a run of letters, combining marks included.
_WORD = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+")
# Stress marks that Russian texts put over vowels. They are not spelling.
_STRESS_MARKS = str.maketrans("", "", "\u0300\u0301")


def is_cyrillic(text: str) -> bool:
    """Return True when more than half of the letters in ``text`` are Cyrillic."""
    if text.isascii():
        return False
    cyrillic = len(_CYRILLIC_LETTER.findall(text))
    return cyrillic * 2 > len(_LETTER.findall(text))


_PLAIN_LETTERS = {
    "а": "a", "б": "b", "в": "v", "д": "d", "ж": "j", "з": "z", "и": "i",
    "й": "i", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ț", "ш": "ș",
    "ы": "î", "е": "e", "і": "i", "ї": "i", "ў": "u",
}  # fmt: skip
_CONSONANTS = frozenset("бвгґджзклмнпрстфхцчшщӂ")
# Vowel letters that soften the consonant before them: к before them is
# written ch, г gh, ч c and дж g.
_SOFTENING_VOWELS = frozenset("еёиюяєії")
_I_LETTERS = frozenset("ийії")
# Consonants that are always hard in Russian, so ё after them is o
# (Жёлтиков -> Jolticov).
_ALWAYS_HARD = frozenset("жшц")
_SIGNS = frozenset("ьъ")
_DOUBLED_CONSONANT = re.compile(r"([бвгґджзклмнпрстфхцчшщӂ])\1+", re.IGNORECASE)
# Letters spelt by context. The others map one to one through _PLAIN_TABLE.
_CONTEXTUAL_LETTERS = re.compile("дж|кс|[кгґчщӂьъяюёєэ]", re.IGNORECASE)
_PLAIN_TABLE = str.maketrans(
    _PLAIN_LETTERS | {cyr.upper(): lat.upper() for cyr, lat in _PLAIN_LETTERS.items()}
)

# Letters whose Latin spelling depends on whether the next sound is soft.
_SOFT_HARD = {
    "к": ("ch", "c"),
    "г": ("gh", "g"),
    "ґ": ("gh", "g"),
    "ч": ("c", "ci"),
    "щ": ("șc", "șci"),
    "ӂ": ("g", "gi"),
}


def _render_sign(low: str, index: int) -> str:
    """Spell the soft or hard sign at ``index`` of the lowercase word ``low``.

    Before е or о the sign is read as i (Григорьев -> Grigoriev). At the end
    of a word the soft sign stands for a final i, as in Moldovan Cyrillic
    (Бондарь -> Bondari, Любовь -> Liubovi). Elsewhere it is dropped.
    """
    after = low[index + 1] if index + 1 < len(low) else ""
    if after in ("е", "о"):
        return "i"
    if not after and low[index] == "ь" and index > 0:
        return "i"
    return ""


def _is_soft(low: str, index: int) -> bool:
    """Return True when the letter at ``index`` softens the consonant before it."""
    if index >= len(low):
        return False
    letter = low[index]
    if letter in _SOFTENING_VOWELS:
        return True
    if letter in _SIGNS:
        after = low[index + 1 : index + 2]
        return _render_sign(low, index) == "i" or after in _SOFTENING_VOWELS
    return False


def _render_vowel(letter: str, previous: str) -> str:
    """Spell an iotated vowel or э after the letter ``previous``.

    NOTE: я after a consonant is ea, as in Moldovan Cyrillic (Мунтяну ->
    Munteanu, Вячеслав -> Veaceslav), although Russian-to-Latin tables
    write ia. After и or й the i is already written (Мария -> Maria).
    """
    if letter == "я":
        if previous in _I_LETTERS or previous == "е":
            return "a"
        return "ea" if previous in _CONSONANTS else "ia"
    if letter == "ю":
        return "u" if previous in _I_LETTERS else "iu"
    if letter == "ё":
        return "o" if previous in _I_LETTERS or previous in _ALWAYS_HARD else "io"
    if letter == "є":
        return "e" if previous in _CONSONANTS else "ie"
    # э is ă after a consonant (Тэнасе -> Tănase) and e elsewhere (Эмиль).
    return "ă" if previous in _CONSONANTS else "e"


def _render_letter(low: str, index: int) -> tuple[str, int]:
    """Spell the letter at ``index`` and return it with the index after it."""
    letter = low[index]
    previous = low[index - 1] if index else ""
    after = index + 1
    if letter == "д" and low[after : after + 1] == "ж":
        # дж is the sound of Romanian ge/gi (Джурджу -> Giurgiu).
        return ("g" if _is_soft(low, after + 1) else "gi"), after + 1
    if letter == "к" and low[after : after + 1] == "с":
        return "x", after + 1
    if letter in _SOFT_HARD:
        soft, hard = _SOFT_HARD[letter]
        return (soft if _is_soft(low, after) else hard), after
    if letter in _SIGNS:
        return _render_sign(low, index), after
    return _render_vowel(letter, previous), after


def _match_case(spelling: str, word: str, start: int, end: int) -> str:
    """Give ``spelling`` the case of ``word[start:end]`` and its neighbours."""
    if not word[start].isupper():
        return spelling
    neighbour = word[end] if end < len(word) else word[start - 1 : start]
    if len(spelling) < 2 or neighbour.isupper():
        return spelling.upper()
    return spelling[0].upper() + spelling[1:]


def _first_of_run(match: re.Match[str]) -> str:
    return match.group(1)


@functools.lru_cache(maxsize=65536)
def _transliterate_word(word: str) -> str:
    if "\u0300" in word or "\u0301" in word:
        word = word.translate(_STRESS_MARKS)
    # Russian forms double consonants that Romanian writes once (Руссу ->
    # Rusu, Кирилл -> Chiril, Анна -> Ana).
    word = _DOUBLED_CONSONANT.sub(_first_of_run, word)
    low = word.lower()
    if len(low) != len(word):
        # A few letters (such as İ) lowercase to two characters; keep the
        # positions aligned with the word.
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in word)

    def render(match: re.Match[str]) -> str:
        spelling, end = _render_letter(low, match.start())
        return _match_case(spelling, word, match.start(), end)

    return _CONTEXTUAL_LETTERS.sub(render, word).translate(_PLAIN_TABLE)


# Cyrillic letters drawn like Latin ones. In a word of mostly Latin letters
# they are typing slips (a Cyrillic с in "Ceban" from a keyboard layout
# switch), so they take the Latin letter they look like, not their sound.
_LOOK_ALIKES = str.maketrans(
    "аеорсухкіјѕԁԛԝӏАВЕКМНОРСТУХІЈЅ", "aeopcyxkijsdqwlABEKMHOPCTYXIJS"
)
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")


def _transliterate_match(match: re.Match[str]) -> str:
    word = match.group()
    if not _CYRILLIC_CHAR.search(word):
        return word
    latin = len(_LATIN_LETTER.findall(word))
    if latin and latin >= len(_CYRILLIC_LETTER.findall(word)):
        word = word.translate(_LOOK_ALIKES)
        if not _CYRILLIC_CHAR.search(word):
            return word
    return _transliterate_word(word)


def transliterate(text: str) -> str:
    """Write the Cyrillic letters of ``text`` in Romanian Latin spelling.

    The rules aim at the Romanian spelling of a Moldovan name from its
    Russian form: ш ș, ц ț, ж j, х h, ы î, ю iu, й i, ё io; к is ch and г
    is gh before a soft vowel (е, и, ё, ю, я), else c and g; ч is c before
    a soft vowel, else ci (Чебан -> Ceban, Чобану -> Ciobanu); дж is g
    before a soft vowel, else gi; щ is șc or șci like ч; кс is x (Максим ->
    Maxim). Other rules are documented where they apply. In a word of
    more Latin than Cyrillic letters, Cyrillic letters drawn like Latin
    ones (с, о, а, Р, ...) become those Latin letters instead. Latin
    letters, digits and punctuation are kept as they are, and the case of
    each letter is carried over. Text without Cyrillic is returned
    unchanged; other text is returned in NFC.
    """
    if not _CYRILLIC_CHAR.search(text):
        return text
    text = unicodedata.normalize("NFC", text)
    return _WORD.sub(_transliterate_match, text)


# --- search keys ------------------------------------------------------------

# The Romanian letters, folded without a trip through NFD. Folding â and î
# to "a" also joins the spellings before and after the 1993 reform.
_ROMANIAN_FOLDS = (("ă", "a"), ("â", "a"), ("î", "a"), ("ș", "s"), ("ț", "t"))


def _key_char(char: str) -> int | str | None:
    """Drop combining marks, keep letters and digits, space the rest."""
    if unicodedata.category(char) in ("Mn", "Me"):
        return None
    return ord(char) if char.isalnum() else " "


_KEY_TABLE = _CharTable(_key_char)
_COMMON_MARKS = re.compile("[\u0300-\u036f]+")


def search_key(text: str) -> str:
    """Build the key under which a name is stored and searched.

    The name is normalised, and its Cyrillic letters are transliterated
    wherever they occur, so a Latin name typed with a Cyrillic look-alike
    letter still gets its Latin key. It is then case-folded, ă, â and î
    become "a", every combining mark is removed (ș -> s, ț -> t), and each
    run of other characters (hyphens, apostrophes, punctuation, symbols)
    becomes one space. Empty or punctuation-only input gives "". Any
    ``str`` is accepted.
    """
    text = transliterate(normalise_name(text)).casefold()
    if not text.isascii():
        for letter, plain in _ROMANIAN_FOLDS:
            text = text.replace(letter, plain)
    if not text.isascii():
        text = _COMMON_MARKS.sub("", unicodedata.normalize("NFD", text))
    # Most names are letters and spaces only and skip the table.
    if not text.replace(" ", "").isalnum():
        text = text.translate(_KEY_TABLE)
    return " ".join(text.split())


# Spellings of one sound: Latin transliterations of Russian (sh, zh, ts, y),
# and c, ch, ck, k and q, which all become k (Ceban, Cheban and Keban).
_LOOSE_SPELLINGS = re.compile(r"ck|ch|kh|sh|zh|ts|tz|ph|gh|[cqxwy]")
_LOOSE_SPELLING_MAP = {
    "ck": "k", "ch": "k", "kh": "h", "sh": "s", "zh": "j", "ts": "t",
    "tz": "t", "ph": "f", "gh": "g", "c": "k", "q": "k", "x": "ks",
    "w": "v", "y": "i",
}  # fmt: skip
_LOOSE_STEPS = (
    # Russian forms write же/жи where Romanian has ge/gi.
    (re.compile(r"j(?=[ei])"), "g"),
    # ea, eo and eu against ia, io and iu (Munteanu, Мунтяну read Muntianu).
    (re.compile(r"e(?=[aou])"), "i"),
    # Initial Ie- against E- (Ieremia, Eremia) and ие against е.
    (re.compile("ie"), "e"),
    # Russian spelling allows no ы after к, г or х, so Кирлан stands for
    # Cîrlan. A plain i typed for î after c, g or h is caught the same way.
    (re.compile(r"(?<=[kgh])i(?=[^\W\daeiou_])"), "a"),
    # Doubled letters (Russu, Rusu).
    (re.compile(r"(\w)\1+"), r"\1"),
)


def _loose_spelling(match: re.Match[str]) -> str:
    return _LOOSE_SPELLING_MAP[match.group()]


def loose_key(text: str) -> str:
    """Build a forgiving second-tier key from ``search_key(text)``.

    The key folds these spellings together:

    - c, ch, ck, k and q to k, gh to g, sh, zh and ts to s, j and t, y to i
      and x to ks;
    - je and ji to ge and gi;
    - ea, eo and eu to ia, io and iu, and then ie to e;
    - i to a after k, g or h and before a consonant;
    - doubled letters to one.

    Spelling variants of one name then share the key, at the cost of a few
    distinct names also sharing it (Gheorghescu and Georgescu).

    NOTE: a plain i typed for î elsewhere (Sirbu for Sîrbu) gets no common
    key, because folding every i with a would also join Dina and Dana.
    """
    key = _LOOSE_SPELLINGS.sub(_loose_spelling, search_key(text))
    for pattern, replacement in _LOOSE_STEPS:
        key = pattern.sub(replacement, key)
    return key


# --- given names ----------------------------------------------------------


def _parse_given_names(lines: Iterable[str]) -> dict[str, str]:
    """Map the search key of every listed given name to its group's key.

    Each line is one group, comma-separated, with the Romanian form first.
    Blank lines and lines starting with # are skipped. Raises
    GivenNameListError when a form has an empty key or sits in two groups.
    """
    groups: dict[str, str] = {}
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        canonical = search_key(row[0])
        for form in row:
            key = search_key(form)
            if not key:
                raise GivenNameListError(
                    f"given-name list line {number}: {form!r} has no letters. "
                    "Remove the empty entry."
                )
            if groups.setdefault(key, canonical) != canonical:
                raise GivenNameListError(
                    f"given-name list line {number}: {form!r} (key {key!r}) is "
                    f"already in the group of {groups[key]!r}. Keep each form in "
                    "one group."
                )
    return groups


@functools.cache
def _given_name_index() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    source = resources.files("scut.persons").joinpath(GIVEN_NAMES_FILE)
    text = source.read_text("utf-8")
    groups = _parse_given_names(text.splitlines())
    members: dict[str, set[str]] = {}
    for key, canonical in groups.items():
        members.setdefault(canonical, set()).add(key)
    log.debug("loaded %d given-name groups", len(members))
    return groups, {name: frozenset(keys) for name, keys in members.items()}


def given_name_group(key: str) -> str:
    """Return the canonical key of the group of the given-name search ``key``.

    The canonical key is the search key of the group's Romanian form, so
    "ion" is returned for "ion", "ioan" and "ivan". A key in no group is
    returned unchanged. The function does not build the search key itself,
    so pass one.
    """
    groups, _ = _given_name_index()
    return groups.get(key, key)


def given_name_variants(key: str) -> frozenset[str]:
    """Return every search key in the group of ``key``, ``key`` included."""
    groups, members = _given_name_index()
    canonical = groups.get(key)
    if canonical is None:
        return frozenset({key})
    return members[canonical]
