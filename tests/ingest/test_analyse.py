"""One file through the worker's analysis: digests, blobs, stages, limits."""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pillow_heif
import pytest
from PIL import Image

from scut.hashing.digests import digest_bytes
from scut.ingest import analyse as analyse_module
from scut.ingest.analyse import Analyser, FileResult, FileTask
from scut.ingest.images import ImageAnalysis
from scut.settings import Settings
from scut.storage import open_blob_store

# Files whose failing stage is known, with that stage.
EXPECTED_STAGES = [
    ("hostile/generated/truncated_half.jpg", "decode"),
    ("hostile/generated/png_bomb_65535x65535_1bit.png", "decode"),
    ("hostile/generated/png_huge_header_tiny_data.png", "decode"),
    ("hostile/pillow/decompression_bomb.gif", "decode"),
    ("hostile/pillow/truncated_jpeg.jpg", "decode"),
    ("hostile/metadata-extractor-images/beach.jpg", "decode"),
    ("hostile/exiftool/QuickTime.heic", "decode"),
    ("hostile/generated/mp4_moov_removed.mp4", "video"),
    ("hostile/generated/mp4_box_size_huge.mp4", "video"),
    ("hostile/exiftool/QuickTime.mov", "video"),
    ("hostile/exiftool/RIFF.avi", "video"),
    ("hostile/generated/zero_bytes.jpg", "type"),
    ("hostile/generated/png_named.jpg", "type"),
    ("hostile/generated/jpeg_named.txt", "type"),
    ("hostile/generated/text_named.png", "type"),
    ("hostile/pillow/hopper_bad_exif.jpg", "warning"),
    (
        "hostile/generated/"
        "exif_gps_zero_denominator_zero_date_orientation9_cp1251_usercomment.jpg",
        "note",
    ),
]


@pytest.fixture
def worker_decoders(sqlite_settings: Settings) -> Iterator[None]:
    """Register HEIF and set Pillow's pixel limit as init_worker does.

    init_worker itself also ignores SIGINT, which would outlive the test,
    so its two decoder steps are repeated here and the limit is restored.
    """
    previous = Image.MAX_IMAGE_PIXELS
    pillow_heif.register_heif_opener()
    Image.MAX_IMAGE_PIXELS = sqlite_settings.image_max_pixels // 2
    yield
    Image.MAX_IMAGE_PIXELS = previous


@pytest.fixture
def analyser(sqlite_settings: Settings, worker_decoders: None) -> Analyser:
    return Analyser(sqlite_settings)


def _task(shared_data: Path, path: str, **fields: Any) -> FileTask:
    return FileTask(path=path, source_path=shared_data / path, **fields)


def _stages(result: FileResult) -> set[str]:
    return {stage for stage, _reason in result.failures}


@pytest.fixture(scope="module")
def hostile_results(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, FileResult | BaseException]:
    """Every file under hostile/ analysed once, or what analysing it raised."""
    root = tmp_path_factory.mktemp("hostile")
    settings = Settings(
        data_dir=root / "data",
        database_url=f"sqlite:///{root / 'scut.db'}",
        fsync_blobs=False,
    )
    previous = Image.MAX_IMAGE_PIXELS
    pillow_heif.register_heif_opener()
    Image.MAX_IMAGE_PIXELS = settings.image_max_pixels // 2
    analyser = Analyser(settings)
    outcomes: dict[str, FileResult | BaseException] = {}
    try:
        for path in sorted((shared_data / "hostile").rglob("*")):
            if not path.is_file():
                continue
            name = path.relative_to(shared_data).as_posix()
            try:
                outcomes[name] = analyser.analyse(FileTask(path=name, source_path=path))
            except Exception as error:  # noqa: BLE001 (the test reports it)
                outcomes[name] = error
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    return outcomes


def test_every_hostile_file_analysed(
    hostile_results: dict[str, FileResult | BaseException],
) -> None:
    assert len(hostile_results) == 76


def test_hostile_files_never_raise(
    hostile_results: dict[str, FileResult | BaseException],
) -> None:
    raised = {
        path: f"{type(outcome).__name__}: {outcome}"
        for path, outcome in hostile_results.items()
        if not isinstance(outcome, FileResult)
    }
    assert not raised


def test_hostile_digests_recorded(
    shared_data: Path, hostile_results: dict[str, FileResult | BaseException]
) -> None:
    wrong = [
        path
        for path, outcome in hostile_results.items()
        if not isinstance(outcome, FileResult)
        or outcome.digests is None
        or outcome.digests != digest_bytes((shared_data / path).read_bytes())
    ]
    assert not wrong


