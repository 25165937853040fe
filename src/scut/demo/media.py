"""Encoding of the demo pictures and videos: EXIF, edited JPEG copies, H.264 clips.

EXIF is written with Pillow's ``Image.Exif`` API and videos with PyAV. The
functions return bytes or values and write no files, so
:mod:`scut.demo.generate` decides where everything goes.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

import av
from PIL import ExifTags, Image, ImageOps
from PIL.TiffImagePlugin import IFDRational

from scut.demo import drawing

log = logging.getLogger(__name__)

JPEG_QUALITY = 92
RECOMPRESSED_QUALITY = 35
EDITS = ("recompress", "half", "rotate", "orientation", "crop", "mirror")
EDITOR_SOFTWARE = "Demo Photo Editor 3.1"

# Pillow format name and save options for each picture suffix other than JPEG.
_PICTURE_FORMATS: dict[str, tuple[str, dict[str, int | str]]] = {
    ".png": ("PNG", {}),
    ".webp": ("WEBP", {"quality": 80}),
    ".gif": ("GIF", {}),
    ".bmp": ("BMP", {}),
    ".tif": ("TIFF", {"compression": "tiff_lzw"}),
}


@dataclass(frozen=True)
class Camera:
    """A fictional camera as EXIF names it."""

    make: str
    model: str
    serial: str
    software: str


@dataclass(frozen=True)
class Place:
    """A GPS position in decimal degrees (north and east positive), altitude in m."""

    name: str
    latitude: float
    longitude: float
    altitude_m: float


@dataclass(frozen=True)
class Capture:
    """The camera, local capture time and optional position of one picture."""

    camera: Camera
    captured_at: datetime
    place: Place | None


def build_exif(
    capture: Capture, *, orientation: int = 1, software: str | None = None
) -> Image.Exif:
    """Build EXIF with camera, capture time (UTC+03:00) and, if known, GPS tags.

    ``software`` replaces the camera's firmware name, as an editor would.
    """
    exif = Image.Exif()
    stamp = capture.captured_at.strftime("%Y:%m:%d %H:%M:%S")
    exif[ExifTags.Base.Make] = capture.camera.make
    exif[ExifTags.Base.Model] = capture.camera.model
    exif[ExifTags.Base.Software] = software or capture.camera.software
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.DateTime] = stamp

    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    exif_ifd[ExifTags.Base.DateTimeOriginal] = stamp
    # Moldova keeps UTC+03:00 in summer, when all demo pictures are taken.
    exif_ifd[ExifTags.Base.OffsetTimeOriginal] = "+03:00"
    exif_ifd[ExifTags.Base.BodySerialNumber] = capture.camera.serial

    if capture.place is not None:
        _add_gps(exif, capture.place)
    return exif


def encode_jpeg(
    image: Image.Image, exif: Image.Exif, quality: int = JPEG_QUALITY
) -> bytes:
    """Encode ``image`` as a JPEG that carries ``exif``."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def encode_picture(image: Image.Image, suffix: str) -> bytes:
    """Encode ``image`` without EXIF as PNG, WebP, GIF, BMP or TIFF by ``suffix``."""
    if suffix.lower() not in _PICTURE_FORMATS:
        raise ValueError(
            f"unsupported demo picture suffix {suffix!r}. "
            f"Expected one of {sorted(_PICTURE_FORMATS)}"
        )
    picture_format, options = _PICTURE_FORMATS[suffix.lower()]
    buffer = io.BytesIO()
    image.save(buffer, picture_format, **options)
    return buffer.getvalue()


def encode_edit(image: Image.Image, capture: Capture, edit: str) -> bytes:
    """Encode an edited JPEG copy of ``image``, where ``edit`` is one of ``EDITS``.

    "orientation" keeps the pixels, quality and Software tag of the source and
    only sets EXIF Orientation to 6 (display rotated 90 degrees clockwise). The
    other edits change the pixels or quality and name the editor as Software.
    """
    if edit == "orientation":
        return encode_jpeg(image, build_exif(capture, orientation=6))

    exif = build_exif(capture, software=EDITOR_SOFTWARE)
    if edit == "recompress":
        return encode_jpeg(image, exif, RECOMPRESSED_QUALITY)
    return encode_jpeg(_edit_pixels(image, edit), exif)


