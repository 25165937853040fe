"""The PDQ index: radius search, labels, and the copy kept under DATA_DIR/index."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from drawn_pictures import draw_picture
from scut.db.models import HashEntry, Media, PictureHash
from scut.db.session import Database
from scut.hashing.views import picture_hashes
from scut.hashsets.importer import import_hash_set, remove_hash_set
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.matching.index import (
    CODE_BYTES,
    HASH_ENTRY,
    MEDIA_FULL,
    PICTURE_VIEW,
    VIDEO_FRAME,
    Hit,
    IndexStore,
    PdqIndex,
    hex_codes,
    make_label,
    split_label,
)
from scut.settings import Settings

KINDS = (MEDIA_FULL, PICTURE_VIEW, VIDEO_FRAME, HASH_ENTRY)


def _random_codes(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(
        0, 256, size=(count, CODE_BYTES), dtype=np.uint8
    )


def _flip_bits(code: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Return a copy of one code with ``count`` distinct bits flipped."""
    bits = np.unpackbits(code)
    positions = np.random.default_rng(seed).choice(bits.size, count, replace=False)
    bits[positions] ^= 1
    return np.packbits(bits)


def _flat_with(codes: np.ndarray, labels: list[int]) -> PdqIndex:
    index = PdqIndex.flat()
    index.add(np.array(labels, dtype=np.int64), codes)
    return index


# Labels and codes.


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("row_id", [1, 12345, (1 << 48) - 1])
def test_label_round_trip(kind: int, row_id: int) -> None:
    label = make_label(kind, row_id)

    assert split_label(label) == (kind, row_id)
    assert Hit(label, 0).kind == kind
    assert Hit(label, 0).row_id == row_id
    assert label < 2**63


def test_labels_of_kinds_differ() -> None:
    labels = {make_label(kind, 7) for kind in KINDS}

    assert len(labels) == len(KINDS)


def test_hex_codes_round_trip() -> None:
    values = ["00" * 32, "ff" * 32, "0123456789abcdef" * 4]

    codes = hex_codes(values)

    assert codes.shape == (3, CODE_BYTES)
    assert codes.dtype == np.uint8
    assert [row.tobytes().hex() for row in codes] == values


def test_hex_codes_of_nothing() -> None:
    assert hex_codes([]).shape == (0, CODE_BYTES)


# Flat index.


def test_radius_edge_included_and_excluded() -> None:
    query = _random_codes(1, seed=1)
    at_31 = _flip_bits(query[0], 31, seed=2)
    at_32 = _flip_bits(query[0], 32, seed=3)
    index = _flat_with(np.stack([at_31, at_32]), [101, 102])

    hits = index.within(query, 31)[0]

    assert hits == [Hit(101, 31)]


def test_radius_zero_finds_only_exact() -> None:
    codes = _random_codes(3, seed=4)
    near = _flip_bits(codes[0], 1, seed=5)
    index = _flat_with(np.vstack([codes, near]), [1, 2, 3, 4])

    hits = index.within(codes[:1], 0)[0]

    assert hits == [Hit(1, 0)]


def test_within_answers_each_query() -> None:
    codes = _random_codes(4, seed=6)
    index = _flat_with(codes, [10, 20, 30, 40])
    queries = np.stack([_flip_bits(codes[2], 5, seed=7), _random_codes(1, seed=8)[0]])

    results = index.within(queries, 31)

    assert len(results) == 2
    assert results[0] == [Hit(30, 5)]
    # Random 256-bit codes lie about 128 bits apart.
    assert results[1] == []


def test_nearest_sorted_and_limited() -> None:
    base = _random_codes(1, seed=9)[0]
    codes = np.stack([_flip_bits(base, n, seed=n) for n in (40, 3, 20)])
    index = _flat_with(codes, [1, 2, 3])

    hits = index.nearest(base[None, :], 2)[0]

    assert hits == [Hit(2, 3), Hit(3, 20)]


def test_nearest_beyond_size_returns_what_exists() -> None:
    codes = _random_codes(2, seed=10)
    index = _flat_with(codes, [5, 6])

    hits = index.nearest(codes[:1], 10)[0]

    assert [hit.label for hit in hits] == [5, 6]


def test_empty_index_finds_nothing() -> None:
    index = PdqIndex.flat()
    queries = _random_codes(3, seed=11)

    assert len(index) == 0
    assert index.within(queries, 256) == [[], [], []]
    assert index.nearest(queries, 5) == [[], [], []]


def test_no_queries_no_results() -> None:
    index = _flat_with(_random_codes(2, seed=12), [1, 2])

    assert index.within(hex_codes([]), 31) == []
    assert index.nearest(hex_codes([]), 3) == []


