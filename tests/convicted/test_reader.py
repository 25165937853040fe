"""Tests for reading convicted-offender lists from CSV and XLSX files.

Every person in these files is invented, and every IDNP is computed to
pass the check-digit rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
import shutil
import time
import tracemalloc
import zipfile
from collections.abc import Generator, Sequence
from pathlib import Path

import openpyxl
import pytest
from stdnum.md import idno

from scut.convicted import reader
from scut.convicted.reader import (
    COLUMN_ALIASES,
    MAX_CELL_LENGTH,
    MAX_REJECTED_VALUE,
    ConvictedFile,
    ConvictedFileError,
    ConvictedRow,
    RejectedRow,
    read_convicted,
)
from scut.persons.dates import PartialDate

IDNP_A = "2002042123459"
IDNP_B = "2003045123457"
IDNP_C = "2005001000774"
IDNP_ZERO = "0987002001234"

HEADER = [
    "record_id",
    "idnp",
    "last_name",
    "first_name",
    "patronymic",
    "birth_date",
    "birth_place",
    "address",
    "article",
    "court",
    "sentence_date",
    "release_date",
    "registry",
]
ROW_A = [
    "R-1001",
    IDNP_A,
    "Ceban",
    "Ion",
    "Vasile",
    "17.05.1984",
    "or. Orhei",
    "mun. Chișinău, str. Ismail 12",
    "175 alin. (1)",
    "Judecătoria Chișinău",
    "12.03.2015",
    "11.03.2021",
    "DTI MAI",
]
ROW_B = [
    "R-1002",
    "",
    "Rusu",
    "Elena",
    "",
    "1979",
    "",
    "",
    "208/1",
    "",
    "2019-06-04",
    "",
    "ANP",
]
ROW_C = [
    "R-1003",
    IDNP_C,
    "Moraru",
    "Gheorghe",
    "Petru",
    "",
    "s. Costești, r-nul Ialoveni",
    "",
    "174",
    "Judecătoria Hâncești",
    "",
    "",
    "",
]


def with_check_digit(first_twelve: str) -> str:
    """Complete twelve digits into a valid IDNP."""
    return first_twelve + idno.calc_check_digit(first_twelve)


def write_csv(
    path: Path,
    rows: Sequence[Sequence[str]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(
    path: Path, rows: Sequence[Sequence[object]], *, title: str = "Foaie1"
) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def replace_in_sheet_xml(path: Path, replacements: dict[str, str]) -> None:
    """Edit the first worksheet's XML, for cells openpyxl cannot write."""
    member = "xl/worksheets/sheet1.xml"
    edited = path.with_suffix(".edited")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(edited, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == member:
                text = data.decode("utf-8")
                for old, new in replacements.items():
                    assert old in text, f"{old!r} not in the sheet XML"
                    text = text.replace(old, new)
                data = text.encode("utf-8")
            target.writestr(item, data)
    shutil.move(edited, path)


def read_rows(
    path: Path, registry: str | None = None
) -> tuple[ConvictedFile, list[ConvictedRow | RejectedRow]]:
    convicted = read_convicted(path, registry=registry)
    return convicted, list(convicted.rows)


def accepted(rows: Sequence[ConvictedRow | RejectedRow]) -> list[ConvictedRow]:
    return [row for row in rows if isinstance(row, ConvictedRow)]


def rejected(rows: Sequence[ConvictedRow | RejectedRow]) -> list[RejectedRow]:
    return [row for row in rows if isinstance(row, RejectedRow)]


def only_rejected(path: Path, registry: str | None = "ANP") -> RejectedRow:
    _, rows = read_rows(path, registry)
    problems = rejected(rows)
    assert len(problems) == 1, problems
    return problems[0]


# Valid files


def test_csv_valid_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "condamnati.csv", [HEADER, ROW_A, ROW_B, ROW_C])

    convicted, rows = read_rows(path, registry="DTI MAI")

    assert convicted.format == "csv"
    assert convicted.encoding == "utf-8-sig"
    assert convicted.columns == HEADER
    assert rejected(rows) == []
    first, second, third = accepted(rows)
    assert first == ConvictedRow(
        row_number=2,
        record_id="R-1001",
        idnp=IDNP_A,
        last_name="Ceban",
        first_name="Ion",
        patronymic="Vasile",
        birth_date=PartialDate(1984, 5, 17),
        birth_place="or. Orhei",
        address="mun. Chișinău, str. Ismail 12",
        article="175 alin. (1)",
        court="Judecătoria Chișinău",
        sentence_date=dt.date(2015, 3, 12),
        release_date=dt.date(2021, 3, 11),
        registry="DTI MAI",
        values=dict(zip(HEADER, ROW_A, strict=True)),
    )
    assert second.row_number == 3
    assert second.idnp is None
    assert second.birth_date == PartialDate(1979)
    assert second.patronymic is None
    assert second.sentence_date == dt.date(2019, 6, 4)
    assert second.release_date is None
    assert second.registry == "ANP"
    assert third.row_number == 4
    assert third.birth_date is None
    assert third.registry == "DTI MAI"


