"""Category schemes of hash sets and the mapping between them.

A category is stored as (scheme, code), never as a bare number, because the
same number means different things in different schemes:

- ``projectvic``: the Project VIC scheme (Default and US exports), codes
  "0" to "4". A file that gives no category means "not categorised", which
  is None and differs from "0" (non-pertinent).
- ``uk``: the UK scheme of CAID and the Sentencing Council, codes "A", "B"
  and "C".
- The older DHS scheme (used by older Autopsy versions, CAT-0 to CAT-5) is
  not stored. ``from_legacy_dhs`` maps its codes into ``projectvic`` on
  import.
- ``vics-<name>``: codes of a VICS 2.0 export whose context names a scheme
  other than Default or US (``vics-uk``, ``vics-custom``...). Their numeric
  codes are kept as given and map to no other scheme (see
  ``category_scheme_for_context``).

Mapping table (``to_scheme``), applied only in the directions listed:

    uk A, B, C      -> projectvic 1 (child abuse material)
    projectvic 1    -> uk None: the UK grade cannot be known without review
    projectvic 0-4  -> uk None: those codes are not indecent images, or
                       not a grade (2 age difficult, 3 computer-generated,
                       4 comparison)
    vics-<name> any -> None in every other scheme
"""

from __future__ import annotations

import logging
from types import MappingProxyType

from scut.hashsets.fields import quote_value, whole_number
from scut.hashsets.items import Category

log = logging.getLogger(__name__)

PROJECTVIC = "projectvic"
UK = "uk"
SCHEMES = (PROJECTVIC, UK)
VICS_CONTEXT_PREFIX = "vics-"

PROJECTVIC_LABELS = MappingProxyType(
    {
        "0": "non-pertinent",
        "1": "child abuse material",
        "2": "child exploitive (not illegal) or age difficult",
        "3": "computer-generated or animation",
        "4": "comparison image",
    }
)
UK_LABELS = MappingProxyType(
    {
        "A": "category A: penetrative sexual activity, sexual activity with an "
        "animal, or sadism",
        "B": "category B: non-penetrative sexual activity",
        "C": "category C: other indecent images",
    }
)
_LABELS = {PROJECTVIC: PROJECTVIC_LABELS, UK: UK_LABELS}

# The DHS scheme as Autopsy's image gallery (2013) defines it: CAT-0
# uncategorized, CAT-1 child exploitation (illegal), CAT-2 child
# exploitation (non-illegal or age difficult), CAT-3 CGI or animation,
# CAT-4 exemplar or comparison, CAT-5 non-pertinent.
LEGACY_DHS_TO_PROJECTVIC: MappingProxyType[int, str | None] = MappingProxyType(
    {0: None, 1: "1", 2: "2", 3: "3", 4: "4", 5: "0"}
)

# (from scheme, to scheme) -> code in the source scheme -> code in the target.
# A pair or code missing here maps to None.
_MAPPINGS: dict[tuple[str, str], dict[str, str]] = {
    (UK, PROJECTVIC): {"A": "1", "B": "1", "C": "1"},
    (PROJECTVIC, UK): {},
}

# VICS 2.0 context names whose numeric codes are Project VIC codes.
_PROJECTVIC_CONTEXTS = frozenset({"default", "us"})
# A VICS 2.0 Category is a byte.
_MAX_VICS_CODE = 255


