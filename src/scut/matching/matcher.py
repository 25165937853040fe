"""Matching files against hash sets and against every media already in Scut.

A file is matched in three stages, each only where the one before found
nothing:

1. exact: its MD5, SHA-1 and SHA-256 against hash set entries, and its
   SHA-256 against media recorded in earlier exhibits;
2. near: every PDQ view of a picture (as shown, trimmed, central crops),
   each with its eight rotations and mirrors, and its probes, against the
   PDQ index at ``pdq_match_distance``. A video matches by the share of
   its frame hashes that match one earlier video's frames;
3. local features: for a picture still unmatched, the nearest indexed
   pictures up to ``pdq_candidate_distance`` are compared with its
   thumbnail by ORB keypoints (scut.matching.features).

Matches with media count only when that media was recorded in an exhibit
recorded before this one: a file is not "known" because of its own
exhibit, and matching an exhibit again does not make its originals copies
of copies that arrived later.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from scut.db.chunks import in_chunks
from scut.db.models import (
    Case,
    Exhibit,
    HashEntry,
    HashSet,
    Media,
    Occurrence,
    PictureHash,
    VideoFrame,
)
from scut.hashing.views import PictureHashes, matchable
from scut.hashsets.items import Category
from scut.matching import verdicts
from scut.matching.digest_index import DigestIndex
from scut.matching.features import QueryFeatures, same_picture
from scut.matching.index import (
    HASH_ENTRY,
    MEDIA_FULL,
    PICTURE_VIEW,
    VIDEO_FRAME,
    Hit,
    PdqIndex,
    hex_codes,
    make_label,
    split_label,
)
from scut.media.categorise import same_category
from scut.series.status import series_of_media
from scut.settings import Settings
from scut.storage.blobs import BlobStore

log = logging.getLogger(__name__)

THUMBNAIL_NAME = "thumb.jpg"
# Prefix of a category source that names a hash set.
HASH_SET_SOURCE = verdicts.HASH_SET_SOURCE
EXACT_ALGORITHMS = ("md5", "sha1", "sha256")
VARIANT_NAMES = (
    "as-is",
    "rotated-90",
    "rotated-180",
    "rotated-270",
    "mirrored-vertical",
    "mirrored-horizontal",
    "transposed",
    "transversed",
)
# Earlier sightings listed per matched media.
MAX_SIGHTINGS = 3
# Nearest indexed hashes per query view taken as local-feature candidates,
# and how many candidate pictures at most are compared per file.
NEAREST_PER_VIEW = 3
MAX_FEATURE_CANDIDATES = 4


@dataclass(slots=True)
class FileQuery:
    """The digests, media id and hashes of one file, as matching needs them."""

    sha256: str
    sha1: str
    md5: str
    media_id: int
    kind: str
    pictures: PictureHashes | None = None
    # (hash, quality) of each frame hash of a video.
    frames: list[tuple[str, int]] = field(default_factory=list)
    has_thumbnail: bool = False


@dataclass(slots=True)
class _Found:
    """Matches gathered for one file before its verdict is drawn."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    media: dict[int, dict[str, Any]] = field(default_factory=dict)


