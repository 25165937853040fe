"""Receive a multipart upload into a job's private folder, as the body arrives.

The body is parsed while it streams in (python-multipart's MultipartParser),
and each file part is written to disk chunk by chunk, so no upload is held
whole in memory and none passes through the system temporary folder. File
names sent by the client are untrusted. Each must pass the checks that
archive member names get (safe_member_name), and then it names the file
only inside the job's folder, which makes it the file's path in the
exhibit. A file whose name fails is reported with the reason, and its
bytes are counted against the limit but not written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from scut.errors import ArchiveError, ScutError
from scut.ingest.members import safe_member_name
from scut.ingest.sources import printable
from scut.web.submissions.settings import UploadSettings

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

log = logging.getLogger(__name__)

# The multipart field that carries the files; every other part is a text field.
FILES_FIELD = "files"
# Bytes of one text field, and text fields per upload.
FIELD_MAX_BYTES = 4096
MAX_FIELDS = 50
# Bytes of a file's name in the upload (a path such as "DCIM/IMG_0001.jpg"),
# and of each of its parts: NAME_MAX of Linux file systems.
NAME_MAX_BYTES = 1024
NAME_PART_MAX_BYTES = 255
# Multipart framing, headers and text fields allowed beyond the file bytes
# when a Content-Length is compared with the limit before reading.
OVERHEAD_PER_FILE = 1024
OVERHEAD_BASE = 1024 * 1024
# Body bytes collected before the parser runs on them in a worker thread.
PARSE_BATCH_BYTES = 1024 * 1024
FILE_BUFFER_BYTES = 1024 * 1024

# Reasons an upload is rejected as a whole, for the pages and the API.
TOO_LARGE = "too-large"
TOO_MANY_FILES = "too-many-files"
MALFORMED = "malformed"
INCOMPLETE = "incomplete"


class UploadRejected(ScutError):
    """Raised when an upload as a whole cannot be accepted.

    ``reason`` is one of TOO_LARGE, TOO_MANY_FILES, MALFORMED and
    INCOMPLETE. The job folder may hold part of the upload, and the caller
    removes it.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        # The text fields received before the upload was rejected, so that
        # a form can be shown again with them.
        self.fields: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class RejectedFile:
    """A file of the upload that was not kept: its name as sent, and why."""

    name: str
    reason: str


@dataclass(slots=True)
class Upload:
    """The text fields and files that an upload left in its job folder."""

    # The folder whose content is the exhibit; its paths are the names sent.
    files_folder: Path
    fields: dict[str, str]
    files: list[str] = field(default_factory=list)
    rejected: list[RejectedFile] = field(default_factory=list)
    # File bytes received, rejected files included.
    size: int = 0


# Called with the text fields received so far when the first file part
# starts. False means the form is already invalid, so file bytes are
# counted and dropped instead of written.
FieldsCheck = Callable[[Mapping[str, str]], bool]


def boundary_of(request: Request) -> bytes:
    """Return the multipart boundary of the request, or raise UploadRejected."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary", b"")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRejected(
            "send the upload as multipart/form-data with a boundary", MALFORMED
        )
    return boundary


def check_declared_size(request: Request, settings: UploadSettings) -> None:
    """Reject a request whose Content-Length already passes the limits."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return
    allowed = (
        settings.max_bytes + settings.max_files * OVERHEAD_PER_FILE + OVERHEAD_BASE
    )
    if int(declared) > allowed:
        raise UploadRejected(
            f"the upload of {declared} bytes is larger than the limit of "
            f"{int(settings.max_bytes)} bytes of files (SCUT_WEB_UPLOAD_MAX_BYTES)",
            TOO_LARGE,
        )


