"""DigestIndex: membership, algorithms, case, invalid input, files on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from scut.matching import digest_index
from scut.matching.digest_index import DigestIndex


def digests(algorithm: str, count: int, salt: str) -> list[str]:
    return [
        hashlib.new(algorithm, f"{salt}-{n}".encode()).hexdigest() for n in range(count)
    ]


KNOWN_MD5 = digests("md5", 300, "known")
KNOWN_SHA1 = digests("sha1", 300, "known")
KNOWN_SHA256 = digests("sha256", 300, "known")
KNOWN = KNOWN_MD5 + KNOWN_SHA1 + KNOWN_SHA256
UNKNOWN = (
    digests("md5", 300, "unknown")
    + digests("sha1", 300, "unknown")
    + digests("sha256", 300, "unknown")
)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make building and the blockwise passes take many small steps."""
    monkeypatch.setattr(digest_index, "BUILD_CHUNK", 7)
    monkeypatch.setattr(digest_index, "_BLOCK", 5)


def test_present_values_found() -> None:
    index = DigestIndex.build(KNOWN)

    found = index.might_contain(KNOWN)

    assert found.dtype == np.bool_
    assert found.shape == (len(KNOWN),)
    assert found.all()


def test_absent_values_not_found() -> None:
    index = DigestIndex.build(KNOWN)

    assert not index.might_contain(UNKNOWN).any()


def test_mixed_batch_in_order() -> None:
    index = DigestIndex.build(KNOWN)
    queries = [KNOWN_SHA1[0], UNKNOWN[0], KNOWN_MD5[5], UNKNOWN[-1], KNOWN_SHA256[9]]

    found = index.might_contain(queries)

    assert found.tolist() == [True, False, True, False, True]


def test_each_algorithm_alone() -> None:
    for known in (KNOWN_MD5, KNOWN_SHA1, KNOWN_SHA256):
        index = DigestIndex.build(known)
        assert index.might_contain(known).all()
        assert not index.might_contain(UNKNOWN).any()


def test_shared_prefix_is_a_hit() -> None:
    # Only the first 8 bytes are kept, whatever the algorithm: an MD5 and a
    # SHA-256 that start alike are both reported, as the docstring warns.
    md5 = "0123456789abcdef" + "00" * 8
    index = DigestIndex.build([md5])

    found = index.might_contain(
        ["0123456789abcdef" + "ff" * 24, "0123456789abcdee" + "00" * 8]
    )

    assert found.tolist() == [True, False]


def test_upper_and_lower_case_match() -> None:
    index = DigestIndex.build([value.upper() for value in KNOWN_MD5] + KNOWN_SHA1)

    assert index.might_contain(KNOWN_MD5).all()
    assert index.might_contain([value.upper() for value in KNOWN_SHA1]).all()
    assert index.might_contain([KNOWN_MD5[0][:16].upper() + KNOWN_MD5[0][16:]]).all()


def test_duplicates_stored_once() -> None:
    index = DigestIndex.build(KNOWN_MD5 + KNOWN_MD5 + [KNOWN_MD5[0].upper()])

    assert len(index) == len(KNOWN_MD5)
    assert index.nbytes == 8 * len(KNOWN_MD5)


def test_build_in_many_chunks(small_chunks: None) -> None:
    values = KNOWN + KNOWN_MD5[:50]

    index = DigestIndex.build(values)

    assert len(index) == len(KNOWN)
    assert index.might_contain(KNOWN).all()
    assert not index.might_contain(UNKNOWN).any()


@pytest.mark.parametrize("expected_count", [0, 10, len(KNOWN), 5 * len(KNOWN)])
def test_build_with_expected_count(small_chunks: None, expected_count: int) -> None:
    index = DigestIndex.build(iter(KNOWN), expected_count=expected_count)

    assert len(index) == len(KNOWN)
    assert index.might_contain(KNOWN).all()
    assert not index.might_contain(UNKNOWN).any()


def test_build_rejects_negative_count() -> None:
    with pytest.raises(ValueError, match="expected_count"):
        DigestIndex.build(KNOWN, expected_count=-1)


