"""Plain hash lists: bad lines as records, forced algorithms, the old reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from scut.errors import ConfigurationError
from scut.hashsets.items import BadRecord, KnownItem
from scut.hashsets.plain import (
    HashListError,
    PlainEntry,
    open_plain_list,
    read_plain_list,
    read_plain_records,
)


def test_md5_list_matches_manifest(hashsets_dir: Path, manifest) -> None:
    source = open_plain_list(hashsets_dir / "md5_list.txt")
    records = list(source.items)
    in_some_set = {entry.md5 for entry in manifest if entry.in_set}

    assert len(records) == len(in_some_set) == 105
    assert all(isinstance(record, KnownItem) for record in records)
    assert {
        record.hashes[0] for record in records if isinstance(record, KnownItem)
    } == {("md5", md5) for md5 in in_some_set}
    assert source.format == "plain"
    assert source.bytes_read() == source.total_bytes


def test_sha256sum_names_match_manifest(hashsets_dir: Path, manifest) -> None:
    records = list(open_plain_list(hashsets_dir / "sha256sum.txt").items)

    names = {
        record.file_name: record.hashes
        for record in records
        if isinstance(record, KnownItem)
    }
    assert len(names) == len(manifest) == 139
    for entry in manifest:
        assert names[entry.path] == [("sha256", entry.sha256)]


@pytest.fixture
def mixed_list(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.txt"
    path.write_text(
        "# comment\n"
        f"{'AB' * 16}  one.jpg\n"
        "\n"
        "not a hash\n"
        f"{'cd' * 20} *two.jpg\n"
        f"{'ef' * 32}\n"
    )
    return path


def test_bad_line_does_not_stop(mixed_list: Path) -> None:
    records = list(read_plain_records(mixed_list))

    assert records == [
        PlainEntry("md5", "ab" * 16, "one.jpg", 2),
        BadRecord("line 4", "not an MD5, SHA-1 or SHA-256 hash: 'not a hash'"),
        PlainEntry("sha1", "cd" * 20, "two.jpg", 5),
        PlainEntry("sha256", "ef" * 32, None, 6),
    ]


def test_read_plain_list_still_raises(mixed_list: Path) -> None:
    entries = read_plain_list(mixed_list)

    assert next(entries) == PlainEntry("md5", "ab" * 16, "one.jpg", 2)
    with pytest.raises(HashListError, match=r"mixed\.txt, line 4: not an MD5"):
        next(entries)


def test_forced_pdq(tmp_path: Path) -> None:
    path = tmp_path / "pdq.txt"
    path.write_text(f"{'0F' * 32}\n{'ab' * 16}\n{'12' * 32} frame.png\n")
    source = open_plain_list(path, algorithm="PDQ")
    records = list(source.items)

    assert records[0] == KnownItem(hashes=[("pdq", "0f" * 32)], location="line 1")
    assert records[1] == BadRecord(
        "line 2", f"expected a PDQ hash of 64 hex digits, got 32: '{'ab' * 16}'"
    )
    assert isinstance(records[2], KnownItem)
    assert records[2].hashes == [("pdq", "12" * 32)]
    assert records[2].file_name == "frame.png"
    assert source.details == {"algorithm": "pdq"}


def test_without_algorithm_64_hex_is_sha256(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text(f"{'0f' * 32}\n")
    records = list(open_plain_list(path).items)

    assert records == [KnownItem(hashes=[("sha256", "0f" * 32)], location="line 1")]


@pytest.mark.parametrize("algorithm", ["photodna", "sha512", ""])
def test_unknown_algorithm_rejected(tmp_path: Path, algorithm: str) -> None:
    path = tmp_path / "list.txt"
    path.write_text(f"{'0f' * 32}\n")

    with pytest.raises(ConfigurationError, match="unknown algorithm"):
        open_plain_list(path, algorithm=algorithm)