async def receive_upload(
    request: Request,
    files_folder: Path,
    settings: UploadSettings,
    fields_check: FieldsCheck | None = None,
) -> Upload:
    """Write the files of the request's multipart body under ``files_folder``.

    ``files_folder`` must exist and be private to this upload. Raises
    UploadRejected when the body passes a limit, is not valid multipart,
    or ends early.
    """
    check_declared_size(request, settings)
    receiver = _Receiver(files_folder, settings, fields_check)
    try:
        parser = MultipartParser(boundary_of(request), receiver.callbacks())
    except FormParserError as error:
        raise UploadRejected(
            f"invalid multipart boundary: {error}", MALFORMED
        ) from None
    try:
        async for batch in _batches(request):
            await run_in_threadpool(_feed, parser, batch)
        parser.finalize()
    except UploadRejected as rejected:
        rejected.fields = dict(receiver.upload.fields)
        raise
    finally:
        receiver.close_part()
    if not receiver.finished:
        raise UploadRejected("the upload ended before its last part", INCOMPLETE)
    return receiver.upload


def _feed(parser: MultipartParser, data: bytes) -> None:
    try:
        parser.write(data)
    except FormParserError as error:
        raise UploadRejected(
            f"the upload is not valid multipart: {error}", MALFORMED
        ) from None


async def _batches(request: Request) -> AsyncIterator[bytes]:
    """Yield the body in batches of about PARSE_BATCH_BYTES."""
    batch = bytearray()
    stream = request.stream()
    while True:
        try:
            chunk = await anext(stream)
        except StopAsyncIteration:
            break
        except ClientDisconnect:
            raise UploadRejected(
                "the client closed the connection during the upload", INCOMPLETE
            ) from None
        except RuntimeError:
            # Starlette raises this when the body was read before, which
            # happens when a form was posted without the X-CSRF-Token header.
            raise UploadRejected(
                "the upload was read before it reached the upload handler; "
                "send the CSRF token in the X-CSRF-Token header",
                MALFORMED,
            ) from None
        batch += chunk
        if len(batch) >= PARSE_BATCH_BYTES:
            yield bytes(batch)
            batch.clear()
    if batch:
        yield bytes(batch)


class _Part:
    """A part being received: a text field, a file being written, or dropped bytes."""

    def __init__(self, name: str, sink: BinaryIO | None = None) -> None:
        self.name = name
        self.sink = sink
        self.text = bytearray()
        self.is_field = False

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()
            self.sink = None