def test_xlsx_valid_rows(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "condamnati.xlsx", [HEADER, ROW_A, ROW_B, ROW_C])

    convicted, rows = read_rows(path, registry="DTI MAI")

    assert convicted.format == "xlsx"
    assert convicted.sheet == "Foaie1"
    assert convicted.encoding is None
    assert convicted.columns == HEADER
    assert rejected(rows) == []
    assert [row.row_number for row in accepted(rows)] == [2, 3, 4]
    first = accepted(rows)[0]
    assert first.idnp == IDNP_A
    assert first.birth_date == PartialDate(1984, 5, 17)
    assert first.release_date == dt.date(2021, 3, 11)
    assert first.values == dict(zip(HEADER, ROW_A, strict=True))
    assert accepted(rows)[2].registry == "DTI MAI"


def test_minimal_required_columns(tmp_path: Path) -> None:
    header = ["IDNP", "Nume", "Prenume", "Data nașterii", "Articol"]
    path = write_csv(
        tmp_path / "minimal.csv",
        [header, ["", "Cojocaru", "Ana", "05.1990", "186"]],
    )

    convicted, rows = read_rows(path, registry="ANP")

    assert convicted.columns == [
        "idnp",
        "last_name",
        "first_name",
        "birth_date",
        "article",
    ]
    (row,) = accepted(rows)
    assert row.birth_date == PartialDate(1990, 5)
    assert row.record_id is None
    assert row.court is None
    assert row.sentence_date is None
    assert set(row.values) == set(convicted.columns)


# Header names

HEADER_SPELLINGS = {
    "romanian": [
        "Nr. înregistrare",
        "Cod personal",
        "Nume",
        "Prenume",
        "Patronimic",
        "Data nașterii",
        "Locul nașterii",
        "Domiciliu",
        "Articol",
        "Instanța",
        "Data sentinței",
        "Data eliberării",
        "Sursa",
    ],
    "romanian_cedilla_upper": [
        "NR INREGISTRARE",
        "COD PERSONAL",
        "NUME",
        "PRENUME",
        "PATRONIMIC",
        "DATA NAŞTERII",
        "LOCUL NAŞTERII",
        "ADRESA",
        "ARTICOL",
        "INSTANŢA",
        "DATA SENTINŢEI",
        "DATA ELIBERĂRII",
        "REGISTRU",
    ],
    "russian": [
        "Номер записи",
        "ИДНОП",
        "Фамилия",
        "Имя",
        "Отчество",
        "Дата рождения",
        "Место рождения",
        "Адрес",
        "Статья",
        "Суд",
        "Дата приговора",
        "Дата освобождения",
        "Источник",
    ],
    "english": [
        "Record ID",
        " IDNP ",
        "Surname",
        "Given name",
        "Patronymic",
        "Date of birth",
        "Place of birth",
        "Address",
        "Article",
        "Court",
        "Sentence date",
        "Release date",
        "Registry",
    ],
    "canonical_spaced": [name.replace("_", " ").title() for name in HEADER],
}