def _parse_integer(value: object, value_name: str) -> int | None:
    """Return an integer code from a number or a numeric string, None if empty.

    A huge value such as 1e999999999 comes back as 10^19 (see
    ``whole_number``), which every caller rejects as out of range.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    code = whole_number(value)
    if code is None:
        raise ValueError(
            f"invalid {value_name} {quote_value(value)}: expected a whole number"
        )
    return code


def category_scheme_for_context(context: str | None) -> str:
    """Return the scheme of the numeric Category codes of a VICS export.

    ``context`` is the part of a VICS 2.0 ``@odata.context`` URL after
    ``2.0.xml/`` (Default, US, UK, CUSTOM, UNKNOWN), or None for VICS 1.x
    and for a URL without it. Default, US and None give ``projectvic``.
    Any other name gives ``vics-<name>`` in lower case.
    """
    if context is None or context.strip().lower() in _PROJECTVIC_CONTEXTS:
        return PROJECTVIC
    # NOTE: no public source found states what the numbers 0-255 mean in a
    # UK, CUSTOM or UNKNOWN export, so they are kept apart rather than
    # guessed as CAID grades or Project VIC codes.
    return VICS_CONTEXT_PREFIX + context.strip().lower()


def parse_vics_category(value: object, scheme: str = PROJECTVIC) -> Category | None:
    """Return the Category of a VICS ``Category`` value, None when it is missing.

    ``value`` is a JSON number, a numeric string, None or an empty string.
    ``scheme`` comes from ``category_scheme_for_context``. In ``projectvic``
    the code must be 0-4. In a ``vics-<name>`` scheme any byte 0-255 is
    kept, and the letters A, B and C (any case) become ``uk`` categories.
    Raises ValueError naming the value for anything else.
    """
    if scheme != PROJECTVIC and not scheme.startswith(VICS_CONTEXT_PREFIX):
        raise ValueError(
            f"unknown VICS category scheme {scheme!r}; use {PROJECTVIC!r} "
            f"or {VICS_CONTEXT_PREFIX}<context name>"
        )
    if scheme != PROJECTVIC and isinstance(value, str):
        letter = value.strip().upper()
        if letter in UK_LABELS:
            return Category(UK, letter)
    code = _parse_integer(value, "VICS category")
    if code is None:
        return None
    highest = len(PROJECTVIC_LABELS) - 1 if scheme == PROJECTVIC else _MAX_VICS_CODE
    if not 0 <= code <= highest:
        raise ValueError(
            f"VICS category {quote_value(value)} is out of range: the {scheme} "
            f"scheme has codes 0 to {highest}"
        )
    return Category(scheme, str(code))


def from_legacy_dhs(value: object) -> Category | None:
    """Map a code of the older DHS scheme (0-5) into ``projectvic``.

    DHS 0 means uncategorised and gives None, not ``projectvic`` 0. DHS 5
    (non-pertinent) gives ``projectvic`` 0, and DHS 1-4 keep their number.
    Missing values give None. Raises ValueError for other codes.
    """
    code = _parse_integer(value, "DHS category")
    if code is None:
        return None
    if code not in LEGACY_DHS_TO_PROJECTVIC:
        raise ValueError(
            f"DHS category {quote_value(value)} is out of range: the DHS scheme "
            "has codes 0 (uncategorised) to 5 (non-pertinent)"
        )
    mapped = LEGACY_DHS_TO_PROJECTVIC[code]
    return None if mapped is None else Category(PROJECTVIC, mapped)


def label(category: Category) -> str:
    """Return an English description of ``category``.

    Raises ValueError for a code that its scheme does not define. A
    ``vics-<name>`` category or any other scheme gets a generic text.
    """
    labels = _LABELS.get(category.scheme)
    if labels is None:
        return f"category {category.code} of the {category.scheme} scheme"
    if category.code not in labels:
        raise ValueError(
            f"unknown {category.scheme} category {category.code!r}; known codes "
            f"are {', '.join(labels)}"
        )
    return labels[category.code]


def to_scheme(category: Category, scheme: str) -> Category | None:
    """Return ``category`` expressed in ``scheme``, None when it has no equivalent.

    The mapping table is in this module's docstring. Raises ValueError when
    ``scheme`` is not one of SCHEMES.
    """
    if scheme not in SCHEMES:
        raise ValueError(
            f"unknown category scheme {scheme!r}; use one of {', '.join(SCHEMES)}"
        )
    if category.scheme == scheme:
        return category
    mapping = _MAPPINGS.get((category.scheme, scheme), {})
    code = mapping.get(category.code)
    return None if code is None else Category(scheme, code)
