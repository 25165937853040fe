"""Inputs built to break ingest: each must be recorded, and the job go on."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from scut.db.models import IngestError, Occurrence
from scut.db.session import Database
from scut.errors import ArchiveError
from scut.ingest import analyse, sources
from scut.ingest.analyse import Analyser, FileTask
from scut.ingest.archives import ArchiveReader, ExpansionBudget
from scut.ingest.metadata import metadata_from_tags
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.ingest.video import _displayed_frame
from scut.settings import MIB, Settings
from scut.storage.blobs import FileBlobStore


def _png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(output, format="PNG")
    return output.getvalue()


def _ingest(database: Database, settings: Settings, source: Path) -> Any:
    origin = Origin(case="H1", exhibit="E1", unit="Police")
    return IngestJob(database, settings, [source], origin).run()


def _paths(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(Occurrence.path)))


def _errors(database: Database) -> dict[tuple[str, str], str]:
    with database.session() as session:
        rows = session.scalars(select(IngestError)).all()
        return {(row.path, row.stage): row.reason for row in rows}


def test_tar_name_not_utf8_recorded_escaped(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "seized"
    folder.mkdir()
    with tarfile.open(
        folder / "card.tar", "w", format=tarfile.GNU_FORMAT, encoding="latin-1"
    ) as archive:
        data = _png()
        info = tarfile.TarInfo("caf\xe9.png")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    (folder / "after.png").write_bytes(_png() + b"\x00")

    summary = _ingest(database, settings, folder)

    paths = _paths(database)
    assert "card.tar/caf\\xe9.png" in paths
    assert "after.png" in paths
    assert summary.files == 3


def test_broken_tar_sparse_map_ends_only_that_tar(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "seized"
    folder.mkdir()
    headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": "x.bin",
        "GNU.sparse.realsize": "10",
    }
    with tarfile.open(folder / "a.tar", "w", format=tarfile.PAX_FORMAT) as archive:
        payload = b"notanumber\n" + b"\x00" * 501
        info = tarfile.TarInfo("x.bin")
        info.size = len(payload)
        info.pax_headers = headers
        archive.addfile(info, io.BytesIO(payload))
    (folder / "b.png").write_bytes(_png())

    _ingest(database, settings, folder)

    assert "b.png" in _paths(database)
    assert ("a.tar", "archive") in _errors(database)


def test_duplicate_member_names_both_kept(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "seized"
    folder.mkdir()
    with zipfile.ZipFile(folder / "phone.zip", "w") as archive:
        archive.writestr("DCIM/a.png", _png())
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("DCIM/a.png", _png() + b"second")

    _ingest(database, settings, folder)

    paths = _paths(database)
    assert "phone.zip/DCIM/a.png" in paths
    assert "phone.zip/DCIM/a.png (duplicate name 2)" in paths
    assert ("phone.zip/DCIM/a.png (duplicate name 2)", "note") in _errors(database)


def test_zip_ratio_held_against_file_size(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", archive_ratio_floor_bytes=1 * MIB)
    store = FileBlobStore(tmp_path / "data" / "blobs", fsync=False)
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(12):
            # Each member alone is under the ratio floor; together they are not.
            archive.writestr(f"z{index}.bin", b"\x00" * (900 * 1024))
    reader = ArchiveReader(settings, store, ExpansionBudget(settings))

    read = []
    with pytest.raises(ArchiveError, match="likely archive bomb"):
        for event in reader.members(path, "application/zip"):
            read.append(event.name)

    assert len(read) < 12


def test_exponent_gps_value_rejected_quickly() -> None:
    tags = {
        "Exif.GPSInfo.GPSLatitude": "1e999999999",
        "Exif.GPSInfo.GPSLatitudeRef": "N",
        "Exif.GPSInfo.GPSLongitude": "28/1 50/1 0/1",
        "Exif.GPSInfo.GPSLongitudeRef": "E",
        "Xmp.tiff.Orientation": "\u00b2",
        "Exif.Image.Make": "Demo Optics",
    }

    metadata = metadata_from_tags(tags)

    assert metadata.gps_latitude is None
    assert metadata.orientation is None
    assert metadata.make == "Demo Optics"
    assert any("GPSLatitude" in note for note in metadata.notes)


class _Frame:
    def __init__(self, rotation: int) -> None:
        self.rotation = rotation

    def to_image(self) -> Image.Image:
        return Image.new("RGB", (64, 36))


@pytest.mark.parametrize(
    ("rotation", "size"),
    [(-(2**31), (64, 36)), (45, (64, 36)), (90, (36, 64)), (-90, (36, 64))],
)
def test_only_quarter_turns_rotate_frames(rotation: int, size: tuple[int, int]) -> None:
    assert _displayed_frame(_Frame(rotation)).size == size


def test_file_swapped_for_symlink_not_read(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(_png())
    swapped = tmp_path / "swapped.png"
    swapped.symlink_to(outside)

    result = Analyser(sqlite_settings).analyse(FileTask("swapped.png", swapped))

    assert result.digests is None
    assert result.failures[0][0] == "read"


def test_fifo_in_place_of_file_not_read(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)

    result = Analyser(sqlite_settings).analyse(FileTask("pipe.jpg", fifo))

    assert result.digests is None
    assert result.failures[0][0] == "read"


def test_memory_error_recorded_for_file(
    sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture = tmp_path / "big.png"
    picture.write_bytes(_png())

    def exhausted(*_arguments: object, **_options: object) -> None:
        raise MemoryError

    monkeypatch.setattr(analyse, "analyse_image", exhausted)

    result = Analyser(sqlite_settings).analyse(FileTask("big.png", picture))

    assert result.digests is not None
    assert ("memory", "ran out of memory analysing it") in result.failures


def test_folders_deeper_than_limit_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_FOLDER_DEPTH", 3)
    deep = tmp_path / "root"
    folder = deep
    for level in range(6):
        folder = folder / f"d{level}"
    folder.mkdir(parents=True)
    (folder / "x.png").write_bytes(_png())

    entries = list(sources.walk_sources(sources.plan_sources([deep])))

    assert len(entries) == 1
    assert isinstance(entries[0], sources.SkippedEntry)
    assert "nested more than 3 deep" in entries[0].reason


def test_zip_appended_to_jpeg_read(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "seized"
    folder.mkdir()
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 160, 40)).save(picture, format="JPEG")
    hidden = io.BytesIO()
    with zipfile.ZipFile(hidden, "w") as archive:
        archive.writestr("inner.png", _png())
    (folder / "holiday.jpg").write_bytes(picture.getvalue() + hidden.getvalue())

    _ingest(database, settings, folder)

    paths = _paths(database)
    assert "holiday.jpg/inner.png" in paths
    assert ("holiday.jpg", "note") in _errors(database)
    with database.session() as session:
        outer = session.scalars(
            select(Occurrence).where(Occurrence.path == "holiday.jpg")
        ).one()
        assert outer.members_complete
        assert outer.media.kind == "image"
        assert outer.media.embedded_archive == "application/zip"


def test_zip_with_prefixed_bytes_read(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "seized"
    folder.mkdir()
    hidden = io.BytesIO()
    with zipfile.ZipFile(hidden, "w") as archive:
        archive.writestr("DCIM/inner.png", _png())
    (folder / "backup.bin").write_bytes(b"\x00" + hidden.getvalue())

    _ingest(database, settings, folder)

    assert "backup.bin/DCIM/inner.png" in _paths(database)
