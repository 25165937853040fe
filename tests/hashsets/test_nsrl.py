"""NSRL RDS readers: the version 3 SQLite database and legacy NSRLFile.txt."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from scut.hashsets.formats import HashSetFormatError
from scut.hashsets.items import BadRecord, KnownItem
from scut.hashsets.nsrl import (
    FETCH_ROWS,
    MIN_ROW_LIMIT,
    open_nsrl,
    open_rds_legacy,
    open_rds_v3,
)

LEGACY_HEADER = (
    '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode",'
    '"OpSystemCode","SpecialCode"'
)


def make_database(
    path: Path, schema: list[str], rows: list[tuple[object, ...]]
) -> Path:
    """Create a SQLite file from ``schema`` and insert ``rows`` into FILE_DATA."""
    with closing(sqlite3.connect(path)) as connection:
        for statement in schema:
            connection.execute(statement)
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            connection.executemany(f"INSERT INTO file_data VALUES ({marks})", rows)
        connection.commit()
    return path


def test_v3_sample_matches_manifest(hashsets_dir: Path, members) -> None:
    path = hashsets_dir / "RDSv3_sample.db"
    before = path.stat().st_mtime_ns
    source = open_nsrl(path)
    records = list(source.items)
    expected = {entry.sha256: entry for entry in members("RDSv3_sample.db")}

    assert len(records) == len(expected) == 18
    for record in records:
        assert isinstance(record, KnownItem)
        sha256 = record.hashes[0][1]
        entry = expected[sha256]
        assert record.hashes == [
            ("sha256", entry.sha256),
            ("sha1", entry.sha1),
            ("md5", entry.md5),
        ]
        assert record.file_name == entry.name
        assert record.media_size == entry.size
        assert record.category is None
    assert [record.location for record in records][:2] == ["row 1", "row 2"]
    assert source.format == "nsrl"
    assert source.details["version"] == "0.0.1-test"
    assert source.details["description"] == "Scut test sample, not an NSRL release"
    assert source.details["rds_format"] == "sqlite"
    assert source.bytes_read() == source.total_bytes
    assert path.stat().st_mtime_ns == before


def test_legacy_sample_matches_manifest(hashsets_dir: Path, members) -> None:
    path = hashsets_dir / "NSRLFile.txt"
    assert b'"\r\n"' in path.read_bytes()
    source = open_nsrl(path)
    records = list(source.items)
    expected = {entry.sha1: entry for entry in members("NSRLFile.txt")}

    assert len(records) == len(expected) == 18
    for record in records:
        assert isinstance(record, KnownItem)
        entry = expected[record.hashes[0][1]]
        assert record.hashes == [("sha1", entry.sha1), ("md5", entry.md5)]
        assert record.file_name == entry.name
        assert record.media_size == entry.size
    assert records[0].location == "line 2"
    assert source.details["rds_format"] == "text"
    assert source.bytes_read() == source.total_bytes


def test_v3_minimal_view_with_sha256_only(tmp_path: Path) -> None:
    path = make_database(
        tmp_path / "minimal # edition.db",
        [
            "CREATE TABLE file_data (sha256 TEXT, extra TEXT)",
            "CREATE VIEW File AS SELECT sha256 FROM file_data",
        ],
        [("AA" * 32, "x"), ("bb" * 32, "y")],
    )
    source = open_rds_v3(path)
    records = list(source.items)

    assert records == [
        KnownItem(hashes=[("sha256", "aa" * 32)], location="row 1"),
        KnownItem(hashes=[("sha256", "bb" * 32)], location="row 2"),
    ]
    assert source.details["hash_columns"] == "sha256"
    assert "version" not in source.details
    assert source.bytes_read() == source.total_bytes


def test_v3_streams_in_chunks_past_bad_row(tmp_path: Path) -> None:
    count = FETCH_ROWS * 2 + 17
    rows: list[tuple[object, ...]] = [
        (f"{n:064X}", f"{n:032x}", f"name {n}.jpg", n) for n in range(count)
    ]
    rows[5] = ("12345", f"{5:032x}", "bad.jpg", 5)
    rows[6] = (None, None, "nohash.jpg", 6)
    path = make_database(
        tmp_path / "chunks.db",
        [
            "CREATE TABLE file_data "
            "(SHA256 TEXT, MD5 TEXT, FILE_NAME TEXT, FILE_SIZE INTEGER)",
            "CREATE VIEW FILE AS SELECT * FROM file_data",
        ],
        rows,
    )
    records = list(open_nsrl(path).items)

    assert len(records) == count
    assert records[5] == BadRecord(
        "row 6",
        "SHA256: invalid SHA256 hash '12345': expected 64 hex digits, got 5 characters",
    )
    assert records[6] == BadRecord("row 7", "no sha256, sha1 or md5 value")
    last = records[-1]
    assert isinstance(last, KnownItem)
    assert last.hashes == [
        ("sha256", f"{count - 1:064x}"),
        ("md5", f"{count - 1:032x}"),
    ]
    assert last.file_name == f"name {count - 1}.jpg"
    assert last.media_size == count - 1
    assert last.location == f"row {count}"


def test_v3_progress_estimate_on_table(tmp_path: Path) -> None:
    path = make_database(
        tmp_path / "table.db",
        ["CREATE TABLE file_data (sha1 TEXT)"],
        [(f"{n:040x}",) for n in range(10)],
    )
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("ALTER TABLE file_data RENAME TO FILE")
        connection.commit()
    source = open_rds_v3(path)
    records = source.items
    for _ in range(5):
        next(records)

    assert source.bytes_read() == source.total_bytes // 2
    assert len(list(records)) == 5
    assert source.bytes_read() == source.total_bytes


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (["CREATE TABLE file_data (sha256 TEXT)"], "no FILE table or view"),
        (
            [
                "CREATE TABLE file_data (crc32 TEXT)",
                "CREATE VIEW FILE AS SELECT * FROM file_data",
            ],
            "no sha256, sha1 or md5 column",
        ),
    ],
)
def test_v3_without_usable_file_raises(
    tmp_path: Path, schema: list[str], message: str
) -> None:
    path = make_database(tmp_path / "other.db", schema, [])

    with pytest.raises(HashSetFormatError, match=message) as raised:
        open_nsrl(path)
    assert str(path) in str(raised.value)


def test_not_sqlite_raises(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some text\n")

    with pytest.raises(HashSetFormatError, match="not an NSRL RDS file") as raised:
        open_nsrl(path)
    assert str(path) in str(raised.value)
    with pytest.raises(HashSetFormatError, match="not a readable NSRL RDS SQLite"):
        open_rds_v3(path)


def test_legacy_bad_row_in_middle(tmp_path: Path) -> None:
    lines = [
        LEGACY_HEADER,
        f'"{"AA" * 20}","{"BB" * 16}","00000000","one.jpg",10,1,"189",""',
        f'"{"AA" * 19}","{"CC" * 16}","00000000","two.jpg",11,1,"189",""',
        f'"{"DD" * 20}","{"EE" * 16}","00000000","three.jpg",twelve,1,"189",""',
        f'"{"FF" * 20}","","00000000","four, with comma.jpg",13,1,"189",""',
    ]
    path = tmp_path / "NSRLFile.txt"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    records = list(open_rds_legacy(path).items)

    assert len(records) == 4
    first = records[0]
    assert isinstance(first, KnownItem)
    assert first.hashes == [("sha1", "aa" * 20), ("md5", "bb" * 16)]
    assert records[1] == BadRecord(
        "line 3",
        f"SHA-1: invalid SHA1 hash '{'AA' * 19}': expected 40 hex digits, "
        "got 38 characters",
    )
    assert isinstance(records[2], BadRecord)
    assert records[2].reason.startswith("FileSize: invalid size 'twelve'")
    last = records[3]
    assert isinstance(last, KnownItem)
    assert last.hashes == [("sha1", "ff" * 20)]
    assert last.file_name == "four, with comma.jpg"
    assert last.media_size == 13


def test_v3_failing_view_names_file(tmp_path: Path) -> None:
    # A sqlite3 error while rows were fetched once ended in a traceback.
    path = make_database(
        tmp_path / "failing.db",
        [
            "CREATE TABLE file_data (n INTEGER)",
            "CREATE VIEW FILE AS SELECT printf('%064x', abs(CASE WHEN n = 11 "
            "THEN -9223372036854775808 ELSE n END)) AS sha256 FROM file_data",
        ],
        [(n,) for n in range(1, 21)],
    )
    source = open_rds_v3(path)

    with pytest.raises(HashSetFormatError) as raised:
        list(source.items)

    message = str(raised.value)
    assert message.startswith(f"{path}: reading the NSRL FILE view failed after")
    assert "integer overflow" in message


def test_v3_corrupt_page_names_file(tmp_path: Path) -> None:
    path = make_database(
        tmp_path / "corrupt.db",
        ["CREATE TABLE file_data (sha1 TEXT)"],
        [(f"{n:040x}",) for n in range(20_000)],
    )
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("ALTER TABLE file_data RENAME TO FILE")
        connection.commit()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8192] = b"\xde\xad\xbe\xef" * 2048
    path.write_bytes(bytes(data))
    source = open_rds_v3(path)

    with pytest.raises(HashSetFormatError) as raised:
        list(source.items)

    message = str(raised.value)
    assert message.startswith(f"{path}: reading the NSRL FILE table failed after")
    assert "malformed" in message


def test_v3_endless_view_stopped(tmp_path: Path) -> None:
    # A recursive view once ran until the disk was full.
    path = make_database(
        tmp_path / "endless.db",
        [
            "CREATE TABLE file_data (unused TEXT)",
            "CREATE VIEW FILE AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL "
            "SELECT n + 1 FROM r) SELECT printf('%064x', n) AS sha256 FROM r",
        ],
        [],
    )
    source = open_nsrl(path)
    records = source.items

    for _ in range(MIN_ROW_LIMIT):
        assert isinstance(next(records), KnownItem)
    with pytest.raises(HashSetFormatError) as raised:
        next(records)

    message = str(raised.value)
    assert message.startswith(
        f"{path}: the NSRL FILE view yields more than {MIN_ROW_LIMIT} rows"
    )
    assert "recursive view" in message


def test_v3_row_limit_settable(tmp_path: Path) -> None:
    path = make_database(
        tmp_path / "small.db",
        [
            "CREATE TABLE file_data (sha1 TEXT)",
            "CREATE VIEW FILE AS SELECT sha1 FROM file_data",
        ],
        [(f"{n:040x}",) for n in range(5)],
    )

    assert len(list(open_nsrl(path, max_rows=5).items)) == 5
    with pytest.raises(HashSetFormatError, match="yields more than 4 rows"):
        list(open_nsrl(path, max_rows=4).items)


def test_legacy_size_above_int64_rejected_alone(tmp_path: Path) -> None:
    sizes = ["99999999999999999999", "9" * 5000, "9223372036854775807"]
    lines = [LEGACY_HEADER] + [
        f'"{n:040X}","{n:032X}","00000000","file{n}.jpg",{size},1,"",""'
        for n, size in enumerate(sizes)
    ]
    path = tmp_path / "NSRLFile.txt"
    path.write_text("\r\n".join(lines) + "\r\n")
    records = list(open_rds_legacy(path).items)

    assert len(records) == 3
    for record in records[:2]:
        assert isinstance(record, BadRecord)
        assert record.reason.startswith("FileSize: size ")
        assert "out of range" in record.reason
    assert records[0].location == "line 2"
    last = records[2]
    assert isinstance(last, KnownItem)
    assert last.media_size == 2**63 - 1
