"""File type from content (libmagic), and whether the file name agrees."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import PurePosixPath

import magic

# Bytes libmagic looks at; enough for every container this module maps.
SNIFF_BYTES = 64 * 1024

IMAGE_TYPES = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/avif",
}
ARCHIVE_TYPES = {
    "application/zip",
    "application/x-7z-compressed",
    "application/x-tar",
    "application/gzip",
    "application/x-bzip2",
    "application/x-xz",
}

# libmagic names that differ from the registered type of the same format.
_ALIASES = {
    "image/x-ms-bmp": "image/bmp",
    "image/x-bmp": "image/bmp",
    "image/heic-sequence": "image/heic",
    "image/heif-sequence": "image/heif",
    "image/avif-sequence": "image/avif",
    "application/x-gzip": "application/gzip",
    "video/x-ms-wmv": "video/x-ms-asf",
    "application/vnd.ms-asf": "video/x-ms-asf",
    "video/x-m4v": "video/mp4",
    "audio/mp4": "video/mp4",
    "video/3gpp2": "video/3gpp",
    "application/x-ustar": "application/x-tar",
    "image/x-tiff": "image/tiff",
    "image/pjpeg": "image/jpeg",
    "video/MP2T": "video/mp2t",
}

# Extensions Python's mimetypes does not know, or maps differently.
_EXTRA_EXTENSIONS = {
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".avif": "image/avif",
    ".webp": "image/webp",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".3gp": "video/3gpp",
    ".3g2": "video/3gpp",
    ".wmv": "video/x-ms-asf",
    ".asf": "video/x-ms-asf",
    ".7z": "application/x-7z-compressed",
    ".tgz": "application/gzip",
    ".gz": "application/gzip",
    ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz",
    ".mpo": "image/jpeg",
    ".jfif": "image/jpeg",
    ".m4v": "video/mp4",
    ".dng": "image/tiff",
    # MPEG transport streams, which AVCHD camcorders write as .MTS and .M2TS.
    # Debian's /etc/mime.types maps .ts and .mts to unrelated types.
    ".ts": "video/mp2t",
    ".mts": "video/mp2t",
    ".m2t": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".vob": "video/mpeg",
}

# Offset of the first sync byte and packet length of MPEG transport streams
# (188 bytes) and of M2TS, which adds a 4-byte timestamp (192 bytes).
_TS_LAYOUTS = ((0, 188), (4, 192))
_TS_SYNC = 0x47
_TS_PACKETS_TO_CHECK = 5


@dataclass(frozen=True, slots=True)
class FileType:
    """Type found in the content, type claimed by the name, and whether they differ."""

    mime_type: str
    kind: str
    extension_mime_type: str | None
    mismatch: bool


def normalise_mime(mime_type: str) -> str:
    """Return the registered name of a MIME type libmagic may alias."""
    return _ALIASES.get(mime_type, mime_type)


def _family(mime_type: str) -> str:
    # HEIC is HEIF with HEVC inside; cameras and libmagic use the two names
    # for the same files, so neither name is a mismatch for the other.
    return "image/heif" if mime_type == "image/heic" else mime_type


def kind_of(mime_type: str) -> str:
    """Return image, video, archive or other for a MIME type."""
    if mime_type in IMAGE_TYPES:
        return "image"
    if mime_type.startswith("video/"):
        return "video"
    if mime_type in ARCHIVE_TYPES:
        return "archive"
    return "other"


def mime_of_name(name: str) -> str | None:
    """Return the MIME type a file name's extension claims, if known."""
    suffix = PurePosixPath(name).suffix.lower()
    if not suffix:
        return None
    if suffix in _EXTRA_EXTENSIONS:
        return _EXTRA_EXTENSIONS[suffix]
    guessed, _encoding = mimetypes.guess_type(f"x{suffix}", strict=False)
    return normalise_mime(guessed) if guessed else None


def _is_transport_stream(head: bytes) -> bool:
    # libmagic 5.44 does not recognise transport streams, so the sync byte
    # that starts every packet is checked over the first few packets.
    for start, size in _TS_LAYOUTS:
        offsets = [start + size * index for index in range(_TS_PACKETS_TO_CHECK)]
        if offsets[-1] < len(head) and all(head[at] == _TS_SYNC for at in offsets):
            return True
    return False


def detect(head: bytes, name: str) -> FileType:
    """Identify a file from its first bytes and compare with its name.

    A file whose extension claims another type is a mismatch; so is a
    picture, video or archive with an extension that names no known type
    (a JPEG saved as ``.dat``), since hiding media that way is common.
    Two types that are both neither media nor archive (a Python script
    that libmagic calls text/x-script.python) are not told apart.
    """
    if not head:
        mime_type = "application/x-empty"
    else:
        mime_type = normalise_mime(magic.from_buffer(head[:SNIFF_BYTES], mime=True))
        if mime_type == "application/octet-stream" and _is_transport_stream(head):
            mime_type = "video/mp2t"
    kind = kind_of(mime_type)
    claimed = mime_of_name(name)
    if claimed is not None and kind == kind_of(claimed) == "other":
        mismatch = False
    elif claimed is not None:
        mismatch = _family(claimed) != _family(mime_type)
    else:
        mismatch = kind != "other"
    return FileType(mime_type, kind, claimed, mismatch)
