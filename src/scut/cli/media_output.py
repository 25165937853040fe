"""Output of ``scut media show``, ``custody`` and ``thumbnail``: tables and files.

Every value that comes from the evidence (paths, metadata, names typed by
units) goes through :func:`scut.cli.common.text`, which escapes control
characters, so a crafted file name cannot rewrite the terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from rich.table import Table

from scut.cli.common import stdout, text
from scut.errors import ScutError


class OutputFileError(ScutError):
    """Raised when the file a command should write exists or cannot be created."""


def print_detail(detail: dict[str, Any]) -> None:
    """Print a media's record: hashes, metadata, occurrences, matches, category."""
    size = f"{detail['size']} bytes"
    if detail["width"] and detail["height"]:
        size += f", {detail['width']}x{detail['height']}"
    if detail["duration_seconds"]:
        size += f", {detail['duration_seconds']:.1f} s"
    stdout.print(
        text(f"Media {detail['media_id']}: {detail['mime_type']} ({detail['kind']})")
    )
    _print_pairs(
        [
            ("size", size),
            ("SHA-256", detail["sha256"]),
            ("SHA-1", detail["sha1"]),
            ("MD5", detail["md5"]),
            ("PDQ", _pdq(detail)),
            ("codec", detail["codec"]),
            ("first seen", detail["first_seen_at"]),
            ("category", _category(detail)),
            ("series", detail["series"]),
        ]
    )
    _print_metadata(detail["metadata"])
    _print_occurrences(detail["occurrences"])
    _print_matches(detail["matches"])
    _print_history(detail["category_history"])


def print_custody(media_id: int, events: list[dict[str, Any]]) -> None:
    """Print a media's chain of custody as a table, oldest event first."""
    table = Table(title=f"Custody of media {media_id}")
    for column in ("when", "event", "by", "detail"):
        table.add_column(column, overflow="fold")
    for event in events:
        table.add_row(
            text(event["at"]),
            text(event["event"]),
            text(event["by"]),
            text(_pairs_text(event["detail"])),
        )
    stdout.print(table)


@contextlib.contextmanager
def new_private_file(path: Path) -> Iterator[BinaryIO]:
    """Create ``path`` readable by its owner only and yield it open for writing.

    The file must not exist yet, so nothing is overwritten and no link is
    followed. When the block raises, the file is removed. Raises
    OutputFileError when it exists or cannot be created.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError:
        raise OutputFileError(
            f"{path} already exists; choose another file name or remove it first"
        ) from None
    except OSError as error:
        raise OutputFileError(
            f"failed to create {path}: {error.strerror or error}; check that its "
            "folder exists and that you may write there"
        ) from error
    try:
        with os.fdopen(descriptor, "wb") as handle:
            # The umask narrows the mode given to open(), never widens it,
            # so this only makes 0600 exact.
            os.fchmod(handle.fileno(), 0o600)
            yield handle
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _print_pairs(pairs: list[tuple[str, Any]]) -> None:
    for label, value in pairs:
        if value not in (None, ""):
            stdout.print(text(f"  {label}: {value}"))


def _pdq(detail: dict[str, Any]) -> str | None:
    if not detail["pdq"]:
        return None
    return f"{detail['pdq']} (quality {detail['pdq_quality']})"


def _category(detail: dict[str, Any]) -> str | None:
    category = detail["category"]
    if category is None:
        return None
    if detail["category_source"]:
        category += f" from {detail['category_source']}"
    if detail["category_conflict"]:
        category += " (sources disagree)"
    return str(category)


def _print_metadata(metadata: dict[str, Any]) -> None:
    gps = None
    if metadata["gps_latitude"] is not None:
        gps = f"{metadata['gps_latitude']}, {metadata['gps_longitude']}"
        if metadata["gps_altitude"] is not None:
            gps += f", altitude {metadata['gps_altitude']} m"
    taken_at = metadata["taken_at"]
    if taken_at and metadata["taken_at_offset"]:
        taken_at += f" {metadata['taken_at_offset']}"
    _print_pairs(
        [
            ("camera make", metadata["camera_make"]),
            ("camera model", metadata["camera_model"]),
            ("body serial", metadata["body_serial"]),
            ("lens serial", metadata["lens_serial"]),
            ("software", metadata["software"]),
            ("taken at (camera time)", taken_at),
            ("GPS", gps),
            ("orientation", metadata["orientation"]),
        ]
    )
    if not metadata["tags"]:
        return
    table = Table(title="Metadata tags")
    table.add_column("tag", overflow="fold")
    table.add_column("value", overflow="fold")
    for name, value in sorted(metadata["tags"].items()):
        value_text = value if isinstance(value, str) else json.dumps(value, default=str)
        table.add_row(text(name), text(value_text))
    stdout.print(table)


def _print_occurrences(occurrences: list[dict[str, Any]]) -> None:
    table = Table(title="Found in")
    columns = ("submission", "case", "unit", "exhibit", "path", "verdict", "recorded")
    for column in columns:
        table.add_column(column, overflow="fold")
    for line in occurrences:
        path = line["path"]
        if line["type_mismatch"]:
            path += f" (name claims {line['extension_mime_type']})"
        table.add_row(
            text(line["submission_id"]),
            text(line["case"]),
            text(line["unit"]),
            text(line["exhibit"]),
            text(path),
            text(line["verdict"]),
            text(line["recorded_at"]),
        )
    stdout.print(table)


def _print_matches(matches: list[dict[str, Any]]) -> None:
    if not matches:
        stdout.print("  No matches")
        return
    table = Table(title="Matches")
    for column in ("matched", "how", "distance", "category", "series"):
        table.add_column(column, overflow="fold")
    for match in matches:
        if match["source"] == "hash-set":
            matched = f"hash set {match['hash_set']}"
        else:
            matched = f"media {match['media_id']}"
        table.add_row(
            text(matched),
            text(match["how"]),
            text(match["distance"]),
            text(match["category"] or ""),
            text(match["series"] or ""),
        )
    stdout.print(table)


def _print_history(history: list[dict[str, Any]]) -> None:
    if not history:
        return
    table = Table(title="Category history")
    for column in ("when", "category", "before", "source", "by", "reason"):
        table.add_column(column, overflow="fold")
    for line in history:
        table.add_row(
            text(line["at"]),
            text(line["category"]),
            text(line["previous"] or ""),
            text(line["source"]),
            text(line["actor"]),
            text(line["reason"]),
        )
    stdout.print(table)


def _pairs_text(detail: dict[str, Any]) -> str:
    return "; ".join(
        f"{key.replace('_', ' ')}: {value}"
        for key, value in detail.items()
        if value not in (None, "")
    )