@pytest.mark.parametrize("language", sorted(HEADER_SPELLINGS))
def test_header_aliases(tmp_path: Path, language: str) -> None:
    path = write_csv(tmp_path / "list.csv", [HEADER_SPELLINGS[language], ROW_A])

    convicted, rows = read_rows(path)

    assert convicted.columns == HEADER
    assert convicted.ignored_columns == []
    (row,) = accepted(rows)
    assert row.values == dict(zip(HEADER, ROW_A, strict=True))
    assert row.idnp == IDNP_A


def test_every_alias_maps_to_its_column(tmp_path: Path) -> None:
    for column, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            header = ["idnp", "last_name", "first_name", "birth_date", "article"]
            if column in header:
                header[header.index(column)] = alias
            else:
                header.append(alias)
            path = write_csv(tmp_path / "aliases.csv", [header])

            assert column in read_convicted(path).columns, alias


def test_unknown_columns_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    header = [*HEADER, "Observații", "Inspector"]
    path = write_csv(
        tmp_path / "extra.csv",
        [header, [*ROW_A, "recidivist", "Lungu"], [*ROW_C, "", "Lungu"]],
    )

    with caplog.at_level(logging.WARNING, logger="scut.convicted.reader"):
        convicted, rows = read_rows(path, registry="ANP")

    warnings = [record for record in caplog.records if "unknown" in record.message]
    assert len(warnings) == 1
    assert "Observații, Inspector" in warnings[0].message
    assert convicted.ignored_columns == ["Observații", "Inspector"]
    assert len(accepted(rows)) == 2
    assert "Inspector" not in accepted(rows)[0].values


# Rejected rows

BAD_ROWS = [
    # (case, column to change, bad value, field named, words in the reason)
    ("empty last name", "last_name", " ", "last_name", "empty"),
    ("empty first name", "first_name", "", "first_name", "empty"),
    ("empty article", "article", "", "article", "empty"),
    ("idnp check digit", "idnp", "2002042123458", "idnp", "check digit"),
    ("idnp letters", "idnp", "20020421234AB", "idnp", "digits only"),
    ("idnp scientific", "idnp", "2,00204E+12", "idnp", "scientific notation"),
    ("idnp lost zero", "idnp", IDNP_ZERO[1:], "idnp", "leading zero"),
    ("impossible birth date", "birth_date", "30.02.1990", "birth_date", "no day 30"),
    ("future birth date", "birth_date", "01.01.2999", "birth_date", "future"),
    ("birth date text", "birth_date", "mai 1990", "birth_date", "invalid date"),
    ("sentence date", "sentence_date", "2015-13-01", "sentence_date", "no month"),
    ("partial release date", "release_date", "2021", "release_date", "day and month"),
    ("release before sentence", "release_date", "01.03.2015", "release_date", "before"),
]


@pytest.mark.parametrize(
    ("column", "bad_value", "field", "words"),
    [case[1:] for case in BAD_ROWS],
    ids=[case[0] for case in BAD_ROWS],
)
def test_bad_value_rejects_row(
    tmp_path: Path, column: str, bad_value: str, field: str, words: str
) -> None:
    bad_row = list(ROW_A)
    bad_row[HEADER.index(column)] = bad_value
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"bad.{fmt}"
        rows_in_file = [HEADER, ROW_B, bad_row, ROW_C]
        if fmt == "csv":
            write_csv(path, rows_in_file)
        else:
            write_xlsx(path, rows_in_file)

        _, rows = read_rows(path, registry="ANP")

        problems = rejected(rows)
        assert len(problems) == 1, (fmt, problems)
        assert problems[0].row_number == 3, fmt
        assert problems[0].field == field, fmt
        assert problems[0].value == bad_value, fmt
        assert words in problems[0].reason, (fmt, problems[0].reason)
        assert [row.row_number for row in accepted(rows)] == [2, 4], fmt


def test_no_idnp_and_no_birth_date(tmp_path: Path) -> None:
    bad_row = list(ROW_A)
    bad_row[HEADER.index("idnp")] = ""
    bad_row[HEADER.index("birth_date")] = ""
    path = write_csv(tmp_path / "anonymous.csv", [HEADER, bad_row, ROW_B])

    problem = only_rejected(path)

    assert problem.row_number == 2
    assert problem.field == "idnp"
    assert problem.value is None
    assert "neither an IDNP nor a birth date" in problem.reason