class Matcher:
    """Matches batches of files of one exhibit."""

    def __init__(
        self,
        session: Session,
        exhibit_id: int,
        settings: Settings,
        index: PdqIndex | None,
        store: BlobStore | None,
        digests: DigestIndex | None = None,
    ) -> None:
        self.session = session
        self.exhibit_id = exhibit_id
        self.settings = settings
        self.index = index
        self.store = store
        # Without a digest index every digest is looked up in the database.
        self.digests = digests

    def match(self, queries: Sequence[FileQuery]) -> dict[str, verdicts.FileVerdict]:
        """Return each file's verdict, keyed by SHA-256."""
        found = {query.sha256: _Found() for query in queries}
        self._exact_entries(queries, found)
        self._exact_media(queries, found)
        pending = [query for query in queries if not _has_exact(found[query.sha256])]
        if self.index is not None and len(self.index):
            self._near_pictures(
                [query for query in pending if query.pictures is not None], found
            )
            self._near_videos([query for query in pending if query.frames], found)
            unmatched = [
                query
                for query in pending
                if query.pictures is not None
                and query.has_thumbnail
                and not _has_any(found[query.sha256])
            ]
            self._local_features(unmatched, found)
        self._describe_media(found)
        return {
            sha256: verdicts.decide(item.entries, list(item.media.values()))
            for sha256, item in found.items()
        }

    # Stage 1: exact digests.

    def _exact_entries(
        self, queries: Sequence[FileQuery], found: dict[str, _Found]
    ) -> None:
        wanted: dict[tuple[str, str], list[str]] = defaultdict(list)
        for query in queries:
            for algorithm in EXACT_ALGORITHMS:
                wanted[(algorithm, getattr(query, algorithm))].append(query.sha256)
        if self.digests is not None and wanted:
            keys = sorted(wanted)
            known = self.digests.might_contain([value for _, value in keys])
            wanted = defaultdict(
                list,
                {key: wanted[key] for key, hit in zip(keys, known, strict=True) if hit},
            )
        if not wanted:
            return
        rows = self.session.execute(
            select(HashEntry, HashSet.name, HashSet.kind)
            .join(HashSet, HashSet.id == HashEntry.hash_set_id)
            .where(tuple_(HashEntry.algorithm, HashEntry.value).in_(sorted(wanted)))
        )
        for entry, set_name, set_kind in rows:
            for sha256 in wanted[(entry.algorithm, entry.value)]:
                found[sha256].entries.append(
                    _entry_match(entry, set_name, set_kind, entry.algorithm, 0)
                )

    def _exact_media(
        self, queries: Sequence[FileQuery], found: dict[str, _Found]
    ) -> None:
        by_media = {query.media_id: query.sha256 for query in queries}
        for media_id, sightings in self._sightings(list(by_media)).items():
            found[by_media[media_id]].media[media_id] = {
                "source": "case",
                "how": "sha256",
                "distance": 0,
                "media_id": media_id,
                "seen_in": sightings,
            }

    # Stage 2: PDQ.

    def _near_pictures(
        self, queries: Sequence[FileQuery], found: dict[str, _Found]
    ) -> None:
        assert self.index is not None
        rows: list[tuple[FileQuery, str, int]] = []
        values: list[str] = []
        for query in queries:
            assert query.pictures is not None
            for view_name, view in query.pictures.all_views():
                if not view.matchable:
                    continue
                for variant, value in enumerate(view.variants):
                    rows.append((query, view_name, variant))
                    values.append(value)
            for probe_name, (value, quality) in query.pictures.probes.items():
                if matchable(value, quality):
                    rows.append((query, f"probe:{probe_name}", 0))
                    values.append(value)
        if not values:
            return
        results = self.index.within(hex_codes(values), self.settings.pdq_match_distance)
        hits: dict[str, list[tuple[Hit, str, int]]] = defaultdict(list)
        for (query, view_name, variant), query_hits in zip(rows, results, strict=True):
            for hit in query_hits:
                hits[query.sha256].append((hit, view_name, variant))
        self._record_hits(queries, hits, found)

    def _record_hits(
        self,
        queries: Sequence[FileQuery],
        hits: dict[str, list[tuple[Hit, str, int]]],
        found: dict[str, _Found],
    ) -> None:
        labels = {hit.label for items in hits.values() for hit, _, _ in items}
        owners = self._label_owners(labels)
        entries = self._entries_by_id(
            [hit.row_id for hit in _hits(hits) if hit.kind == HASH_ENTRY]
        )
        media_ids = {media_id for media_id in owners.values() if media_id is not None}
        sightings = self._sightings(list(media_ids))
        own = {query.sha256: query.media_id for query in queries}
        for sha256, items in hits.items():
            for hit, view_name, variant in sorted(
                items, key=lambda item: item[0].distance
            ):
                detail = {
                    "how": "pdq",
                    "distance": hit.distance,
                    "view": view_name,
                    "variant": VARIANT_NAMES[variant],
                }
                if hit.kind == HASH_ENTRY:
                    entry = entries.get(hit.row_id)
                    if entry is None or _entry_known(found[sha256].entries, entry):
                        continue
                    row, set_name, set_kind = entry
                    found[sha256].entries.append(
                        {
                            **_entry_match(
                                row, set_name, set_kind, "pdq", hit.distance
                            ),
                            **detail,
                        }
                    )
                    continue
                media_id = owners.get(hit.label)
                if media_id is None or media_id == own[sha256]:
                    continue
                if media_id not in sightings or media_id in found[sha256].media:
                    continue
                found[sha256].media[media_id] = {
                    "source": "case",
                    "media_id": media_id,
                    "seen_in": sightings[media_id],
                    **detail,
                }

    def _near_videos(
        self, queries: Sequence[FileQuery], found: dict[str, _Found]
    ) -> None:
        assert self.index is not None
        for query in queries:
            values = [
                value for value, quality in query.frames if matchable(value, quality)
            ]
            if not values:
                continue
            results = self.index.within(
                hex_codes(values), self.settings.pdq_match_distance
            )
            frame_labels = {
                hit.label
                for result in results
                for hit in result
                if hit.kind == VIDEO_FRAME
            }
            owners = self._label_owners(frame_labels)
            matched_frames: dict[int, set[int]] = defaultdict(set)
            best: dict[int, int] = {}
            for position, result in enumerate(results):
                for hit in result:
                    media_id = owners.get(hit.label)
                    if media_id is None or media_id == query.media_id:
                        continue
                    matched_frames[media_id].add(position)
                    best[media_id] = min(best.get(media_id, 256), hit.distance)
            shares = {
                media_id: len(positions) / len(values)
                for media_id, positions in matched_frames.items()
            }
            good = [
                media_id
                for media_id, share in shares.items()
                if share >= self.settings.video_match_share
            ]
            sightings = self._sightings(good)
            for media_id in good:
                if media_id in sightings:
                    found[query.sha256].media[media_id] = {
                        "source": "case",
                        "how": "video-frames",
                        "distance": best[media_id],
                        "share": round(shares[media_id], 3),
                        "media_id": media_id,
                        "seen_in": sightings[media_id],
                    }

    # Stage 3: local features.

    def _local_features(
        self, queries: Sequence[FileQuery], found: dict[str, _Found]
    ) -> None:
        if not queries or self.store is None or self.index is None:
            return
        for query in queries:
            assert query.pictures is not None
            values = [
                view.hex for _, view in query.pictures.all_views() if view.matchable
            ]
            if not values:
                continue
            results = self.index.nearest(hex_codes(values), NEAREST_PER_VIEW)
            candidates = [
                hit
                for result in results
                for hit in result
                if hit.kind in (MEDIA_FULL, PICTURE_VIEW)
                and hit.distance <= self.settings.pdq_candidate_distance
            ]
            if not candidates:
                continue
            owners = self._label_owners({hit.label for hit in candidates})
            nearest: dict[int, int] = {}
            for hit in sorted(candidates, key=lambda hit: hit.distance):
                media_id = owners.get(hit.label)
                if media_id is not None and media_id != query.media_id:
                    nearest.setdefault(media_id, hit.distance)
            chosen = list(nearest)[:MAX_FEATURE_CANDIDATES]
            sightings = self._sightings(chosen)
            self._compare_thumbnails(query, chosen, nearest, sightings, found)

    def _compare_thumbnails(
        self,
        query: FileQuery,
        chosen: list[int],
        nearest: dict[int, int],
        sightings: dict[int, list[dict[str, str]]],
        found: dict[str, _Found],
    ) -> None:
        assert self.store is not None
        thumbnail = self._thumbnail(query.sha256)
        if thumbnail is None:
            return
        features = QueryFeatures(thumbnail)
        digests = dict(
            self.session.execute(
                select(Media.id, Media.sha256).where(
                    Media.id.in_(
                        [media_id for media_id in chosen if media_id in sightings]
                    ),
                    Media.has_thumbnail.is_(True),
                )
            ).all()
        )
        for media_id, sha256 in digests.items():
            other = self._thumbnail(sha256)
            if other is None:
                continue
            result = same_picture(features, other, self.settings.feature_min_inliers)
            if result is None:
                continue
            found[query.sha256].media[media_id] = {
                "source": "case",
                "how": "local-features",
                "distance": nearest[media_id],
                "inliers": result.inliers,
                "coverage": result.coverage,
                "scale": result.scale,
                "rotation_degrees": result.rotation_degrees,
                "mirrored": result.mirrored,
                "media_id": media_id,
                "seen_in": sightings[media_id],
            }

    def _thumbnail(self, sha256: str) -> bytes | None:
        assert self.store is not None
        try:
            return self.store.read_derived(sha256, THUMBNAIL_NAME)
        except OSError as error:
            log.debug("No thumbnail for %s: %s", sha256, error)
            return None

    # Lookups.

    def _label_owners(self, labels: Iterable[int]) -> dict[int, int | None]:
        """Return the media id each label belongs to (None for hash entries)."""
        by_kind: dict[int, list[int]] = defaultdict(list)
        for label in labels:
            kind, row_id = split_label(label)
            by_kind[kind].append(row_id)
        owners: dict[int, int | None] = {}
        for media_id in by_kind.get(MEDIA_FULL, []):
            owners[make_label(MEDIA_FULL, media_id)] = media_id
        for kind, model in ((PICTURE_VIEW, PictureHash), (VIDEO_FRAME, VideoFrame)):
            ids = by_kind.get(kind, [])
            for chunk in in_chunks(ids):
                for row_id, media_id in self.session.execute(
                    select(model.id, model.media_id).where(model.id.in_(chunk))
                ):
                    owners[make_label(kind, row_id)] = media_id
        for entry_id in by_kind.get(HASH_ENTRY, []):
            owners[make_label(HASH_ENTRY, entry_id)] = None
        return owners

    def _entries_by_id(
        self, ids: Sequence[int]
    ) -> dict[int, tuple[HashEntry, str, str]]:
        found: dict[int, tuple[HashEntry, str, str]] = {}
        for chunk in in_chunks(sorted(set(ids))):
            rows = self.session.execute(
                select(HashEntry, HashSet.name, HashSet.kind)
                .join(HashSet, HashSet.id == HashEntry.hash_set_id)
                .where(HashEntry.id.in_(chunk), HashEntry.algorithm == "pdq")
            )
            for entry, name, kind in rows:
                found[entry.id] = (entry, name, kind)
        return found

    def _sightings(self, media_ids: list[int]) -> dict[int, list[dict[str, str]]]:
        """Return where each media was recorded in earlier exhibits, earliest first."""
        found: dict[int, list[dict[str, str]]] = {}
        for chunk in in_chunks(media_ids):
            rows = self.session.execute(
                select(
                    Occurrence.media_id, Case.reference, Exhibit.label, Occurrence.path
                )
                .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
                .join(Case, Case.id == Exhibit.case_id)
                .where(
                    Occurrence.media_id.in_(chunk),
                    # Only exhibits recorded before this one: matching again
                    # must not make an original a copy of its later copies.
                    Occurrence.exhibit_id < self.exhibit_id,
                )
                .order_by(Occurrence.id)
            )
            for media_id, case, exhibit, path in rows:
                listed = found.setdefault(media_id, [])
                if len(listed) < MAX_SIGHTINGS:
                    listed.append({"case": case, "exhibit": exhibit, "path": path})
        return found

    def _describe_media(self, found: dict[str, _Found]) -> None:
        """Add each matched media's category and series to its match.

        A media that the centre's analysts categorised or put in a series is
        marked ``confirmed``: a copy of it is known material, not a mere
        look-alike.
        """
        media_ids = sorted(
            {media_id for item in found.values() for media_id in item.media}
        )
        categories: dict[int, dict[str, Any]] = {}
        confirmed: set[int] = set()
        for chunk in in_chunks(media_ids):
            for media_id, scheme, code, source, by_analyst in self.session.execute(
                select(
                    Media.id,
                    Media.category_scheme,
                    Media.category_code,
                    Media.category_source,
                    Media.category_by_analyst,
                ).where(Media.id.in_(chunk), Media.category_code.is_not(None))
            ):
                categories[media_id] = {
                    "category": {"scheme": scheme, "code": code},
                    "category_source": source,
                }
                if by_analyst:
                    confirmed.add(media_id)
        in_series = series_of_media(self.session, media_ids)
        for item in found.values():
            for media_id, match in item.media.items():
                category = categories.get(media_id, {})
                # The same file seen elsewhere is this very media. A category
                # it took from a hash set came from this matching and must
                # not feed it back; an analyst's category counts.
                derived = str(category.get("category_source", "")).startswith(
                    HASH_SET_SOURCE
                )
                if match["how"] != "sha256" or not derived:
                    match.update(category)
                series = in_series.get(media_id)
                if series is not None:
                    match["series"] = series.name
                    match["victim_identified"] = series.victim_identified
                    match["offender_identified"] = series.offender_identified
                if media_id in confirmed or series is not None:
                    match["confirmed"] = True


