"""Reading the convicted-offender lists exported as CSV or XLSX.

The ministry's IT service and the penitentiary administration send these
lists; docs/convicted-layout.md is the layout they are asked to follow.
``read_convicted`` checks the whole file before it returns, so a file that
cannot be read raises ConvictedFileError before any row is seen. The
returned file then streams each data row as a ConvictedRow, or as a
RejectedRow naming the row, the column and the reason when a value is
invalid.

CSV files are checked in two passes before the rows are read. The first
looks for NUL bytes and tries a full UTF-8 decode, and Windows-1251 is
used when that fails. The second runs the CSV parser over the whole file,
so that a broken quote stops the file with the line where the broken
record starts. XLSX files are read with openpyxl in read-only mode, which
keeps memory flat.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import logging
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from scut.errors import ScutError
from scut.persons.dates import (
    InvalidDate,
    PartialDate,
    parse_date,
    partial_date_from_value,
)
from scut.persons.idnp import InvalidIdnp, validate_idnp

log = logging.getLogger(__name__)

# Maximum length of a cell, in characters. A longer cell rejects its row.
MAX_CELL_LENGTH = 500
# Maximum length of the offending value that a RejectedRow keeps.
MAX_REJECTED_VALUE = 200
# Maximum total size of an XLSX file's parts once expanded. A workbook of
# 100,000 rows of a dozen short columns expands to an estimated 60 MB.
MAX_XLSX_EXPANDED_BYTES = 512 * 1024 * 1024
# Blank rows in a row after which a worksheet is rejected. A real list has
# no such run, and millions of blank rows take minutes to read.
MAX_BLANK_ROW_RUN = 10_000
DELIMITERS = (",", ";", "\t")

# Header names accepted for each canonical column, in English, Romanian and
# Russian. The canonical name itself is accepted too. Matching ignores case,
# diacritics, punctuation and the space or underscore between words.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "record_id": (
        "id",
        "record id",
        "record number",
        "nr. inregistrare",
        "nr. de inregistrare",
        "numar de inregistrare",
        "номер записи",
        "№ записи",
    ),
    "idnp": ("cod personal", "codul personal", "personal code", "идноп"),
    "last_name": ("nume", "numele", "surname", "family name", "фамилия"),
    "first_name": ("prenume", "prenumele", "given name", "имя"),
    "patronymic": ("patronimic", "patronimicul", "отчество"),
    "birth_date": (
        "data nasterii",
        "data de nastere",
        "date of birth",
        "дата рождения",
    ),
    "birth_place": (
        "locul nasterii",
        "locul de nastere",
        "place of birth",
        "место рождения",
    ),
    "address": ("adresa", "domiciliu", "domiciliul", "адрес", "место жительства"),
    "article": ("articol", "articolul", "articol cod penal", "статья", "статья ук"),
    "court": ("instanta", "instanta de judecata", "суд"),
    "sentence_date": (
        "data sentintei",
        "data condamnarii",
        "date of sentence",
        "дата приговора",
    ),
    "release_date": ("data eliberarii", "date of release", "дата освобождения"),
    "registry": ("registru", "registrul", "sursa", "source", "источник", "реестр"),
}
COLUMNS = tuple(COLUMN_ALIASES)
# The idnp column must exist, but a row may leave it empty (foreign citizens).
REQUIRED_COLUMNS = ("idnp", "last_name", "first_name", "birth_date", "article")
# A worksheet whose name contains one of these (after header_key) is read
# in place of the first worksheet.
SHEET_NAME_WORDS = ("condamnat", "convicted", "осужд")

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_HEAD_BYTES = 65536
_CHUNK_BYTES = 1 << 20
# The only byte that Windows-1251 leaves undefined.
_UNDEFINED_IN_CP1251 = b"\x98"
_CEDILLA_TO_COMMA = str.maketrans("ŞşŢţ", "ȘșȚț")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_AS_TEXT_HINT = "format the IDNP column as text and enter the 13 digits again"
# Exceptions that openpyxl 3.1 and zipfile raise for a damaged or foreign
# ZIP file. SyntaxError is the base of both ElementTree's and lxml's XML
# parse errors.
_OPENPYXL_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    InvalidFileException,
    KeyError,
    NotImplementedError,
    OSError,
    SyntaxError,
    TypeError,
    ValueError,
)


class ConvictedFileError(ScutError):
    """Raised when a whole convicted-offender file cannot be read."""


@dataclass(frozen=True, slots=True)
class ConvictedRow:
    """One valid data row of a convicted-offender list."""

    row_number: int
    record_id: str | None
    idnp: str | None
    last_name: str
    first_name: str
    patronymic: str | None
    birth_date: PartialDate | None
    birth_place: str | None
    address: str | None
    article: str
    court: str | None
    sentence_date: dt.date | None
    release_date: dt.date | None
    registry: str
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A data row left out because of its first invalid value."""

    row_number: int
    field: str | None
    value: str | None
    reason: str