def test_adding_nothing_keeps_index_empty() -> None:
    index = PdqIndex.flat()

    index.add(np.zeros(0, dtype=np.int64), hex_codes([]))

    assert len(index) == 0


def test_flat_index_written_and_read(tmp_path: Path) -> None:
    codes = _random_codes(5, seed=13)
    labels = [make_label(HASH_ENTRY, n) for n in range(1, 6)]
    index = _flat_with(codes, labels)
    path = tmp_path / "pdq.faiss"

    index.write(path)
    loaded = PdqIndex.read(path, "flat", 1)

    assert len(loaded) == 5
    assert loaded.within(codes[3:4], 0)[0] == [Hit(labels[3], 0)]
    assert not path.with_name("pdq.faiss.tmp").exists()


# Clustered index.


def test_clustered_index_finds_planted_duplicates(tmp_path: Path) -> None:
    codes = _random_codes(3000, seed=14)
    labels = np.arange(1, 3001, dtype=np.int64)
    index = PdqIndex.clustered(codes, nprobe=48)
    index.add(labels, codes)
    planted = list(range(0, 3000, 150))
    queries = np.stack([_flip_bits(codes[row], 8, seed=100 + row) for row in planted])

    results = index.within(queries, 31)

    assert index.kind == "ivf"
    assert len(index) == 3000
    for row, hits in zip(planted, results, strict=True):
        assert [hit.label for hit in hits] == [row + 1], row
        assert hits[0].distance == 8
    nearest = index.nearest(queries[:1], 1)[0]
    assert nearest == [Hit(planted[0] + 1, 8)]

    path = tmp_path / "ivf.faiss"
    index.write(path)
    loaded = PdqIndex.read(path, "ivf", 48)
    assert loaded.within(queries[:1], 31)[0] == [Hit(planted[0] + 1, 8)]


# The index store.


def _indexed_hash_count(picture: Image.Image) -> int:
    """Count the hashes of a picture that pass the matchable gate."""
    return sum(view.matchable for _, view in picture_hashes(picture).all_views())


def _pdq_list(path: Path, codes: np.ndarray) -> Path:
    path.write_text("".join(row.tobytes().hex() + "\n" for row in codes))
    return path


def _import_pdq(database: Database, path: Path, name: str) -> None:
    import_hash_set(
        database, path, name=name, kind="known-abuse", fmt="plain", algorithm="pdq"
    )


def _max_id(database: Database, column: object) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.max(column))) or 0)  # type: ignore[arg-type]


