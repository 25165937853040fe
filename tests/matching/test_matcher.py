"""Matching at ingest, end to end: one submission of known, near, known-good and new.

One scenario per database backend is built once for the module:

1. exhibit E1 of case C-OLD contains originals: a picture, a file later
   found again, a file an analyst categorises, a flat grey picture and a
   short video;
2. a VICS set and a known-good md5 list are imported;
3. exhibit E2 of case C-NEW, the submission under test, contains the
   copies and new files. A second run adds a rotated copy of one of its
   own files.

The tests only read what the scenario recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PIL import Image, ImageOps
from sqlalchemy import make_url, select, update

from drawn_pictures import draw_picture
from scut.db.models import Exhibit, Media, Occurrence
from scut.db.session import Database
from scut.demo.media import encode_video, video_codec
from scut.hashing.pdq import hamming_distance
from scut.hashing.views import PictureHashes, picture_hashes
from scut.hashsets.importer import import_hash_set
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.settings import Settings

POSTGRES_URL = os.environ.get(
    "SCUT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
VICS_SET = "partner-vics"
GOOD_SET = "good-list"
MATCH_DISTANCE = 31


def _central_crop(picture: Image.Image, share: float) -> Image.Image:
    width, height = picture.size
    margin_x = round(width * (1 - share) / 2)
    margin_y = round(height * (1 - share) / 2)
    return picture.crop((margin_x, margin_y, width - margin_x, height - margin_y))


def _letterboxed(picture: Image.Image, bar: int) -> Image.Image:
    framed = Image.new("RGB", (picture.width, picture.height + 2 * bar), (0, 0, 0))
    framed.paste(picture, (0, bar))
    return framed


def _digests(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest()


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
class Scenario:
    """What the module's ingests recorded, read back for the tests."""

    database: Database
    settings: Settings
    # Occurrences of exhibit E2 by path: (verdict, verdict_detail).
    verdicts: dict[str, tuple[str, dict[str, Any]]]
    # Media rows by file name in the evidence folders.
    media: dict[str, Media]
    # PDQ hashes computed here from the pictures, by file name.
    hashes: dict[str, PictureHashes]


def _write_originals(folder: Path, shared: Path) -> None:
    folder.mkdir()
    draw_picture(1).save(folder / "P.png")
    draw_picture(2).save(folder / "X.png")
    draw_picture(3).save(folder / "A.png")
    Image.new("RGB", (300, 200), (128, 128, 128)).save(folder / "flat-1.png")
    shutil.copy(shared / "clip.mp4", folder / "clip.mp4")


def _write_submission(folder: Path, shared: Path, originals: Path) -> None:
    folder.mkdir()
    draw_picture(4).save(folder / "K.png")
    reference = draw_picture(5)
    reference.transpose(Image.Transpose.ROTATE_90).save(folder / "R-rotated.png")
    ImageOps.mirror(reference).save(folder / "R-mirrored.png")
    original = draw_picture(1)
    _central_crop(original, 0.9).save(folder / "P-crop.png")
    _letterboxed(original, 60).save(folder / "P-letterbox.png")
    draw_picture(6).save(folder / "G.png")
    draw_picture(7).save(folder / "N.png")
    draw_picture(8).save(folder / "Q.png")
    shutil.copy(originals / "X.png", folder / "X-copy.png")
    shutil.copy(originals / "A.png", folder / "A-copy.png")
    Image.new("RGB", (320, 240), (128, 128, 128)).save(folder / "flat-2.png")
    shutil.copy(shared / "clip.mov", folder / "clip.mov")
    shutil.copy(shared / "clip.mp4", folder / "clip-copy.mp4")


def _write_videos(folder: Path) -> None:
    folder.mkdir()
    background = draw_picture(9, size=(320, 240))
    for container in ("mp4", "mov"):
        data = encode_video(
            background,
            "ball",
            fps=5,
            seconds=4,
            container_format=container,
            codec=video_codec(),
        )
        (folder / f"clip.{container}").write_bytes(data)


def _write_sets(folder: Path, submission: Path, originals: Path) -> tuple[Path, Path]:
    """Write the VICS set and the known-good md5 list; return their paths."""
    k_md5, k_sha1 = _digests(submission / "K.png")
    a_md5, _ = _digests(originals / "A.png")
    # R itself is never ingested: only its turned copies are submitted.
    reference = folder / "R.png"
    draw_picture(5).save(reference)
    r_md5, _ = _digests(reference)
    r_pdq = picture_hashes(draw_picture(5)).full.hex

    known = {
        "MediaID": 1,
        "MD5": k_md5.upper(),
        "SHA1": k_sha1.upper(),
        "Category": 1,
        "Series": "Series Alpha",
        "VictimIdentified": True,
        "OffenderIdentified": False,
    }
    reference_entry = {
        "MediaID": 2,
        "MD5": r_md5,
        "Category": 2,
        "Series": "Series Beta",
        "VictimIdentified": False,
        "OffenderIdentified": True,
        "AlternativeHashes": [{"HashName": "PDQ", "HashValue": r_pdq}],
    }
    analysed = {"MediaID": 3, "MD5": a_md5, "Category": 1}
    document = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
        "value": [known, reference_entry, analysed],
    }
    vics = folder / "partner.json"
    vics.write_text(json.dumps(document))

    g_md5, _ = _digests(submission / "G.png")
    good = folder / "good.md5"
    good.write_text(f"{g_md5}  G.png\n")
    return vics, good


