"""The verification result: counts, series, contact cases, and its renderings.

One submission per database backend is ingested once for the module. It
contains four files known to a VICS set or an earlier case, a turned copy
of a picture whose PDQ hash the set lists, and one known-good file. It also
contains three new files (one with GPS and a camera serial in its EXIF, one
whose path contains a script tag) and a symbolic link that cannot be read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from PIL import Image
from rich.console import Console
from sqlalchemy import make_url, select

from drawn_pictures import draw_picture
from scut.db.models import Media
from scut.db.session import Database
from scut.demo.media import Camera, Capture, Place, build_exif, encode_jpeg
from scut.hashing.views import picture_hashes
from scut.hashsets.importer import import_hash_set
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.settings import Settings
from scut.verification.render import (
    print_report,
    terminal_text,
    to_html,
    to_json,
    write_pdf,
)
from scut.verification.report import (
    FileLine,
    SeriesLine,
    SubmissionNotFound,
    VerificationReport,
    build_report,
)

POSTGRES_URL = os.environ.get(
    "SCUT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SCRIPT_PATH = "<script>alert(1)</script>.png"
LATITUDE, LONGITUDE = 47.02468, 28.86421
SERIAL = "SN-PRIVATE-4711"
COMMENT = "note naming Jane Roe"
TAGS = "tag-private-marker"
CATEGORY_1 = "projectvic 1: child abuse material"
CATEGORY_2 = "projectvic 2: child exploitive (not illegal) or age difficult"
CATEGORY_3 = "projectvic 3: computer-generated or animation"


@contextmanager
def _database_url(backend: str, folder: Path) -> Iterator[str]:
    """Yield the URL of a new empty database, dropped afterwards on PostgreSQL."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'scut.db'}"
        return
    url = make_url(POSTGRES_URL)
    name = f"scut_test_{uuid.uuid4().hex[:12]}"
    options = {
        "host": url.host,
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "dbname": url.database or "postgres",
        "autocommit": True,
    }
    try:
        with psycopg.connect(**options) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**options) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Submitted:
    """The database and the submission the module's ingests recorded."""

    database: Database
    submission: int
    report: VerificationReport
    gps_media: Media


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _write_evidence(root: Path) -> tuple[Path, Path]:
    earlier = root / "earlier"
    earlier.mkdir()
    draw_picture(1).save(earlier / "X.png")

    evidence = root / "evidence"
    evidence.mkdir()
    for number, seed in enumerate((2, 3, 4), start=1):
        draw_picture(seed).save(evidence / f"K{number}.png")
    draw_picture(5).save(evidence / "G.png")
    draw_picture(6).save(evidence / "N.png")
    shutil.copy(earlier / "X.png", evidence / "X-copy.png")
    capture = Capture(
        Camera("Fictional", "Model 9", SERIAL, "Firmware 1.0"),
        dt.datetime(2026, 6, 1, 12, 0, 0),
        Place("Test place", LATITUDE, LONGITUDE, 80.0),
    )
    (evidence / "gps.jpg").write_bytes(
        encode_jpeg(draw_picture(7), build_exif(capture))
    )
    # A file name cannot hold "/", so the tag spans a folder and a file.
    script_folder = evidence / "<script>alert(1)<"
    script_folder.mkdir()
    draw_picture(8).save(script_folder / "script>.png")
    draw_picture(9).transpose(Image.Transpose.ROTATE_90).save(evidence / "R-turned.png")
    (evidence / "link.png").symlink_to(evidence / "N.png")
    return earlier, evidence


def _write_sets(root: Path, evidence: Path) -> tuple[Path, Path]:
    media = [
        {
            "MediaID": 1,
            "MD5": _md5(evidence / "K1.png"),
            "Category": 1,
            "Series": "Series Alpha",
            "VictimIdentified": True,
            "Comments": COMMENT,
            "Tags": TAGS,
        },
        {
            "MediaID": 2,
            "MD5": _md5(evidence / "K2.png"),
            "Category": 1,
            "Series": "Series Alpha",
            "VictimIdentified": False,
            "OffenderIdentified": True,
        },
        {
            "MediaID": 3,
            "MD5": _md5(evidence / "K3.png"),
            "Category": 3,
            "Series": "Series Beta",
        },
        {
            "MediaID": 4,
            "Category": 2,
            "AlternativeHashes": [
                {
                    "HashName": "PDQ",
                    "HashValue": picture_hashes(draw_picture(9)).full.hex,
                }
            ],
        },
    ]
    vics = root / "partner.json"
    vics.write_text(
        json.dumps(
            {
                "odata.metadata": "http://github.com/ICMEC/ProjectVic/"
                "DataModels/1.3.xml#Media",
                "value": media,
            }
        )
    )
    good = root / "good.md5"
    good.write_text(f"{_md5(evidence / 'G.png')}  G.png\n")
    return vics, good


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def submitted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Submitted]:
    root = tmp_path_factory.mktemp(f"report-{request.param}")
    with _database_url(request.param, root) as url:
        settings = Settings(
            data_dir=root / "data", database_url=url, workers=1, fsync_blobs=False
        )
        database = Database(settings)
        database.upgrade()
        try:
            yield _submit(database, settings, root)
        finally:
            database.dispose()