def test_ingest_writes_index_file(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    pictures = [draw_picture(21), draw_picture(22)]
    for number, picture in enumerate(pictures):
        picture.save(folder / f"picture-{number}.png")
    Image.new("RGB", (300, 200), (128, 128, 128)).save(folder / "flat.png")
    expected = sum(_indexed_hash_count(picture) for picture in pictures)

    IngestJob(
        database, settings, [folder], Origin(case="C-1", exhibit="E1", unit="Unit")
    ).run()

    index_folder = settings.data_dir / "index"
    assert (index_folder / "pdq.faiss").is_file()
    state = json.loads((index_folder / "pdq.json").read_text())
    assert state["kind"] == "flat"
    assert state["hashes"] == expected
    assert state["watermarks"]["media"] == _max_id(database, Media.id)
    assert state["watermarks"]["views"] == _max_id(database, PictureHash.id)
    assert state["watermarks"]["entries"] == 0

    store = IndexStore(database, settings)
    assert len(store.open()) == expected
    assert store.catch_up() == 0

    rebuilt = IndexStore(database, settings).rebuild()
    assert len(rebuilt) == expected
    assert rebuilt.kind == "flat"


def test_reopened_index_catches_up(
    database: Database,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = _random_codes(3, seed=31)
    second = _random_codes(4, seed=32)
    _import_pdq(database, _pdq_list(tmp_path / "first.txt", first), "first")
    store = IndexStore(database, settings)
    store.open()
    store.save()
    _import_pdq(database, _pdq_list(tmp_path / "second.txt", second), "second")

    reopened = IndexStore(database, settings)
    with caplog.at_level(logging.INFO, logger="scut.matching.index"):
        index = reopened.open()

    assert len(index) == 7
    assert "Added 4 PDQ hashes to the index (7 in all)" in caplog.messages
    assert reopened.watermarks.entries == _max_id(database, HashEntry.id)
    hits = index.within(second[:1], 0)[0]
    assert len(hits) == 1
    assert hits[0].kind == HASH_ENTRY
    reopened.save()
    state = json.loads((settings.data_dir / "index" / "pdq.json").read_text())
    assert state["hashes"] == 7


def test_unbalanced_entry_hashes_not_indexed(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    balanced = _random_codes(2, seed=41)
    unbalanced = np.stack(
        [np.zeros(CODE_BYTES, dtype=np.uint8), np.full(CODE_BYTES, 255, np.uint8)]
    )
    path = _pdq_list(tmp_path / "mixed.txt", np.vstack([balanced, unbalanced]))
    _import_pdq(database, path, "mixed")

    index = IndexStore(database, settings).open()

    assert len(index) == 2
    assert index.within(unbalanced, 0) == [[], []]


def test_rebuild_keeps_count(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    _import_pdq(database, _pdq_list(tmp_path / "a.txt", _random_codes(6, 51)), "a")
    store = IndexStore(database, settings)
    before = len(store.open())
    store.save()

    rebuilt = IndexStore(database, settings).rebuild()

    assert before == 6
    assert len(rebuilt) == before
    state = json.loads((settings.data_dir / "index" / "pdq.json").read_text())
    assert state["hashes"] == before
    assert state["watermarks"]["entries"] == _max_id(database, HashEntry.id)


@pytest.mark.parametrize("damaged", ["pdq.faiss", "pdq.json"])
def test_damaged_index_rebuilt_with_warning(
    database: Database,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    damaged: str,
) -> None:
    codes = _random_codes(5, seed=61)
    _import_pdq(database, _pdq_list(tmp_path / "set.txt", codes), "set")
    store = IndexStore(database, settings)
    store.open()
    store.save()
    (settings.data_dir / "index" / damaged).write_bytes(b"not an index \x00\xff")

    with caplog.at_level(logging.WARNING, logger="scut.matching.index"):
        index = IndexStore(database, settings).open()

    assert len(index) == 5
    assert index.within(codes[4:5], 0)[0][0].distance == 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "PDQ index unreadable, rebuilding it" in warnings[0].getMessage()


def test_index_of_other_database_rebuilt(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    _import_pdq(database, _pdq_list(tmp_path / "set.txt", _random_codes(3, 71)), "s")
    store = IndexStore(database, settings)
    store.open()
    store.save()
    state_path = settings.data_dir / "index" / "pdq.json"
    state = json.loads(state_path.read_text())
    state["database"] = "sqlite:////elsewhere/other.db"
    state["watermarks"]["entries"] = 10**9
    state_path.write_text(json.dumps(state))

    index = IndexStore(database, settings).open()

    # Watermarks of another database would hide every row of this one.
    assert len(index) == 3


def test_rebuild_over_threshold_makes_clustered_index(
    database: Database,
    settings: Settings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    codes = _random_codes(3000, seed=81)
    _import_pdq(database, _pdq_list(tmp_path / "big.txt", codes), "big")
    clustered = settings.model_copy(update={"pdq_index_ivf_threshold": 2000})

    index = IndexStore(database, clustered).rebuild()
    reopened = IndexStore(database, clustered).open()

    assert index.kind == "ivf"
    assert reopened.kind == "ivf"
    assert len(reopened) == 3000
    query = _flip_bits(codes[1234], 6, seed=82)[None, :]
    hits = reopened.within(query, 31)[0]
    assert [hit.distance for hit in hits] == [6]
    assert hits[0].kind == HASH_ENTRY


def test_rebuild_with_low_threshold_works(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    settings = sqlite_settings.model_copy(update={"pdq_index_ivf_threshold": 10})
    database = Database(settings)
    database.upgrade()
    try:
        codes = _random_codes(20, seed=91)
        _import_pdq(database, _pdq_list(tmp_path / "small.txt", codes), "small")

        index = IndexStore(database, settings).rebuild()

        assert len(index) == 20
        assert index.within(codes[:1], 0)[0][0].distance == 0
    finally:
        database.dispose()


def test_entry_ids_not_reused_after_removal(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    codes = _random_codes(5, seed=91)
    _import_pdq(database, _pdq_list(tmp_path / "first.txt", codes), "first")
    store = IndexStore(database, settings)
    store.open()
    store.save()
    highest = _max_id(database, HashEntry.id)

    remove_hash_set(database, "first")
    digests = tmp_path / "second.txt"
    digests.write_text("".join(f"{index:032x}\n" for index in range(1, 6)))
    import_hash_set(database, digests, name="second", kind="alert", fmt="plain")

    with database.session() as session:
        lowest_new = session.scalar(select(func.min(HashEntry.id)))
    # A reused id would let the index's hash of "first" name an entry of
    # "second", so the matcher would report a PDQ match to an MD5 list.
    assert lowest_new is not None and lowest_new > highest
    reopened = IndexStore(database, settings)
    reopened.open()
    assert reopened.digests is not None
    assert reopened.digests.might_contain([f"{1:032x}"]).tolist() == [True]
