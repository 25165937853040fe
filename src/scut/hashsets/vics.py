"""Project VIC VICS JSON (versions 1.1-1.3 and 2.0), read as a stream.

A VICS file is one JSON object: a metadata URL (``odata.metadata`` in 1.x,
``@odata.context`` in 2.0) and ``value``, a list of Media objects (a hash
set) or of Case objects that each contain a ``Media`` list (a case export).
The parser is ijson, so memory stays flat however many items there are.

``open_vics`` reads the file's start to fill ``details`` (version, shape,
scheme; see scut.hashsets.vics_header) and the items are then read in a
second pass. Both passes read through LimitedJsonReader, which rejects
nesting and numbers that would crash or exhaust ijson. Case numbers and
unknown alternative hash names are added to ``details`` while the items are
read, so they are complete once ``items`` is exhausted.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ijson

from scut.hashsets.categories import category_scheme_for_context, parse_vics_category
from scut.hashsets.fields import (
    ByteProgress,
    FieldError,
    parse_flag,
    parse_hex_digest,
    parse_photodna,
    parse_size,
    parse_text,
)
from scut.hashsets.items import BadRecord, HashSetSource, KnownItem
from scut.hashsets.json_limits import LimitedJsonReader
from scut.hashsets.vics_header import (
    ITEM_PREFIX,
    header_details,
    json_message,
    open_json,
    read_header,
)

log = logging.getLogger(__name__)

CASE_MEDIA_PREFIX = "value.item.Media.item"
CASE_MEDIA_LIST = "value.item.Media"
# How many case numbers ``details["case_numbers"]`` lists.
MAX_CASE_NUMBERS = 10
# A media is one file, so it has a few alternative hashes at most. The cap
# bounds the work on a hostile list of thousands.
MAX_ALTERNATIVE_HASHES = 64
# Unsupported alternative hash names listed in ``details``, each clipped to
# 40 characters. Names past this count are counted under OTHER_HASH_NAMES.
MAX_UNKNOWN_HASH_NAMES = 20
OTHER_HASH_NAMES = "(other names)"

# AlternativeHashes names, upper case without "-", "_" or spaces, mapped to
# the algorithm names of scut.hashsets.items.
_ALTERNATIVE_HASH_NAMES = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "PDQ": "pdq",
    "PHOTODNA": "photodna",
}
# ijson events that start a JSON value, with the value's type in words.
_VALUE_STARTS = {
    "start_map": "an object",
    "start_array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a number",
    "double": "a number",
    "boolean": "true or false",
    "null": "null",
}


def open_vics(path: Path) -> HashSetSource:
    """Open a VICS JSON file for streaming its media as KnownItem.

    Raises HashSetFormatError when the file is not JSON or has no ``value``
    list before it breaks. A file that breaks later yields the items
    before the break, then one BadRecord stating where it broke. JSON
    nested deeper than json_limits.MAX_DEPTH or with a number longer than
    json_limits.MAX_NUMBER_CHARS raises JsonLimitError, a
    HashSetFormatError, here or while the items are read.
    """
    header = read_header(path)
    details = header_details(header)
    scheme = category_scheme_for_context(details.get("scheme"))
    details["category_scheme"] = scheme
    log.info(
        "Reading VICS %s %s file %s", details.get("version", "?"), header.shape, path
    )
    progress = ByteProgress()
    reader = _MediaReader(path, header.shape == "cases", scheme, details, progress)
    return HashSetSource(
        format="vics",
        items=reader.read(),
        total_bytes=path.stat().st_size,
        bytes_read=progress,
        details=details,
    )


@dataclass(slots=True)
class _MediaReader:
    """One pass over the media of a VICS file, counting them from 1."""

    path: Path
    is_case_export: bool
    scheme: str
    details: dict[str, str]
    progress: ByteProgress
    count: int = 0
    case_numbers: list[str] = field(default_factory=list)
    cases: int = 0
    unknown_hash_names: Counter[str] = field(default_factory=Counter)
    # Cases found malformed since the last media was yielded.
    bad_cases: list[BadRecord] = field(default_factory=list)

    def read(self) -> Iterator[KnownItem | BadRecord]:
        with open_json(self.path) as (handle, reader):
            self.progress.attach(handle)
            try:
                yield from self._read_media(reader)
            finally:
                self.progress.detach()
                self._finish_details()

    def _read_media(self, reader: LimitedJsonReader) -> Iterator[KnownItem | BadRecord]:
        if self.is_case_export:
            media = ijson.items(
                self._watch_cases(ijson.parse(reader)), CASE_MEDIA_PREFIX
            )
        else:
            media = ijson.items(reader, ITEM_PREFIX)
        try:
            for obj in media:
                yield from self._take_bad_cases()
                self.count += 1
                yield self._to_item(obj, f"item {self.count}")
        except (ijson.JSONError, UnicodeDecodeError) as error:
            yield from self._take_bad_cases()
            log.warning(
                "VICS file %s: invalid JSON after item %d: %s",
                self.path,
                self.count,
                json_message(error),
            )
            yield BadRecord(
                f"after item {self.count}",
                f"invalid JSON within the first {self.progress()} bytes, so "
                f"reading stopped: {json_message(error)}",
            )
        yield from self._take_bad_cases()

    def _take_bad_cases(self) -> Iterator[BadRecord]:
        yield from self.bad_cases
        self.bad_cases.clear()

    def _watch_cases(
        self, events: Iterable[tuple[str, str, Any]]
    ) -> Iterator[tuple[str, str, Any]]:
        """Pass parse events through, noting each case, its number and shape."""
        for prefix, event, value in events:
            if prefix == ITEM_PREFIX and event in _VALUE_STARTS:
                self.cases += 1
                if event != "start_map":
                    self._reject_case(
                        f"expected a Case object, got {_VALUE_STARTS[event]}"
                    )
            elif prefix == CASE_MEDIA_LIST and event in _VALUE_STARTS:
                if event not in ("start_array", "null"):
                    self._reject_case(
                        f"Media is {_VALUE_STARTS[event]}, expected a list"
                    )
            elif prefix == "value.item.CaseNumber" and event in ("string", "number"):
                self._note_case_number(str(value))
            yield prefix, event, value

    def _reject_case(self, reason: str) -> None:
        self.bad_cases.append(BadRecord(f"case {self.cases}", reason))

    def _note_case_number(self, number: str) -> None:
        if len(self.case_numbers) < MAX_CASE_NUMBERS:
            self.case_numbers.append(number[:100])
            self.details["case_numbers"] = ", ".join(self.case_numbers)

    def _finish_details(self) -> None:
        if self.is_case_export:
            self.details["cases"] = str(self.cases)
        if self.unknown_hash_names:
            self.details["unknown_hash_names"] = ", ".join(
                f"{name} ({count})"
                for name, count in sorted(self.unknown_hash_names.items())
            )
        log.info("VICS file %s: %d media read", self.path, self.count)

    def _to_item(self, obj: object, location: str) -> KnownItem | BadRecord:
        if not isinstance(obj, Mapping):
            # Never the repr: a hostile value can be megabytes long.
            return BadRecord(
                location, f"expected a Media object, got {_json_type(obj)}"
            )
        try:
            item = self._parse_media(obj, location)
        except FieldError as error:
            return BadRecord(location, str(error))
        if not item.hashes:
            return BadRecord(location, "no MD5, SHA1, PhotoDNA or alternative hash")
        return item

    def _parse_media(self, media: Mapping[str, Any], location: str) -> KnownItem:
        hashes = self._parse_hashes(media)
        try:
            category = parse_vics_category(media.get("Category"), self.scheme)
        except ValueError as error:
            raise FieldError("Category", str(error)) from error
        return KnownItem(
            hashes=hashes,
            category=category,
            series=parse_text("Series", media.get("Series")),
            victim_identified=parse_flag(
                "VictimIdentified", media.get("VictimIdentified")
            ),
            offender_identified=parse_flag(
                "OffenderIdentified", media.get("OffenderIdentified")
            ),
            is_distributed=parse_flag("IsDistributed", media.get("IsDistributed")),
            tags=parse_text("Tags", media.get("Tags")),
            comments=parse_text("Comments", media.get("Comments")),
            media_size=parse_size("MediaSize", media.get("MediaSize")),
            mime_type=parse_text("MimeType", media.get("MimeType")),
            file_name=_first_file_name(media.get("MediaFiles")),
            location=location,
        )

    def _parse_hashes(self, media: Mapping[str, Any]) -> list[tuple[str, str]]:
        found = [
            ("md5", parse_hex_digest("MD5", media.get("MD5"), "md5")),
            ("sha1", parse_hex_digest("SHA1", media.get("SHA1"), "sha1")),
            ("photodna", parse_photodna("PhotoDNA", media.get("PhotoDNA"))),
        ]
        found.extend(self._parse_alternative_hashes(media.get("AlternativeHashes")))
        hashes: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for algorithm, value in found:
            if value is not None and (algorithm, value) not in seen:
                seen.add((algorithm, value))
                hashes.append((algorithm, value))
        return hashes

    def _parse_alternative_hashes(
        self, entries: object
    ) -> Iterator[tuple[str, str | None]]:
        if entries is None:
            return
        if not isinstance(entries, list):
            raise FieldError("AlternativeHashes", "expected a list")
        if len(entries) > MAX_ALTERNATIVE_HASHES:
            raise FieldError(
                "AlternativeHashes",
                f"{len(entries)} entries, more than the {MAX_ALTERNATIVE_HASHES} "
                "that one media can have",
            )
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise FieldError(
                    "AlternativeHashes", f"expected objects, got {_json_type(entry)}"
                )
            name = entry.get("HashName")
            if not isinstance(name, str) or not name.strip():
                raise FieldError("AlternativeHashes", "an entry has no HashName")
            algorithm = _ALTERNATIVE_HASH_NAMES.get(re.sub(r"[-_\s]", "", name).upper())
            if algorithm is None:
                self._note_unknown_hash_name(name.strip())
                continue
            label = f"AlternativeHashes[{name.strip()[:40]}]"
            value = entry.get("HashValue")
            if algorithm == "photodna":
                yield algorithm, parse_photodna(label, value)
            else:
                yield algorithm, parse_hex_digest(label, value, algorithm)

    def _note_unknown_hash_name(self, name: str) -> None:
        name = name[:40]
        if name not in self.unknown_hash_names:
            if len(self.unknown_hash_names) >= MAX_UNKNOWN_HASH_NAMES:
                name = OTHER_HASH_NAMES
            else:
                log.warning(
                    "VICS file %s: alternative hash %r is not supported; its "
                    "values are left out",
                    self.path,
                    name,
                )
        self.unknown_hash_names[name] += 1


def _first_file_name(media_files: object) -> str | None:
    """Return the FileName of the first MediaFiles entry that has one."""
    if not isinstance(media_files, list):
        return None
    for entry in media_files:
        if isinstance(entry, Mapping):
            name = entry.get("FileName")
            if isinstance(name, str) and name.strip():
                return name.strip()
    return None


def _json_type(value: object) -> str:
    """Return the JSON type of a value that ijson built, in words."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    return "a number"
