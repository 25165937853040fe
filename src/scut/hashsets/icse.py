"""INTERPOL ICSE hash exports: semicolon-separated CSV with a header row.

Columns are found by header name (case and surrounding space ignored), so
reordered and extra columns are read. The header of a full export is
``MD5;SHA1;ZZ40;PhotoDNA;Lace;Image ID;Is distributed;Victim identified;
Offender identified;Series name;Investigation name;Agency;Number of
submissions;File Available;Media Type;Baseline``.

What each item keeps:

- hashes: MD5, SHA1, PhotoDNA (hex or base64, stored as lower-case hex),
  ZZ40 (hex, lower case) and LACE (as given);
- the flags Victim identified, Offender identified, Is distributed and
  Baseline, written Y/N, Yes/No or True/False in any case (empty: unknown);
- Series name as the series;
- Media Type as a MIME media range in lower case: "Image" gives
  "image/*" and "Video" gives "video/*", so a prefix test on "image/"
  treats ICSE and VICS items alike;
- Image ID, Investigation name and Agency in the comments, as
  "Image ID: ...; Investigation: ...; Agency: ...".

Number of submissions and File Available are not kept. ICSE gives no
category: Baseline is a flag that specialists agree the material is
illegal in every country.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from scut.hashsets.fields import (
    ByteProgress,
    FieldError,
    csv_rows,
    open_text,
    parse_flag,
    parse_free_hex,
    parse_hex_digest,
    parse_photodna,
    parse_text,
)
from scut.hashsets.formats import HashSetFormatError
from scut.hashsets.items import BadRecord, HashSetSource, KnownItem

log = logging.getLogger(__name__)

DELIMITER = ";"
_COMMENT_COLUMNS = (
    ("image id", "Image ID"),
    ("investigation name", "Investigation"),
    ("agency", "Agency"),
)


@dataclass(frozen=True, slots=True)
class _Columns:
    """Header names in lower case mapped to their index in a row."""

    index: dict[str, int]
    width: int

    def get(self, row: Sequence[str], name: str) -> str | None:
        position = self.index.get(name)
        if position is None or position >= len(row):
            return None
        return row[position]


def open_icse(path: Path) -> HashSetSource:
    """Open an ICSE CSV export for streaming its rows as KnownItem.

    Raises HashSetFormatError naming the file when it is empty or its
    header has neither an MD5 nor a SHA1 column.
    """
    columns = _read_header(path)
    progress = ByteProgress()
    return HashSetSource(
        format="icse",
        items=_read_rows(path, columns, progress),
        total_bytes=path.stat().st_size,
        bytes_read=progress,
        details={"columns": ", ".join(columns.index)},
    )


def _read_header(path: Path) -> _Columns:
    with path.open("rb") as raw, open_text(raw) as handle:
        first = next(csv_rows(handle, DELIMITER), None)
    if first is None:
        raise HashSetFormatError(f"{path}: empty file, expected an ICSE CSV header")
    header = first[1]
    if isinstance(header, BadRecord):
        raise HashSetFormatError(f"{path}: unreadable ICSE header: {header.reason}")
    names = [name.strip().lower() for name in header]
    index = {name: position for position, name in enumerate(names) if name}
    if "md5" not in index and "sha1" not in index:
        raise HashSetFormatError(
            f"{path}: not an ICSE export: the header has no MD5 or SHA1 column "
            f"(found {', '.join(header)[:200]!r}). Check that the file is "
            "separated by semicolons."
        )
    return _Columns(index, len(names))


def _read_rows(
    path: Path, columns: _Columns, progress: ByteProgress
) -> Iterator[KnownItem | BadRecord]:
    read = bad = 0
    with path.open("rb") as raw, open_text(raw) as handle:
        progress.attach(raw)
        try:
            rows = csv_rows(handle, DELIMITER)
            next(rows, None)  # the header
            for location, row in rows:
                record = (
                    row
                    if isinstance(row, BadRecord)
                    else _parse_row(row, columns, location)
                )
                read += 1
                bad += isinstance(record, BadRecord)
                yield record
        finally:
            progress.detach()
    log.info("ICSE file %s: %d rows read, %d bad", path, read, bad)


def _parse_row(
    row: list[str], columns: _Columns, location: str
) -> KnownItem | BadRecord:
    extra = [cell for cell in row[columns.width :] if cell.strip()]
    if extra:
        return BadRecord(
            location,
            f"{len(row)} fields where the header has {columns.width}, so a "
            "field may contain an unquoted semicolon",
        )
    try:
        item = _build_item(row, columns, location)
    except FieldError as error:
        return BadRecord(location, str(error))
    if not item.hashes:
        return BadRecord(location, "no MD5, SHA1, PhotoDNA, ZZ40 or LACE hash")
    return item


def _build_item(row: list[str], columns: _Columns, location: str) -> KnownItem:
    def cell(name: str) -> str | None:
        return columns.get(row, name)

    found = [
        ("md5", parse_hex_digest("MD5", cell("md5"), "md5")),
        ("sha1", parse_hex_digest("SHA1", cell("sha1"), "sha1")),
        ("photodna", parse_photodna("PhotoDNA", cell("photodna"))),
        ("zz40", parse_free_hex("ZZ40", cell("zz40"))),
        # NOTE: LACE is kept as given; Scut has no public description of
        # its encoding to check it against.
        ("lace", parse_text("Lace", cell("lace"))),
    ]
    return KnownItem(
        hashes=[(algorithm, value) for algorithm, value in found if value],
        series=parse_text("Series name", cell("series name")),
        victim_identified=parse_flag("Victim identified", cell("victim identified")),
        offender_identified=parse_flag(
            "Offender identified", cell("offender identified")
        ),
        is_distributed=parse_flag("Is distributed", cell("is distributed")),
        baseline=parse_flag("Baseline", cell("baseline")),
        mime_type=_media_range(cell("media type")),
        comments=_comments(row, columns),
        location=location,
    )


def _media_range(media_type: str | None) -> str | None:
    """Return "image/*" for "Image", a lower-case MIME type as given."""
    text = (media_type or "").strip().lower()
    if not text:
        return None
    return text if "/" in text else f"{text}/*"


def _comments(row: list[str], columns: _Columns) -> str | None:
    parts = []
    for name, title in _COMMENT_COLUMNS:
        value = (columns.get(row, name) or "").strip()
        if value:
            parts.append(f"{title}: {value}")
    return "; ".join(parts) or None
