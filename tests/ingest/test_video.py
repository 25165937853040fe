"""Videos: duration, size, codec, one PDQ hash a second, display orientation."""

from __future__ import annotations

import io
import math
from pathlib import Path

import av
import pytest
from PIL import Image

from scut.errors import FileFailure
from scut.hashing.pdq import hamming_distance, pdq_of_image
from scut.ingest.video import (
    STRIP_HEIGHT,
    VideoAnalysis,
    _read_iso6709,
    analyse_video,
)

ROTATED = "formats/generated/rotate90_displaymatrix.mp4"
UNROTATED = "formats/video/xmp480qt.mov"

# Each video of formats/video/ with its codec and stored frame size.
VIDEOS = [
    ("100_0306.AVI", "mjpeg", (320, 240)),
    ("FLIR Thermal.mp4", "h264", (1080, 1440)),
    ("Issue 515 (java).mp4", "h264", (1280, 720)),
    ("sample.3gp", "mpeg4", (176, 144)),
    ("sample_3GPP2.3g2", "mpeg4", (176, 144)),
    ("sample_mpeg4.mp4", "mpeg4", (190, 240)),
    ("uuid540.mp4", "h264", (960, 540)),
    ("with-gps.mov", "h264", (568, 320)),
    ("xmp480qt.mov", "h264", (640, 360)),
]

HOSTILE_VIDEOS = [
    "hostile/generated/mp4_moov_removed.mp4",
    "hostile/generated/mp4_truncated_mdat.mp4",
    "hostile/generated/mp4_box_size_huge.mp4",
    "hostile/exiftool/QuickTime.mov",
    "hostile/exiftool/RIFF.avi",
]


def _analyse(source: bytes | Path, strip_frames: int = 8) -> VideoAnalysis:
    return analyse_video(source, strip_frames=strip_frames, max_seconds=600)


def _first_frame_upright(path: Path) -> Image.Image:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_image()


@pytest.fixture(scope="module")
def corpus_videos(shared_data: Path) -> dict[str, VideoAnalysis]:
    """Each video of formats/video/ analysed once for the tests below."""
    folder = shared_data / "formats" / "video"
    return {name: _analyse((folder / name).read_bytes()) for name, _c, _s in VIDEOS}


def test_corpus_videos_all_listed(shared_data: Path) -> None:
    on_disk = {path.name for path in (shared_data / "formats" / "video").iterdir()}
    assert on_disk == {name for name, _codec, _size in VIDEOS}


@pytest.mark.parametrize(("name", "codec", "size"), VIDEOS)
def test_video_fields_read(
    corpus_videos: dict[str, VideoAnalysis],
    name: str,
    codec: str,
    size: tuple[int, int],
) -> None:
    video = corpus_videos[name]
    assert video.codec == codec
    assert (video.width, video.height) == size
    assert video.duration_seconds is not None
    assert video.duration_seconds > 0


@pytest.mark.parametrize("name", [name for name, _codec, _size in VIDEOS])
def test_one_hash_per_second(
    corpus_videos: dict[str, VideoAnalysis], name: str
) -> None:
    video = corpus_videos[name]
    assert video.duration_seconds is not None
    assert abs(len(video.frames) - math.ceil(video.duration_seconds)) <= 1


@pytest.mark.parametrize("name", [name for name, _codec, _size in VIDEOS])
def test_frame_seconds_increase(
    corpus_videos: dict[str, VideoAnalysis], name: str
) -> None:
    video = corpus_videos[name]
    seconds = [frame.second for frame in video.frames]
    assert seconds == sorted(set(seconds))
    assert all(frame.timestamp >= frame.second for frame in video.frames)


def test_video_read_from_path(
    shared_data: Path, corpus_videos: dict[str, VideoAnalysis]
) -> None:
    # Files over the in-memory limit are decoded from the blob store's path.
    path = shared_data / "formats" / "video" / "with-gps.mov"
    assert _analyse(path).frames == corpus_videos["with-gps.mov"].frames


def test_rotated_strip_tile_portrait(shared_data: Path) -> None:
    video = _analyse((shared_data / ROTATED).read_bytes(), strip_frames=1)
    assert video.strip_jpeg is not None
    with Image.open(io.BytesIO(video.strip_jpeg)) as strip:
        assert strip.height == STRIP_HEIGHT
        assert strip.width < strip.height


def test_unrotated_strip_tile_landscape(shared_data: Path) -> None:
    video = _analyse((shared_data / UNROTATED).read_bytes(), strip_frames=1)
    assert video.strip_jpeg is not None
    with Image.open(io.BytesIO(video.strip_jpeg)) as strip:
        assert strip.width > strip.height


