"""VICS JSON reader: the sample sets, writer quirks, broken files, flat memory."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from scut.hashsets.formats import HashSetFormatError
from scut.hashsets.items import BadRecord, Category, KnownItem
from scut.hashsets.vics import MAX_ALTERNATIVE_HASHES as MAX_ALT
from scut.hashsets.vics import open_vics

CONTEXT_20 = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{}/$metadata#{}"
)
METADATA_13 = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#{}"

MD5_A = "0123456789abcdef0123456789abcdef"
SHA1_A = "0123456789abcdef0123456789abcdef01234567"
SHA256_A = "ab" * 32
PDQ_A = "cd" * 32
PHOTODNA_BYTES = bytes(range(144))


def write_json(path: Path, document: dict[str, Any], *, bom: bool = False) -> Path:
    data = json.dumps(document, indent=1).encode()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def read_all(path: Path) -> list[KnownItem | BadRecord]:
    return list(open_vics(path).items)


def known(records: list[KnownItem | BadRecord]) -> list[KnownItem]:
    return [record for record in records if isinstance(record, KnownItem)]


def bad(records: list[KnownItem | BadRecord]) -> list[BadRecord]:
    return [record for record in records if isinstance(record, BadRecord)]


def test_media_13_matches_manifest(hashsets_dir: Path, members) -> None:
    path = hashsets_dir / "vics_1.3_media.json"
    source = open_vics(path)
    records = list(source.items)
    expected = members("vics_1.3_media.json")

    assert bad(records) == []
    items = known(records)
    assert len(items) == len(expected) == 18
    by_md5 = {dict(item.hashes)["md5"]: item for item in items}
    for entry in expected:
        item = by_md5[entry.md5]
        assert dict(item.hashes) == {"md5": entry.md5, "sha1": entry.sha1}
        assert item.media_size == entry.size
        assert item.file_name == entry.name
    assert source.format == "vics"
    assert source.details["version"] == "1.3"
    assert source.details["shape"] == "media"
    assert source.details["category_scheme"] == "projectvic"
    assert source.bytes_read() == source.total_bytes == path.stat().st_size


def test_media_13_fields(hashsets_dir: Path) -> None:
    items = known(read_all(hashsets_dir / "vics_1.3_media.json"))

    first = items[0]
    assert first.location == "item 1"
    assert first.category == Category("projectvic", "0")
    assert first.comments == "benign camera sample (test data)"
    assert first.tags is None
    assert first.series is None
    assert first.victim_identified is None
    assert items[1].category == Category("projectvic", "1")
    assert items[-1].location == "item 18"


def test_case_13_matches_manifest(hashsets_dir: Path, members) -> None:
    source = open_vics(hashsets_dir / "vics_1.3_case.json")
    records = list(source.items)
    expected = members("vics_1.3_case.json")

    assert bad(records) == []
    items = known(records)
    assert {dict(item.hashes)["md5"] for item in items} == {e.md5 for e in expected}
    assert {dict(item.hashes)["sha1"] for item in items} == {e.sha1 for e in expected}
    assert {item.category for item in items} == {Category("projectvic", "3")}
    assert [item.location for item in items] == [f"item {n}" for n in range(1, 18)]
    assert source.details["shape"] == "cases"
    assert source.details["version"] == "1.3"
    assert source.details["case_numbers"] == "TEST-0001"
    assert source.details["cases"] == "1"


def test_media_20_matches_manifest(hashsets_dir: Path, members) -> None:
    source = open_vics(hashsets_dir / "vics_2.0_media.json")
    records = list(source.items)
    expected = members("vics_2.0_media.json")

    assert bad(records) == []
    items = known(records)
    assert sorted(dict(item.hashes)["md5"] for item in items) == sorted(
        entry.md5 for entry in expected
    )
    sizes = {dict(item.hashes)["sha1"]: item.media_size for item in items}
    assert sizes == {entry.sha1: entry.size for entry in expected}
    assert source.details["version"] == "2.0"
    assert source.details["scheme"] == "Default"
    assert source.details["category_scheme"] == "projectvic"


def quirky_media() -> list[dict[str, Any]]:
    """Media as various writers produce them, one quirk or more per item."""
    return [
        {
            "MD5": MD5_A.upper(),
            "SHA1": SHA1_A.upper(),
            "Category": "2",
            "VictimIdentified": "true",
            "OffenderIdentified": "False",
            "IsDistributed": "1",
            "MediaSize": "2048",
            "DateUpdated": "2024-05-01T10:00:00Z",
            "Series": "Series X",
            "Tags": "tag1,tag2",
            "MimeType": "image/jpeg",
        },
        {
            "MD5": "11" * 16,
            "VictimIdentified": True,
            "OffenderIdentified": "yes",
            "IsDistributed": "no",
            "DateUpdated": "2024-05-01T10:00:00+02:00",
        },
        {"MD5": "22" * 16, "Category": 0, "VictimIdentified": "0"},
        {"MD5": "33" * 16, "PhotoDNA": base64.b64encode(PHOTODNA_BYTES).decode()},
        {"MD5": "44" * 16, "PhotoDNA": PHOTODNA_BYTES.hex().upper()},
        {
            "MD5": "55" * 16,
            "AlternativeHashes": [
                {"MD5": "55" * 16, "HashName": "SHA256", "HashValue": SHA256_A.upper()},
                {"MD5": "55" * 16, "HashName": "PDQ", "HashValue": PDQ_A},
                {"MD5": "55" * 16, "HashName": "SHA512", "HashValue": "ff" * 64},
            ],
        },
        {
            "SHA1": "66" * 20,
            "AlternativeHashes": [
                {"HashName": "SHA-256", "HashValue": "77" * 32},
                {"HashName": "PhotoDNA", "HashValue": PHOTODNA_BYTES.hex()},
                {"HashName": "sha512", "HashValue": "ff" * 64},
                {"HashName": "MD5", "HashValue": "88" * 16},
            ],
        },
    ]


@pytest.fixture
def quirks_file(tmp_path: Path) -> Path:
    document = {
        "@odata.context": CONTEXT_20.format("US", "Media"),
        "value": quirky_media(),
    }
    return write_json(tmp_path / "quirks.json", document, bom=True)


def test_quirks_hashes_normalised(quirks_file: Path) -> None:
    records = read_all(quirks_file)

    assert bad(records) == []
    items = known(records)
    assert len(items) == 7
    assert items[0].hashes == [("md5", MD5_A), ("sha1", SHA1_A)]
    assert items[3].hashes == [("md5", "33" * 16), ("photodna", PHOTODNA_BYTES.hex())]
    assert items[4].hashes == [("md5", "44" * 16), ("photodna", PHOTODNA_BYTES.hex())]
    assert items[5].hashes == [
        ("md5", "55" * 16),
        ("sha256", SHA256_A),
        ("pdq", PDQ_A),
    ]
    assert items[6].hashes == [
        ("sha1", "66" * 20),
        ("sha256", "77" * 32),
        ("photodna", PHOTODNA_BYTES.hex()),
        ("md5", "88" * 16),
    ]


def test_quirks_flags_and_numbers(quirks_file: Path) -> None:
    items = known(read_all(quirks_file))

    first = items[0]
    assert first.category == Category("projectvic", "2")
    assert first.victim_identified is True
    assert first.offender_identified is False
    assert first.is_distributed is True
    assert first.media_size == 2048
    assert first.series == "Series X"
    assert first.tags == "tag1,tag2"
    assert first.mime_type == "image/jpeg"
    second = items[1]
    assert second.victim_identified is True
    assert second.offender_identified is True
    assert second.is_distributed is False
    assert items[2].victim_identified is False


def test_missing_category_stays_none(quirks_file: Path) -> None:
    items = known(read_all(quirks_file))

    assert items[1].category is None
    assert items[2].category == Category("projectvic", "0")


def test_unknown_hash_names_counted(
    quirks_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = open_vics(quirks_file)
    with caplog.at_level(logging.WARNING, logger="scut.hashsets.vics"):
        list(source.items)

    assert source.details["unknown_hash_names"] == "SHA512 (1), sha512 (1)"
    warnings = [r for r in caplog.records if "not supported" in r.getMessage()]
    assert len(warnings) == 2
    assert source.details["version"] == "2.0"
    assert source.details["scheme"] == "US"


@pytest.mark.parametrize(
    ("media", "field"),
    [
        ({"MD5": "abc"}, "MD5"),
        ({"MD5": "zz" * 16}, "MD5"),
        ({"SHA1": "ab" * 16}, "SHA1"),
        ({"MD5": MD5_A, "PhotoDNA": "ab" * 100}, "PhotoDNA"),
        ({"MD5": MD5_A, "PhotoDNA": "!" * 192}, "PhotoDNA"),
        (
            {
                "MD5": MD5_A,
                "AlternativeHashes": [{"HashName": "SHA256", "HashValue": "ab" * 20}],
            },
            "AlternativeHashes[SHA256]",
        ),
        (
            {
                "MD5": MD5_A,
                "AlternativeHashes": [{"HashName": "PDQ", "HashValue": "ab" * 31}],
            },
            "AlternativeHashes[PDQ]",
        ),
        ({"MD5": MD5_A, "Category": 9}, "Category"),
        ({"MD5": MD5_A, "VictimIdentified": "maybe"}, "VictimIdentified"),
        ({"MD5": MD5_A, "MediaSize": "-3"}, "MediaSize"),
    ],
)
def test_bad_field_names_field(
    tmp_path: Path, media: dict[str, Any], field: str
) -> None:
    document = {
        "odata.metadata": METADATA_13.format("Media"),
        "value": [{"MD5": "11" * 16}, media, {"MD5": "33" * 16}],
    }
    records = read_all(write_json(tmp_path / "bad.json", document))

    assert len(records) == 3
    assert isinstance(records[0], KnownItem)
    assert isinstance(records[1], BadRecord)
    assert records[1].location == "item 2"
    assert records[1].reason.startswith(f"{field}: ")
    assert isinstance(records[2], KnownItem)
    assert records[2].hashes == [("md5", "33" * 16)]


def test_media_without_hash_is_bad(tmp_path: Path) -> None:
    document = {
        "odata.metadata": METADATA_13.format("Media"),
        "value": [{"MediaID": 1, "Category": 1, "MD5": ""}, {"MD5": MD5_A}],
    }
    records = read_all(write_json(tmp_path / "nohash.json", document))

    assert records[0] == BadRecord(
        "item 1", "no MD5, SHA1, PhotoDNA or alternative hash"
    )
    assert isinstance(records[1], KnownItem)


def test_case_shape_20_counts_over_cases(tmp_path: Path) -> None:
    document = {
        "@odata.context": CONTEXT_20.format("Default", "Cases"),
        "value": [
            {
                "CaseID": "00000000-0000-0000-0000-00000000000a",
                "CaseNumber": "C-1",
                "Media": [{"MD5": "11" * 16}, {"MD5": "22" * 16}],
            },
            {"Media": [{"MD5": "x"}, {"MD5": "44" * 16}], "CaseNumber": 2002},
        ],
    }
    source = open_vics(write_json(tmp_path / "cases.json", document))
    records = list(source.items)

    assert [record.location for record in records] == [
        "item 1",
        "item 2",
        "item 3",
        "item 4",
    ]
    assert isinstance(records[2], BadRecord)
    assert isinstance(records[3], KnownItem)
    assert source.details["shape"] == "cases"
    assert source.details["case_numbers"] == "C-1, 2002"
    assert source.details["cases"] == "2"


@pytest.mark.parametrize(
    ("metadata", "first", "shape"),
    [
        (None, {"CaseNumber": "N-1", "Media": [{"MD5": MD5_A}]}, "cases"),
        (None, {"odata.id": "x", "MD5": MD5_A}, "media"),
        ("http://example.invalid/odd", {"Media": [{"MD5": MD5_A}]}, "cases"),
        ("http://example.invalid/odd#Other", {"SHA1": SHA1_A}, "media"),
    ],
)
def test_shape_from_first_item_keys(
    tmp_path: Path, metadata: str | None, first: dict[str, Any], shape: str
) -> None:
    document: dict[str, Any] = {"value": [first]}
    if metadata is not None:
        document = {"odata.metadata": metadata, **document}
    source = open_vics(write_json(tmp_path / "shape.json", document))
    records = list(source.items)

    assert source.details["shape"] == shape
    assert len(records) == 1
    assert isinstance(records[0], KnownItem)
    assert source.details["category_scheme"] == "projectvic"
    assert "version" not in source.details


def test_uk_context_categories(tmp_path: Path) -> None:
    document = {
        "@odata.context": CONTEXT_20.format("UK", "Media"),
        "value": [
            {"MD5": "11" * 16, "Category": 2},
            {"MD5": "22" * 16, "Category": "B"},
            {"MD5": "33" * 16},
        ],
    }
    source = open_vics(write_json(tmp_path / "uk.json", document))
    items = known(list(source.items))

    assert source.details["scheme"] == "UK"
    assert source.details["category_scheme"] == "vics-uk"
    assert items[0].category == Category("vics-uk", "2")
    assert items[1].category == Category("uk", "B")
    assert items[2].category is None


def test_truncated_json_keeps_earlier_items(tmp_path: Path) -> None:
    document = {
        "odata.metadata": METADATA_13.format("Media"),
        "value": [{"MD5": f"{n:032x}", "Category": 1} for n in range(1, 6)],
    }
    data = json.dumps(document).encode()
    # Cut inside the fourth media object.
    fourth = data.index(b'{"MD5": "' + f"{4:032x}".encode())
    path = tmp_path / "truncated.json"
    path.write_bytes(data[: fourth + 20])
    records = read_all(path)

    assert [type(record) for record in records] == [
        KnownItem,
        KnownItem,
        KnownItem,
        BadRecord,
    ]
    broken = records[-1]
    assert isinstance(broken, BadRecord)
    assert broken.location == "after item 3"
    assert "invalid JSON" in broken.reason
    assert "premature EOF" in broken.reason


def test_malformed_json_reports_place(tmp_path: Path) -> None:
    metadata = METADATA_13.format("Media")
    text = (
        f'{{"odata.metadata": "{metadata}", "value": '
        f'[{{"MD5": "{MD5_A}"}}, {{"MD5": "{"11" * 16}"}} oops]}}'
    )
    path = tmp_path / "malformed.json"
    path.write_text(text)
    records = read_all(path)

    assert len(records) == 3
    assert isinstance(records[1], KnownItem)
    broken = records[2]
    assert isinstance(broken, BadRecord)
    assert broken.location == "after item 2"
    assert "oops" in broken.reason


def test_invalid_utf8_reports_readable_message(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(
        b'{"value": [{"MD5": "' + MD5_A.encode() + b'"}, {"Series": "\xe9t\xe9"}]}'
    )
    records = read_all(path)

    assert len(records) == 2
    assert isinstance(records[0], KnownItem)
    broken = records[1]
    assert isinstance(broken, BadRecord)
    assert broken.location == "after item 1"
    assert "invalid bytes in UTF8 string" in broken.reason
    assert "b'lexical" not in broken.reason


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[1, 2]", b'{"odata.metadata": "x#Media"}', b'{"value": 3}'],
)
def test_not_vics_raises(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notvics.json"
    path.write_bytes(content)

    with pytest.raises(HashSetFormatError, match="not a VICS JSON file"):
        open_vics(path)


def test_unread_source_leaves_no_open_file(hashsets_dir: Path) -> None:
    # filterwarnings=error turns an unclosed file into a failure.
    source = open_vics(hashsets_dir / "vics_1.3_media.json")
    first = next(source.items)
    assert isinstance(first, KnownItem)
    del source, first


@pytest.mark.slow
def test_stream_memory_stays_flat(tmp_path: Path) -> None:
    count = 200_000
    path = tmp_path / "large.json"
    with path.open("w") as handle:
        context = CONTEXT_20.format("Default", "Media")
        handle.write(f'{{"@odata.context": "{context}", "value": [')
        for n in range(count):
            media = {
                "MD5": f"{n:032X}",
                "SHA1": f"{n:040x}",
                "Category": n % 5,
                "IsDistributed": "true",
                "MediaSize": str(n),
            }
            handle.write(("," if n else "") + json.dumps(media))
        handle.write("]}")
    source = open_vics(path)

    tracemalloc.start()
    try:
        seen = 0
        last = None
        for record in source.items:
            assert isinstance(record, KnownItem)
            seen += 1
            if seen == count // 2:
                halfway = source.bytes_read()
            last = record
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert seen == count
    assert last is not None
    assert last.hashes[0] == ("md5", f"{count - 1:032x}")
    assert peak < 20 * 1024 * 1024
    assert 0 < halfway < source.total_bytes
    assert source.bytes_read() == source.total_bytes


# Hostile input: each of these once crashed, hung or misread the file.

READ_IN_CHILD = """
import sys
from pathlib import Path