def test_empty_index() -> None:
    index = DigestIndex.build([])

    assert len(index) == 0
    assert index.might_contain(KNOWN).tolist() == [False] * len(KNOWN)


def test_empty_query() -> None:
    index = DigestIndex.build(KNOWN)

    found = index.might_contain([])

    assert found.dtype == np.bool_
    assert found.shape == (0,)


@pytest.mark.parametrize("mmap_mode", ["r", None])
def test_save_load_round_trip(tmp_path: Path, mmap_mode: str | None) -> None:
    path = tmp_path / "digests.npy"
    DigestIndex.build(KNOWN).save(path)

    loaded = DigestIndex.load(path, mmap_mode=mmap_mode)  # type: ignore[arg-type]

    assert len(loaded) == len(KNOWN)
    assert loaded.might_contain(KNOWN).all()
    assert not loaded.might_contain(UNKNOWN).any()
    assert not (tmp_path / "digests.npy.tmp").exists()


def test_saved_file_is_plain_npy(tmp_path: Path) -> None:
    path = tmp_path / "digests.npy"
    DigestIndex.build(KNOWN_MD5).save(path)

    array = np.load(path, mmap_mode="r")

    assert array.dtype == np.dtype("<u8")
    assert array.shape == (len(KNOWN_MD5),)
    assert array[0] == min(int(value[:16], 16) for value in KNOWN_MD5)


def test_save_load_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.npy"
    DigestIndex.build([]).save(path)

    loaded = DigestIndex.load(path)

    assert len(loaded) == 0
    assert not loaded.might_contain(KNOWN_MD5[:3]).any()


def test_load_rejects_unsorted_file(tmp_path: Path, small_chunks: None) -> None:
    path = tmp_path / "unsorted.npy"
    np.save(path, np.array([1, 2, 3, 4, 5, 6, 7, 6, 9], dtype=np.uint64))

    with pytest.raises(ValueError, match="element 7 is not greater") as caught:
        DigestIndex.load(path)
    assert str(path) in str(caught.value)


def test_load_rejects_other_dtype(tmp_path: Path) -> None:
    path = tmp_path / "floats.npy"
    np.save(path, np.array([1.0, 2.0]))

    with pytest.raises(ValueError, match="expected a 1-D uint64 array"):
        DigestIndex.load(path)


@pytest.mark.parametrize(
    "value",
    [
        "g" * 32,
        KNOWN_MD5[0][:-1],
        KNOWN_MD5[0] + "0",
        KNOWN_SHA1[0] + "00",
        "",
        KNOWN_MD5[0][:16] + " " + KNOWN_MD5[0][17:],
        " " + KNOWN_MD5[0][1:],
        KNOWN_MD5[0][:30] + "\u0663\u0663",
    ],
)
def test_invalid_hex_raises_naming_value(value: str) -> None:
    index = DigestIndex.build(KNOWN_MD5)

    with pytest.raises(ValueError, match="invalid digest") as in_query:
        index.might_contain([KNOWN_MD5[1], value, KNOWN_MD5[2]])
    with pytest.raises(ValueError, match="invalid digest") as in_build:
        DigestIndex.build([*KNOWN_SHA1, value])

    assert repr(value) in str(in_query.value)
    assert repr(value) in str(in_build.value)


def test_whitespace_between_pairs_rejected() -> None:
    # bytes.fromhex accepts the joined batch, because it skips whitespace
    # between byte pairs. The missing byte gives the value away.
    padded = KNOWN_MD5[0][:30] + "  "

    with pytest.raises(ValueError, match="invalid digest") as caught:
        DigestIndex.build([padded, KNOWN_MD5[1]])
    assert repr(padded) in str(caught.value)


def test_single_string_rejected() -> None:
    index = DigestIndex.build(KNOWN_MD5)

    with pytest.raises(TypeError, match="not a str"):
        index.might_contain(KNOWN_MD5[0])


def test_constructor_rejects_duplicates() -> None:
    with pytest.raises(ValueError, match="sorted and distinct"):
        DigestIndex(np.array([1, 1], dtype=np.uint64))