def video_codec() -> str:
    """Return the encoder for the demo videos: libx264 if PyAV has it, else mpeg4."""
    # Most phone videos are H.264, but some PyAV builds ship without x264.
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def encode_video(
    background: Image.Image,
    motif: str,
    *,
    fps: int,
    seconds: int,
    container_format: str,
    codec: str,
) -> bytes:
    """Encode ``seconds`` of ``motif`` moving over ``background`` at ``fps``.

    ``container_format`` is an FFmpeg muxer name such as "mp4" or "mov".
    """
    frame_count = fps * seconds
    buffer = io.BytesIO()
    # bitexact leaves the FFmpeg version string out of the container.
    with av.open(
        buffer, "w", format=container_format, options={"fflags": "+bitexact"}
    ) as output:
        stream = _add_video_stream(output, codec, fps, background.size)
        for index in range(frame_count):
            progress = index / max(1, frame_count - 1)
            image = drawing.draw_video_frame(background, motif, progress)
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def _add_video_stream(
    output: av.container.OutputContainer,
    codec: str,
    fps: int,
    size: tuple[int, int],
) -> av.VideoStream:
    options: dict[str, str] = {}
    if codec == "libx264":
        # NOTE: with its assembly enabled, x264 in the PyAV 18.1 wheel wrote
        # different bytes for the same frames on repeated runs, even with one
        # thread. With asm=0 (plain C code) 40 of 40 runs matched.
        options = {"preset": "veryfast", "x264-params": "asm=0"}
    stream = output.add_stream(codec, rate=fps, options=options)
    if not isinstance(stream, av.VideoStream):
        raise TypeError(f"codec {codec} did not give a video stream")
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.time_base = Fraction(1, fps)

    # x264 output depends on the thread count, so one thread keeps the bytes
    # the same on machines with different numbers of cores.
    stream.codec_context.thread_count = 1
    return stream


def _edit_pixels(image: Image.Image, edit: str) -> Image.Image:
    width, height = image.size
    if edit == "half":
        return image.resize((width // 2, height // 2), Image.Resampling.LANCZOS)
    if edit == "rotate":
        return image.transpose(Image.Transpose.ROTATE_270)
    if edit == "mirror":
        return ImageOps.mirror(image)
    if edit == "crop":
        # Removes 8% of the width and of the height, half of it on each side.
        edge_x, edge_y = round(width * 0.04), round(height * 0.04)
        return image.crop((edge_x, edge_y, width - edge_x, height - edge_y))
    raise ValueError(f"unknown picture edit {edit!r}. Expected one of {EDITS}")


def _add_gps(exif: Image.Exif, place: Place) -> None:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSVersionID] = b"\x02\x03\x00\x00"
    gps[ExifTags.GPS.GPSLatitudeRef] = "N" if place.latitude >= 0 else "S"
    gps[ExifTags.GPS.GPSLatitude] = _degrees_to_rationals(place.latitude)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E" if place.longitude >= 0 else "W"
    gps[ExifTags.GPS.GPSLongitude] = _degrees_to_rationals(place.longitude)
    # Reference 0 means the altitude is above sea level.
    gps[ExifTags.GPS.GPSAltitudeRef] = 0
    gps[ExifTags.GPS.GPSAltitude] = IFDRational(round(place.altitude_m * 10), 10)


def _degrees_to_rationals(
    degrees: float,
) -> tuple[IFDRational, IFDRational, IFDRational]:
    # EXIF wants degrees, minutes and seconds. Seconds to 1/100 is about 30 cm.
    hundredths = round(abs(degrees) * 360_000)
    whole_degrees, rest = divmod(hundredths, 360_000)
    minutes, seconds = divmod(rest, 6_000)
    return (
        IFDRational(whole_degrees, 1),
        IFDRational(minutes, 1),
        IFDRational(seconds, 100),
    )
