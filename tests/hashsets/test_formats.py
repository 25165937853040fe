"""Format detection and the single entry point for opening a hash set."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from scut.errors import ConfigurationError
from scut.hashsets.formats import (
    FORMATS,
    HashSetFormatError,
    detect_format,
    open_hash_set,
)
from scut.hashsets.items import KnownItem

SAMPLES = [
    ("NSRLFile.txt", "nsrl", 18),
    ("RDSv3_sample.db", "nsrl", 18),
    ("vics_1.3_media.json", "vics", 18),
    ("vics_1.3_case.json", "vics", 17),
    ("vics_2.0_media.json", "vics", 17),
    ("hashkeeper.hsh", "hashkeeper", 17),
    ("md5_list.txt", "plain", 105),
    ("sha256sum.txt", "plain", 139),
]


@pytest.mark.parametrize(("name", "fmt", "count"), SAMPLES)
def test_samples_detected_and_read(
    hashsets_dir: Path, name: str, fmt: str, count: int
) -> None:
    path = hashsets_dir / name
    source = open_hash_set(path)
    records = list(source.items)

    assert detect_format(path) == fmt
    assert source.format == fmt
    assert len(records) == count
    assert all(isinstance(record, KnownItem) for record in records)


@pytest.mark.parametrize(("name", "fmt", "count"), SAMPLES)
def test_samples_open_by_name(
    hashsets_dir: Path, name: str, fmt: str, count: int
) -> None:
    source = open_hash_set(hashsets_dir / name, fmt.upper())

    assert source.format == fmt
    assert sum(1 for _ in source.items) == count


def test_vics_after_bom_and_space(tmp_path: Path) -> None:
    path = tmp_path / "set.data"
    path.write_bytes(b'\xef\xbb\xbf \r\n\t{"value": [{"MD5": "' + b"ab" * 16 + b'"}]}')

    assert detect_format(path) == "vics"
    records = list(open_hash_set(path).items)
    assert records == [KnownItem(hashes=[("md5", "ab" * 16)], location="item 1")]


def test_icse_detected(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"\ufeffMD5;SHA1;Baseline\n{'ab' * 16};{'cd' * 20};Yes\n")

    assert detect_format(path) == "icse"
    records = list(open_hash_set(path).items)
    assert len(records) == 1
    assert isinstance(records[0], KnownItem)
    assert records[0].baseline is True


def test_plain_after_comments(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text(f"# exported list\n\n{'ab' * 20}  a.jpg\n")

    assert detect_format(path) == "plain"


def test_sqlite_without_file_table_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE t (x)")
        connection.commit()

    assert detect_format(path) == "nsrl"
    with pytest.raises(HashSetFormatError, match="no FILE table"):
        open_hash_set(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02binary", b"# only a comment\n", b"path,size\nx,1\n"],
)
def test_undetectable_raises(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "unknown.bin"
    path.write_bytes(content)

    with pytest.raises(HashSetFormatError, match="format not recognised") as raised:
        open_hash_set(path)
    message = str(raised.value)
    assert str(path) in message
    for fmt in FORMATS:
        assert fmt in message


def test_unknown_format_name_raises(hashsets_dir: Path) -> None:
    with pytest.raises(
        HashSetFormatError, match="unknown hash set format 'encase'"
    ) as raised:
        open_hash_set(hashsets_dir / "md5_list.txt", "encase")
    assert "vics, icse, nsrl, hashkeeper, plain" in str(raised.value)


def test_algorithm_only_for_plain(hashsets_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="plain lists only"):
        open_hash_set(hashsets_dir / "NSRLFile.txt", algorithm="pdq")


def test_algorithm_forces_plain_pdq(tmp_path: Path) -> None:
    path = tmp_path / "pdq.txt"
    path.write_text(f"{'ab' * 32}\n")
    records = list(open_hash_set(path, algorithm="pdq").items)

    assert records == [KnownItem(hashes=[("pdq", "ab" * 32)], location="line 1")]


def test_wrong_named_format_raises(hashsets_dir: Path) -> None:
    with pytest.raises(HashSetFormatError, match="not a VICS JSON file"):
        open_hash_set(hashsets_dir / "md5_list.txt", "vics")
    with pytest.raises(HashSetFormatError, match="no MD5 or SHA1 column"):
        open_hash_set(hashsets_dir / "NSRLFile.txt", "icse")