@dataclass
class ConvictedFile:
    """A checked convicted-offender file whose rows are read on iteration.

    ``rows`` opens the file when iteration starts and closes it at the end
    or when the generator is closed. It raises ConvictedFileError if the
    file changed after read_convicted checked it, or if an XLSX worksheet
    is corrupt past its header.
    """

    path: Path
    format: str
    columns: list[str]
    rows: Iterator[ConvictedRow | RejectedRow]
    encoding: str | None = None
    sheet: str | None = None
    ignored_columns: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Header:
    """Canonical columns mapped to their cell index in a row."""

    positions: dict[str, int]
    width: int
    ignored: list[str]


class _RowProblem(ScutError):
    """Raised inside the reader for the first invalid value of a row."""

    def __init__(self, column: str | None, value: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.value = value
        self.reason = reason


def read_convicted(path: Path, *, registry: str | None = None) -> ConvictedFile:
    """Check the file at ``path`` and return it ready to stream its rows.

    The format comes from the content: a ZIP file is XLSX, anything else
    is read as CSV. ``registry`` names the source registry for rows whose
    file has no registry column or leaves it empty. Raises
    ConvictedFileError when the file is empty, unreadable, an old .xls
    workbook, binary, in neither UTF-8 nor Windows-1251, broken by an
    unbalanced quote, or when its header lacks a required column or has
    two columns with the same meaning.
    """
    default_registry = _clean_text(registry) if registry else None
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as error:
        raise ConvictedFileError(f"{path}: cannot be read: {error}") from error

    if _detect_format(path, head) == "xlsx":
        return _open_xlsx(path, default_registry)
    return _open_csv(path, head, default_registry)


def header_key(name: str) -> str:
    """Return the form of a header name that aliases are matched on.

    Diacritics are removed (so cedilla and comma-below letters match), case
    is folded and runs of punctuation, underscores and spaces become one
    space: "Data nașterii", "DATA NAŞTERII" and "data_nasterii" match.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = re.split(r"[\W_]+", bare.casefold())
    return " ".join(word for word in words if word)


_ALIAS_TO_COLUMN = {
    header_key(alias): column
    for column, aliases in COLUMN_ALIASES.items()
    for alias in (column, *aliases)
}


def _detect_format(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if not head:
        raise ConvictedFileError(f"{path}: the file is empty")
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE2_MAGIC) or suffix == ".xls":
        raise ConvictedFileError(
            f"{path}: old Excel 97-2003 (.xls) workbooks are not supported; "
            "open it in Excel or LibreOffice and save it as .xlsx or as CSV UTF-8"
        )
    if suffix in (".xlsx", ".xlsm"):
        raise ConvictedFileError(
            f"{path}: named {suffix} but not an XLSX workbook (no ZIP signature); "
            "export the list again as .xlsx or as CSV UTF-8"
        )
    if head.startswith(_UTF16_BOMS):
        raise ConvictedFileError(
            f"{path}: UTF-16 text (Excel's 'Unicode text') is not supported; "
            "save the list as CSV UTF-8"
        )
    return "csv"


# CSV


def _open_csv(path: Path, head: bytes, registry: str | None) -> ConvictedFile:
    encoding = _choose_encoding(path)
    delimiter = _sniff_delimiter(head.decode(encoding, errors="replace"))
    header_line, header = _check_csv(path, encoding, delimiter)
    log.info("Reading %s as CSV, encoding %s, delimiter %r", path, encoding, delimiter)
    rows = _csv_rows(path, encoding, delimiter, header_line, header, registry)
    return ConvictedFile(
        path=path,
        format="csv",
        columns=list(header.positions),
        rows=rows,
        encoding=encoding,
        ignored_columns=header.ignored,
    )


def _choose_encoding(path: Path) -> str:
    """Return "utf-8-sig" when the whole file decodes as UTF-8, else "cp1251".

    Raises ConvictedFileError for a NUL byte, because a CSV text export does
    not contain one, and for a file that is neither UTF-8 nor Windows-1251.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_error: str | None = None
    cp1251_possible = True
    line = 1
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                nul_line = line + chunk.count(b"\n", 0, nul)
                raise ConvictedFileError(
                    f"{path}: NUL byte at line {nul_line}; "
                    "this is a binary or UTF-16 file, not a CSV text export: "
                    "export the list again as CSV UTF-8"
                )
            if utf8_error is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    utf8_error = f"byte {offset + error.start}: {error.reason}"
            cp1251_possible = cp1251_possible and _UNDEFINED_IN_CP1251 not in chunk
            line += chunk.count(b"\n")
            offset += len(chunk)
    if utf8_error is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            utf8_error = f"byte {offset}: {error.reason}"

    if utf8_error is None:
        return "utf-8-sig"
    if not cp1251_possible:
        raise ConvictedFileError(
            f"{path}: the text is neither UTF-8 (invalid at {utf8_error}) nor "
            "Windows-1251; export the list again as CSV UTF-8"
        )
    log.info("%s is not UTF-8 (%s); reading it as Windows-1251", path, utf8_error)
    return "cp1251"


def _sniff_delimiter(head: str) -> str:
    """Return the delimiter that splits the header into the most known columns.

    Ties go to the delimiter that gives more cells, then to the order of
    DELIMITERS.
    """
    best, best_score = DELIMITERS[0], (-1, -1)
    for delimiter in DELIMITERS:
        reader = csv.reader(head.splitlines(keepends=True), delimiter=delimiter)
        try:
            cells = next((row for row in reader if not _is_blank(row)), [])
        except csv.Error:
            continue
        known = sum(header_key(cell) in _ALIAS_TO_COLUMN for cell in cells)
        score = (known, len(cells))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_records(
    handle: TextIO, delimiter: str, path: Path
) -> Iterator[tuple[int, list[str]]]:
    """Yield each CSV record with the line number where it starts."""
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ConvictedFileError(
                f"{path}: broken CSV record starting at line {start} ({error} at "
                f"line {reader.line_num}); a quote that opens a value without "
                "closing it is the usual cause: fix the quoting and export again"
            ) from error
        yield start, cells
        start = reader.line_num + 1


def _check_csv(path: Path, encoding: str, delimiter: str) -> tuple[int, _Header]:
    """Read the header and parse every record once to find broken quoting."""
    header: tuple[int, _Header] | None = None
    with path.open(encoding=encoding, newline="") as handle:
        for line, cells in _csv_records(handle, delimiter, path):
            if header is None and not _is_blank(cells):
                header = (line, _map_header(path, cells))
    if header is None:
        raise ConvictedFileError(f"{path}: the file has no header row")
    return header


def _csv_rows(
    path: Path,
    encoding: str,
    delimiter: str,
    header_line: int,
    header: _Header,
    registry: str | None,
) -> Iterator[ConvictedRow | RejectedRow]:
    with path.open(encoding=encoding, newline="") as handle:
        for line, cells in _csv_records(handle, delimiter, path):
            if line > header_line and not _is_blank(cells):
                yield _build_row(line, cells, header, registry)


# XLSX


def _open_xlsx(path: Path, registry: str | None) -> ConvictedFile:
    with _open_workbook(path) as workbook:
        sheet = _choose_sheet(path, workbook)
        header_row, header = _read_xlsx_header(path, sheet)
        title = str(sheet.title)
    log.info("Reading %s as XLSX, worksheet %r", path, title)
    rows = _xlsx_rows(path, title, header_row, header, registry)
    return ConvictedFile(
        path=path,
        format="xlsx",
        columns=list(header.positions),
        rows=rows,
        sheet=title,
        ignored_columns=header.ignored,
    )


def _check_expanded_size(path: Path) -> None:
    """Reject a workbook whose parts expand past MAX_XLSX_EXPANDED_BYTES.

    openpyxl reads the shared strings whole, so a small file whose strings
    part expands to gigabytes would fill the memory (a zip bomb). The
    sizes the archive declares are checked before any part is read.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except _OPENPYXL_ERRORS as error:
        raise ConvictedFileError(
            f"{path}: not a readable XLSX workbook ({error}); "
            "export the list again as .xlsx or as CSV UTF-8"
        ) from error
    if expanded > MAX_XLSX_EXPANDED_BYTES:
        raise ConvictedFileError(
            f"{path}: the workbook expands to {expanded:,} bytes, over the "
            f"limit of {MAX_XLSX_EXPANDED_BYTES:,}; export the list as CSV "
            "UTF-8 instead"
        )


@contextmanager
def _open_workbook(path: Path) -> Iterator[Any]:
    _check_expanded_size(path)
    # A file object rather than the path, because openpyxl 3.1 rejects a
    # path whose extension is not .xlsx, .xlsm, .xltx or .xltm.
    with path.open("rb") as handle:
        try:
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except _OPENPYXL_ERRORS as error:
            raise ConvictedFileError(
                f"{path}: not a readable XLSX workbook ({error}); "
                "export the list again as .xlsx or as CSV UTF-8"
            ) from error
        try:
            yield workbook
        finally:
            workbook.close()


def _choose_sheet(path: Path, workbook: Any) -> Any:
    sheets = list(workbook.worksheets)
    if not sheets:
        raise ConvictedFileError(f"{path}: the workbook has no worksheet")
    for sheet in sheets:
        name = header_key(str(sheet.title))
        if any(word in name for word in SHEET_NAME_WORDS):
            return sheet
    return sheets[0]


def _sheet_rows(path: Path, sheet: Any) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Yield each worksheet row with its row number, blank rows included."""
    # The stored dimensions are wrong in some generated files, and openpyxl
    # would stop at the stored last row.
    sheet.reset_dimensions()
    cells = iter(sheet.iter_rows(values_only=True))
    number = 0
    blank_run = 0
    while True:
        try:
            row = next(cells)
        except StopIteration:
            return
        except _OPENPYXL_ERRORS as error:
            raise ConvictedFileError(
                f"{path}: worksheet {sheet.title!r} is corrupt after row {number} "
                f"({error}); export the list again"
            ) from error
        number += 1
        trimmed = _trim_row(row)
        blank_run = 0 if trimmed else blank_run + 1
        if blank_run > MAX_BLANK_ROW_RUN:
            raise ConvictedFileError(
                f"{path}: worksheet {sheet.title!r} has more than "
                f"{MAX_BLANK_ROW_RUN:,} blank rows in a row before row {number}; "
                "delete the blank rows and export the list again"
            )
        yield number, trimmed


def _read_xlsx_header(path: Path, sheet: Any) -> tuple[int, _Header]:
    for number, cells in _sheet_rows(path, sheet):
        if cells:
            return number, _map_header(path, [_cell_text(cell) for cell in cells])
    raise ConvictedFileError(f"{path}: worksheet {sheet.title!r} is empty")


def _xlsx_rows(
    path: Path, title: str, header_row: int, header: _Header, registry: str | None
) -> Iterator[ConvictedRow | RejectedRow]:
    with _open_workbook(path) as workbook:
        for number, cells in _sheet_rows(path, workbook[title]):
            if number > header_row and cells:
                yield _build_row(number, cells, header, registry)


def _trim_row(row: Sequence[object]) -> tuple[object, ...]:
    """Drop the empty cells at the end, which read-only openpyxl pads with."""
    end = len(row)
    while end and _cell_text(row[end - 1]).strip() == "":
        end -= 1
    return tuple(row[:end])


def _cell_text(value: object) -> str:
    """Return a cell's value as the text a spreadsheet would show."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


# Header and rows, common to both formats


def _map_header(path: Path, cells: Sequence[str]) -> _Header:
    """Map header cells to canonical columns, or raise ConvictedFileError.

    Cells with no name are skipped, and names that match no alias are
    listed in ``ignored`` and logged once.
    """
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        name = cell.strip()
        column = _ALIAS_TO_COLUMN.get(header_key(name))
        if column is None:
            if name:
                ignored.append(name)
            continue
        if column in positions:
            first = cells[positions[column]].strip()
            raise ConvictedFileError(
                f"{path}: duplicate column {column}: the header has both "
                f"{first!r} and {name!r}; remove one of them"
            )
        positions[column] = index

    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        raise ConvictedFileError(_missing_columns_message(path, missing, cells))
    if ignored:
        log.warning("%s: ignoring unknown columns %s", path, ", ".join(ignored))
    return _Header(positions=positions, width=len(cells), ignored=ignored)


def _missing_columns_message(
    path: Path, missing: Sequence[str], cells: Sequence[str]
) -> str:
    expected = "; ".join(
        f"{column} (accepted header names: {', '.join(_accepted_names(column))})"
        for column in missing
    )
    found = ", ".join(repr(cell.strip()) for cell in cells if cell.strip())
    noun = "column" if len(missing) == 1 else "columns"
    return f"{path}: required {noun} missing: {expected}. The header has: {found}"


def _accepted_names(column: str) -> tuple[str, ...]:
    return (column, *COLUMN_ALIASES[column])


def _build_row(
    row_number: int,
    cells: Sequence[object],
    header: _Header,
    registry: str | None,
) -> ConvictedRow | RejectedRow:
    raw = {
        column: cells[index] if index < len(cells) else None
        for column, index in header.positions.items()
    }
    values = {column: _cell_text(value) for column, value in raw.items()}
    try:
        if len(cells) > header.width:
            raise _RowProblem(
                None,
                None,
                f"the row has {len(cells)} cells but the header has "
                f"{header.width} columns; a value probably contains an "
                "unquoted delimiter",
            )
        for column, text in values.items():
            if len(text) > MAX_CELL_LENGTH:
                raise _RowProblem(
                    column,
                    text,
                    f"the value has {len(text)} characters, more than the "
                    f"limit of {MAX_CELL_LENGTH}",
                )
        return _convicted_row(row_number, raw, values, registry)
    except _RowProblem as problem:
        value = problem.value[:MAX_REJECTED_VALUE] if problem.value else problem.value
        return RejectedRow(row_number, problem.column, value, problem.reason)


def _convicted_row(
    row_number: int,
    raw: dict[str, object],
    values: dict[str, str],
    registry: str | None,
) -> ConvictedRow:
    """Validate the cells of one row in column order; raise _RowProblem."""
    last_name = _required_text("last_name", values)
    first_name = _required_text("first_name", values)

    idnp = _parse_idnp(raw["idnp"])
    birth_date = _parse_birth_date(raw["birth_date"])
    if idnp is None and birth_date is None:
        raise _RowProblem(
            "idnp", None, "neither an IDNP nor a birth date; give at least one"
        )
    article = _required_text("article", values)

    sentence_date = _parse_full_date("sentence_date", raw.get("sentence_date"))
    release_date = _parse_full_date("release_date", raw.get("release_date"))
    if sentence_date and release_date and release_date < sentence_date:
        raise _RowProblem(
            "release_date",
            values["release_date"],
            f"the release date {release_date} is before the sentence date "
            f"{sentence_date}",
        )

    source = _optional_text("registry", values) or registry
    if source is None:
        raise _RowProblem(
            "registry",
            None,
            "no source registry: the registry cell is empty and none was given "
            "for the file",
        )

    return ConvictedRow(
        row_number=row_number,
        record_id=_optional_text("record_id", values),
        idnp=idnp,
        last_name=last_name,
        first_name=first_name,
        patronymic=_optional_text("patronymic", values),
        birth_date=birth_date,
        birth_place=_optional_text("birth_place", values),
        address=_optional_text("address", values),
        article=article,
        court=_optional_text("court", values),
        sentence_date=sentence_date,
        release_date=release_date,
        registry=source,
        values=values,
    )


def _clean_text(text: str) -> str | None:
    """Return the text in NFC with comma-below Romanian letters and single
    spaces, or None when nothing but white space is left."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(_CEDILLA_TO_COMMA)
    return " ".join(text.split()) or None


def _optional_text(column: str, values: dict[str, str]) -> str | None:
    return _clean_text(values.get(column, ""))


def _required_text(column: str, values: dict[str, str]) -> str:
    text = _clean_text(values[column])
    if text is None:
        raise _RowProblem(
            column, values[column], f"{column} is empty, but every row needs one"
        )
    return text


def _parse_idnp(value: object) -> str | None:
    """Return the IDNP of a cell, None when empty; raise _RowProblem.

    Excel keeps an IDNP typed as a number as an integer without its
    leading zero, so an integer of 12 digits gets the zero back. A float
    cell is rejected, because it may be a rounded number.
    """
    if isinstance(value, float):
        raise _RowProblem(
            "idnp",
            _cell_text(value),
            f"the IDNP cell holds the number {value:.6g}, which spreadsheets "
            f"round and show in scientific notation; {_AS_TEXT_HINT}",
        )
    if isinstance(value, int) and not isinstance(value, bool):
        digits = str(value)
        if len(digits) == 12:
            digits = "0" + digits
        return _validate_idnp(digits, f"the cell holds a number; {_AS_TEXT_HINT}")

    text = _cell_text(value).strip()
    if not text:
        return None
    if _SCIENTIFIC.fullmatch(text):
        raise _RowProblem(
            "idnp",
            text,
            f"the IDNP {text!r} is in scientific notation, so digits are lost; "
            f"{_AS_TEXT_HINT}",
        )
    hint = None
    if len(text) == 12 and text.isdigit():
        hint = f"a spreadsheet may have dropped a leading zero; {_AS_TEXT_HINT}"
    return _validate_idnp(text, hint)


def _validate_idnp(text: str, hint: str | None) -> str:
    try:
        return validate_idnp(text)
    except InvalidIdnp as error:
        reason = f"{error}; {hint}" if hint else str(error)
        raise _RowProblem("idnp", text, reason) from error


def _parse_birth_date(value: object) -> PartialDate | None:
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        return None
    try:
        return partial_date_from_value(value)
    except InvalidDate as error:
        raise _RowProblem("birth_date", _cell_text(value), str(error)) from error


def _parse_full_date(column: str, value: object) -> dt.date | None:
    # Date cells go through parse_date as ISO text, so that the same rules
    # apply to cells and to text: no year before 1900, and no future date
    # but for a release date, which may be planned.
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        value = value.isoformat()
    text = _cell_text(value).strip()
    if not text:
        return None
    if not isinstance(value, str):
        raise _RowProblem(
            column,
            text,
            f"{text!r} is not a date; write the date as DD.MM.YYYY or "
            "YYYY-MM-DD, or format the cell as a date",
        )
    try:
        return parse_date(text, allow_future=column == "release_date")
    except InvalidDate as error:
        raise _RowProblem(column, text, str(error)) from error


def _is_blank(cells: Sequence[object]) -> bool:
    return all(_cell_text(cell).strip() == "" for cell in cells)