def _submit(database: Database, settings: Settings, root: Path) -> Submitted:
    earlier, evidence = _write_evidence(root)
    vics, good = _write_sets(root, evidence)
    old = Origin(case="C-OLD", exhibit="OLD-1", unit="Archive Unit")
    IngestJob(database, settings, [earlier], old).run()
    import_hash_set(database, vics, name="partner", kind="known-abuse")
    import_hash_set(database, good, name="good-list", kind="known-good", fmt="plain")
    origin = Origin(
        case="C-NEW",
        exhibit="PHONE-1",
        unit="Border Police",
        officer="Officer A",
        criminal_case_number="CR-2026-17",
        seizure_date=dt.date(2026, 11, 30),
    )
    summary = IngestJob(database, settings, [evidence], origin).run()
    with database.session() as session:
        gps_media = session.scalars(
            select(Media).where(Media.md5 == _md5(evidence / "gps.jpg"))
        ).one()
    report = build_report(database, summary.submission)
    return Submitted(database, summary.submission, report, gps_media)


def _line(report: VerificationReport, path: str) -> FileLine:
    return next(line for line in report.lines if line.path == path)


def test_header_names_submission(submitted: Submitted) -> None:
    report = submitted.report

    assert report.submission == submitted.submission
    assert report.case == "C-NEW"
    assert report.unit == "Border Police"
    assert report.criminal_case_number == "CR-2026-17"
    assert report.seizure_date == "2026-11-30"
    assert report.exhibits == ["PHONE-1"]


def test_counts_by_verdict(submitted: Submitted) -> None:
    report = submitted.report

    assert report.files == 9
    assert report.by_verdict == {"known": 4, "near": 1, "new": 3, "known-good": 1}


def test_counts_by_category(submitted: Submitted) -> None:
    # Known files only: the near copy (category 2 by the entry it is near)
    # awaits an analyst's look, so it is not counted as known material.
    assert submitted.report.by_category == {CATEGORY_1: 2, CATEGORY_3: 1}
    near = [line for line in submitted.report.lines if line.verdict == "near"]
    assert [line.category for line in near] == [CATEGORY_2]


def test_identified_files_counted(submitted: Submitted) -> None:
    report = submitted.report

    assert report.victim_identified_files == 1
    assert report.offender_identified_files == 1
    assert report.alert_files == 0
    assert report.baseline_files == 0


def test_series_with_identification(submitted: Submitted) -> None:
    assert submitted.report.series == [
        SeriesLine(
            "Series Alpha", files=2, victim_identified=True, offender_identified=True
        ),
        SeriesLine(
            "Series Beta", files=1, victim_identified=None, offender_identified=None
        ),
    ]


def test_contact_case_of_earlier_file(submitted: Submitted) -> None:
    report = submitted.report
    line = _line(report, "X-copy.png")

    assert report.contact_cases == {"C-OLD": 1}
    assert line.verdict == "known"
    assert line.how == "sha256"
    assert line.cases == ["C-OLD"]
    assert line.hash_sets == []


def test_unreadable_file_counted_as_error(submitted: Submitted) -> None:
    assert submitted.report.errors == 1
    assert "link.png" not in {line.path for line in submitted.report.lines}


def test_file_line_of_known_file(submitted: Submitted) -> None:
    line = _line(submitted.report, "K1.png")

    assert line.exhibit == "PHONE-1"
    assert line.verdict == "known"
    assert line.how == "md5"
    assert line.distance == 0
    assert line.category == CATEGORY_1
    assert line.series == ["Series Alpha"]
    assert line.victim_identified is True
    assert line.offender_identified is None
    assert line.hash_sets == ["partner"]
    assert line.cases == []


def test_file_lines_of_good_and_new(submitted: Submitted) -> None:
    good = _line(submitted.report, "G.png")
    new = _line(submitted.report, "N.png")

    assert (good.verdict, good.how, good.hash_sets) == (
        "known-good",
        "md5",
        ["good-list"],
    )
    assert good.category is None
    assert (new.verdict, new.how, new.distance) == ("new", None, None)
    assert new.hash_sets == []


def test_file_line_of_near_copy(submitted: Submitted) -> None:
    line = _line(submitted.report, "R-turned.png")

    assert line.verdict == "near"
    assert line.how == "pdq"
    assert line.distance is not None
    assert line.distance <= 31
    assert line.category == CATEGORY_2
    assert line.hash_sets == ["partner"]
    assert line.victim_identified is None