def test_rotated_frames_hashed_as_displayed(shared_data: Path) -> None:
    # The track matrix maps (x, y) to (y, -x): a quarter turn
    # counter-clockwise, which PyAV reports as rotation +90. The source's
    # first frame turned the same way by PIL must match.
    source = _first_frame_upright(shared_data / UNROTATED)
    expected = pdq_of_image(source.rotate(90, expand=True)).hex
    rotated = _analyse((shared_data / ROTATED).read_bytes())
    assert hamming_distance(rotated.frames[0].pdq, expected) <= 10


def test_rotated_frames_differ_from_stored(shared_data: Path) -> None:
    stored = pdq_of_image(_first_frame_upright(shared_data / UNROTATED)).hex
    rotated = _analyse((shared_data / ROTATED).read_bytes())
    assert hamming_distance(rotated.frames[0].pdq, stored) > 31


def test_apple_location_read(corpus_videos: dict[str, VideoAnalysis]) -> None:
    video = corpus_videos["with-gps.mov"]
    assert video.gps_latitude == pytest.approx(32.0929, abs=1e-4)
    assert video.gps_longitude == pytest.approx(34.8620, abs=1e-4)
    assert video.gps_altitude == pytest.approx(28.516)


def test_apple_make_model_read(corpus_videos: dict[str, VideoAnalysis]) -> None:
    video = corpus_videos["with-gps.mov"]
    assert (video.make, video.model) == ("Apple", "iPhone 6")


def test_mp4_location_read(corpus_videos: dict[str, VideoAnalysis]) -> None:
    video = corpus_videos["FLIR Thermal.mp4"]
    assert (video.gps_latitude, video.gps_longitude) == (34.0754, -118.2543)


@pytest.mark.parametrize(
    ("value", "latitude", "longitude"),
    [
        ("+32.0929+034.8620+028.516/", 32.0929, 34.862),
        # Degrees and minutes, then degrees, minutes and seconds. ISO 6709
        # distinguishes them by the number of whole digits.
        ("+0030.50+00010.20/", 0.5083333, 0.17),
        ("+403015.5-0740030/", 40.5043056, -74.0083333),
    ],
)
def test_iso6709_forms_read(value: str, latitude: float, longitude: float) -> None:
    video = VideoAnalysis(width=1, height=1, duration_seconds=None, codec="h264")
    _read_iso6709(value, video)
    assert video.gps_latitude == pytest.approx(latitude, abs=1e-6)
    assert video.gps_longitude == pytest.approx(longitude, abs=1e-6)


@pytest.mark.parametrize("path", HOSTILE_VIDEOS)
def test_hostile_video_fails_cleanly(shared_data: Path, path: str) -> None:
    try:
        video = _analyse((shared_data / path).read_bytes())
    except FileFailure as failure:
        assert failure.stage == "video"
    else:
        assert video.notes, f"{path} decoded without a note"


def test_truncated_video_noted(shared_data: Path) -> None:
    path = shared_data / "hostile" / "generated" / "mp4_truncated_mdat.mp4"
    video = _analyse(path.read_bytes())
    assert any(note.startswith("frames end at") for note in video.notes)


def test_missing_moov_fails(shared_data: Path) -> None:
    path = shared_data / "hostile" / "generated" / "mp4_moov_removed.mp4"
    with pytest.raises(FileFailure, match="cannot open container"):
        _analyse(path.read_bytes())


def test_frameless_video_keeps_tags(shared_data: Path) -> None:
    # RIFF.avi has a valid header and INFO tags but no picture data.
    video = _analyse((shared_data / "hostile" / "exiftool" / "RIFF.avi").read_bytes())
    assert video.frames == []
    assert video.software == "CanonMVI01"


def test_lost_sample_description_fails(shared_data: Path) -> None:
    # With the video track's minf box cut to 9 bytes, PyAV opens a video
    # stream that has no codec context.
    data = (shared_data / "formats" / "video" / "sample_mpeg4.mp4").read_bytes()
    size_at = data.rfind(b"minf") - 4
    damaged = data[:size_at] + (9).to_bytes(4, "big") + data[size_at + 4 :]
    with pytest.raises(FileFailure) as caught:
        _analyse(damaged)
    assert caught.value.stage == "video"


def test_hash_limit_noted(shared_data: Path) -> None:
    path = shared_data / "formats" / "video" / "sample_mpeg4.mp4"
    video = analyse_video(path.read_bytes(), strip_frames=2, max_seconds=2)
    assert len(video.frames) == 2
    assert any("not hashed" in note for note in video.notes)