def test_row_with_extra_cells(tmp_path: Path) -> None:
    # An address with an unquoted comma shifts every later cell by one.
    path = tmp_path / "shifted.csv"
    path.write_text(
        ",".join(HEADER)
        + "\n"
        + ",".join(ROW_B)
        + "\n"
        + ",".join(ROW_A).replace('"', "")
        + "\n",
        encoding="utf-8",
    )

    convicted, rows = read_rows(path)

    problems = rejected(rows)
    assert len(problems) == 1
    assert problems[0].row_number == 3
    assert problems[0].field is None
    assert "14 cells but the header has 13 columns" in problems[0].reason
    assert [row.row_number for row in accepted(rows)] == [2]


def test_cell_over_length_limit(tmp_path: Path) -> None:
    bad_row = list(ROW_A)
    bad_row[HEADER.index("address")] = "str. Ștefan cel Mare " * 30
    path = write_csv(tmp_path / "long.csv", [HEADER, bad_row, ROW_C])

    problem = only_rejected(path)

    assert problem.row_number == 2
    assert problem.field == "address"
    assert problem.value is not None
    assert len(problem.value) == MAX_REJECTED_VALUE
    assert f"limit of {MAX_CELL_LENGTH}" in problem.reason


def test_cell_at_length_limit_accepted(tmp_path: Path) -> None:
    row = list(ROW_A)
    row[HEADER.index("address")] = "a" * MAX_CELL_LENGTH
    path = write_csv(tmp_path / "limit.csv", [HEADER, row])

    _, rows = read_rows(path)

    assert len(accepted(rows)) == 1


def test_missing_registry_rejects_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "noregistry.csv", [HEADER, ROW_A, ROW_C])

    _, rows = read_rows(path, registry=None)

    problems = rejected(rows)
    assert len(problems) == 1
    assert problems[0].row_number == 3
    assert problems[0].field == "registry"
    assert "no source registry" in problems[0].reason
    assert accepted(rows)[0].registry == "DTI MAI"


def test_registry_argument_without_column(tmp_path: Path) -> None:
    header = HEADER[:-1]
    path = write_csv(tmp_path / "nocolumn.csv", [header, ROW_A[:-1]])

    _, rows = read_rows(path, registry=" ANP ")

    (row,) = accepted(rows)
    assert row.registry == "ANP"
    assert "registry" not in row.values


def test_blank_rows_skipped(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        handle.write("\n")
        writer.writerow(ROW_B)
        handle.write(",,,,\r\n   \r\n")
        writer.writerow(ROW_C)

    _, rows = read_rows(path, registry="ANP")

    assert rejected(rows) == []
    assert [row.row_number for row in accepted(rows)] == [3, 6]


def test_names_get_comma_below_letters(tmp_path: Path) -> None:
    row = list(ROW_A)
    row[HEADER.index("last_name")] = " Ţurcanu "
    row[HEADER.index("first_name")] = "Ştefan"
    row[HEADER.index("birth_place")] = "s. Ţânţăreni"
    path = write_csv(tmp_path / "cedilla.csv", [HEADER, row])

    _, rows = read_rows(path)

    (person,) = accepted(rows)
    assert person.last_name == "Țurcanu"
    assert person.first_name == "Ștefan"
    assert person.birth_place == "s. Țânțăreni"
    assert person.values["last_name"] == " Ţurcanu "


# CSV encodings, delimiters and quoting


def test_windows_1251_file(tmp_path: Path) -> None:
    header = HEADER_SPELLINGS["russian"]
    row = list(ROW_A)
    row[HEADER.index("last_name")] = "Чебан"
    row[HEADER.index("first_name")] = "Иван"
    row[HEADER.index("patronymic")] = "Васильевич"
    row[HEADER.index("address")] = "г. Кишинёв, ул. Измаильская 12"
    row[HEADER.index("court")] = "Суд Кишинэу"
    path = write_csv(
        tmp_path / "cp1251.csv", [header, row], delimiter=";", encoding="cp1251"
    )

    convicted, rows = read_rows(path)

    assert convicted.encoding == "cp1251"
    (person,) = accepted(rows)
    assert person.last_name == "Чебан"
    assert person.first_name == "Иван"
    assert person.patronymic == "Васильевич"
    assert person.address == "г. Кишинёв, ул. Измаильская 12"


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bom.csv",
        [HEADER_SPELLINGS["romanian"], ROW_A],
        encoding="utf-8-sig",
    )

    convicted, rows = read_rows(path)

    assert convicted.columns[0] == "record_id"
    assert accepted(rows)[0].record_id == "R-1001"


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_delimiter_detected(tmp_path: Path, delimiter: str) -> None:
    # ROW_A's address and article contain commas; only quoting keeps them whole.
    path = write_csv(
        tmp_path / "delimited.csv", [HEADER, ROW_A, ROW_B], delimiter=delimiter
    )

    convicted, rows = read_rows(path)

    assert convicted.columns == HEADER
    assert rejected(rows) == []
    assert accepted(rows)[0].address == "mun. Chișinău, str. Ismail 12"


