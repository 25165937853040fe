"""The JSON byte filter: nesting depth and number length, across chunk edges."""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path

import pytest

from scut.hashsets.json_limits import (
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    JsonLimitError,
    LimitedJsonReader,
)


def read_through(path: Path, chunk_sizes: list[int]) -> None:
    """Read ``path`` through the filter in chunks of the sizes given, cycling."""
    with path.open("rb") as handle:
        reader = LimitedJsonReader(handle, path)
        turn = 0
        while reader.read(chunk_sizes[turn % len(chunk_sizes)]):
            turn += 1


def outcome(path: Path, chunk_sizes: list[int]) -> str:
    try:
        read_through(path, chunk_sizes)
    except JsonLimitError as error:
        return str(error)
    return "accepted"


def test_depth_limit_names_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(b'{"value":\n[' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"]}")

    with pytest.raises(JsonLimitError) as raised:
        read_through(path, [65536])

    message = str(raised.value)
    assert message.startswith(f"{path}: JSON nested deeper than {MAX_DEPTH} levels")
    # Levels 1 and 2 open at bytes 1 and 11, so level N > 1 opens at byte
    # N + 9.
    assert f"at line 2, byte {MAX_DEPTH + 10};" in message


def test_depth_at_limit_accepted(tmp_path: Path) -> None:
    path = tmp_path / "limit.json"
    path.write_bytes(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)

    assert outcome(path, [65536]) == "accepted"
    assert outcome(path, [1]) == "accepted"


def test_number_limit_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "number.json"
    digits = b"9" * (MAX_NUMBER_CHARS + 1)
    path.write_bytes(b'{"Category": ' + digits + b"}")

    for sizes in ([65536], [20], [1], [7, 3]):
        message = outcome(path, sizes)
        assert message.startswith(f"{path}: a JSON number longer than"), sizes
        assert "at line 1, byte 14;" in message, sizes


def test_number_at_limit_accepted(tmp_path: Path) -> None:
    path = tmp_path / "number.json"
    path.write_bytes(b"[" + b"1" * MAX_NUMBER_CHARS + b", -2.5e10]")

    assert outcome(path, [65536]) == "accepted"
    assert outcome(path, [3]) == "accepted"


def test_strings_do_not_count(tmp_path: Path) -> None:
    # Brackets, digits and escaped quotes inside strings are text, not
    # structure, even when a chunk edge falls inside an escape.
    text = '"' + "[" * 500 + '\\"' + "9" * 500 + '\\\\"'
    document = {"value": [{"Series": "[" * 500, "Comments": "9" * 500, "Tags": text}]}
    path = tmp_path / "strings.json"
    path.write_text(json.dumps(document))

    for sizes in ([65536], [1], [2], [3, 5], [64]):
        assert outcome(path, sizes) == "accepted", sizes


def test_escaped_quotes_stay_linear(tmp_path: Path) -> None:
    # Strings of 30,000 escaped quotes each. A scan that tried a string at
    # each quote would take over a minute (69 s when measured); the filter
    # takes well under a second.
    series = b'{"Series": "' + b'\\"' * 30_000 + b'"}'
    path = tmp_path / "quotes.json"
    path.write_bytes(b'{"value": [' + b",".join([series] * 8) + b"]}")

    started = time.perf_counter()
    verdict = outcome(path, [65536])
    elapsed = time.perf_counter() - started

    assert verdict == "accepted"
    assert elapsed < 10


def random_json(rng: random.Random, depth: int) -> str:
    """Return random JSON text that nests and strings its way past the limits."""
    if depth > MAX_DEPTH + 8 or rng.random() < 0.3:
        choice = rng.random()
        if choice < 0.4:
            characters = 'ab"\\\n{}[]19eé'
            return json.dumps(
                "".join(rng.choice(characters) for _ in range(rng.randint(0, 12))),
                ensure_ascii=rng.random() < 0.5,
            )
        if choice < 0.8:
            long_number = "9" * rng.randint(MAX_NUMBER_CHARS - 5, MAX_NUMBER_CHARS + 5)
            return rng.choice(["1", "-2.5e7", "0", long_number, "1e999999999"])
        return rng.choice(["true", "false", "null"])
    parts = [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.5:
        return "[" + ",".join(parts) + "]"
    keys = [json.dumps(rng.choice(["a", '\\"q', 'b"'])) for _ in parts]
    return "{" + ",".join(f"{k}:{v}" for k, v in zip(keys, parts, strict=True)) + "}"


def test_chunking_never_changes_verdict(tmp_path: Path) -> None:
    # The chunked fast path must agree with a single whole-file read on
    # every document, wherever the chunk edges fall.
    rng = random.Random(20261204)
    path = tmp_path / "random.json"
    verdicts = set()
    for _ in range(400):
        levels = rng.randint(MAX_DEPTH - 8, MAX_DEPTH + 8) if rng.random() < 0.3 else 0
        document = "[" * levels + random_json(rng, levels) + "]" * levels
        path.write_text(document)
        whole = outcome(path, [len(document.encode()) + 1])
        verdicts.add(whole.split(" at ")[0])
        for sizes in ([1], [2, 3], [7, 64]):
            assert outcome(path, sizes) == whole, (sizes, document[:200])

    # Each kind of verdict came up, so the comparison covered them all.
    assert verdicts == {
        "accepted",
        f"{path}: JSON nested deeper than {MAX_DEPTH} levels",
        f"{path}: a JSON number longer than {MAX_NUMBER_CHARS} characters",
    }


def test_offset_counts_from_given_position(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + b"[" * (MAX_DEPTH + 1))
    handle = io.BytesIO(path.read_bytes()[3:])

    reader = LimitedJsonReader(handle, path, offset=3)
    with pytest.raises(JsonLimitError, match=rf"byte {MAX_DEPTH + 4};"):
        reader.read(65536)