def _entry_match(
    entry: HashEntry, set_name: str, set_kind: str, how: str, distance: int
) -> dict[str, Any]:
    category = (
        {"scheme": entry.category_scheme or "projectvic", "code": entry.category}
        if entry.category is not None
        else None
    )
    return {
        "source": "hash-set",
        "hash_set": set_name,
        "set_kind": set_kind,
        "entry_id": entry.id,
        "item": entry.item,
        "how": how,
        "distance": distance,
        "category": category,
        "series": entry.series,
        "victim_identified": entry.victim_identified,
        "offender_identified": entry.offender_identified,
        "baseline": entry.baseline,
    }


def _entry_known(
    matches: list[dict[str, Any]], entry: tuple[HashEntry, str, str]
) -> bool:
    row, set_name, _ = entry
    return any(
        match["hash_set"] == set_name and match["item"] == row.item for match in matches
    )


def _has_exact(found: _Found) -> bool:
    return any(
        match["distance"] == 0 and match["how"] != "pdq" for match in found.entries
    ) or any(match["how"] == "sha256" for match in found.media.values())


def _has_any(found: _Found) -> bool:
    return bool(found.entries or found.media)


def _hits(hits: dict[str, list[tuple[Hit, str, int]]]) -> Iterable[Hit]:
    for items in hits.values():
        for hit, _, _ in items:
            yield hit


