"""Videos decoded with PyAV: duration, size, codec, one PDQ hash per second.

The frame hashes follow vPDQ's layout (one PDQ hash of the first frame at
or after each whole second), taken on frames turned to their display
orientation. A strip of evenly spaced frame thumbnails is kept for the
analyst.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from PIL import Image

from scut.errors import FileFailure
from scut.hashing.pdq import pdq_of_image

log = logging.getLogger(__name__)

STRIP_HEIGHT = 120
# Frames ending this many seconds before the stated duration mark a cut file.
_SHORT_STREAM_SECONDS = 1.0
_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")


@dataclass(frozen=True, slots=True)
class FrameHash:
    """The PDQ hash of the frame shown at ``second``."""

    second: int
    timestamp: float
    pdq: str
    quality: int


@dataclass
class VideoAnalysis:
    """Result of decoding a video: size, duration, codec, frame hashes, metadata."""

    width: int
    height: int
    duration_seconds: float | None
    codec: str
    frames: list[FrameHash] = field(default_factory=list)
    strip_jpeg: bytes | None = None
    container_tags: dict[str, str] = field(default_factory=dict)
    make: str | None = None
    model: str | None = None
    software: str | None = None
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    gps_altitude: float | None = None
    # Problems met part-way, such as a truncated stream.
    notes: list[str] = field(default_factory=list)


def analyse_video(
    source: bytes | Path, *, strip_frames: int, max_seconds: int
) -> VideoAnalysis:
    """Decode a video and hash one frame per second.

    Raises FileFailure with stage "video" when the container cannot be
    opened, or has no video stream or none with a codec. A video that gives
    no frame is returned without frames and with a note, so that its
    container metadata is still recorded.
    """
    try:
        opened = source if isinstance(source, Path) else io.BytesIO(source)
        container = av.open(opened, mode="r", metadata_errors="replace")
    except (av.FFmpegError, OSError, ValueError) as error:
        raise FileFailure("video", f"cannot open container: {error}") from error
    with container:
        if not container.streams.video:
            raise FileFailure("video", "no video stream")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            # PyAV opens the stream without a codec context when the track's
            # sample description cannot be read.
            raise FileFailure("video", "no decoder for the video stream")
        stream.thread_type = "AUTO"
        result = VideoAnalysis(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            duration_seconds=_duration(container, stream),
            codec=stream.codec_context.name,
        )
        _read_container_tags(dict(container.metadata), result)
        _hash_frames(container, stream, result, strip_frames, max_seconds)
    if not result.frames:
        result.notes.append("no frame could be decoded")
    return result


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return None


def _hash_frames(
    container: Any,
    stream: Any,
    result: VideoAnalysis,
    strip_frames: int,
    max_seconds: int,
) -> None:
    strip_times = _strip_times(result.duration_seconds, strip_frames)
    strip: list[Image.Image] = []
    first_frame: Image.Image | None = None
    next_second = 0
    last_timestamp: float | None = None
    stopped = False
    try:
        for frame in container.decode(stream):
            timestamp = float(frame.time) if frame.time is not None else next_second
            last_timestamp = timestamp
            in_strip = bool(strip_times) and timestamp >= strip_times[0]
            if timestamp < next_second and not in_strip:
                continue
            if next_second >= max_seconds:
                result.notes.append(f"frames after {max_seconds} s not hashed")
                stopped = True
                break
            image = _displayed_frame(frame)
            if first_frame is None:
                first_frame = image
            if in_strip:
                strip_times.pop(0)
                strip.append(_strip_tile(image))
            if timestamp >= next_second:
                pdq = pdq_of_image(image)
                result.frames.append(
                    FrameHash(next_second, timestamp, pdq.hex, pdq.quality)
                )
                next_second = int(timestamp) + 1
    except (av.FFmpegError, OSError, ValueError, MemoryError) as error:
        result.notes.append(f"decoding stopped at {next_second} s: {error}")
        stopped = True
    duration = result.duration_seconds
    if (
        not stopped
        and last_timestamp is not None
        and duration is not None
        and last_timestamp < duration - _SHORT_STREAM_SECONDS
    ):
        # A cut file keeps the duration in its header but loses frames, and
        # the decoder stops without an error. The note gives where they end.
        result.notes.append(f"frames end at {last_timestamp:.1f} s of {duration:.1f} s")
    if not strip and first_frame is not None:
        # A video shorter than the strip spacing still gets one tile.
        strip.append(_strip_tile(first_frame))
    if strip:
        result.strip_jpeg = _join_strip(strip)


def _strip_times(duration: float | None, count: int) -> list[float]:
    if count <= 0:
        return []
    if not duration or duration <= 0:
        return [float(second) for second in range(count)]
    return [duration * (index + 0.5) / count for index in range(count)]


def _displayed_frame(frame: Any) -> Image.Image:
    image: Image.Image = frame.to_image()
    # PyAV gives the display matrix's counter-clockwise angle, as PIL expects.
    rotation = int(getattr(frame, "rotation", 0) or 0)
    # Only quarter turns are real display rotations; a zeroed or broken
    # display matrix gives nonsense angles, which are ignored.
    rotation = rotation % 360 if rotation % 90 == 0 and abs(rotation) <= 360 else 0
    if rotation:
        image = image.rotate(rotation, expand=True)
    return image


def _strip_tile(image: Image.Image) -> Image.Image:
    width = max(1, round(image.width * STRIP_HEIGHT / max(1, image.height)))
    return image.resize((width, STRIP_HEIGHT), Image.Resampling.BILINEAR)


def _join_strip(tiles: list[Image.Image]) -> bytes:
    strip = Image.new("RGB", (sum(tile.width for tile in tiles), STRIP_HEIGHT))
    left = 0
    for tile in tiles:
        strip.paste(tile, (left, 0))
        left += tile.width
    output = io.BytesIO()
    strip.save(output, format="JPEG", quality=75)
    return output.getvalue()


def _read_container_tags(tags: dict[str, str], result: VideoAnalysis) -> None:
    result.container_tags = {key: str(value)[:512] for key, value in tags.items()}
    result.make = tags.get("com.apple.quicktime.make") or tags.get("make")
    result.model = tags.get("com.apple.quicktime.model") or tags.get("model")
    result.software = (
        tags.get("com.apple.quicktime.software")
        or tags.get("software")
        or tags.get("encoder")
    )
    location = tags.get("com.apple.quicktime.location.ISO6709") or tags.get("location")
    if location:
        _read_iso6709(location, result)


def _read_iso6709(value: str, result: VideoAnalysis) -> None:
    match = _ISO6709.match(value.strip())
    if match is None:
        result.notes.append(f"location {value!r}: not ISO 6709")
        return
    latitude = _iso6709_degrees(match.group(1), 2)
    longitude = _iso6709_degrees(match.group(2), 3)
    if latitude is None or longitude is None:
        result.notes.append(f"location {value!r}: not ISO 6709")
        return
    if abs(latitude) > 90 or abs(longitude) > 180:
        result.notes.append(f"location {value!r}: out of range")
        return
    result.gps_latitude, result.gps_longitude = latitude, longitude
    if match.group(3):
        result.gps_altitude = float(match.group(3))


def _iso6709_degrees(part: str, degree_digits: int) -> float | None:
    """Return decimal degrees of one ISO 6709 angle: ±D, ±DM or ±DMS.

    The number of whole digits distinguishes the forms. Latitude has two
    degree digits and longitude three, then come two digits of minutes and
    two of seconds, and the last part carries the decimal fraction.
    """
    sign = -1.0 if part.startswith("-") else 1.0
    whole, _, fraction = part[1:].partition(".")
    fraction = f".{fraction}" if fraction else ""
    extra = len(whole) - degree_digits
    if extra <= 1:  # degrees, sometimes padded with one zero too many
        return sign * float(whole + fraction)
    degrees = int(whole[:-extra])
    if extra == 2:
        minutes, seconds = float(whole[-2:] + fraction), 0.0
    elif extra == 4:
        minutes, seconds = int(whole[-4:-2]), float(whole[-2:] + fraction)
    else:
        return None
    if minutes >= 60 or seconds >= 60:
        return None
    return sign * (degrees + minutes / 60 + seconds / 3600)
