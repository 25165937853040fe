"""The PDQ index: every matchable PDQ hash Scut holds, searchable by distance.

It holds the hashes of pictures (as shown, and their further views such as
trimmed or cropped), of video frames and of hash set entries that carry a
PDQ hash. The database is the record;
the index is a copy kept on disk under DATA_DIR/index, with the highest row
id of each source it has taken in. Opening it adds whatever rows came
after those ids, so it follows new media and new hash sets without a full
rebuild; ``scut index rebuild`` makes it anew.

Small indexes are exhaustive (faiss IndexBinaryFlat). From
``pdq_index_ivf_threshold`` hashes on, a rebuild makes a clustered index
(IndexBinaryIVF) that searches ``pdq_index_nprobe`` clusters per query:
much faster at tens of millions of hashes, at the price of recall that the
benchmark measures.

Beside it lies the digest index (scut.matching.digest_index): the first
8 bytes of every MD5, SHA-1 and SHA-256 of the hash sets, so that exact
matching asks the database only about digests that may be known. It is
rebuilt whole when hash set entries were added since it was written.

Labels pack the source kind in the top bits and the row id below, so a hit
names its row without a second table.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scut.db.models import HashEntry, Media, PictureHash, VideoFrame
from scut.db.session import Database
from scut.hashing.views import matchable
from scut.matching.digest_index import DigestIndex
from scut.settings import Settings

log = logging.getLogger(__name__)

BITS = 256
CODE_BYTES = BITS // 8
STATE_FORMAT = 1

# Source kinds packed into labels.
MEDIA_FULL = 1
PICTURE_VIEW = 2
VIDEO_FRAME = 3
HASH_ENTRY = 4
_KIND_SHIFT = 48
_ID_MASK = (1 << _KIND_SHIFT) - 1

# Hash set algorithms the digest index covers.
DIGEST_ALGORITHMS = ("md5", "sha1", "sha256")
# IVF needs at least one training hash per cluster and has at least this
# many clusters, whatever the value of pdq_index_ivf_threshold.
MIN_IVF_HASHES = 256
MAX_CLUSTERS = 4096
# Rows read per query while catching up with the database.
_CHUNK = 50_000


def make_label(kind: int, row_id: int) -> int:
    """Return the label of row ``row_id`` of source ``kind``."""
    return (kind << _KIND_SHIFT) | row_id


def split_label(label: int) -> tuple[int, int]:
    """Return the (kind, row id) that a label packs."""
    return label >> _KIND_SHIFT, label & _ID_MASK


def hex_codes(values: Sequence[str]) -> np.ndarray:
    """Return hex PDQ hashes as an (n, 32) array of bytes."""
    if not values:
        return np.zeros((0, CODE_BYTES), dtype=np.uint8)
    joined = bytes.fromhex("".join(values))
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(values), CODE_BYTES)


@dataclass(frozen=True, slots=True)
class Hit:
    """An indexed hash within reach of a query, and its Hamming distance."""

    label: int
    distance: int

    @property
    def kind(self) -> int:
        """The source kind of the hit."""
        return self.label >> _KIND_SHIFT

    @property
    def row_id(self) -> int:
        """The row id of the hit in its source table."""
        return self.label & _ID_MASK


class PdqIndex:
    """A faiss binary index of 256-bit PDQ hashes with 64-bit labels."""

    def __init__(
        self, index: Any, kind: str, nprobe: int, quantizer: Any = None
    ) -> None:
        self._index = index
        # An IVF index built here refers to its quantizer, which must live
        # as long as it does; one read from disk owns its own.
        self._quantizer = quantizer
        self.kind = kind
        self.nprobe = nprobe
        if kind == "ivf":
            index.nprobe = nprobe

    @classmethod
    def flat(cls) -> PdqIndex:
        """Return an empty exhaustive index."""
        return cls(faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(BITS)), "flat", 1)

    @classmethod
    def clustered(
        cls, sample: np.ndarray, nprobe: int, expected: int | None = None
    ) -> PdqIndex:
        """Return an empty IVF index with clusters trained on ``sample``.

        The number of clusters follows ``expected``, the number of hashes
        the index will hold (the sample's size if not given), but never
        exceeds the sample, since each cluster needs a training hash.
        """
        lists = min(_cluster_count(expected or len(sample)), len(sample))
        quantizer = faiss.IndexBinaryFlat(BITS)
        ivf = faiss.IndexBinaryIVF(quantizer, BITS, lists)
        ivf.train(sample)
        return cls(ivf, "ivf", nprobe, quantizer)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, labels: np.ndarray, codes: np.ndarray) -> None:
        """Add hashes (an (n, 32) uint8 array) under their int64 labels."""
        if len(labels):
            self._index.add_with_ids(
                np.ascontiguousarray(codes, dtype=np.uint8),
                np.ascontiguousarray(labels, dtype=np.int64),
            )

    def within(self, queries: np.ndarray, radius: int) -> list[list[Hit]]:
        """Return, per query, every indexed hash at distance ``radius`` or less."""
        if not len(queries) or not len(self):
            return [[] for _ in range(len(queries))]
        # faiss keeps results strictly under the radius it is given.
        limits, distances, labels = self._index.range_search(
            np.ascontiguousarray(queries, dtype=np.uint8), radius + 1
        )
        return [
            [
                Hit(int(labels[position]), int(distances[position]))
                for position in range(int(limits[query]), int(limits[query + 1]))
            ]
            for query in range(len(queries))
        ]

    def nearest(self, queries: np.ndarray, count: int) -> list[list[Hit]]:
        """Return, per query, the ``count`` nearest indexed hashes."""
        if not len(queries) or not len(self):
            return [[] for _ in range(len(queries))]
        distances, labels = self._index.search(
            np.ascontiguousarray(queries, dtype=np.uint8), count
        )
        return [
            [
                Hit(int(label), int(distance))
                for label, distance in zip(labels[row], distances[row], strict=True)
                if label >= 0
            ]
            for row in range(len(queries))
        ]

    def write(self, path: Path) -> None:
        """Write the index to ``path`` atomically."""
        temporary = path.with_name(path.name + ".tmp")
        faiss.write_index_binary(self._index, str(temporary))
        os.replace(temporary, path)

    @classmethod
    def read(cls, path: Path, kind: str, nprobe: int) -> PdqIndex:
        """Read an index written by ``write``."""
        return cls(faiss.read_index_binary(str(path)), kind, nprobe)


def _cluster_count(hashes: int) -> int:
    # About four times the square root, as faiss suggests, at most
    # MAX_CLUSTERS: training time grows with clusters times sample size,
    # and 4,096 clusters trained in about a minute at 10 million hashes.
    return int(min(MAX_CLUSTERS, max(MIN_IVF_HASHES, 4 * math.sqrt(hashes))))


@dataclass(slots=True)
class Watermarks:
    """The highest row id taken in from each source table."""

    media: int = 0
    views: int = 0
    frames: int = 0
    entries: int = 0


class IndexStore:
    """Opens, follows and saves the PDQ index of one database."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.folder = settings.data_dir / "index"
        self.index_path = self.folder / "pdq.faiss"
        self.state_path = self.folder / "pdq.json"
        self.digests_path = self.folder / "digests.npy"
        self.digests_state_path = self.folder / "digests.json"
        self.index: PdqIndex | None = None
        self.digests: DigestIndex | None = None
        self.watermarks = Watermarks()
        self._dirty = False

    def open(self) -> PdqIndex:
        """Return the index, read from disk or built, caught up with the database."""
        if self.index is None:
            self.index = self._read() or self._empty()
        self.catch_up()
        self._open_digests()
        return self.index

    def _open_digests(self) -> None:
        with self.database.session() as session:
            newest = _newest_digest_entry(session)
        covered = self._digests_watermark()
        if covered is not None and covered >= newest and self.digests_path.is_file():
            try:
                self.digests = DigestIndex.load(self.digests_path)
                return
            except (OSError, ValueError) as error:
                log.warning("Digest index unreadable, rebuilding it: %s", error)
        self.rebuild_digests()

    def rebuild_digests(self) -> DigestIndex:
        """Build the digest index of every exact hash set digest, and save it."""
        with self.database.session() as session:
            newest = _newest_digest_entry(session)
            values = session.scalars(
                select(HashEntry.value)
                .where(
                    HashEntry.algorithm.in_(DIGEST_ALGORITHMS),
                    HashEntry.id <= newest,
                )
                .execution_options(yield_per=_CHUNK)
            )
            self.digests = DigestIndex.build(values)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.digests.save(self.digests_path)
        state = {
            "format": STATE_FORMAT,
            "database": self._database_key(),
            "entries": newest,
        }
        temporary = self.digests_state_path.with_name(
            self.digests_state_path.name + ".tmp"
        )
        temporary.write_text(json.dumps(state, indent=2))
        os.replace(temporary, self.digests_state_path)
        log.info("Digest index rebuilt: %d digests", len(self.digests))
        return self.digests

    def _digests_watermark(self) -> int | None:
        try:
            state = json.loads(self.digests_state_path.read_text())
        except (OSError, ValueError):
            return None
        if state.get("format") != STATE_FORMAT:
            return None
        if state.get("database") != self._database_key():
            return None
        entries = state.get("entries")
        return entries if isinstance(entries, int) else None

    def catch_up(self) -> int:
        """Add the rows written since the index was last saved; return how many."""
        index = self.index if self.index is not None else self.open()
        added = 0
        with self.database.session() as session:
            for labels, codes in self._new_rows(session):
                index.add(labels, codes)
                added += len(labels)
        if added:
            self._dirty = True
            log.info("Added %d PDQ hashes to the index (%d in all)", added, len(index))
        return added

    def save(self) -> None:
        """Write the index and its watermarks if anything changed."""
        if self.index is None or not self._dirty:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.index.write(self.index_path)
        state = {
            "format": STATE_FORMAT,
            "database": self._database_key(),
            "kind": self.index.kind,
            "hashes": len(self.index),
            "watermarks": {
                "media": self.watermarks.media,
                "views": self.watermarks.views,
                "frames": self.watermarks.frames,
                "entries": self.watermarks.entries,
            },
        }
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        os.replace(temporary, self.state_path)
        self._dirty = False

    def rebuild(self) -> PdqIndex:
        """Build the index anew from the database, choosing flat or IVF by size."""
        self.watermarks = Watermarks()
        with self.database.session() as session:
            total = _matchable_count(session)
        if total >= max(self.settings.pdq_index_ivf_threshold, MIN_IVF_HASHES):
            self.index = PdqIndex.clustered(
                self._training_sample(total), self.settings.pdq_index_nprobe, total
            )
        else:
            self.index = PdqIndex.flat()
        self.catch_up()
        self._dirty = True
        self.save()
        self.rebuild_digests()
        return self.index

    def _empty(self) -> PdqIndex:
        self.watermarks = Watermarks()
        return PdqIndex.flat()

    def _read(self) -> PdqIndex | None:
        if not (self.index_path.is_file() and self.state_path.is_file()):
            return None
        try:
            state = json.loads(self.state_path.read_text())
            if state.get("format") != STATE_FORMAT:
                raise ValueError(f"unknown format {state.get('format')!r}")
            if state.get("database") != self._database_key():
                log.info("The PDQ index on disk is of another database; rebuilding")
                return None
            index = PdqIndex.read(
                self.index_path, state["kind"], self.settings.pdq_index_nprobe
            )
            marks = state["watermarks"]
            self.watermarks = Watermarks(
                int(marks["media"]),
                int(marks["views"]),
                int(marks["frames"]),
                int(marks["entries"]),
            )
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RuntimeError,
        ) as error:
            log.warning("PDQ index unreadable, rebuilding it: %s", error)
            return None
        return index

    def _database_key(self) -> str:
        return str(self.database.engine.url.render_as_string(hide_password=True))

    def _new_rows(self, session: Session) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        marks = self.watermarks
        while True:
            rows = session.execute(
                select(Media.id, Media.pdq, Media.pdq_quality)
                .where(Media.id > marks.media, Media.kind == "image")
                .order_by(Media.id)
                .limit(_CHUNK)
            ).all()
            if not rows:
                break
            marks.media = rows[-1][0]
            yield _arrays(
                [
                    (make_label(MEDIA_FULL, media_id), value)
                    for media_id, value, quality in rows
                    if value and matchable(value, quality)
                ]
            )
        while True:
            views = session.execute(
                select(PictureHash.id, PictureHash.pdq, PictureHash.quality)
                .where(PictureHash.id > marks.views)
                .order_by(PictureHash.id)
                .limit(_CHUNK)
            ).all()
            if not views:
                break
            marks.views = views[-1][0]
            yield _arrays(
                [
                    (make_label(PICTURE_VIEW, view_id), value)
                    for view_id, value, quality in views
                    if matchable(value, quality)
                ]
            )
        while True:
            frames = session.execute(
                select(VideoFrame.id, VideoFrame.pdq, VideoFrame.quality)
                .where(VideoFrame.id > marks.frames)
                .order_by(VideoFrame.id)
                .limit(_CHUNK)
            ).all()
            if not frames:
                break
            marks.frames = frames[-1][0]
            yield _arrays(
                [
                    (make_label(VIDEO_FRAME, frame_id), value)
                    for frame_id, value, quality in frames
                    if matchable(value, quality)
                ]
            )
        while True:
            entries = session.execute(
                select(HashEntry.id, HashEntry.value)
                .where(HashEntry.id > marks.entries, HashEntry.algorithm == "pdq")
                .order_by(HashEntry.id)
                .limit(_CHUNK)
            ).all()
            if not entries:
                break
            marks.entries = entries[-1][0]
            # A partner's PDQ hash comes without its quality; only the
            # balance of its bits can be checked.
            yield _arrays(
                [
                    (make_label(HASH_ENTRY, entry_id), value)
                    for entry_id, value in entries
                    if matchable(value, 100)
                ]
            )

    def _training_sample(self, total: int) -> np.ndarray:
        wanted = min(total, 50 * _cluster_count(total))
        step = max(1, total // wanted)
        values: list[str] = []
        with (
            self.database.session() as session,
            closing(_all_hashes(session)) as hashes,
        ):
            for position, value in enumerate(hashes):
                if position % step == 0:
                    values.append(value)
                    if len(values) >= wanted:
                        break
        return hex_codes(values)


def _arrays(pairs: list[tuple[int, str]]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.fromiter(
        (label for label, _ in pairs), dtype=np.int64, count=len(pairs)
    )
    return labels, hex_codes([value for _, value in pairs])


def _all_hashes(session: Session) -> Generator[str, None, None]:
    for statement in (
        select(Media.pdq).where(Media.pdq.is_not(None), Media.kind == "image"),
        select(PictureHash.pdq),
        select(VideoFrame.pdq),
        select(HashEntry.value).where(HashEntry.algorithm == "pdq"),
    ):
        result = session.scalars(statement.execution_options(yield_per=_CHUNK))
        try:
            yield from (value for value in result if value)
        finally:
            # Stopped early, a PostgreSQL server-side cursor stays open.
            result.close()


def _newest_digest_entry(session: Session) -> int:
    newest = session.scalar(
        select(func.max(HashEntry.id)).where(HashEntry.algorithm.in_(DIGEST_ALGORITHMS))
    )
    return int(newest or 0)


def _matchable_count(session: Session) -> int:
    media = session.scalar(
        select(func.count()).where(Media.pdq.is_not(None), Media.kind == "image")
    )
    views = session.scalar(select(func.count()).select_from(PictureHash))
    frames = session.scalar(select(func.count()).select_from(VideoFrame))
    entries = session.scalar(select(func.count()).where(HashEntry.algorithm == "pdq"))
    return sum(int(count or 0) for count in (media, views, frames, entries))