def _ingest(
    database: Database, settings: Settings, folder: Path, case: str, exhibit: str
) -> None:
    origin = Origin(case=case, exhibit=exhibit, unit=f"Unit of {case}")
    IngestJob(database, settings, [folder], origin).run()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    root = tmp_path_factory.mktemp(f"matcher-{request.param}")
    with _database_url(request.param, root) as url:
        settings = Settings(
            data_dir=root / "data", database_url=url, workers=1, fsync_blobs=False
        )
        database = Database(settings)
        database.upgrade()
        try:
            yield _build(database, settings, root)
        finally:
            database.dispose()


def _build(database: Database, settings: Settings, root: Path) -> Scenario:
    videos = root / "videos"
    _write_videos(videos)
    originals = root / "E1"
    _write_originals(originals, videos)
    submission = root / "E2"
    _write_submission(submission, videos, originals)
    second_card = root / "E2-second-card"
    second_card.mkdir()
    draw_picture(8).transpose(Image.Transpose.ROTATE_90).save(second_card / "Q-rot.png")

    _ingest(database, settings, originals, "C-OLD", "E1")
    with database.session() as session, session.begin():
        session.execute(
            update(Media)
            .where(Media.md5 == _digests(originals / "A.png")[0])
            .values(
                category_scheme="projectvic",
                category_code="2",
                category_source="analyst",
                category_by_analyst=True,
            )
        )
    vics, good = _write_sets(root, submission, originals)
    import_hash_set(database, vics, name=VICS_SET, kind="known-abuse")
    import_hash_set(database, good, name=GOOD_SET, kind="known-good", fmt="plain")
    _ingest(database, settings, submission, "C-NEW", "E2")
    _ingest(database, settings, second_card, "C-NEW", "E2")

    with database.session() as session:
        rows = session.execute(
            select(Occurrence.path, Occurrence.verdict, Occurrence.verdict_detail)
            .join(Exhibit, Exhibit.id == Occurrence.exhibit_id)
            .where(Exhibit.label == "E2")
        ).all()
        verdicts = {path: (verdict, detail) for path, verdict, detail in rows}
        media = {}
        for folder in (originals, submission, second_card):
            for path in folder.iterdir():
                sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
                row = session.scalars(select(Media).where(Media.sha256 == sha256))
                media[path.name] = row.one()
    hashes = {
        "Q": picture_hashes(draw_picture(8)),
        "Q-rot": picture_hashes(draw_picture(8).transpose(Image.Transpose.ROTATE_90)),
        "flat-1": picture_hashes(Image.new("RGB", (300, 200), (128, 128, 128))),
        "flat-2": picture_hashes(Image.new("RGB", (320, 240), (128, 128, 128))),
    }
    return Scenario(database, settings, verdicts, media, hashes)