def test_embedded_newline(tmp_path: Path) -> None:
    row = list(ROW_A)
    row[HEADER.index("address")] = "mun. Bălți,\nstr. Independenței 3, ap. 7"
    path = write_csv(tmp_path / "newline.csv", [HEADER, row, ROW_B], delimiter=";")

    _, rows = read_rows(path)

    first, second = accepted(rows)
    assert first.row_number == 2
    assert first.address == "mun. Bălți, str. Independenței 3, ap. 7"
    assert first.values["address"] == "mun. Bălți,\nstr. Independenței 3, ap. 7"
    assert second.row_number == 4


def test_unbalanced_quote_stops_file(tmp_path: Path) -> None:
    # The quote that opens the address on line 3 is never closed, so the
    # csv module would read lines 3 to 5 as one record.
    path = tmp_path / "broken.csv"
    lines = [
        ";".join(HEADER),
        ";".join(ROW_B),
        ";".join(ROW_A).replace("mun. Chișinău", '"mun. Chișinău'),
        ";".join(ROW_C),
        ";".join(ROW_B),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(ConvictedFileError, match="starting at line 3") as caught:
        read_convicted(path)

    assert str(path) in str(caught.value)
    assert "quote" in str(caught.value)


def test_quote_closed_before_text_stops_file(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    row = ",".join(ROW_B).replace("Elena", '"Elena"x')
    path.write_text(f"{','.join(HEADER)}\n{row}\n", encoding="utf-8")

    with pytest.raises(ConvictedFileError, match="starting at line 2"):
        read_convicted(path)


def test_nul_byte_rejects_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nul.csv", [HEADER, ROW_A, ROW_B])
    path.write_bytes(path.read_bytes().replace(b"Elena", b"El\x00ena"))

    with pytest.raises(ConvictedFileError, match="NUL byte at line 3"):
        read_convicted(path)


def test_neither_utf8_nor_cp1251(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "garbled.csv", [HEADER, ROW_A])
    path.write_bytes(path.read_bytes().replace(b"Ceban", b"Ceb\x98\xffn"))

    with pytest.raises(ConvictedFileError, match="neither UTF-8"):
        read_convicted(path)


def test_utf16_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"
    path.write_text("\t".join(HEADER) + "\n", encoding="utf-16")

    with pytest.raises(ConvictedFileError, match="UTF-16"):
        read_convicted(path)


# Whole-file errors


def test_missing_required_column(tmp_path: Path) -> None:
    header = [name for name in HEADER if name != "birth_date"]
    path = write_csv(tmp_path / "nobirth.csv", [header, ROW_A[:-1]])

    with pytest.raises(ConvictedFileError) as caught:
        read_convicted(path)

    message = str(caught.value)
    assert "required column missing: birth_date" in message
    assert "data nasterii" in message
    assert "дата рождения" in message
    assert "'last_name'" in message


def test_missing_columns_all_named(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "wrong.csv", [["Nume", "Prenume", "Vârsta"], ["a", "b", "c"]]
    )

    with pytest.raises(ConvictedFileError) as caught:
        read_convicted(path)

    message = str(caught.value)
    assert "required columns missing: idnp" in message
    assert "birth_date (" in message
    assert "article (" in message
    assert "'Vârsta'" in message


def test_duplicate_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "twice.csv", [[*HEADER, "Nume"], [*ROW_A, "Ceban"]])

    with pytest.raises(
        ConvictedFileError, match="duplicate column last_name"
    ) as caught:
        read_convicted(path)

    assert "'last_name' and 'Nume'" in str(caught.value)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(ConvictedFileError, match="empty"):
        read_convicted(path)


def test_blank_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n  \n", encoding="utf-8")

    with pytest.raises(ConvictedFileError, match="no header row"):
        read_convicted(path)


def test_header_only_gives_no_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "header.csv", [HEADER])

    _, rows = read_rows(path)

    assert rows == []


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConvictedFileError, match="cannot be read"):
        read_convicted(tmp_path / "absent.csv")