@pytest.mark.parametrize(("path", "stage"), EXPECTED_STAGES)
def test_known_bad_file_stage(
    hostile_results: dict[str, FileResult | BaseException], path: str, stage: str
) -> None:
    result = hostile_results[path]
    assert isinstance(result, FileResult), result
    assert stage in _stages(result), result.failures


def test_pillow_warning_recorded(analyser: Analyser, shared_data: Path) -> None:
    # Warnings are errors in this test run, so one that escaped would fail it.
    result = analyser.analyse(_task(shared_data, "hostile/pillow/hopper_bad_exif.jpg"))
    warnings = [reason for stage, reason in result.failures if stage == "warning"]
    assert warnings == [
        "UserWarning: Corrupt EXIF data.  Expecting to read 12 bytes but only got 2."
    ]


def test_warning_file_still_hashed(analyser: Analyser, shared_data: Path) -> None:
    result = analyser.analyse(_task(shared_data, "hostile/pillow/hopper_bad_exif.jpg"))
    assert result.pdq is not None
    assert result.has_thumbnail


def test_long_warnings_not_repeated(
    analyser: Analyser, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A decoder may give the same long warning for each bad tag; once cut to
    # 500 characters it must still be recognised as already recorded.
    real_decode = analyse_module.analyse_image

    def chatty_decode(
        data: bytes, thumbnail_size: int, views: bool = True
    ) -> ImageAnalysis:
        for _ in range(3):
            warnings.warn("bad tag " + "x" * 600, UserWarning, stacklevel=1)
        return real_decode(data, thumbnail_size, views)

    monkeypatch.setattr(analyse_module, "analyse_image", chatty_decode)
    result = analyser.analyse(_task(shared_data, "camera/exiftool/GPS.jpg"))
    assert [stage for stage, _reason in result.failures] == ["warning"]


def test_camera_picture_fully_analysed(analyser: Analyser, shared_data: Path) -> None:
    result = analyser.analyse(_task(shared_data, "camera/exif-samples/Canon_40D.jpg"))
    assert result.failures == []
    assert (result.kind, result.width, result.height) == ("image", 100, 68)
    assert result.metadata is not None
    assert result.metadata.model == "Canon EOS 40D"


def test_thumbnail_lands_in_store(
    analyser: Analyser, shared_data: Path, sqlite_settings: Settings
) -> None:
    result = analyser.analyse(_task(shared_data, "camera/pillow/exif_gps.jpg"))
    assert result.digests is not None
    store = open_blob_store(sqlite_settings)
    assert store.read_derived(result.digests.sha256, "thumb.jpg")[:2] == b"\xff\xd8"


def test_large_file_streamed(
    shared_data: Path, sqlite_settings: Settings, worker_decoders: None
) -> None:
    path = "camera/metadata-extractor-images/Apple iPhone 4.jpg"
    data = (shared_data / path).read_bytes()
    small = sqlite_settings.model_copy(update={"in_memory_max_bytes": 4096})
    streamed = Analyser(small).analyse(_task(shared_data, path))
    assert len(data) > 4096
    assert streamed.digests == digest_bytes(data)
    assert streamed.size == len(data)


def test_streamed_blob_in_store(
    shared_data: Path, sqlite_settings: Settings, worker_decoders: None
) -> None:
    path = "camera/metadata-extractor-images/Apple iPhone 4.jpg"
    small = sqlite_settings.model_copy(update={"in_memory_max_bytes": 4096})
    result = Analyser(small).analyse(_task(shared_data, path))
    assert result.digests is not None
    store = open_blob_store(small)
    with store.open_original(result.digests.sha256) as stored:
        assert stored.read() == (shared_data / path).read_bytes()


def test_streamed_file_analysed_alike(
    shared_data: Path, sqlite_settings: Settings, worker_decoders: None
) -> None:
    path = "camera/metadata-extractor-images/Apple iPhone 4.jpg"
    whole = Analyser(sqlite_settings).analyse(_task(shared_data, path))
    small = sqlite_settings.model_copy(
        update={"in_memory_max_bytes": 4096, "data_dir": sqlite_settings.data_dir / "s"}
    )
    streamed = Analyser(small).analyse(_task(shared_data, path))
    assert (streamed.pdq, streamed.width, streamed.failures) == (
        whole.pdq,
        whole.width,
        whole.failures,
    )


def test_streamed_video_hashed(
    shared_data: Path, sqlite_settings: Settings, worker_decoders: None
) -> None:
    path = "formats/video/with-gps.mov"
    small = sqlite_settings.model_copy(update={"in_memory_max_bytes": 4096})
    result = Analyser(small).analyse(_task(shared_data, path))
    assert result.failures == []
    assert len(result.frames) == 4


def test_streaming_leaves_no_temporaries(
    shared_data: Path, sqlite_settings: Settings, worker_decoders: None
) -> None:
    small = sqlite_settings.model_copy(update={"in_memory_max_bytes": 4096})
    Analyser(small).analyse(_task(shared_data, "formats/video/with-gps.mov"))
    assert list((small.data_dir / "blobs" / "tmp").iterdir()) == []


def test_owned_source_deleted(
    analyser: Analyser, shared_data: Path, tmp_path: Path
) -> None:
    spooled = tmp_path / "spooled.jpg"
    shutil.copyfile(shared_data / "camera/exiftool/GPS.jpg", spooled)
    analyser.analyse(FileTask(path="GPS.jpg", source_path=spooled, owned=True))
    assert not spooled.exists()


def test_owned_source_deleted_on_failure(
    analyser: Analyser, shared_data: Path, tmp_path: Path
) -> None:
    spooled = tmp_path / "spooled.mp4"
    shutil.copyfile(shared_data / "hostile/generated/mp4_moov_removed.mp4", spooled)
    result = analyser.analyse(FileTask(path="cut.mp4", source_path=spooled, owned=True))
    assert "video" in _stages(result)
    assert not spooled.exists()


def test_unowned_source_kept(analyser: Analyser, tmp_path: Path) -> None:
    source = tmp_path / "note.txt"
    source.write_bytes(b"field notes\n")
    analyser.analyse(FileTask(path="note.txt", source_path=source))
    assert source.exists()


def test_missing_source_fails_read(analyser: Analyser, tmp_path: Path) -> None:
    result = analyser.analyse(FileTask(path="x.jpg", source_path=tmp_path / "gone"))
    assert _stages(result) == {"read"}
    assert result.digests is None


def test_bytes_task_analysed(analyser: Analyser, shared_data: Path) -> None:
    data = (shared_data / "camera/exiftool/GPS.jpg").read_bytes()
    result = analyser.analyse(FileTask(path="member/GPS.jpg", data=data, depth=1))
    assert result.digests == digest_bytes(data)
    assert result.depth == 1


def test_slow_decoder_times_out(
    shared_data: Path,
    sqlite_settings: Settings,
    worker_decoders: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow_decode(data: bytes, thumbnail_size: int, views: bool = True) -> None:
        time.sleep(30)

    monkeypatch.setattr(analyse_module, "analyse_image", slow_decode)
    quick = sqlite_settings.model_copy(update={"file_timeout_seconds": 1})
    started = time.monotonic()
    result = Analyser(quick).analyse(_task(shared_data, "camera/exiftool/GPS.jpg"))
    assert "timeout" in _stages(result)
    assert time.monotonic() - started < 5


def test_timeout_keeps_digests(
    shared_data: Path,
    sqlite_settings: Settings,
    worker_decoders: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow_decode(data: bytes, thumbnail_size: int, views: bool = True) -> None:
        time.sleep(30)

    monkeypatch.setattr(analyse_module, "analyse_image", slow_decode)
    quick = sqlite_settings.model_copy(update={"file_timeout_seconds": 1})
    result = Analyser(quick).analyse(_task(shared_data, "camera/exiftool/GPS.jpg"))
    assert result.digests == digest_bytes(
        (shared_data / "camera/exiftool/GPS.jpg").read_bytes()
    )


def test_timeout_in_type_probe_recorded(
    shared_data: Path,
    sqlite_settings: Settings,
    worker_decoders: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # libmagic does not recognise broken.png, so Pillow is asked to identify
    # it. A time limit that runs out there must not be swallowed.
    real_open = Image.open

    def slow_open(*args: Any, **kwargs: Any) -> Image.Image:
        time.sleep(30)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", slow_open)
    quick = sqlite_settings.model_copy(update={"file_timeout_seconds": 1})
    result = Analyser(quick).analyse(_task(shared_data, "hostile/pillow/broken.png"))
    assert "timeout" in _stages(result)


def test_damaged_avif_recorded(analyser: Analyser, shared_data: Path) -> None:
    data = bytearray((shared_data / "formats/avif/pillow-exif.avif").read_bytes())
    data[16014:16030] = b"\xff" * 16
    result = analyser.analyse(FileTask(path="damaged.avif", data=bytes(data)))
    assert "decode" in _stages(result)


def test_frameless_video_keeps_metadata(analyser: Analyser, shared_data: Path) -> None:
    result = analyser.analyse(_task(shared_data, "hostile/exiftool/RIFF.avi"))
    assert result.metadata is not None
    assert result.metadata.software == "CanonMVI01"
    assert result.pdq is None


def test_video_metadata_recorded(analyser: Analyser, shared_data: Path) -> None:
    result = analyser.analyse(_task(shared_data, "formats/video/with-gps.mov"))
    assert result.metadata is not None
    assert (result.metadata.make, result.metadata.taken_at_offset) == (
        "Apple",
        "+03:00",
    )