def _first_match(scenario: Scenario, path: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = scenario.verdicts[path][1]["matches"]
    return matches[0]


def test_every_submitted_file_has_a_verdict(scenario: Scenario) -> None:
    expected = {
        "K.png": "known",
        "R-rotated.png": "near",
        "R-mirrored.png": "near",
        "P-crop.png": "near",
        "P-letterbox.png": "near",
        "G.png": "known-good",
        "N.png": "new",
        "Q.png": "new",
        "Q-rot.png": "new",
        "X-copy.png": "known",
        "A-copy.png": "known",
        "flat-2.png": "new",
        "clip.mov": "near",
        "clip-copy.mp4": "known",
    }

    found = {path: verdict for path, (verdict, _) in scenario.verdicts.items()}

    assert found == expected


def test_exact_set_match_detail(scenario: Scenario) -> None:
    detail = scenario.verdicts["K.png"][1]
    matches = detail["matches"]

    assert {match["how"] for match in matches} == {"md5", "sha1"}
    for match in matches:
        assert match["source"] == "hash-set"
        assert match["hash_set"] == VICS_SET
        assert match["distance"] == 0
    assert detail["category"] == {"scheme": "projectvic", "code": "1"}
    assert detail["category_source"] == f"hash set {VICS_SET}"
    assert detail["category_conflict"] is False
    assert detail["series"] == ["Series Alpha"]
    assert detail["victim_identified"] is True
    assert detail["offender_identified"] is False
    assert detail["cases"] == []


def test_known_media_takes_set_category(scenario: Scenario) -> None:
    media = scenario.media["K.png"]

    assert media.category_scheme == "projectvic"
    assert media.category_code == "1"
    assert media.category_source == f"hash set {VICS_SET}"
    assert media.category_by_analyst is False


@pytest.mark.parametrize("path", ["R-rotated.png", "R-mirrored.png"])
def test_turned_copy_near_set_pdq(scenario: Scenario, path: str) -> None:
    detail = scenario.verdicts[path][1]
    first = _first_match(scenario, path)

    assert first["source"] == "hash-set"
    assert first["how"] == "pdq"
    assert first["hash_set"] == VICS_SET
    assert first["view"] == "full"
    assert first["variant"] != "as-is"
    assert 0 <= first["distance"] <= MATCH_DISTANCE
    assert first["category"] == {"scheme": "projectvic", "code": "2"}
    assert detail["series"] == ["Series Beta"]
    assert detail["victim_identified"] is False
    assert detail["offender_identified"] is True
    assert "category" not in detail


def test_near_copy_leaves_media_uncategorised(scenario: Scenario) -> None:
    media = scenario.media["R-rotated.png"]

    assert media.category_code is None
    assert media.category_source is None


@pytest.mark.parametrize("path", ["P-crop.png", "P-letterbox.png"])
def test_edited_copy_near_earlier_exhibit(scenario: Scenario, path: str) -> None:
    detail = scenario.verdicts[path][1]
    first = _first_match(scenario, path)

    assert first["source"] == "case"
    assert first["how"] == "pdq"
    assert 0 <= first["distance"] <= MATCH_DISTANCE
    assert first["media_id"] == scenario.media["P.png"].id
    assert first["seen_in"] == [{"case": "C-OLD", "exhibit": "E1", "path": "P.png"}]
    assert detail["cases"] == ["C-OLD"]
    assert detail["victim_identified"] is None


def test_letterboxed_copy_matched_inside_bars(scenario: Scenario) -> None:
    first = _first_match(scenario, "P-letterbox.png")

    assert first["view"] != "full"


def test_known_good_detail(scenario: Scenario) -> None:
    detail = scenario.verdicts["G.png"][1]
    first = detail["matches"][0]

    assert len(detail["matches"]) == 1
    assert first["source"] == "hash-set"
    assert first["how"] == "md5"
    assert first["hash_set"] == GOOD_SET
    assert first["set_kind"] == "known-good"
    assert "category" not in detail
    assert scenario.media["G.png"].category_code is None


def test_new_file_has_empty_detail(scenario: Scenario) -> None:
    assert scenario.verdicts["N.png"] == ("new", {})


def test_same_file_in_other_exhibit_known(scenario: Scenario) -> None:
    detail = scenario.verdicts["X-copy.png"][1]
    first = detail["matches"][0]

    assert first["source"] == "case"
    assert first["how"] == "sha256"
    assert first["distance"] == 0
    assert first["seen_in"] == [{"case": "C-OLD", "exhibit": "E1", "path": "X.png"}]
    assert detail["cases"] == ["C-OLD"]
    assert "category" not in detail


def test_analyst_category_not_overwritten(scenario: Scenario) -> None:
    detail = scenario.verdicts["A-copy.png"][1]
    media = scenario.media["A.png"]

    assert {match["source"] for match in detail["matches"]} == {"hash-set", "case"}
    # The verdict names the graver set category and the disagreement...
    assert detail["category"] == {"scheme": "projectvic", "code": "1"}
    assert detail["category_conflict"] is True
    # ...but the media keeps the category the analyst gave it.
    assert media.category_by_analyst is True
    assert media.category_code == "2"
    assert media.category_source == "analyst"


def test_same_exhibit_near_copy_not_matched(scenario: Scenario) -> None:
    rotated = scenario.hashes["Q-rot"].full
    original = scenario.hashes["Q"].full
    nearest = min(hamming_distance(value, original.hex) for value in rotated.variants)

    # The copy is within reach of the first card's picture, which is in the
    # index by the second run, yet both stay new.
    assert nearest <= MATCH_DISTANCE
    assert scenario.verdicts["Q-rot.png"] == ("new", {})
    assert scenario.verdicts["Q.png"] == ("new", {})


def test_flat_pictures_do_not_match(scenario: Scenario) -> None:
    first = scenario.hashes["flat-1"].full
    second = scenario.hashes["flat-2"].full

    # Without the quality gate the two hashes would match.
    assert hamming_distance(first.hex, second.hex) <= MATCH_DISTANCE
    assert not first.matchable
    assert scenario.verdicts["flat-2.png"] == ("new", {})


def test_reencoded_video_matches_by_frames(scenario: Scenario) -> None:
    detail = scenario.verdicts["clip.mov"][1]
    first = detail["matches"][0]

    assert first["source"] == "case"
    assert first["how"] == "video-frames"
    assert first["share"] >= scenario.settings.video_match_share
    assert first["distance"] <= MATCH_DISTANCE
    assert first["media_id"] == scenario.media["clip.mp4"].id
    assert first["seen_in"][0]["path"] == "clip.mp4"
    assert detail["cases"] == ["C-OLD"]


def test_same_video_matches_by_sha256(scenario: Scenario) -> None:
    first = _first_match(scenario, "clip-copy.mp4")

    assert first["how"] == "sha256"
    assert first["media_id"] == scenario.media["clip.mp4"].id
    assert first["seen_in"] == [{"case": "C-OLD", "exhibit": "E1", "path": "clip.mp4"}]