def test_old_xls_rejected(tmp_path: Path) -> None:
    path = tmp_path / "lista.xls"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504)

    with pytest.raises(ConvictedFileError, match=r"save it as \.xlsx or as CSV"):
        read_convicted(path)


def test_old_xls_content_with_other_name(tmp_path: Path) -> None:
    path = tmp_path / "lista.csv"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504)

    with pytest.raises(ConvictedFileError, match=r"\(\.xls\) workbooks"):
        read_convicted(path)


def test_xlsx_expanding_past_limit_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_xlsx(tmp_path / "bomb.xlsx", [HEADER, ROW_A])
    with zipfile.ZipFile(path) as archive:
        expanded = sum(info.file_size for info in archive.infolist())
    monkeypatch.setattr(reader, "MAX_XLSX_EXPANDED_BYTES", expanded - 1)

    with pytest.raises(ConvictedFileError, match="expands to .* over the limit"):
        read_rows(path)

    monkeypatch.setattr(reader, "MAX_XLSX_EXPANDED_BYTES", expanded)
    assert len(accepted(read_rows(path)[1])) == 1


def test_xlsx_long_blank_run_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "MAX_BLANK_ROW_RUN", 5)
    blank = [""] * len(HEADER)
    path = write_xlsx(tmp_path / "gap.xlsx", [HEADER, ROW_A, *[blank] * 6, ROW_B])
    short = write_xlsx(tmp_path / "ok.xlsx", [HEADER, ROW_A, *[blank] * 5, ROW_B])

    with pytest.raises(ConvictedFileError, match="more than 5 blank rows"):
        read_rows(path)
    assert len(accepted(read_rows(short)[1])) == 2


def test_xlsx_name_with_csv_content(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "lista.xlsx", [HEADER, ROW_A])

    with pytest.raises(ConvictedFileError, match="no ZIP signature"):
        read_convicted(path)


def test_xlsx_content_with_csv_name(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "lista.xlsx", [HEADER, ROW_A])
    renamed = path.rename(tmp_path / "lista.csv")

    convicted, rows = read_rows(renamed)

    assert convicted.format == "xlsx"
    assert len(accepted(rows)) == 1


def test_zip_that_is_no_workbook(tmp_path: Path) -> None:
    path = tmp_path / "lista.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lista.csv", ",".join(HEADER))

    with pytest.raises(ConvictedFileError, match="not a readable XLSX workbook"):
        read_convicted(path)


# XLSX cells


