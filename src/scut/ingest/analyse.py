"""Analysis of one file, run in a worker process.

A file is read once: the bytes go through MD5, SHA-1 and SHA-256, into the
blob store, and to the decoders. Files over the in-memory limit are streamed
through the digests into a temporary file of the blob store, which is then
adopted as the original; the decoders read the stored original by path.
"""

from __future__ import annotations

import datetime as dt
import errno
import io
import logging
import os
import resource
import signal
import stat
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import BinaryIO

import pillow_heif
from PIL import Image, PngImagePlugin

from scut.errors import FileFailure, FileTimeout
from scut.hashing.digests import Digests, DigestSet, digest_bytes
from scut.hashing.views import PictureHashes
from scut.ingest import filetype
from scut.ingest.images import analyse_image
from scut.ingest.metadata import Metadata, format_offset, read_metadata
from scut.ingest.video import FrameHash, VideoAnalysis, analyse_video
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.encrypted import open_spool
from scut.storage.keys import KeyringError
from scut.storage.segments import BlobError

log = logging.getLogger(__name__)

READ_CHUNK = 1024 * 1024
# How often a worker checks that the ingest process that started it is alive.
ORPHAN_CHECK_SECONDS = 1.0
THUMBNAIL_NAME = "thumb.jpg"
STRIP_NAME = "strip.jpg"


@dataclass(frozen=True, slots=True)
class FileTask:
    """One file to analyse: where its bytes are and where it sits in the exhibit.

    Exactly one of ``source_path`` and ``data`` is set. ``owned`` marks a
    source path that is a temporary file of the blob store, which the worker
    adopts or deletes. ``spool_key`` opens a sealed spool of an archive member.
    """

    path: str
    source_path: Path | None = None
    data: bytes | None = None
    owned: bool = False
    modified_at: dt.datetime | None = None
    # How many archives deep this file sits; 0 for a file on disk.
    depth: int = 0
    # Exhibit path of the archive this file was read from, if any.
    container: str | None = None
    spool_key: bytes | None = None


@dataclass
class FileResult:
    """Everything analysis found in one file, sent back to the recorder."""

    path: str
    modified_at: dt.datetime | None
    depth: int
    digests: Digests | None = None
    size: int = 0
    mime_type: str = "application/octet-stream"
    kind: str = "other"
    extension_mime_type: str | None = None
    type_mismatch: bool = False
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    codec: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    # Every PDQ hash of a picture with its variants, for matching at ingest.
    picture_hashes: PictureHashes | None = None
    metadata: Metadata | None = None
    frames: list[FrameHash] = field(default_factory=list)
    has_thumbnail: bool = False
    has_strip: bool = False
    # MIME type of an archive hidden inside a file of another type, such as
    # a zip appended to a JPEG, whose members are read too.
    embedded_archive: str | None = None
    # Failed stages as (stage, reason); a file with digests is still recorded.
    failures: list[tuple[str, str]] = field(default_factory=list)


