"""Format detection and the single entry point for opening a hash set."""

from __future__ import annotations

import os
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


MD5_LINES = "".join(f"{n:032x}  file{n}.jpg\r\n" for n in range(3))


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"\xff\xfe" + MD5_LINES.encode("utf-16-le"), "UTF-16 (little-endian)"),
        (b"\xfe\xff" + MD5_LINES.encode("utf-16-be"), "UTF-16 (big-endian)"),
        (MD5_LINES.encode("utf-16-le"), "UTF-16 (little-endian)"),
        (MD5_LINES.encode("utf-16-be"), "UTF-16 (big-endian)"),
        (MD5_LINES.encode("utf-32"), "UTF-32 (little-endian)"),
    ],
)
def test_utf16_named_in_error(tmp_path: Path, data: bytes, encoding: str) -> None:
    # PowerShell 5's ">" writes UTF-16; such a list once got "format not
    # recognised", or every line rejected with --format plain.
    path = tmp_path / "list.txt"
    path.write_bytes(data)

    for fmt in (None, "plain", "vics"):
        with pytest.raises(HashSetFormatError) as raised:
            open_hash_set(path, fmt)
        message = str(raised.value)
        assert message.startswith(f"{path}: the file is {encoding} text"), fmt
        assert "iconv -f UTF-" in message


def test_directory_named_as_directory(tmp_path: Path) -> None:
    with pytest.raises(HashSetFormatError) as raised:
        open_hash_set(tmp_path)

    assert str(raised.value) == (
        f"{tmp_path} is a directory, not a regular file; give the path of a "
        "hash set file"
    )


def test_fifo_rejected_without_blocking(tmp_path: Path) -> None:
    # Opening a named pipe for reading waits for a writer, for ever.
    path = tmp_path / "pipe"
    os.mkfifo(path)

    with pytest.raises(HashSetFormatError, match="is a named pipe, not a regular"):
        open_hash_set(path, "plain")


def test_device_behind_link_rejected(tmp_path: Path) -> None:
    # /dev/zero would be read for ever.
    path = tmp_path / "zero.txt"
    path.symlink_to("/dev/zero")

    with pytest.raises(HashSetFormatError, match="is a character device, not"):
        open_hash_set(path, "plain")


def test_link_loop_and_missing_file(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    missing = tmp_path / "missing.txt"

    with pytest.raises(HashSetFormatError) as raised:
        open_hash_set(loop)
    assert str(raised.value).startswith(f"{loop}: cannot open the hash set file: ")
    assert "symbolic links" in str(raised.value)
    with pytest.raises(HashSetFormatError, match="hash set file not found"):
        open_hash_set(missing)


def test_unreadable_file_raises_scut_error() -> None:
    # Reading /proc/self/mem from offset 0 fails with EIO; an OSError once
    # ended the import with a traceback.
    path = Path("/proc/self/mem")

    with pytest.raises(HashSetFormatError) as raised:
        open_hash_set(path, "plain")
    assert str(raised.value).startswith(f"{path}: cannot read the file: ")
