"""What every hash set reader yields: known items, bad records and the source.

A reader turns one file format (VICS JSON, ICSE CSV, NSRL, plain lists)
into a stream of ``KnownItem``. A record it cannot read becomes a
``BadRecord`` naming where it is and why, and the stream goes on, so one
broken line never loses a set of millions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

# Algorithms Scut computes itself and matches at ingest.
COMPUTED_ALGORITHMS = ("md5", "sha1", "sha256", "pdq")
# Algorithms only partners compute; kept and matched exactly between sets.
FOREIGN_ALGORITHMS = ("photodna", "lace", "zz40")
ALGORITHMS = COMPUTED_ALGORITHMS + FOREIGN_ALGORITHMS


@dataclass(frozen=True, slots=True)
class Category:
    """A category as a scheme and a code, such as ("projectvic", "1")."""

    scheme: str
    code: str


@dataclass(slots=True)
class KnownItem:
    """One known file of a hash set: its hashes and what the source says of it.

    ``hashes`` holds (algorithm, value) pairs with values normalised: hex
    digests in lower case, PhotoDNA as lower-case hex, LACE as given. A
    flag left as None means the source did not say, which differs from False.
    """

    hashes: list[tuple[str, str]]
    category: Category | None = None
    series: str | None = None
    victim_identified: bool | None = None
    offender_identified: bool | None = None
    is_distributed: bool | None = None
    baseline: bool | None = None
    tags: str | None = None
    comments: str | None = None
    media_size: int | None = None
    mime_type: str | None = None
    file_name: str | None = None
    # Where the item is in its file, for messages: "line 12" or "item 7".
    location: str = ""


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record a reader skipped, with where it is and why."""

    location: str
    reason: str


@dataclass(slots=True)
class HashSetSource:
    """An opened hash set file: its format, what it says of itself, its items.

    ``items`` is consumed once. ``bytes_read`` tells how far the reader has
    got, for a progress bar against ``total_bytes``.
    """

    format: str
    items: Iterator[KnownItem | BadRecord]
    total_bytes: int
    bytes_read: Callable[[], int]
    # Version, category scheme, case numbers and the like, as given in the file.
    details: dict[str, str] = field(default_factory=dict)