class Analyser:
    """Analyses files for one worker process, writing blobs to the store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Blobs are made durable in one sync per batch, before the recorder
        # commits the rows that point to them (Recorder.flush).
        self.store = open_blob_store(settings)

    def analyse(self, task: FileTask) -> FileResult:
        """Analyse one file; per-stage failures are recorded in the result."""
        result = FileResult(task.path, task.modified_at, task.depth)
        with warnings.catch_warnings(record=True) as caught:
            # Decoders warn on corrupt data; each warning is recorded, not shown.
            warnings.simplefilter("always")
            try:
                with _time_limit(self.settings.file_timeout_seconds):
                    self._analyse(task, result)
            except FileFailure as failure:
                result.failures.append((failure.stage, failure.reason))
            except MemoryError:
                result.failures.append(("memory", "ran out of memory analysing it"))
            except Exception as error:  # noqa: BLE001 (one file must not end the job)
                log.exception("Analysis of %s failed", task.path)
                reason = f"unexpected {type(error).__name__}: {error}"[:500]
                result.failures.append(("analyse", reason))
            finally:
                if task.owned and task.source_path is not None:
                    task.source_path.unlink(missing_ok=True)
        for warning in caught:
            message = str(warning.message).strip()
            reason = f"{warning.category.__name__}: {message}"[:500]
            if ("warning", reason) not in result.failures:
                result.failures.append(("warning", reason))
        if result.metadata is not None:
            result.failures.extend(("note", note) for note in result.metadata.notes)
        return result

    def hash_only(self, task: FileTask) -> FileResult:
        """Read, hash, store and type a file without decoding it.

        Used in the main process for a file whose decoding killed a worker,
        so that it is still recorded with its digests and its blob is not
        left without a row.
        """
        result = FileResult(task.path, task.modified_at, task.depth)
        try:
            with self._stored(task, result) as source:
                _detect_type(task, result, source)
        except FileFailure as failure:
            result.failures.append((failure.stage, failure.reason))
        finally:
            if task.owned and task.source_path is not None:
                task.source_path.unlink(missing_ok=True)
        return result

    def _analyse(self, task: FileTask, result: FileResult) -> None:
        with self._stored(task, result) as source:
            self._decode(task, result, source)

    def _decode(self, task: FileTask, result: FileResult, source: bytes | Path) -> None:
        data = source if isinstance(source, bytes) else None
        detected = _detect_type(task, result, source)
        if result.size == 0:
            result.failures.append(("type", "empty file"))
        elif detected.mismatch:
            claimed = detected.extension_mime_type or "no known type"
            result.failures.append(
                ("type", f"content is {detected.mime_type} but the name says {claimed}")
            )
        if result.kind == "other" and result.mime_type == "application/octet-stream":
            _identify_with_pillow(data, result)
        if result.kind != "archive" and result.size and _holds_zip(source):
            result.embedded_archive = "application/zip"
            result.failures.append(
                ("note", "a zip archive is embedded in this file; its members are read")
            )
        if result.kind == "image":
            self._analyse_image(source, result)
        elif result.kind == "video":
            self._analyse_video(source, result)

    @contextmanager
    def _stored(self, task: FileTask, result: FileResult) -> Iterator[bytes | Path]:
        """Digest the file and store it as an original; yield its bytes or a path.

        The path, for a file over the in-memory limit, leads to the stored
        original's plaintext and works until the context exits.
        """
        data = task.data if task.data is not None else self._read_small(task)
        if data is not None:
            result.digests = digest_bytes(data)
            result.size = len(data)
            try:
                self.store.put_original(result.digests.sha256, data)
            except (BlobError, KeyringError) as error:
                raise FileFailure("store", str(error)) from error
            yield data
            return
        self._stream_large(task, result)
        assert result.digests is not None
        with ExitStack() as stack:
            try:
                path = stack.enter_context(
                    self.store.original_file(result.digests.sha256)
                )
            except (BlobError, KeyringError) as error:
                raise FileFailure("store", str(error)) from error
            yield path

    def _read_small(self, task: FileTask) -> bytes | None:
        if task.spool_key is not None:
            return None  # members are spooled only past the in-memory limit
        assert task.source_path is not None
        try:
            with _open_regular(task.source_path) as handle:
                size = _file_size(handle.fileno())
                if size > self.settings.in_memory_max_bytes:
                    return None
                return handle.read()
        except OSError as error:
            raise FileFailure(
                "read", f"{type(error).__name__}: {error.strerror}"
            ) from error

    def _stream_large(self, task: FileTask, result: FileResult) -> None:
        assert task.source_path is not None
        digests = DigestSet()
        try:
            with self.store.temporary_file() as (spool, spool_path):
                with self._open_source(task) as source:
                    while chunk := source.read(READ_CHUNK):
                        digests.update(chunk)
                        spool.write(chunk)
                # An encrypting store reads the temporary file by path, and
                # an unnamed one would be gone once closed.
                spool.flush()
                result.digests = digests.result()
                result.size = digests.size
                self.store.adopt_original(result.digests.sha256, spool_path)
        except (BlobError, KeyringError) as error:
            raise FileFailure("store", str(error)) from error
        except OSError as error:
            raise FileFailure(
                "read", f"{type(error).__name__}: {error.strerror}"
            ) from error

    def _open_source(self, task: FileTask) -> BinaryIO:
        assert task.source_path is not None
        if task.spool_key is not None:
            return open_spool(task.source_path, task.spool_key)
        return _open_regular(task.source_path)

    def _analyse_image(self, source: bytes | Path, result: FileResult) -> None:
        data = source if isinstance(source, bytes) else source.read_bytes()
        try:
            result.metadata = read_metadata(data)
        except (RuntimeError, ValueError, MemoryError) as error:
            result.failures.append(("metadata", str(error)[:500]))
        try:
            image = analyse_image(
                data, self.settings.thumbnail_size, self.settings.picture_views
            )
        except FileFailure as failure:
            result.failures.append((failure.stage, failure.reason))
            return
        result.width, result.height = image.width, image.height
        result.pdq, result.pdq_quality = image.pdq.hex, image.pdq.quality
        result.picture_hashes = image.hashes
        assert result.digests is not None
        self.store.put_derived(
            result.digests.sha256, THUMBNAIL_NAME, image.thumbnail_jpeg
        )
        result.has_thumbnail = True

    def _analyse_video(self, source: bytes | Path, result: FileResult) -> None:
        video = analyse_video(
            source,
            strip_frames=self.settings.video_strip_frames,
            max_seconds=self.settings.video_max_seconds,
        )
        result.width, result.height = video.width, video.height
        result.duration_seconds = video.duration_seconds
        result.codec = video.codec
        result.frames = video.frames
        if video.frames:
            first = video.frames[0]
            result.pdq, result.pdq_quality = first.pdq, first.quality
        result.metadata = _video_metadata(video.container_tags, video)
        for note in video.notes:
            result.failures.append(("video", note))
        assert result.digests is not None
        if video.strip_jpeg is not None:
            self.store.put_derived(result.digests.sha256, STRIP_NAME, video.strip_jpeg)
            result.has_strip = True


def _video_metadata(tags: dict[str, str], video: VideoAnalysis) -> Metadata:
    metadata = Metadata(
        make=video.make,
        model=video.model,
        software=video.software,
        gps_latitude=video.gps_latitude,
        gps_longitude=video.gps_longitude,
        gps_altitude=video.gps_altitude,
        tags=dict(tags),
    )
    created = tags.get("com.apple.quicktime.creationdate") or tags.get("creation_time")
    if created:
        _set_video_date(created, metadata)
    return metadata


def _set_video_date(value: str, metadata: Metadata) -> None:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        metadata.notes.append(f"creation date {value!r}: not ISO 8601")
        return
    metadata.taken_at = parsed.replace(tzinfo=None)
    metadata.taken_at_offset = format_offset(parsed.utcoffset())


def _identify_with_pillow(data: bytes | None, result: FileResult) -> None:
    # libmagic misses pictures that start with junk bytes; Pillow finds some.
    if data is None:
        return
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
    except FileFailure:
        raise  # the file's time limit ran out while Pillow was reading
    except Exception:  # noqa: BLE001 (any failure means "not a picture")
        return
    mime = Image.MIME.get(image_format or "", None)
    if mime:
        result.mime_type = filetype.normalise_mime(mime)
        result.kind = filetype.kind_of(result.mime_type)


def _open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading without following a final symlink.

    The walk saw a regular file here, but it may have been replaced by a
    link or a device before a worker opens it. Neither may be read as
    evidence of this exhibit.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "no longer a regular file")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _detect_type(
    task: FileTask, result: FileResult, source: bytes | Path
) -> filetype.FileType:
    detected = filetype.detect(_head(source), task.path)
    result.mime_type = detected.mime_type
    result.kind = detected.kind
    result.extension_mime_type = detected.extension_mime_type
    result.type_mismatch = detected.mismatch
    return detected


def _holds_zip(source: bytes | Path) -> bool:
    # zipfile finds the central directory from the end of the file, so a zip
    # appended to a picture (a common way to hide one) is found as well.
    try:
        return zipfile.is_zipfile(
            io.BytesIO(source) if isinstance(source, bytes) else source
        )
    except (OSError, ValueError):
        return False


def _head(source: bytes | Path) -> bytes:
    if isinstance(source, bytes):
        return source[: filetype.SNIFF_BYTES]
    with source.open("rb") as handle:
        return handle.read(filetype.SNIFF_BYTES)


def _file_size(descriptor: int) -> int:
    return os.fstat(descriptor).st_size


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise FileTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_ANALYSER: Analyser | None = None


def init_worker(settings: Settings, parent_pid: int) -> None:
    """Prepare a worker process: decoders, limits, the blob store, a watchdog.

    The watchdog ends the worker once ``parent_pid`` is no longer its
    parent: a worker of a killed ingest would otherwise wait for work on
    its queue for ever.
    """
    global _ANALYSER
    _redirect_stderr(settings.data_dir / "logs" / f"worker-{os.getpid()}.log")
    threading.Thread(
        target=_exit_when_orphaned, args=(parent_pid,), name="watchdog", daemon=True
    ).start()
    pillow_heif.register_heif_opener()
    if settings.worker_memory_bytes > 0:
        # A decoder that requests more gets a MemoryError, recorded for that
        # file, instead of the kernel killing the worker.
        limit = settings.worker_memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A PNG text chunk may inflate past Pillow's 1 MB default, which would
    # cost the picture its hash; the picture itself is still bounded.
    PngImagePlugin.MAX_TEXT_CHUNK = 64 * 1024 * 1024
    PngImagePlugin.MAX_TEXT_MEMORY = 256 * 1024 * 1024
    # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that.
    Image.MAX_IMAGE_PIXELS = settings.image_max_pixels // 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _ANALYSER = Analyser(settings)


def _redirect_stderr(path: Path) -> None:
    # Decoder libraries (libtiff, libheif, FFmpeg) print warnings on hostile
    # files straight to file descriptor 2, which would scroll over the
    # progress bar; they, and this worker's own log lines, go to a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(descriptor, 2)
    os.close(descriptor)


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_CHECK_SECONDS)
    log.error("Ingest process %d is gone; worker %d exits", parent_pid, os.getpid())
    os._exit(1)


def analyse_in_worker(task: FileTask) -> FileResult:
    """Analyse ``task`` with the worker's analyser (set by init_worker)."""
    assert _ANALYSER is not None, "init_worker was not called in this process"
    return _ANALYSER.analyse(task)
