"""A file uploaded with a form, streamed into a private folder under the data directory.

Lists of convicted offenders hold personal data, so an upload is written
only under the data directory, in a folder of mode 0700 made for it, and
removed when the import ends. The size limit is enforced while the body
streams in, so an oversized upload stops at the limit.

Two ways in. A form sent by HTMX carries the CSRF token in a header, so
nothing has read the body yet, and it is parsed here as it streams. A form
sent without script carries the token in a field, so the CSRF check has
already parsed the body with Starlette, which keeps file parts in an
anonymous temporary file. The part is then copied with the same limit.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import UploadFile
from starlette.requests import Request

from scut.errors import ScutError
from scut.web.security import CSRF_HEADER

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

log = logging.getLogger(__name__)

# Bytes of the form's other fields and part headers allowed beyond the file.
FORM_OVERHEAD = 64 * 1024
MAX_FIELD_BYTES = 4096
MAX_FILE_NAME = 200
CHUNK_BYTES = 1 << 16
# Upload folders older than this are left from a server that stopped
# during an import, and are removed before the next upload.
STALE_AFTER = dt.timedelta(days=1)
DEFAULT_NAME = "upload"


class UploadRejected(ScutError):
    """Raised for an upload that is too large, missing or not a valid form.

    ``reason`` is too-large, missing or malformed.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class Upload:
    """The uploaded file in its private folder, and the form's other fields."""

    folder: Path
    path: Path
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        """The file's name as uploaded, made safe to keep."""
        return self.path.name

    def remove(self) -> None:
        """Delete the file and its folder."""
        shutil.rmtree(self.folder, ignore_errors=True)


def safe_file_name(name: str | None) -> str:
    """Return the last part of an uploaded file name, without control characters.

    Browsers send the bare name, but a client may send a path. Only the
    name stays, so the file cannot land outside its folder.
    """
    text = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(char for char in text if char.isprintable()).strip()
    if text in ("", ".", ".."):
        return DEFAULT_NAME
    if len(text) > MAX_FILE_NAME:
        stem, dot, suffix = text.rpartition(".")
        keep = suffix if dot and len(suffix) <= 10 else ""
        text = text[: MAX_FILE_NAME - len(keep) - 1] + ("." + keep if keep else "")
    return text


def private_folder(root: Path) -> Path:
    """Make a folder of mode 0700 for one upload under ``root``, also 0700."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    _remove_stale(root)
    return Path(tempfile.mkdtemp(dir=root, prefix="upload-"))


def _remove_stale(root: Path) -> None:
    cutoff = time.time() - STALE_AFTER.total_seconds()
    for entry in root.iterdir():
        try:
            stale = entry.is_dir() and entry.stat().st_mtime < cutoff
        except OSError:
            continue
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            log.warning("removed the upload folder %s left by a stopped import", entry)


async def receive_file(
    request: Request, root: Path, max_bytes: int, file_field: str = "file"
) -> Upload:
    """Write the file of the form field ``file_field`` into a private folder.

    Returns the upload with the form's other text fields. Raises
    UploadRejected when the file is larger than ``max_bytes``, missing or
    empty, or when the body is not a multipart form. The caller removes
    the upload when done.
    """
    streamed = bool(request.headers.get(CSRF_HEADER))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD:
        if not streamed:
            await (await request.form()).close()
        raise _too_large(max_bytes)
    folder = private_folder(root)
    try:
        if streamed:
            upload = await _stream(request, folder, max_bytes, file_field)
        else:
            upload = await _copy_parsed(request, folder, max_bytes, file_field)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if upload.size == 0:
        upload.remove()
        raise UploadRejected("the form has no file, or the file is empty", "missing")
    return upload


async def _copy_parsed(
    request: Request, folder: Path, max_bytes: int, file_field: str
) -> Upload:
    form = await request.form()
    try:
        part = form.get(file_field)
        if not isinstance(part, UploadFile):
            raise UploadRejected("the form has no file", "missing")
        upload = Upload(folder, folder / safe_file_name(part.filename))
        with _private_file(upload.path) as handle:
            while chunk := await part.read(CHUNK_BYTES):
                upload.size += len(chunk)
                if upload.size > max_bytes:
                    raise _too_large(max_bytes)
                handle.write(chunk)
        for name, value in form.multi_items():
            if isinstance(value, str):
                upload.fields.setdefault(name, value)
    finally:
        # Starlette's temporary copy of the part goes at once.
        await form.close()
    return upload


async def _stream(
    request: Request, folder: Path, max_bytes: int, file_field: str
) -> Upload:
    content_type, options = parse_options_header(
        request.headers.get("content-type", "")
    )
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRejected("the upload is not a multipart form", "malformed")
    receiver = _PartReceiver(folder, max_bytes, file_field)
    parser = MultipartParser(boundary, receiver.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except ParseError as error:
        raise UploadRejected(f"the form is malformed: {error}", "malformed") from None
    finally:
        receiver.close()
    if receiver.upload is None:
        raise UploadRejected("the form has no file", "missing")
    receiver.upload.fields = receiver.fields
    return receiver.upload


class _PartReceiver:
    """Callbacks of python-multipart's parser that route each part.

    The part of the file field goes to the private file; text fields are
    kept up to MAX_FIELD_BYTES each. Errors raised here stop the parser.
    """

    def __init__(self, folder: Path, max_bytes: int, file_field: str) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.upload: Upload | None = None
        self.fields: dict[str, str] = {}
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._value = bytearray()
        self._file: BinaryIO | None = None

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_part,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _part_begin(self) -> None:
        self._disposition = b""
        self._name = ""
        self._value = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None or self._name != self.file_field:
            return
        if self.upload is not None:
            raise UploadRejected("the form has more than one file", "malformed")
        name = safe_file_name(filename.decode("utf-8", "replace"))
        self.upload = Upload(self.folder, self.folder / name)
        self._file = _private_file(self.upload.path)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None and self.upload is not None:
            self.upload.size += end - start
            if self.upload.size > self.max_bytes:
                raise _too_large(self.max_bytes)
            self._file.write(data[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise UploadRejected(
                f"the form field {self._name!r} is too long", "malformed"
            )

    def _part_end(self) -> None:
        if self._file is not None:
            self.close()
            return
        if self._name:
            text = self._value.decode("utf-8", "replace")
            self.fields.setdefault(self._name, text)


def _private_file(path: Path) -> BinaryIO:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(descriptor, "wb")


def _too_large(max_bytes: int) -> UploadRejected:
    return UploadRejected(
        f"the file is larger than the limit of {max_bytes} bytes", "too-large"
    )
