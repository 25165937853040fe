"""Splitting long id lists for ``IN (...)`` queries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

# Ids bound per ``IN (...)`` clause. SQLite builds before 3.32 allow at most
# 999 bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER), so 500
# leaves room for the query's other parameters.
IN_CLAUSE_SIZE = 500


def in_chunks(values: Iterable[T], size: int = IN_CLAUSE_SIZE) -> Iterator[list[T]]:
    """Yield the values in lists of at most ``size``, in their given order."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
