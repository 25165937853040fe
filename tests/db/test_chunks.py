"""Splitting id lists for IN clauses."""

from __future__ import annotations

import pytest

from scut.db.chunks import in_chunks


def test_chunks_keep_order_and_size() -> None:
    chunks = list(in_chunks(range(1, 1201), size=500))

    assert [len(chunk) for chunk in chunks] == [500, 500, 200]
    assert [value for chunk in chunks for value in chunk] == list(range(1, 1201))


def test_chunks_of_exact_multiple_and_empty() -> None:
    assert [len(chunk) for chunk in in_chunks(range(1000), size=500)] == [500, 500]
    assert list(in_chunks([], size=500)) == []


def test_chunks_reject_zero_size() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(in_chunks([1, 2], size=0))
