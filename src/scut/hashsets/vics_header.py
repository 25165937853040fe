"""The start of a VICS JSON file: its metadata URL, version, scheme and shape.

``read_header`` finds the metadata URL (``odata.metadata`` in 1.x,
``@odata.context`` in 2.0) and whether ``value`` lists Media or Case
objects. OData writers put the URL first, so reading usually stops where
``value`` begins. JSON objects have no key order, though. When the URL is
not before ``value``, the rest of the file is read to find it, because the
scheme of the category codes depends on it.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

from scut.hashsets.formats import HashSetFormatError
from scut.hashsets.json_limits import LimitedJsonReader

log = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
METADATA_KEYS = ("odata.metadata", "@odata.context")
# ijson prefix of each object in the top-level value list: a media or a case.
ITEM_PREFIX = "value.item"
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
class Header:
    """Metadata URL and shape, read from the start of a VICS file."""

    metadata_key: str | None = None
    metadata_url: str | None = None
    shape: str | None = None
    found_value: bool = False
    # The first item's keys were looked at, or the list has no item.
    first_item_seen: bool = False

    def is_complete(self) -> bool:
        """Return whether the rest of the file can add nothing to the header."""
        if not self.found_value or self.metadata_url is None:
            return False
        return self.shape is not None or self.first_item_seen


@contextlib.contextmanager
def open_json(path: Path) -> Iterator[tuple[IO[bytes], LimitedJsonReader]]:
    """Open ``path`` after a UTF-8 BOM, if it has one, for ijson to read.

    Yields the file, for progress, and the reader that checks its nesting
    and number lengths, for ijson.
    """
    with path.open("rb") as handle:
        if handle.read(len(_BOM)) != _BOM:
            handle.seek(0)
        yield handle, LimitedJsonReader(handle, path, handle.tell())


def read_header(path: Path) -> Header:
    """Read the metadata URL and shape of a VICS file.

    Reading stops once both are known: where ``value`` begins when the URL
    comes before it and names the shape, as OData writers put it. Without
    a URL before ``value``, it goes on to the end of the file to find one.
    When the URL does not name the shape, the first item's keys do. A JSON
    error after the ``value`` list has started is left for the item pass
    to report. Raises JsonLimitError for nesting or numbers that ijson
    cannot parse safely, and HashSetFormatError for a file that is not
    VICS.
    """
    header = Header()
    with open_json(path) as (_, reader):
        try:
            _scan_header(ijson.parse(reader), header, path)
        except (ijson.JSONError, UnicodeDecodeError) as error:
            if not header.found_value:
                raise HashSetFormatError(
                    f"{path}: not a VICS JSON file: {json_message(error)}"
                ) from error
    if not header.found_value:
        raise HashSetFormatError(
            f"{path}: not a VICS JSON file: no top-level 'value' list"
        )
    if header.shape is None:
        log.warning("VICS file %s: shape not recognised; reading it as media", path)
        header.shape = "media"
    return header


def _scan_header(
    events: Iterable[tuple[str, str, Any]], header: Header, path: Path
) -> None:
    """Fill ``header`` from parse events, stopping once it is complete."""
    for prefix, event, value in events:
        if prefix == "" and event == "start_array":
            return
        if prefix in METADATA_KEYS and event == "string":
            _note_metadata(header, prefix, value, path)
        elif prefix == "value" and event in ("start_array", "end_array"):
            header.found_value = True
            header.first_item_seen |= event == "end_array"
            if event == "start_array" and header.metadata_url is None:
                log.info(
                    "VICS file %s: no metadata URL before 'value'; reading on "
                    "to the end of the file for one",
                    path,
                )
        elif (
            prefix == ITEM_PREFIX and header.found_value and not header.first_item_seen
        ):
            _note_first_item_event(header, event, value)
        if header.is_complete():
            return


def _note_metadata(header: Header, key: str, url: str, path: Path) -> None:
    if header.metadata_url is not None:
        if url != header.metadata_url:
            log.warning(
                "VICS file %s: a second metadata URL %r is ignored", path, url[:200]
            )
        return
    if header.found_value:
        log.info("VICS file %s: metadata URL found after 'value'", path)
    header.metadata_key, header.metadata_url = key, url
    # The URL names the shape with more authority than the first item's keys.
    header.shape = _shape_from_url(url) or header.shape


def _note_first_item_event(header: Header, event: str, value: Any) -> None:
    """Take the shape from the first key of the first item that names one."""
    if event == "start_map":
        return
    if event == "map_key" and value not in _CASE_KEYS | _MEDIA_KEYS:
        return
    header.first_item_seen = True
    if event == "map_key" and header.shape is None:
        header.shape = "cases" if value in _CASE_KEYS else "media"


def _shape_from_url(url: str) -> str | None:
    fragment = url.rpartition("#")[2].strip().lower()
    if fragment.startswith("media"):
        return "media"
    if fragment.startswith("case"):
        return "cases"
    return None


def header_details(header: Header) -> dict[str, str]:
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


def json_message(error: Exception) -> str:
    """Return yajl's message and the text around the error on one line."""
    text = str(error)
    if text.startswith(("b'", 'b"')):
        # ijson 3.x passes some yajl messages on as the repr of bytes.
        with contextlib.suppress(ValueError, SyntaxError):
            text = ast.literal_eval(text).decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("(right here)")]
    return ": ".join(lines) or type(error).__name__
