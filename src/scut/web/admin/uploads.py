"""Uploads written as they arrive to a private temporary file, with a size limit.

Starlette's own form parser keeps an uploaded file in a spooled temporary
file of unlimited size in the system's temporary folder. Here the body of
a ``multipart/form-data`` request is parsed as it streams in. The one file
goes to a file of mode 0600 in a folder of mode 0700 under the data
directory, and the other fields stay in memory. The upload is rejected as
soon as the file passes its limit. The caller removes the file when done
with it, and leftovers of a crash are removed a day later.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from scut.errors import ScutError
from scut.settings import Settings
from scut.web.security import CSRF_HEADER

log = logging.getLogger(__name__)

PREFIX = "upload-"
SUFFIX = ".part"
# Leftovers of a server stopped during an upload or an import.
STALE_SECONDS = 24 * 3600
# Limits of the fields other than the file: their number, and their
# bytes together (names and values).
MAX_FIELDS = 30
MAX_FIELD_BYTES = 64 * 1024
COPY_CHUNK = 1024 * 1024

# Reasons an upload is rejected, for the page to explain.
TOO_LARGE = "too-large"
NO_FILE = "no-file"
MALFORMED = "malformed"


class UploadRejected(ScutError):
    """Raised when an upload is too large, has no file, or is not a valid form.

    ``reason`` is TOO_LARGE, NO_FILE or MALFORMED.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Upload:
    """A received upload: the private file, the name the browser sent, the fields."""

    path: Path
    file_name: str
    size: int
    fields: dict[str, str]

    def remove(self) -> None:
        """Delete the temporary file; deleting it twice is harmless."""
        self.path.unlink(missing_ok=True)


def upload_folder(settings: Settings, purpose: str) -> Path:
    """Return the private folder for uploads of ``purpose``, creating it.

    Raises OSError when the data directory cannot be written.
    """
    folder = settings.data_dir / "uploads" / purpose
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def remove_stale_uploads(folder: Path, *, now: float | None = None) -> int:
    """Delete temporary upload files older than a day; return how many went."""
    cutoff = (now if now is not None else time.time()) - STALE_SECONDS
    removed = 0
    for path in folder.glob(f"{PREFIX}*{SUFFIX}"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    if removed:
        log.info("removed %d stale uploads from %s", removed, folder)
    return removed


async def receive_upload(
    request: Request, folder: Path, *, file_field: str, max_bytes: int
) -> Upload:
    """Write the request's file to a new private file in ``folder``; return it.

    The check_csrf dependency parses the form itself when the CSRF token
    comes in a form field rather than the header (a form posted without
    HTMX). Then the file is copied from that parsed form, within the same
    limit. Raises UploadRejected; the temporary file is removed then.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + MAX_FIELD_BYTES:
        raise UploadRejected(
            f"the upload has {int(declared)} bytes; the limit is {max_bytes}",
            TOO_LARGE,
        )
    remove_stale_uploads(folder)
    descriptor, name = tempfile.mkstemp(prefix=PREFIX, suffix=SUFFIX, dir=folder)
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if request.headers.get(CSRF_HEADER) is not None:
                received = await _stream(request, handle, file_field, max_bytes)
            else:
                received = await _copy_parsed(request, handle, file_field, max_bytes)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    file_name, size, fields = received
    log.info("upload of %d bytes received into %s", size, path.name)
    return Upload(path, file_name, size, fields)


@dataclass
class _Parts:
    """The state of one streamed multipart body."""

    file_field: str
    max_bytes: int
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_name: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    name: str = ""
    is_file: bool = False
    value: bytearray = field(default_factory=bytearray)
    file_name: str | None = None
    size: int = 0
    field_bytes: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    # File bytes parsed but not yet written.
    pending: bytearray = field(default_factory=bytearray)
    finished: bool = False

    def begin_part(self) -> None:
        self.headers.clear()
        self.value.clear()
        self.name = ""
        self.is_file = False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def end_header(self) -> None:
        self.headers[bytes(self.header_name).lower()] = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def end_headers(self) -> None:
        disposition, options = parse_options_header(
            self.headers.get(b"content-disposition", b"")
        )
        if disposition != b"form-data" or b"name" not in options:
            raise UploadRejected("a part of the form has no field name", MALFORMED)
        self.name = _text(options[b"name"])
        self.is_file = b"filename" in options
        if not self.is_file:
            return
        if self.name != self.file_field or self.file_name is not None:
            raise UploadRejected(
                f"the form sends a file as {self.name!r}; send one file as "
                f"{self.file_field!r}",
                MALFORMED,
            )
        self.file_name = _text(options[b"filename"])

    def part_data(self, data: bytes, start: int, end: int) -> None:
        length = end - start
        if self.is_file:
            self.size += length
            if self.size > self.max_bytes:
                raise UploadRejected(
                    f"the file is larger than the limit of {self.max_bytes} bytes",
                    TOO_LARGE,
                )
            self.pending += data[start:end]
            return
        self.field_bytes += length
        if self.field_bytes > MAX_FIELD_BYTES:
            raise UploadRejected(
                f"the form's fields have more than {MAX_FIELD_BYTES} bytes", MALFORMED
            )
        self.value += data[start:end]

    def end_part(self) -> None:
        if self.is_file:
            return
        if len(self.fields) >= MAX_FIELDS:
            raise UploadRejected(
                f"the form has more than {MAX_FIELDS} fields", MALFORMED
            )
        self.fields[self.name] = _text(bytes(self.value))

    def end(self) -> None:
        self.finished = True


async def _stream(
    request: Request, handle: BinaryIO, file_field: str, max_bytes: int
) -> tuple[str, int, dict[str, str]]:
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadRejected("the upload is not multipart/form-data", MALFORMED)
    parts = _Parts(file_field, max_bytes)
    parser = MultipartParser(
        options[b"boundary"],
        {
            "on_part_begin": parts.begin_part,
            "on_header_field": parts.header_field,
            "on_header_value": parts.header_data,
            "on_header_end": parts.end_header,
            "on_headers_finished": parts.end_headers,
            "on_part_data": parts.part_data,
            "on_part_end": parts.end_part,
            "on_end": parts.end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if parts.pending:
                await run_in_threadpool(handle.write, bytes(parts.pending))
                parts.pending.clear()
    except ClientDisconnect:
        raise UploadRejected("the upload was interrupted", MALFORMED) from None
    parser.finalize()
    if not parts.finished:
        raise UploadRejected("the upload ended before the form did", MALFORMED)
    if not parts.file_name or parts.size == 0:
        raise UploadRejected("the form has no file, or the file is empty", NO_FILE)
    return parts.file_name, parts.size, parts.fields


async def _copy_parsed(
    request: Request, handle: BinaryIO, file_field: str, max_bytes: int
) -> tuple[str, int, dict[str, str]]:
    form = await request.form()
    try:
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
        upload = form.get(file_field)
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise UploadRejected("the form has no file", NO_FILE)
        size = 0
        while chunk := await upload.read(COPY_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise UploadRejected(
                    f"the file is larger than the limit of {max_bytes} bytes",
                    TOO_LARGE,
                )
            await run_in_threadpool(handle.write, chunk)
    finally:
        # The parsed form's spooled copy is not needed any more.
        await form.close()
    if size == 0:
        raise UploadRejected("the file is empty", NO_FILE)
    return upload.filename, size, fields


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRejected(
            "a field of the form is not UTF-8 text", MALFORMED
        ) from None
