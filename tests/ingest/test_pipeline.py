"""End-to-end ingest into SQLite and PostgreSQL, on the real corpus."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from scut.db.models import IngestError, IngestRun, Media, Occurrence, VideoFrame
from scut.db.session import Database
from scut.hashsets.importer import import_plain_list
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.settings import Settings
from scut.storage.blobs import FileBlobStore


def _ingest(
    database: Database, settings: Settings, sources: list[Path], exhibit: str = "E1"
) -> object:
    origin = Origin(case="T1", exhibit=exhibit, unit="Border Police", officer="Test")
    return IngestJob(database, settings, sources, origin).run()


def _occurrences(database: Database) -> dict[str, Occurrence]:
    with database.session() as session:
        rows = session.scalars(
            select(Occurrence).options(selectinload(Occurrence.media))
        )
        return {row.path: row for row in rows}


def _errors(database: Database) -> dict[tuple[str, str], str]:
    with database.session() as session:
        rows = session.scalars(select(IngestError)).all()
    return {(row.path, row.stage): row.reason for row in rows}


def _manifest(shared_data: Path) -> dict[str, dict[str, str]]:
    with (shared_data / "hashsets" / "camera_manifest.csv").open() as handle:
        return {row["path"]: row for row in csv.DictReader(handle)}


def test_camera_folder_records_every_file(
    database: Database, settings: Settings, shared_data: Path
) -> None:
    summary = _ingest(database, settings, [shared_data / "camera"])

    manifest = _manifest(shared_data)
    occurrences = _occurrences(database)
    assert summary.files == len(manifest)  # type: ignore[attr-defined]
    assert set(occurrences) == {path.removeprefix("camera/") for path in manifest}
    with database.session() as session:
        media = {row.sha256: row for row in session.scalars(select(Media))}
    for path, row in manifest.items():
        occurrence = occurrences[path.removeprefix("camera/")]
        assert occurrence.media.sha256 == row["sha256"], path
        assert occurrence.media.md5 == row["md5"], path
        assert occurrence.media.sha1 == row["sha1"], path
        assert occurrence.media.size == int(row["size"]), path
    canon = occurrences["exif-samples/Canon_40D.jpg"].media
    assert canon.camera_make == "Canon"
    assert canon.camera_model == "Canon EOS 40D"
    assert canon.pdq is not None
    assert canon.has_thumbnail
    store = FileBlobStore(settings.data_dir / "blobs")
    assert set(store.iter_originals()) == set(media)


def test_rerun_records_nothing_twice(
    database: Database, settings: Settings, shared_data: Path
) -> None:
    first = _ingest(database, settings, [shared_data / "formats" / "archives"])
    before = _occurrences(database)
    errors_before = _errors(database)

    second = _ingest(database, settings, [shared_data / "formats" / "archives"])

    assert second.analysed_this_run == 0  # type: ignore[attr-defined]
    assert second.files == first.files  # type: ignore[attr-defined]
    assert set(_occurrences(database)) == set(before)
    assert _errors(database) == errors_before
    with database.session() as session:
        runs = session.scalars(select(IngestRun.status)).all()
    assert runs == ["finished", "finished"]


def test_archives_keep_member_paths(
    database: Database, settings: Settings, shared_data: Path
) -> None:
    summary = _ingest(database, settings, [shared_data / "formats" / "archives"])

    paths = set(_occurrences(database))
    assert "gps_photos.zip/seized/DCIM/Apple iPhone 4.jpg" in paths
    assert "gps_photos.7z/Apple iPhone 5.jpg" in paths
    assert "gps_photos.tar.gz/card/FLIR iPhone device.jpg" in paths
    assert "py7zr-umlaut-solid.7z/täst.txt" in paths
    # The three photos sit in three archives: six of the nine are duplicates.
    assert summary.duplicates >= 6  # type: ignore[attr-defined]
    archive_rows = [
        row for row in _occurrences(database).values() if row.media.kind == "archive"
    ]
    assert archive_rows
    assert all(row.members_complete for row in archive_rows)


def test_hostile_files_recorded_without_crash(
    database: Database, settings: Settings, shared_data: Path
) -> None:
    hostile = shared_data / "hostile"
    summary = _ingest(database, settings, [hostile])

    occurrences = _occurrences(database)
    errors = _errors(database)
    on_disk = {
        path.relative_to(hostile).as_posix()
        for path in hostile.rglob("*")
        if path.is_file()
    }
    errored_paths = {path for path, _stage in errors}
    for path in sorted(on_disk):
        assert path in occurrences or path in errored_paths, f"{path} not recorded"
    expected = {
        ("generated/truncated_half.jpg", "decode"),
        ("generated/png_bomb_65535x65535_1bit.png", "decode"),
        ("generated/mp4_moov_removed.mp4", "video"),
        ("generated/png_named.jpg", "type"),
        ("generated/zero_bytes.jpg", "type"),
        ("generated/zip_bomb_200MiB_zeros.zip/zeros.bin", "archive"),
        ("generated/zip_encrypted_password_infected.zip/photo.jpg", "archive"),
        (
            "generated/zip_slip_dotdot.zip/../../../../../../tmp/scut_evil.txt",
            "archive",
        ),
        ("generated/zip_truncated_no_central_dir.zip", "archive"),
        ("py7zr/encrypted_1.7z", "archive"),
        ("py7zr/symlink.7z/lib/libabc.so", "archive"),
        ("py7zr/root_path_arcname.7z//a/b/test.txt", "archive"),
    }
    for key in sorted(expected):
        assert key in errors, f"no {key[1]} error recorded for {key[0]}"
    nested = (
        "generated/nested_7z_zip_zip_jpeg.7z/middle.zip"
        "/level2/inner.zip/level3/photo.jpg"
    )
    assert nested in occurrences
    assert occurrences[nested].media.kind == "image"
    assert "generated/zip_slip_dotdot.zip/good.txt" in occurrences
    assert not Path("/tmp/scut_evil.txt").exists()
    assert summary.errors >= len(expected)  # type: ignore[attr-defined]
    assert not os.listdir(settings.data_dir / "blobs" / "tmp")


def test_nesting_deeper_than_limit_not_opened(
    database: Database, settings: Settings, shared_data: Path
) -> None:
    shallow = settings.model_copy(update={"archive_max_depth": 2})
    source = shared_data / "hostile" / "generated" / "nested_7z_zip_zip_jpeg.7z"

    _ingest(database, shallow, [source])

    occurrences = _occurrences(database)
    errors = _errors(database)
    inner = "nested_7z_zip_zip_jpeg.7z/middle.zip/level2/inner.zip"
    assert inner in occurrences
    assert (inner, "depth") in errors
    assert f"{inner}/level3/photo.jpg" not in occurrences


def test_known_verdicts_from_hash_sets_and_earlier_exhibits(
    database: Database, settings: Settings, shared_data: Path
) -> None:
    import_plain_list(
        database,
        shared_data / "hashsets" / "md5_list.txt",
        name="test-known",
        kind="known-abuse",
    )
    _ingest(database, settings, [shared_data / "formats" / "archives"], exhibit="E1")
    summary = _ingest(database, settings, [shared_data / "camera"], exhibit="E2")

    manifest = _manifest(shared_data)
    in_a_set = sum(1 for row in manifest.values() if row["in_set"])
    occurrences = _occurrences(database)
    iphone5 = occurrences["metadata-extractor-images/Apple iPhone 5.jpg"]
    assert iphone5.verdict == "known"
    first = iphone5.verdict_detail["matches"][0]
    assert (first["source"], first["how"]) == ("case", "sha256")
    assert first["seen_in"][0]["exhibit"] == "E1"
    iphone4 = occurrences["metadata-extractor-images/Apple iPhone 4.jpg"]
    assert iphone4.verdict == "known"
    sets = [m for m in iphone4.verdict_detail["matches"] if m["source"] == "hash-set"]
    assert sets[0]["hash_set"] == "test-known"
    # Known: every file of a set, and the archive members not in one.
    members_outside_sets = sum(
        1
        for path, row in manifest.items()
        if not row["in_set"]
        and occurrences.get(path.removeprefix("camera/"))
        and occurrences[path.removeprefix("camera/")].verdict_detail.get("cases")
    )
    by_verdict = summary.by_verdict  # type: ignore[attr-defined]
    assert members_outside_sets >= 1
    assert by_verdict["known"] == in_a_set + members_outside_sets


def test_videos_get_frame_hashes(
    database: Database, settings: Settings, shared_data: Path
) -> None:
    _ingest(database, settings, [shared_data / "formats" / "video"])

    with database.session() as session:
        videos = session.scalars(select(Media).where(Media.kind == "video")).all()
        frame_counts = dict(
            session.execute(
                select(VideoFrame.media_id, func.count()).group_by(VideoFrame.media_id)
            ).all()
        )
    assert len(videos) == 9
    for video in videos:
        assert video.duration_seconds, video.sha256
        assert frame_counts.get(video.id, 0) >= 1, video.sha256
        assert video.has_strip, video.sha256
    with_gps = _occurrences(database)["with-gps.mov"].media
    assert with_gps.gps_latitude == pytest.approx(32.0929)
    assert with_gps.gps_longitude == pytest.approx(34.8620)
    assert with_gps.camera_make == "Apple"


def test_exhibit_of_other_unit_rejected(
    database: Database, settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    from scut.errors import ConfigurationError

    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(shared_data / "camera" / "exiftool" / "GPS.jpg", folder / "GPS.jpg")
    _ingest(database, settings, [folder])

    other = Origin(case="T1", exhibit="E1", unit="Customs")
    with pytest.raises(ConfigurationError, match="Border Police"):
        IngestJob(database, settings, [folder], other).run()


def test_other_file_at_recorded_path_reported(
    database: Database, settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "card-a", tmp_path / "card-b"
    camera = shared_data / "camera" / "exiftool"
    for folder, source in ((first, "GPS.jpg"), (second, "Canon.jpg")):
        (folder / "DCIM").mkdir(parents=True)
        shutil.copy(camera / source, folder / "DCIM" / "IMG_0001.jpg")
    _ingest(database, settings, [first])

    summary = _ingest(database, settings, [second])

    errors = _errors(database)
    assert ("DCIM/IMG_0001.jpg", "conflict") in errors
    assert "another exhibit" in errors[("DCIM/IMG_0001.jpg", "conflict")]
    assert summary.errors == 1  # type: ignore[attr-defined]
    recorded = _occurrences(database)["DCIM/IMG_0001.jpg"].media
    assert recorded.size == (camera / "GPS.jpg").stat().st_size
