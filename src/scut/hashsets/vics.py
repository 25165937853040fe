"""Project VIC VICS JSON (versions 1.1-1.3 and 2.0), read as a stream.

A VICS file is one JSON object: a metadata URL (``odata.metadata`` in 1.x,
``@odata.context`` in 2.0) and ``value``, a list of Media objects (a hash
set) or of Case objects that each contain a ``Media`` list (a case export).
The parser is ijson, so memory stays flat however many items there are.

``open_vics`` reads the file's start to fill ``details`` (version, shape,
scheme) and the items are then read in a second pass. Case numbers and
unknown alternative hash names are added to ``details`` while the items are
read, so they are complete once ``items`` is exhausted.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
from scut.hashsets.formats import HashSetFormatError
from scut.hashsets.items import BadRecord, HashSetSource, KnownItem

log = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
METADATA_KEYS = ("odata.metadata", "@odata.context")
# ijson prefix of each object in the top-level value list: a media or a case.
ITEM_PREFIX = "value.item"
CASE_MEDIA_PREFIX = "value.item.Media.item"
# How many case numbers ``details["case_numbers"]`` lists.
MAX_CASE_NUMBERS = 10

# AlternativeHashes names, upper case without "-", "_" or spaces, mapped to
# the algorithm names of scut.hashsets.items.
_ALTERNATIVE_HASH_NAMES = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "PDQ": "pdq",
    "PHOTODNA": "photodna",
}
# Keys that only a Case object or only a Media object has, to detect the
# shape when the metadata URL does not.
_CASE_KEYS = frozenset(
    {"Media", "CaseID", "CaseNumber", "ContactOrganization", "TotalMediaFiles"}
)
_MEDIA_KEYS = frozenset(
    {"MD5", "SHA1", "MediaID", "Category", "MediaSize", "MediaFiles", "PhotoDNA"}
)
_VERSION = re.compile(r"/(\d+(?:\.\d+)+)\.xml", re.IGNORECASE)
_CONTEXT_SCHEME = re.compile(r"\.xml/([^/#$]+)")


@dataclass(slots=True)
class _Header:
    """Metadata URL and shape, read from the start of a VICS file."""

    metadata_key: str | None = None
    metadata_url: str | None = None
    shape: str | None = None
    found_value: bool = False


def open_vics(path: Path) -> HashSetSource:
    """Open a VICS JSON file for streaming its media as KnownItem.

    Raises HashSetFormatError when the file is not JSON or has no ``value``
    list before it breaks. A file that breaks later yields the items
    before the break, then one BadRecord stating where it broke.
    """
    header = _read_header(path)
    details = _header_details(header)
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


def _open_json(path: Path) -> IO[bytes]:
    """Open ``path`` positioned after a UTF-8 BOM, if it has one."""
    handle = path.open("rb")
    if handle.read(len(_BOM)) != _BOM:
        handle.seek(0)
    return handle


def _read_header(path: Path) -> _Header:
    """Read the file's start up to the first media key: metadata URL and shape.

    When the URL does not name the shape, the first item's keys do. A JSON
    error after the ``value`` list has started is left for the item pass
    to report.
    """
    header = _Header()
    with _open_json(path) as handle:
        try:
            _scan_header(ijson.parse(handle), header)
        except ijson.JSONError as error:
            if not header.found_value:
                raise HashSetFormatError(
                    f"{path}: not a VICS JSON file: {_json_message(error)}"
                ) from error
    if not header.found_value:
        raise HashSetFormatError(
            f"{path}: not a VICS JSON file: no top-level 'value' list"
        )
    if header.shape is None:
        log.warning("VICS file %s: shape not recognised; reading it as media", path)
        header.shape = "media"
    return header


def _scan_header(events: Iterable[tuple[str, str, Any]], header: _Header) -> None:
    """Fill ``header`` from parse events, stopping once the shape is known."""
    for prefix, event, value in events:
        if prefix == "" and event == "start_array":
            return
        if prefix in METADATA_KEYS and event == "string":
            header.metadata_key, header.metadata_url = prefix, value
            header.shape = header.shape or _shape_from_url(value)
        elif prefix == "value" and event == "start_array":
            header.found_value = True
            if header.shape is not None:
                return
        elif prefix == "value" and event == "end_array":
            return
        elif header.found_value and prefix == ITEM_PREFIX:
            if event == "end_map":
                # The first item had no key that identifies its shape.
                return
            if event == "map_key" and value in _CASE_KEYS:
                header.shape = "cases"
                return
            if event == "map_key" and value in _MEDIA_KEYS:
                header.shape = "media"
                return


def _shape_from_url(url: str) -> str | None:
    fragment = url.rpartition("#")[2].strip().lower()
    if fragment.startswith("media"):
        return "media"
    if fragment.startswith("case"):
        return "cases"
    return None


def _header_details(header: _Header) -> dict[str, str]:
    details = {"shape": header.shape or "media"}
    url = header.metadata_url
    if url is None:
        return details
    details["metadata_url"] = url
    version = _VERSION.search(url)
    if version is not None:
        details["version"] = version.group(1)
    scheme = _CONTEXT_SCHEME.search(url)
    if header.metadata_key == "@odata.context" and scheme is not None:
        details["scheme"] = scheme.group(1)
    return details


def _json_message(error: Exception) -> str:
    """Return yajl's message and the text around the error on one line."""
    text = str(error)
    if text.startswith(("b'", 'b"')):
        # ijson 3.x passes some yajl messages on as the repr of bytes.
        with contextlib.suppress(ValueError, SyntaxError):
            text = ast.literal_eval(text).decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("(right here)")]
    return ": ".join(lines) or type(error).__name__


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

    def read(self) -> Iterator[KnownItem | BadRecord]:
        with _open_json(self.path) as handle:
            self.progress.attach(handle)
            try:
                yield from self._read_media(handle)
            finally:
                self.progress.detach()
                self._finish_details()

    def _read_media(self, handle: IO[bytes]) -> Iterator[KnownItem | BadRecord]:
        if self.is_case_export:
            media = ijson.items(
                self._watch_cases(ijson.parse(handle)), CASE_MEDIA_PREFIX
            )
        else:
            media = ijson.items(handle, ITEM_PREFIX)
        try:
            for obj in media:
                self.count += 1
                yield self._to_item(obj, f"item {self.count}")
        except (ijson.JSONError, UnicodeDecodeError) as error:
            log.warning(
                "VICS file %s: invalid JSON after item %d: %s",
                self.path,
                self.count,
                _json_message(error),
            )
            yield BadRecord(
                f"after item {self.count}",
                f"invalid JSON within the first {self.progress()} bytes, so "
                f"reading stopped: {_json_message(error)}",
            )

    def _watch_cases(
        self, events: Iterable[tuple[str, str, Any]]
    ) -> Iterator[tuple[str, str, Any]]:
        """Pass parse events through, noting each case and its number."""
        for prefix, event, value in events:
            if prefix == ITEM_PREFIX and event == "start_map":
                self.cases += 1
            elif prefix == "value.item.CaseNumber" and value is not None:
                self._note_case_number(str(value))
            yield prefix, event, value

    def _note_case_number(self, number: str) -> None:
        if len(self.case_numbers) < MAX_CASE_NUMBERS:
            self.case_numbers.append(number)
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
            return BadRecord(location, f"expected a Media object, got {obj!r:.80}")
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
        for algorithm, value in found:
            if value is not None and (algorithm, value) not in hashes:
                hashes.append((algorithm, value))
        return hashes

    def _parse_alternative_hashes(
        self, entries: object
    ) -> Iterator[tuple[str, str | None]]:
        if entries is None:
            return
        if not isinstance(entries, list):
            raise FieldError("AlternativeHashes", "expected a list")
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise FieldError(
                    "AlternativeHashes", f"expected objects, got {entry!r}"
                )
            name = entry.get("HashName")
            if not isinstance(name, str) or not name.strip():
                raise FieldError("AlternativeHashes", "an entry has no HashName")
            algorithm = _ALTERNATIVE_HASH_NAMES.get(re.sub(r"[-_\s]", "", name).upper())
            if algorithm is None:
                self._note_unknown_hash_name(name.strip())
                continue
            label = f"AlternativeHashes[{name.strip()}]"
            value = entry.get("HashValue")
            if algorithm == "photodna":
                yield algorithm, parse_photodna(label, value)
            else:
                yield algorithm, parse_hex_digest(label, value, algorithm)

    def _note_unknown_hash_name(self, name: str) -> None:
        if name not in self.unknown_hash_names:
            log.warning(
                "VICS file %s: alternative hash %r is not supported; its values "
                "are left out",
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