def test_unknown_submission_raises(submitted: Submitted) -> None:
    with pytest.raises(SubmissionNotFound, match="no submission number 9999"):
        build_report(submitted.database, 9999)


def test_report_holds_no_personal_data(submitted: Submitted) -> None:
    text = to_json(submitted.report)
    media = submitted.gps_media

    # Ingest read the picture's EXIF, but none of it reaches the report.
    assert media.gps_latitude == pytest.approx(LATITUDE, abs=1e-4)
    assert media.body_serial == SERIAL
    for private in (str(LATITUDE)[:6], str(LONGITUDE)[:6], SERIAL, "Fictional"):
        assert private not in text
    # Nor does the free text of the hash set, or where the earlier case
    # recorded the file.
    for private in (COMMENT, TAGS, "OLD-1", "Archive Unit"):
        assert private not in text


def test_report_fields_hold_no_personal_data(submitted: Submitted) -> None:
    forbidden = (
        "gps",
        "latitude",
        "longitude",
        "serial",
        "camera",
        "make",
        "model",
        "comment",
        "tag",
        "file_name",
        "seen_in",
        "name_of",
    )
    keys: set[str] = set()

    def collect(value: object) -> None:
        if isinstance(value, dict):
            keys.update(value)
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    data = submitted.report.as_dict()
    collect({key: value for key, value in data.items() if key != "by_category"})

    leaked = sorted(key for key in keys if any(word in key for word in forbidden))
    assert leaked == []


def test_html_escapes_file_name(submitted: Submitted) -> None:
    page = to_html(submitted.report)

    assert SCRIPT_PATH in {line.path for line in submitted.report.lines}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.png" in page
    assert "<script>" not in page
    assert page.startswith("<!DOCTYPE html>")
    assert "Series Alpha" in page
    assert "C-OLD" in page


def test_json_round_trips(submitted: Submitted) -> None:
    text = to_json(submitted.report)

    data = json.loads(text)

    assert data == submitted.report.as_dict()
    assert data["by_verdict"]["known"] == 4
    assert data["series"][0]["name"] == "Series Alpha"
    assert text.endswith("\n")


# WeasyPrint warns when the system's HarfBuzz lacks the subset library, but
# it writes the PDF either way, with whole fonts embedded.
@pytest.mark.filterwarnings(
    "ignore:HarfBuzz-Subset will be required:DeprecationWarning"
)
def test_pdf_written(submitted: Submitted, tmp_path: Path) -> None:
    path = tmp_path / "result.pdf"

    write_pdf(submitted.report, path)

    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(data) > 1000


def test_terminal_tables_printed(submitted: Submitted) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)

    print_report(console, submitted.report)

    output = buffer.getvalue()
    assert f"Verification result: submission {submitted.submission}" in output
    assert "Known material by category" in output
    assert CATEGORY_3 in output
    assert "Series Alpha" in output
    # The narrow table wraps its title after "to".
    assert "Centre cases to" in output
    assert "C-OLD" in output
    assert "Could not be read (files)" in output
    assert "PHONE-1/K1.png" in output
    # Known-good and new files are left out of the terminal's file table.
    assert "PHONE-1/N.png" not in output


def test_terminal_text_escapes_control_and_bidi_characters() -> None:
    shown = terminal_text("a\x1b[31mred\u202egpj.exe\x07").plain

    assert shown == "a\\u001b[31mred\\u202egpj.exe\\u0007"
    assert terminal_text("Chișinău/IMG_0001.JPG").plain == "Chișinău/IMG_0001.JPG"


def test_long_paths_shortened_in_html_only() -> None:
    from scut.verification.render import MAX_SHOWN_PATH, shorten_path

    long_path = "/".join(["e" * 200] * 25) + "/f1.txt"
    shown = shorten_path(long_path)

    assert len(shown) == MAX_SHOWN_PATH
    assert shown.startswith("eeee")
    assert shown.endswith("eee/f1.txt")
    assert "…" in shown
    assert shorten_path("DCIM/IMG_0001.JPG") == "DCIM/IMG_0001.JPG"


def test_known_file_without_source_category_shows_own() -> None:
    from scut.verification.report import _line as file_line

    detail = {"matches": [{"hash_set": "partner-list", "how": "md5"}]}
    own = {"scheme": "projectvic", "code": "2"}

    known = file_line("E1", "a.jpg", "0" * 64, "known", detail, own)
    new = file_line("E1", "b.jpg", "1" * 64, "new", {}, own)
    sourced = file_line(
        "E1",
        "c.jpg",
        "2" * 64,
        "known",
        {**detail, "category": {"scheme": "projectvic", "code": "1"}},
        own,
    )

    assert known.category is not None
    assert known.category.startswith("projectvic 2")
    assert new.category is None
    assert sourced.category is not None
    assert sourced.category.startswith("projectvic 1")