class _Receiver:
    """The parser's callbacks: parts, their headers and their data."""

    def __init__(
        self,
        files_folder: Path,
        settings: UploadSettings,
        fields_check: FieldsCheck | None,
    ) -> None:
        self.upload = Upload(files_folder, {})
        self.settings = settings
        self.fields_check = fields_check
        self.write_files = True
        self.file_count = 0
        self.field_count = 0
        self.names_seen: dict[str, int] = {}
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}
        self.part: _Part | None = None
        self.finished = False

    def callbacks(self) -> MultipartCallbacks:
        """Return the callbacks in the form MultipartParser takes them."""
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name = bytes(self.header_name).strip().lower()
        self.headers[name] = bytes(self.header_value).strip()
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(
            self.headers.get(b"content-disposition")
        )
        name = options.get(b"name")
        if disposition != b"form-data" or name is None:
            raise UploadRejected(
                "a part of the upload has no form-data Content-Disposition with a name",
                MALFORMED,
            )
        field_name = name.decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            self.part = self._field_part(field_name)
        elif field_name != FILES_FIELD:
            raise UploadRejected(
                f"files must be sent in the field {FILES_FIELD!r}, "
                f"not {printable(field_name)[:100]!r}",
                MALFORMED,
            )
        else:
            raw = filename.decode("utf-8", "surrogateescape")
            self.part = self._file_part(raw)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part is None:
            return
        chunk = data[start:end]
        if part.is_field:
            part.text += chunk
            if len(part.text) > FIELD_MAX_BYTES:
                raise UploadRejected(
                    f"the field {printable(part.name)[:100]!r} is longer than "
                    f"{FIELD_MAX_BYTES} bytes",
                    MALFORMED,
                )
            return
        self.upload.size += len(chunk)
        if self.upload.size > self.settings.max_bytes:
            raise UploadRejected(
                f"the files of the upload pass the limit of "
                f"{int(self.settings.max_bytes)} bytes (SCUT_WEB_UPLOAD_MAX_BYTES)",
                TOO_LARGE,
            )
        if part.sink is not None:
            part.sink.write(chunk)

    def on_part_end(self) -> None:
        part = self.part
        if part is not None and part.is_field:
            try:
                value = bytes(part.text).decode("utf-8")
            except UnicodeDecodeError:
                raise UploadRejected(
                    f"the field {printable(part.name)[:100]!r} is not UTF-8 text",
                    MALFORMED,
                ) from None
            self.upload.fields[part.name] = value
        self.close_part()

    def on_end(self) -> None:
        self.finished = True

    def close_part(self) -> None:
        if self.part is not None:
            self.part.close()
            self.part = None

    def _field_part(self, name: str) -> _Part:
        self.field_count += 1
        if self.field_count > MAX_FIELDS:
            raise UploadRejected(
                f"the upload has more than {MAX_FIELDS} text fields", MALFORMED
            )
        part = _Part(name)
        part.is_field = True
        return part

    def _file_part(self, raw: str) -> _Part:
        if not raw:
            # A file input left empty sends a part with an empty name.
            return _Part("")
        self.file_count += 1
        if self.file_count > self.settings.max_files:
            raise UploadRejected(
                f"the upload has more than {self.settings.max_files} files "
                "(SCUT_WEB_UPLOAD_MAX_FILES)",
                TOO_MANY_FILES,
            )
        if self.file_count == 1 and self.fields_check is not None:
            self.write_files = self.fields_check(self.upload.fields)
        if not self.write_files:
            return _Part(raw)
        try:
            name = self._unique(checked_name(raw))
            sink = _create_file(self.upload.files_folder, name)
        except ArchiveError as error:
            self.upload.rejected.append(RejectedFile(printable(raw), error.reason))
            return _Part(raw)
        self.upload.files.append(printable(name))
        return _Part(name, sink)

    def _unique(self, name: str) -> str:
        # Two files sent under one name are both kept, as the archive
        # reader keeps two members of one name.
        copies = self.names_seen[name] = self.names_seen.get(name, 0) + 1
        return name if copies == 1 else f"{name} (duplicate name {copies})"


def checked_name(raw: str) -> str:
    """Return an uploaded file's name as a relative path, or raise ArchiveError.

    The checks are those of archive member names: no NUL, no absolute
    path and no ``..``, with backslashes read as separators. The name and
    each of its parts must also fit the lengths that file systems take.
    """
    try:
        name = safe_member_name(raw)
    except ArchiveError as error:
        # The checks speak of archive members; here the name is a file's.
        reason = error.reason.replace("member name", "file name")
        raise ArchiveError(reason.replace("the archive", "the upload")) from None
    encoded = os.fsencode(name)
    if len(encoded) > NAME_MAX_BYTES:
        raise ArchiveError(f"the name is longer than {NAME_MAX_BYTES} bytes")
    if any(len(part) > NAME_PART_MAX_BYTES for part in encoded.split(b"/")):
        raise ArchiveError(
            f"a folder or file name in it is longer than {NAME_PART_MAX_BYTES} bytes"
        )
    return name


def _create_file(files_folder: Path, name: str) -> BinaryIO:
    """Create the file ``name`` under ``files_folder`` and its folders, mode 0700.

    Only this upload writes in the folder, and it creates plain folders
    and files only, so no link can lead out of it. O_EXCL and O_NOFOLLOW
    hold that even so. Raises ArchiveError when the name clashes with a
    file or folder of the upload.
    """
    *folders, file_name = name.split("/")
    parent = files_folder
    try:
        for folder in folders:
            parent = parent / folder
            if parent.is_symlink() or not parent.is_dir():
                os.mkdir(parent, 0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        descriptor = os.open(parent / file_name, flags, 0o600)
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise ArchiveError(
            "another file of the upload has this name, or uses it as a folder"
        ) from None
    except OSError as error:
        log.warning("could not create the uploaded file %r: %s", name, error)
        raise ArchiveError(f"the file could not be created: {error.strerror}") from None
    return open(descriptor, "wb", buffering=FILE_BUFFER_BYTES)  # noqa: SIM115
