"""One media as an analyst opens it: its record, and its thumbnail revealed.

Both calls are audited operations. Each successful call writes one event
naming the media, in the caller's transaction, so a view or reveal whose
event cannot be written fails and returns nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scut.db.models import Case, Exhibit, Media, Occurrence, Submission, Unit
from scut.errors import ScutError
from scut.ingest.analyse import STRIP_NAME, THUMBNAIL_NAME
from scut.media.categorise import HistoryLine, category_history
from scut.media.lookup import MediaNotFound
from scut.security.access import argument, operation, unchecked
from scut.security.caller import Caller
from scut.series.status import series_of_media
from scut.storage.blobs import BlobStore

log = logging.getLogger(__name__)


class ThumbnailUnavailable(ScutError):
    """Raised when a media has no thumbnail, or its sealed file cannot be read."""


@dataclass(frozen=True, slots=True)
class MediaMetadata:
    """The origin of a file as its EXIF, XMP or container tags record it."""

    camera_make: str | None
    camera_model: str | None
    body_serial: str | None
    lens_serial: str | None
    software: str | None
    # DateTimeOriginal as the camera wrote it (local time), and its offset.
    taken_at: str | None
    taken_at_offset: str | None
    # WGS 84 degrees, and metres for the altitude.
    gps_latitude: float | None
    gps_longitude: float | None
    gps_altitude: float | None
    orientation: int | None
    # Every tag read, by its name.
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OccurrenceLine:
    """One place the media was found: a path in one exhibit of one submission."""

    occurrence_id: int
    submission_id: int
    case: str
    unit: str
    exhibit: str
    path: str
    verdict: str
    # The file's modification time in the exhibit, when known.
    modified_at: str | None
    recorded_at: str
    # Whether the file name claims a type other than the content's, and which.
    type_mismatch: bool
    extension_mime_type: str | None


@dataclass(frozen=True, slots=True)
class MatchLine:
    """A hash set entry or an earlier media that the media matched."""

    # hash-set or case (a media recorded in another exhibit).
    source: str
    # sha256, md5, sha1, pdq, video-frames or local-features.
    how: str
    # 0 for an exact digest match, else a PDQ Hamming distance (0-256).
    distance: int
    hash_set: str | None
    media_id: int | None
    category: str | None
    series: str | None


@dataclass(frozen=True, slots=True)
class MediaDetail:
    """Everything recorded about one media, for the analyst who opens it."""

    media_id: int
    sha256: str
    sha1: str
    md5: str
    # PDQ as 64 hex digits with its quality 0-100. A video has its first frame's.
    pdq: str | None
    pdq_quality: int | None
    mime_type: str
    kind: str
    size: int
    width: int | None
    height: int | None
    duration_seconds: float | None
    codec: str | None
    first_seen_at: str
    has_thumbnail: bool
    metadata: MediaMetadata
    # "scheme code", such as "projectvic 1", or None while uncategorised.
    category: str | None
    category_source: str | None
    category_conflict: bool
    category_history: list[HistoryLine]
    series: str | None
    series_id: int | None
    occurrences: list[OccurrenceLine]
    matches: list[MatchLine]


@operation("media.view", before=argument("media"))
def media_detail(session: Session, media_id: int, *, caller: Caller) -> MediaDetail:
    """Return a media's hashes, metadata, occurrences, matches, category and series.

    Raises MediaNotFound for an unknown media number.
    """
    media = session.get(Media, media_id)
    if media is None:
        raise MediaNotFound(f"no media number {media_id}")

    occurrences = _occurrences(session, media_id)
    series = series_of_media(session, [media_id]).get(media_id)
    history = unchecked(category_history)(session, media_id, caller=caller)
    category = (
        f"{media.category_scheme} {media.category_code}"
        if media.category_code is not None
        else None
    )
    log.info("%s viewed media %d", caller.name, media_id)
    return MediaDetail(
        media_id=media.id,
        sha256=media.sha256,
        sha1=media.sha1,
        md5=media.md5,
        pdq=media.pdq,
        pdq_quality=media.pdq_quality,
        mime_type=media.mime_type,
        kind=media.kind,
        size=media.size,
        width=media.width,
        height=media.height,
        duration_seconds=media.duration_seconds,
        codec=media.codec,
        first_seen_at=_iso(media.first_seen_at),
        has_thumbnail=media.has_thumbnail or media.has_strip,
        metadata=_metadata(media),
        category=category,
        category_source=media.category_source,
        category_conflict=media.category_conflict,
        category_history=history,
        series=series.name if series else None,
        series_id=series.series_id if series else None,
        occurrences=[line for line, _ in occurrences],
        matches=_matches([detail for _, detail in occurrences]),
    )


@operation("media.reveal", before=argument("media", position=2))
def reveal_thumbnail(
    session: Session, store: BlobStore, media_id: int, *, caller: Caller
) -> bytes:
    """Return the plain JPEG of a media's thumbnail (a video's frame strip).

    The thumbnail is unsealed in memory and never written to disk here.
    Raises MediaNotFound for an unknown media number, and
    ThumbnailUnavailable when the media has none or its file cannot be read.
    """
    media = session.get(Media, media_id)
    if media is None:
        raise MediaNotFound(f"no media number {media_id}")
    if media.has_thumbnail:
        name = THUMBNAIL_NAME
    elif media.has_strip:
        name = STRIP_NAME
    else:
        raise ThumbnailUnavailable(
            f"media {media_id} ({media.kind}, {media.mime_type}) has no thumbnail: "
            "only pictures and videos that could be decoded have one"
        )
    try:
        data = store.read_derived(media.sha256, name)
    except OSError as error:
        raise ThumbnailUnavailable(
            f"the thumbnail of media {media_id} cannot be read from the blob "
            f"store: {error}; run `scut verify` to check the store"
        ) from error
    log.info("%s revealed the thumbnail of media %d", caller.name, media_id)
    return data


def _occurrences(
    session: Session, media_id: int
) -> list[tuple[OccurrenceLine, dict[str, Any]]]:
    """Return each occurrence of the media with its verdict detail, oldest first."""
    rows = session.execute(
        select(Occurrence, Exhibit.label, Submission.id, Case.reference, Unit.name)
        .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
        .join(Submission, Submission.id == Exhibit.submission_id)
        .join(Case, Case.id == Submission.case_id)
        .join(Unit, Unit.id == Submission.unit_id)
        .where(Occurrence.media_id == media_id)
        .order_by(Occurrence.id)
    )
    found = []
    for occurrence, exhibit, submission_id, case, unit in rows:
        modified = occurrence.modified_at
        line = OccurrenceLine(
            occurrence_id=occurrence.id,
            submission_id=submission_id,
            case=case,
            unit=unit,
            exhibit=exhibit,
            path=occurrence.path,
            verdict=occurrence.verdict,
            modified_at=_iso(modified) if modified else None,
            recorded_at=_iso(occurrence.recorded_at),
            type_mismatch=occurrence.type_mismatch,
            extension_mime_type=occurrence.extension_mime_type,
        )
        found.append((line, occurrence.verdict_detail or {}))
    return found


def _matches(details: list[dict[str, Any]]) -> list[MatchLine]:
    """Return the matches of every occurrence's verdict, once each, nearest first.

    Occurrences matched at different times may list the same source, and
    the smallest distance found for it is kept.
    """
    best: dict[tuple[Any, ...], MatchLine] = {}
    for detail in details:
        for match in detail.get("matches", []):
            line = _match_line(match)
            key = (line.source, line.hash_set, line.media_id, line.how)
            kept = best.get(key)
            if kept is None or line.distance < kept.distance:
                best[key] = line
    return sorted(
        best.values(),
        key=lambda line: (line.distance, line.source, str(line.hash_set or "")),
    )


def _match_line(match: dict[str, Any]) -> MatchLine:
    category = match.get("category")
    media_id = match.get("media_id")
    return MatchLine(
        source=str(match.get("source", "")),
        how=str(match.get("how", "")),
        distance=int(match.get("distance", 0)),
        hash_set=match.get("hash_set"),
        media_id=int(media_id) if media_id is not None else None,
        category=f"{category['scheme']} {category['code']}" if category else None,
        series=match.get("series"),
    )


def _metadata(media: Media) -> MediaMetadata:
    return MediaMetadata(
        camera_make=media.camera_make,
        camera_model=media.camera_model,
        body_serial=media.body_serial,
        lens_serial=media.lens_serial,
        software=media.software,
        taken_at=media.taken_at.isoformat() if media.taken_at else None,
        taken_at_offset=media.taken_at_offset,
        gps_latitude=media.gps_latitude,
        gps_longitude=media.gps_longitude,
        gps_altitude=media.gps_altitude,
        orientation=media.orientation,
        tags=dict(media.metadata_tags or {}),
    )


def _iso(value: dt.datetime) -> str:
    """Return a stored time as ISO 8601 UTC. SQLite returns it without offset."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")