def test_xlsx_typed_cells(tmp_path: Path) -> None:
    rows_in_file: list[list[object]] = [
        [*HEADER],
        # A date cell, an IDNP typed as a number and a date cell with a time.
        [
            1001,
            int(IDNP_A),
            "Ceban",
            "Ion",
            None,
            dt.datetime(1984, 5, 17),
            None,
            None,
            175,
            None,
            dt.date(2015, 3, 12),
            dt.datetime(2021, 3, 11, 9, 30),
            "ANP",
        ],
        # An IDNP whose leading zero Excel dropped, and a year as a number.
        [1002, int(IDNP_ZERO), "Rusu", "Elena", None, 1979, None, None, "208/1"],
        # A date written as text in a text cell.
        [1003, IDNP_C, "Moraru", "Petru", None, "03.11.1969", None, None, "174"],
    ]
    path = write_xlsx(tmp_path / "typed.xlsx", rows_in_file)

    _, rows = read_rows(path, registry="DTI MAI")

    assert rejected(rows) == []
    first, second, third = accepted(rows)
    assert first.idnp == IDNP_A
    assert first.record_id == "1001"
    assert first.birth_date == PartialDate(1984, 5, 17)
    assert first.article == "175"
    assert first.sentence_date == dt.date(2015, 3, 12)
    assert first.release_date == dt.date(2021, 3, 11)
    assert first.values["birth_date"] == "1984-05-17"
    assert first.values["release_date"] == "2021-03-11 09:30:00"
    assert second.idnp == IDNP_ZERO
    assert second.values["idnp"] == IDNP_ZERO[1:]
    assert second.birth_date == PartialDate(1979)
    assert third.birth_date == PartialDate(1969, 11, 3)


def test_xlsx_float_idnp_rejected(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "float.xlsx", [HEADER, ROW_B, ROW_A])
    # Stored the way a spreadsheet keeps a number it shows as 2.00204E+12.
    replace_in_sheet_xml(
        path,
        {
            f'<c r="B3" t="inlineStr"><is><t>{IDNP_A}</t></is></c>': (
                '<c r="B3" t="n"><v>2.00204E+12</v></c>'
            )
        },
    )

    problem = only_rejected(path)

    assert problem.row_number == 3
    assert problem.field == "idnp"
    assert "2.00204e+12" in problem.reason
    assert "format the IDNP column as text" in problem.reason


def test_xlsx_number_idnp_wrong_digits(tmp_path: Path) -> None:
    row: list[object] = list(ROW_A)
    row[HEADER.index("idnp")] = 2002040000000
    path = write_xlsx(tmp_path / "rounded.xlsx", [HEADER, row])

    problem = only_rejected(path)

    assert problem.field == "idnp"
    assert "check digit" in problem.reason
    assert "the cell holds a number" in problem.reason


def test_xlsx_number_in_date_column(tmp_path: Path) -> None:
    row: list[object] = list(ROW_A)
    row[HEADER.index("sentence_date")] = 42075
    path = write_xlsx(tmp_path / "serial.xlsx", [HEADER, row])

    problem = only_rejected(path)

    assert problem.field == "sentence_date"
    assert problem.value == "42075"
    assert "not a date" in problem.reason


def test_xlsx_formula_cached_value(tmp_path: Path) -> None:
    row: list[object] = list(ROW_A)
    row[HEADER.index("last_name")] = '=UPPER("ceban")'
    path = write_xlsx(tmp_path / "formula.xlsx", [HEADER, row])
    replace_in_sheet_xml(
        path,
        {
            '<c r="C2"><f>UPPER("ceban")</f><v /></c>': (
                '<c r="C2" t="str"><f>UPPER("ceban")</f><v>CEBAN</v></c>'
            )
        },
    )

    _, rows = read_rows(path)

    (person,) = accepted(rows)
    assert person.last_name == "CEBAN"


