"""Matching on demand: renewing the verdicts of files already recorded.

A hash set imported after a submission, or media from a later case, can
change what an earlier file is. ``rematch`` draws every verdict of the
chosen exhibits again with the matcher used at ingest. Pictures are hashed
again from their stored originals, so their rotated and mirrored variants
are exact. A picture whose original is gone is matched on its stored
hashes, without variants.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scut.db.models import Media, Occurrence, PictureHash, VideoFrame
from scut.db.session import Database
from scut.errors import FileFailure
from scut.hashing.views import PdqView, PictureHashes
from scut.ingest.images import analyse_image
from scut.matching.index import IndexStore
from scut.matching.matcher import FileQuery, Matcher, apply_category
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.blobs import BlobStore

log = logging.getLogger(__name__)

BATCH_SIZE = 200

# Called with (files done, files in all).
RematchProgress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RematchReport:
    """How many verdicts a rematch drew, and how many changed."""

    files: int
    changed: int
    by_verdict: dict[str, int]


def rematch(
    database: Database,
    settings: Settings,
    exhibit_ids: Sequence[int],
    progress: RematchProgress | None = None,
) -> RematchReport:
    """Draw again the verdict of every file of the given exhibits."""
    store = open_blob_store(settings)
    index_store = IndexStore(database, settings)
    index = index_store.open()
    index_store.save()
    files = changed = 0
    by_verdict: dict[str, int] = {}
    with database.session() as session:
        total = sum(
            1
            for _ in session.scalars(
                select(Occurrence.id).where(Occurrence.exhibit_id.in_(exhibit_ids))
            )
        )
    for exhibit_id in exhibit_ids:
        with database.session() as session:
            occurrences = session.execute(
                select(
                    Occurrence.id, Occurrence.verdict, Occurrence.verdict_detail, Media
                )
                .join(Media, Media.id == Occurrence.media_id)
                .where(Occurrence.exhibit_id == exhibit_id)
                .order_by(Occurrence.id)
            ).all()
        for start in range(0, len(occurrences), BATCH_SIZE):
            batch = occurrences[start : start + BATCH_SIZE]
            with database.session() as session, session.begin():
                queries = {
                    media.sha256: _query(session, store, media, settings)
                    for _, _, _, media in batch
                }
                matcher = Matcher(
                    session, exhibit_id, settings, index, store, index_store.digests
                )
                verdicts = matcher.match(list(queries.values()))
                now = dt.datetime.now(dt.UTC)
                for occurrence_id, old_verdict, old_detail, media in batch:
                    verdict = verdicts[media.sha256]
                    apply_category(session, media.id, verdict)
                    if verdict.verdict != old_verdict or _canonical(
                        verdict.detail
                    ) != _canonical(old_detail):
                        changed += 1
                    session.execute(
                        update(Occurrence)
                        .where(Occurrence.id == occurrence_id)
                        .values(
                            verdict=verdict.verdict,
                            verdict_detail=verdict.detail,
                            matched_at=now,
                        )
                    )
                    by_verdict[verdict.verdict] = by_verdict.get(verdict.verdict, 0) + 1
            files += len(batch)
            if progress is not None:
                progress(files, total)
    log.info("Rematched %d files, %d verdicts changed", files, changed)
    return RematchReport(files, changed, by_verdict)


def _query(
    session: Session, store: BlobStore, media: Media, settings: Settings
) -> FileQuery:
    query = FileQuery(
        sha256=media.sha256,
        sha1=media.sha1,
        md5=media.md5,
        media_id=media.id,
        kind=media.kind,
        has_thumbnail=media.has_thumbnail,
    )
    if media.kind == "video":
        query.frames = [
            (value, quality)
            for value, quality in session.execute(
                select(VideoFrame.pdq, VideoFrame.quality)
                .where(VideoFrame.media_id == media.id)
                .order_by(VideoFrame.second)
            )
        ]
    elif media.kind == "image" and media.pdq and media.pdq_quality is not None:
        query.pictures = _pictures(session, store, media, settings)
    return query


def _pictures(
    session: Session, store: BlobStore, media: Media, settings: Settings
) -> PictureHashes:
    if store.has_original(media.sha256):
        try:
            with store.open_original(media.sha256) as handle:
                data = handle.read()
            return analyse_image(data, 32, settings.picture_views).hashes
        except (FileFailure, OSError) as error:
            log.warning("Could not hash %s again: %s", media.sha256, error)
    assert media.pdq is not None and media.pdq_quality is not None
    views = {
        view: PdqView(value, quality, (value,))
        for view, value, quality in session.execute(
            select(PictureHash.view, PictureHash.pdq, PictureHash.quality).where(
                PictureHash.media_id == media.id
            )
        )
    }
    full = PdqView(media.pdq, media.pdq_quality, (media.pdq,))
    return PictureHashes(full, views, None)


def _canonical(detail: dict[str, Any]) -> str:
    # A detail read back from JSON has lists where a fresh one has tuples.
    return json.dumps(detail, sort_keys=True, default=str)