def apply_category(
    session: Session, media_id: int, verdict: verdicts.FileVerdict
) -> None:
    """Give known media the category of its source, unless an analyst set one.

    A category that came from a hash set no longer matching (a set removed
    or replaced) is cleared, so it cannot outlive its source.
    """
    unset_by_analyst = (Media.id == media_id) & Media.category_by_analyst.is_(False)
    if verdict.category is None:
        session.execute(
            update(Media)
            .where(unset_by_analyst, Media.category_source.like(f"{HASH_SET_SOURCE}%"))
            .values(category_scheme=None, category_code=None, category_source=None)
        )
        return
    scheme, code, source = verdict.category
    session.execute(
        update(Media)
        .where(unset_by_analyst)
        .values(
            category_scheme=scheme, category_code=code, category_source=source[:300]
        )
    )
    # An analyst's category stays, but a source that disagrees is flagged.
    decided = session.execute(
        select(Media.category_scheme, Media.category_code).where(
            Media.id == media_id, Media.category_by_analyst.is_(True)
        )
    ).one_or_none()
    agrees = (
        decided is None
        or decided[0] is None
        or decided[1] is None
        or same_category(Category(decided[0], decided[1]), Category(scheme, code))
    )
    if not agrees:
        session.execute(
            update(Media).where(Media.id == media_id).values(category_conflict=True)
        )