def test_xlsx_extra_cell_and_blank_rows(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(ROW_A)
    for column, value in enumerate(ROW_B, start=1):
        sheet.cell(row=5, column=column, value=value)
    sheet.cell(row=5, column=len(HEADER) + 2, value="rest")
    for column, value in enumerate(ROW_C, start=1):
        sheet.cell(row=7, column=column, value=value)
    path = tmp_path / "gaps.xlsx"
    workbook.save(path)

    _, rows = read_rows(path, registry="ANP")

    assert [row.row_number for row in accepted(rows)] == [2, 7]
    (problem,) = rejected(rows)
    assert problem.row_number == 5
    assert problem.field is None
    assert "15 cells" in problem.reason


def test_xlsx_corrupt_worksheet_stops_rows(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "corrupt.xlsx", [HEADER, *[ROW_A] * 30])
    replace_in_sheet_xml(path, {'<row r="20">': '<row r="20"<<'})
    convicted = read_convicted(path)
    seen = []

    with pytest.raises(ConvictedFileError, match="corrupt after row 19"):
        for row in convicted.rows:
            seen.append(row.row_number)

    assert seen == list(range(2, 20))


def test_xlsx_named_sheet_preferred(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "Note"
    notes.append(["Lista trimisă de DTI MAI"])
    listing = workbook.create_sheet("Condamnați 2025")
    listing.append(HEADER)
    listing.append(ROW_A)
    path = tmp_path / "sheets.xlsx"
    workbook.save(path)

    convicted, rows = read_rows(path)

    assert convicted.sheet == "Condamnați 2025"
    assert len(accepted(rows)) == 1


def test_xlsx_header_below_blank_rows(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for column, name in enumerate(HEADER, start=1):
        sheet.cell(row=3, column=column, value=name)
    for column, value in enumerate(ROW_A, start=1):
        sheet.cell(row=4, column=column, value=value)
    path = tmp_path / "low.xlsx"
    workbook.save(path)

    _, rows = read_rows(path)

    assert [row.row_number for row in accepted(rows)] == [4]


def open_descriptors(path: Path) -> int:
    """Count this process's file descriptors open on ``path`` (Linux only)."""
    links = Path("/proc/self/fd").iterdir()
    return sum(1 for link in links if link.resolve(strict=False) == path)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_file_open_only_while_iterating(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"early.{fmt}"
    if fmt == "csv":
        write_csv(path, [HEADER, ROW_A, ROW_A])
    else:
        write_xlsx(path, [HEADER, ROW_A, ROW_A])
    rows = read_convicted(path).rows
    assert isinstance(rows, Generator)
    assert open_descriptors(path) == 0

    first = next(rows)
    assert open_descriptors(path) == 1
    rows.close()

    assert isinstance(first, ConvictedRow)
    assert open_descriptors(path) == 0


# The layout page


def test_layout_page_examples(tmp_path: Path) -> None:
    page = Path(__file__).parents[2] / "docs" / "convicted-layout.md"
    examples = re.findall(r"```csv\n(.*?)```", page.read_text("utf-8"), re.DOTALL)
    assert len(examples) == 2

    counts = []
    for number, example in enumerate(examples):
        path = tmp_path / f"example{number}.csv"
        path.write_text(example, encoding="utf-8")
        convicted, rows = read_rows(path)
        assert convicted.columns == HEADER
        assert rejected(rows) == []
        counts.append(len(rows))

    assert counts == [3, 1]


# Large files


@pytest.mark.slow
def test_large_csv_flat_memory(tmp_path: Path) -> None:
    count = 100_000
    path = tmp_path / "large.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        for number in range(count):
            cells = list(ROW_A)
            cells[0] = f"R-{number}"
            cells[1] = with_check_digit(f"2002{number:08d}")
            writer.writerow(cells)

    started = time.perf_counter()
    tracemalloc.start()
    try:
        convicted = read_convicted(path, registry="ANP")
        total = 0
        for row in convicted.rows:
            assert isinstance(row, ConvictedRow), row
            total += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - started

    print(f"{count} rows, {path.stat().st_size} bytes: {seconds:.1f} s, peak {peak} B")
    assert total == count
    assert peak < 20 * 1024 * 1024


def test_planned_release_date_accepted(tmp_path: Path) -> None:
    next_year = dt.date.today().year + 2
    path = tmp_path / "planned.csv"
    path.write_text(
        "idnp,last_name,first_name,birth_date,article,sentence_date,release_date,"
        "registry\n"
        f"2002042123459,Ceban,Ion,1980,175,01.02.2020,01.02.{next_year},ANP\n",
        encoding="utf-8",
    )
    (row,) = list(read_convicted(path).rows)
    assert isinstance(row, ConvictedRow)
    assert row.release_date == dt.date(next_year, 2, 1)
