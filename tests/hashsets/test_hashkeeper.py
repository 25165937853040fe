"""HashKeeper reader: the .hsh rows and the .hke description beside them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scut.hashsets.formats import HashSetFormatError
from scut.hashsets.hashkeeper import open_hashkeeper
from scut.hashsets.items import BadRecord, KnownItem

HSH_HEADER = (
    '"file_id","hashset_id","file_name","directory","hash","file_size",'
    '"date_modified","time_modified","time_zone","comments","date_accessed",'
    '"time_accessed"'
)


def test_sample_matches_manifest(hashsets_dir: Path, members) -> None:
    source = open_hashkeeper(hashsets_dir / "hashkeeper.hsh")
    records = list(source.items)
    expected = {entry.md5: entry for entry in members("hashkeeper.hsh")}

    assert len(records) == len(expected) == 17
    for record in records:
        assert isinstance(record, KnownItem)
        assert len(record.hashes) == 1
        algorithm, md5 = record.hashes[0]
        assert algorithm == "md5"
        assert record.file_name == expected[md5].name
        assert record.media_size == expected[md5].size
    assert {record.hashes[0][1] for record in records} == expected.keys()
    assert source.format == "hashkeeper"
    assert source.bytes_read() == source.total_bytes


def test_sample_description(hashsets_dir: Path) -> None:
    details = open_hashkeeper(hashsets_dir / "hashkeeper.hsh").details

    assert details["description_file"] == "hashkeeper.hke"
    assert details["name"] == "Scut benign camera samples"
    assert details["vendor"] == "Scut"
    assert details["version"] == "1.0"
    assert details["notable_flag"] == "0"
    assert details["num_of_files"] == "17"
    assert details["description"] == "benign test data"


def test_without_description_file(tmp_path: Path, hashsets_dir: Path) -> None:
    path = tmp_path / "alone [1].hsh"
    shutil.copy(hashsets_dir / "hashkeeper.hsh", path)
    source = open_hashkeeper(path)

    assert source.details == {}
    assert len(list(source.items)) == 17


def test_upper_case_description_suffix(tmp_path: Path, hashsets_dir: Path) -> None:
    shutil.copy(hashsets_dir / "hashkeeper.hsh", tmp_path / "set.hsh")
    shutil.copy(hashsets_dir / "hashkeeper.hke", tmp_path / "set.HKE")

    details = open_hashkeeper(tmp_path / "set.hsh").details

    assert details["description_file"] == "set.HKE"
    assert details["package"] == "camera"


def test_bad_row_in_middle(tmp_path: Path) -> None:
    lines = [
        HSH_HEADER,
        f'1,5,"a.jpg","dir","{"AB" * 16}",100,1/1/26 0:00:00,1/1/26 0:00:00,"UTC",,,',
        f'2,5,"b.jpg","dir","{"AB" * 20}",101,1/1/26 0:00:00,1/1/26 0:00:00,"UTC",,,',
        '3,5,"c.jpg","dir","",102,,,"UTC",,,',
        f'4,5,"d.jpg","dir","{"CD" * 16}",103,,,"UTC","seen twice",,',
    ]
    path = tmp_path / "set.hsh"
    path.write_text("\r\n".join(lines) + "\r\n")
    records = list(open_hashkeeper(path).items)

    assert len(records) == 4
    assert isinstance(records[0], KnownItem)
    assert records[0].hashes == [("md5", "ab" * 16)]
    assert isinstance(records[1], BadRecord)
    assert records[1].location == "line 3"
    assert records[1].reason.startswith("hash: invalid MD5 hash")
    assert records[2] == BadRecord("line 4", "no MD5 in the 'hash' column")
    last = records[3]
    assert isinstance(last, KnownItem)
    assert last.hashes == [("md5", "cd" * 16)]
    assert last.comments == "seen twice"
    assert last.media_size == 103


def test_missing_hash_column_raises(tmp_path: Path) -> None:
    path = tmp_path / "wrong.hsh"
    path.write_text('"file_id","file_name"\n1,"a.jpg"\n')

    with pytest.raises(HashSetFormatError, match="no 'hash' column") as raised:
        open_hashkeeper(path)
    assert str(path) in str(raised.value)


def test_size_above_int64_rejected_alone(tmp_path: Path) -> None:
    lines = [
        HSH_HEADER,
        f'1,5,"a.jpg","dir","{"AB" * 16}",9223372036854775808,,,"UTC",,,',
        f'2,5,"b.jpg","dir","{"CD" * 16}",9223372036854775807,,,"UTC",,,',
    ]
    path = tmp_path / "set.hsh"
    path.write_text("\r\n".join(lines) + "\r\n")
    records = list(open_hashkeeper(path).items)

    assert len(records) == 2
    assert isinstance(records[0], BadRecord)
    assert records[0].location == "line 2"
    assert records[0].reason.startswith("file_size: size '9223372036854775808' is out")
    assert isinstance(records[1], KnownItem)
    assert records[1].media_size == 2**63 - 1