from scut.errors import ScutError
from scut.hashsets.vics import MAX_ALTERNATIVE_HASHES as MAX_ALT
from scut.hashsets.vics import open_vics

try:
    for record in open_vics(Path(sys.argv[1])).items:
        print(type(record).__name__, getattr(record, "reason", ""))
except ScutError as error:
    print("ScutError", error)
"""


def read_in_child(path: Path) -> subprocess.CompletedProcess[str]:
    """Read ``path`` in a child process, which may crash or hang on bad input."""
    try:
        return subprocess.run(
            [sys.executable, "-c", READ_IN_CHILD, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {path.name} took more than 60 s")


def test_huge_integer_rejected_without_crash(tmp_path: Path) -> None:
    # ijson's C backend crashed with SIGSEGV on an integer of 4301 digits.
    path = tmp_path / "bigint.json"
    prefix = '{"value": [{"MD5": "' + MD5_A + '", "Category": '
    path.write_text(prefix + "9" * 4301 + "}]}")

    result = read_in_child(path)

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ScutError "), result.stdout
    assert "a JSON number longer than 100 characters" in result.stdout
    assert f"at line 1, byte {len(prefix) + 1};" in result.stdout


@pytest.mark.parametrize("field", ["Category", "MediaSize"])
def test_huge_exponent_rejected_quickly(tmp_path: Path, field: str) -> None:
    # int(Decimal("1e999999999")) would run for hours.
    document = {"value": [{"MD5": "11" * 16}, {"MD5": MD5_A, field: 0}]}
    text = json.dumps(document).replace(f'"{field}": 0', f'"{field}": 1e999999999')
    path = tmp_path / "exponent.json"
    path.write_text(text)

    result = read_in_child(path)

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "KnownItem "
    assert lines[1].startswith(f"BadRecord {field}: ")
    assert "1E+999999999" in lines[1]
    assert "out of range" in lines[1]


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_deep_item_rejected_with_position(tmp_path: Path) -> None:
    # A RecursionError traceback once, from the repr of the nested item.
    # The 2,000 media before it put it past the 64 KB the header pass reads.
    media = ", ".join(f'{{"MD5": "{n:032x}"}}' for n in range(2000))
    head = '{"@odata.context": "x#Media", "value": [' + media + ", "
    path = tmp_path / "deep_item.json"
    path.write_text(head + nested(2000) + "]}")
    source = open_vics(path)

    with pytest.raises(HashSetFormatError) as raised:
        list(source.items)

    message = str(raised.value)
    assert message.startswith(f"{path}: JSON nested deeper than 64 levels")
    # Levels 1 and 2 are the document and value; level 65 is the 63rd "[".
    assert f"at line 1, byte {len(head) + 63};" in message


def test_deep_header_key_flat_memory(tmp_path: Path) -> None:
    # Nesting in a key before "value" once took 23 GB at 100,000 levels,
    # because ijson builds a prefix string for every level.
    path = tmp_path / "deep_key.json"
    path.write_text(
        '{"x": ' + nested(20_000) + ', "value": [{"MD5": "' + MD5_A + '"}]}'
    )

    tracemalloc.start()
    try:
        with pytest.raises(HashSetFormatError, match="nested deeper than 64"):
            open_vics(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 5 * 1024 * 1024


def test_deep_series_rejected(tmp_path: Path) -> None:
    path = tmp_path / "deep_series.json"
    series = '{"a": ' * 100 + "1" + "}" * 100
    path.write_text('{"value": [{"MD5": "' + MD5_A + '", "Series": ' + series + "}]}")

    with pytest.raises(HashSetFormatError, match="nested deeper than 64"):
        list(open_vics(path).items)


def test_size_above_int64_rejected_alone(tmp_path: Path) -> None:
    # 2^63 once aborted the whole import with an OverflowError.
    document = {
        "value": [
            {"MD5": "11" * 16, "MediaSize": 2**63 - 1},
            {"MD5": "22" * 16, "MediaSize": 2**63},
            {"MD5": "33" * 16, "MediaSize": "99999999999999999999"},
            {"MD5": "44" * 16, "MediaSize": 7},
        ]
    }
    records = read_all(write_json(tmp_path / "sizes.json", document))

    assert isinstance(records[0], KnownItem)
    assert records[0].media_size == 2**63 - 1
    for record in records[1:3]:
        assert isinstance(record, BadRecord)
        assert record.reason.startswith("MediaSize: size ")
        assert "is out of range" in record.reason
    assert records[1].location == "item 2"
    assert isinstance(records[3], KnownItem)
    assert records[3].media_size == 7


@pytest.mark.parametrize("shape", ["Media", "Cases"])
def test_context_after_value_sets_scheme(tmp_path: Path, shape: str) -> None:
    media = {"MD5": "ab" * 16, "Category": 2}
    value = [media] if shape == "Media" else [{"CaseNumber": "C-9", "Media": [media]}]
    document = {"value": value, "@odata.context": CONTEXT_20.format("UK", shape)}
    source = open_vics(write_json(tmp_path / "after.json", document))
    items = known(list(source.items))

    assert len(items) == 1
    assert items[0].category == Category("vics-uk", "2")
    assert source.details["category_scheme"] == "vics-uk"
    assert source.details["scheme"] == "UK"
    assert source.details["version"] == "2.0"
    assert source.details["shape"] == shape.lower()


def test_alternative_hashes_capped(tmp_path: Path) -> None:
    # Deduplicating 100,000 alternative hashes once took 196 s.
    many = [
        {"HashName": "SHA256", "HashValue": f"{n:064x}"} for n in range(MAX_ALT + 1)
    ]
    repeated = [{"HashName": "SHA256", "HashValue": SHA256_A}] * MAX_ALT
    document = {
        "value": [
            {"MD5": "11" * 16, "AlternativeHashes": many},
            {"MD5": "22" * 16, "AlternativeHashes": repeated},
        ]
    }
    records = read_all(write_json(tmp_path / "alternatives.json", document))

    assert isinstance(records[0], BadRecord)
    assert records[0].reason == (
        f"AlternativeHashes: {MAX_ALT + 1} entries, more than the {MAX_ALT} "
        "that one media can have"
    )
    assert isinstance(records[1], KnownItem)
    assert records[1].hashes == [("md5", "22" * 16), ("sha256", SHA256_A)]


def test_case_with_bad_media_reported(tmp_path: Path) -> None:
    document = {
        "@odata.context": CONTEXT_20.format("Default", "Cases"),
        "value": [
            {"CaseNumber": "C-1", "Media": [{"MD5": "11" * 16}]},
            {"CaseNumber": {"x": 1}, "Media": {"MD5": "22" * 16}},
            {"CaseNumber": None, "Media": "notalist"},
            "not a case",
            {"CaseNumber": "C-5", "Media": None},
            {"CaseNumber": "C-6", "Media": [{"MD5": "33" * 16}]},
        ],
    }
    source = open_vics(write_json(tmp_path / "cases.json", document))
    records = list(source.items)

    assert records == [
        KnownItem(hashes=[("md5", "11" * 16)], location="item 1"),
        BadRecord("case 2", "Media is an object, expected a list"),
        BadRecord("case 3", "Media is a string, expected a list"),
        BadRecord("case 4", "expected a Case object, got a string"),
        KnownItem(hashes=[("md5", "33" * 16)], location="item 2"),
    ]
    assert source.details["cases"] == "6"
    assert source.details["case_numbers"] == "C-1, C-5, C-6"


def test_non_object_media_message_is_short(tmp_path: Path) -> None:
    document = {"value": [["x" * 10_000] * 10, {"MD5": MD5_A}]}
    records = read_all(write_json(tmp_path / "list_item.json", document))

    assert records[0] == BadRecord("item 1", "expected a Media object, got a list")
    assert isinstance(records[1], KnownItem)
