"""ICSE CSV reader: columns by name, flag spellings, bad rows, bad headers."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from scut.hashsets.formats import HashSetFormatError
from scut.hashsets.icse import open_icse
from scut.hashsets.items import BadRecord, KnownItem

HEADER = (
    "MD5;SHA1;ZZ40;PhotoDNA;Lace;Image ID;Is distributed;Victim identified;"
    "Offender identified;Series name;Investigation name;Agency;"
    "Number of submissions;File Available;Media Type;Baseline"
)
PHOTODNA = bytes(range(144))
LACE = base64.b64encode(b"lace-test-value").decode()


def write_csv(path: Path, lines: list[str], *, bom: bool = False) -> Path:
    text = "\r\n".join(lines) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def row(**cells: str) -> str:
    """Return one line under HEADER, with named cells filled in."""
    names = [name.lower().replace(" ", "_") for name in HEADER.split(";")]
    return ";".join(cells.get(name, "") for name in names)


def test_export_matches_manifest(tmp_path: Path, members) -> None:
    # An export in the documented layout, built from one sample set's files.
    expected = members("vics_2.0_media.json")
    lines = [HEADER]
    for number, entry in enumerate(expected, start=1):
        lines.append(
            row(
                md5=entry.md5,
                sha1=entry.sha1,
                image_id=str(number),
                is_distributed="Y",
                victim_identified="N",
                offender_identified="N",
                file_available="True",
                media_type="Image",
                baseline="No",
                number_of_submissions="1",
            )
        )
    source = open_icse(write_csv(tmp_path / "export.csv", lines))
    records = list(source.items)

    assert len(records) == len(expected) == 17
    assert all(isinstance(record, KnownItem) for record in records)
    pairs = {
        tuple(record.hashes) for record in records if isinstance(record, KnownItem)
    }
    assert pairs == {(("md5", e.md5), ("sha1", e.sha1)) for e in expected}
    assert source.format == "icse"
    assert source.bytes_read() == source.total_bytes


def test_fields_and_flag_spellings(tmp_path: Path) -> None:
    lines = [
        HEADER,
        row(
            md5="AB" * 16,
            sha1="CD" * 20,
            zz40="EF0123",
            photodna=PHOTODNA.hex().upper(),
            lace=LACE,
            image_id="77",
            is_distributed="Y",
            victim_identified="n",
            offender_identified="YES",
            series_name=" Series Q ",
            investigation_name="Operation Test",
            agency="Test Agency",
            media_type="Video",
            baseline="yes",
        ),
        row(
            md5="11" * 16,
            is_distributed="True",
            victim_identified="false",
            offender_identified="No",
            media_type="image",
            baseline="FALSE",
        ),
        row(sha1="22" * 20),
    ]
    records = list(open_icse(write_csv(tmp_path / "flags.csv", lines, bom=True)).items)

    assert all(isinstance(record, KnownItem) for record in records)
    first, second, third = records
    assert isinstance(first, KnownItem)
    assert first.hashes == [
        ("md5", "ab" * 16),
        ("sha1", "cd" * 20),
        ("photodna", PHOTODNA.hex()),
        ("zz40", "ef0123"),
        ("lace", LACE),
    ]
    assert first.is_distributed is True
    assert first.victim_identified is False
    assert first.offender_identified is True
    assert first.baseline is True
    assert first.series == "Series Q"
    assert first.mime_type == "video/*"
    assert first.comments == (
        "Image ID: 77; Investigation: Operation Test; Agency: Test Agency"
    )
    assert first.category is None
    assert first.location == "line 2"
    assert isinstance(second, KnownItem)
    assert second.is_distributed is True
    assert second.victim_identified is False
    assert second.offender_identified is False
    assert second.baseline is False
    assert second.mime_type == "image/*"
    assert isinstance(third, KnownItem)
    assert third.hashes == [("sha1", "22" * 20)]
    assert third.victim_identified is None
    assert third.baseline is None
    assert third.mime_type is None
    assert third.comments is None


def test_reordered_and_extra_columns(tmp_path: Path) -> None:
    lines = [
        " Baseline ; Notes ;sha1; md5 ",
        "Y;anything;" + "22" * 20 + ";" + "11" * 16,
    ]
    source = open_icse(write_csv(tmp_path / "reordered.csv", lines))
    records = list(source.items)

    assert len(records) == 1
    item = records[0]
    assert isinstance(item, KnownItem)
    assert item.hashes == [("md5", "11" * 16), ("sha1", "22" * 20)]
    assert item.baseline is True


def test_bad_rows_do_not_stop_reading(tmp_path: Path) -> None:
    lines = [
        HEADER,
        row(md5="11" * 16),
        row(md5="123"),
        "",
        row(md5="33" * 16, victim_identified="perhaps"),
        row(md5="44" * 16) + ";extra",
        row(series_name="no hash here"),
        row(md5="55" * 16, photodna="ab" * 10),
        row(md5="66" * 16),
    ]
    records = list(open_icse(write_csv(tmp_path / "bad.csv", lines)).items)

    assert [record.location for record in records] == [
        "line 2",
        "line 3",
        "line 5",
        "line 6",
        "line 7",
        "line 8",
        "line 9",
    ]
    assert isinstance(records[0], KnownItem)
    assert isinstance(records[1], BadRecord)
    assert records[1].reason.startswith("MD5: invalid MD5 hash '123'")
    assert isinstance(records[2], BadRecord)
    assert records[2].reason.startswith("Victim identified: invalid yes/no")
    assert isinstance(records[3], BadRecord)
    assert "17 fields where the header has 16" in records[3].reason
    assert isinstance(records[4], BadRecord)
    assert records[4].reason.startswith("no MD5, SHA1")
    assert isinstance(records[5], BadRecord)
    assert records[5].reason.startswith("PhotoDNA: invalid PhotoDNA hash")
    assert isinstance(records[6], KnownItem)
    assert records[6].hashes == [("md5", "66" * 16)]


def test_short_rows_read_as_empty_cells(tmp_path: Path) -> None:
    lines = [HEADER, "11" * 16 + ";" + "22" * 20]
    records = list(open_icse(write_csv(tmp_path / "short.csv", lines)).items)

    assert len(records) == 1
    item = records[0]
    assert isinstance(item, KnownItem)
    assert item.hashes == [("md5", "11" * 16), ("sha1", "22" * 20)]
    assert item.is_distributed is None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["Image ID;Series name", "1;x"], "no MD5 or SHA1 column"),
        (["MD5,SHA1", "a,b"], "no MD5 or SHA1 column"),
        ([], "empty file"),
    ],
)
def test_bad_header_raises(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "header.csv"
    path.write_text("\n".join(lines))

    with pytest.raises(HashSetFormatError, match=message) as raised:
        open_icse(path)
    assert str(path) in str(raised.value)


def test_unbalanced_quote_loses_one_line(tmp_path: Path) -> None:
    # The quote on line 102 once swallowed 1,725 rows; with fewer rows
    # after it, all of them went into one Series and none was reported.
    lines = ["MD5;SHA1;Series name"]
    for n in range(10_000):
        series = '"unbalanced' if n == 100 else "S"
        lines.append(f"{n:032x};{n:040x};{series}")
    records = list(open_icse(write_csv(tmp_path / "quote.csv", lines)).items)

    bad_records = [record for record in records if isinstance(record, BadRecord)]
    items = [record for record in records if isinstance(record, KnownItem)]
    assert len(bad_records) == 1
    assert bad_records[0].location == "line 102"
    assert bad_records[0].reason.startswith(
        "unbalanced quote: a quoted field starts on this line and runs on to line "
    )
    assert bad_records[0].reason.endswith(
        "this line is left out and reading goes on at line 103"
    )
    assert len(items) == 9_999
    assert items[100].location == "line 103"
    assert items[100].hashes == [("md5", f"{101:032x}"), ("sha1", f"{101:040x}")]
    assert all(item.series == "S" for item in items)


def test_unbalanced_quote_near_end(tmp_path: Path) -> None:
    lines = [HEADER, row(md5="11" * 16, series_name='"open')]
    lines += [row(md5=f"{n:032x}", series_name="S") for n in range(50)]
    records = list(open_icse(write_csv(tmp_path / "end.csv", lines)).items)

    assert len(records) == 51
    assert isinstance(records[0], BadRecord)
    assert records[0].location == "line 2"
    assert "runs on to line 52, over lines that read as rows" in records[0].reason
    assert all(isinstance(record, KnownItem) for record in records[1:])


def test_quoted_line_break_still_read(tmp_path: Path) -> None:
    lines = [
        HEADER,
        row(md5="11" * 16, series_name='"two\r\nlines; one field"'),
        row(md5="22" * 16),
    ]
    records = list(open_icse(write_csv(tmp_path / "multiline.csv", lines)).items)

    assert len(records) == 2
    first = records[0]
    assert isinstance(first, KnownItem)
    assert first.series == "two\r\nlines; one field"
    assert first.location == "line 3"
    assert isinstance(records[1], KnownItem)
