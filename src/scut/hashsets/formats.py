"""Opening a hash set file of any supported format, named or detected.

Formats and how ``open_hash_set`` recognises each from the file's start:

- ``nsrl``: the SQLite magic (NSRL RDS version 3), or a first line containing
  ``"SHA-1","MD5"`` (the legacy NSRLFile.txt);
- ``vics``: a JSON object, ``{`` after an optional BOM and white space;
- ``hashkeeper``: a first line starting ``"file_id","hashset_id"``;
- ``icse``: a semicolon-separated first line with MD5 and SHA1 columns;
- ``plain``: a first line (after blank and ``#`` lines) that is a hash,
  alone or followed by a file name.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from scut.errors import ConfigurationError, ScutError
from scut.hashsets.items import HashSetSource

log = logging.getLogger(__name__)

FORMATS = ("vics", "icse", "nsrl", "hashkeeper", "plain")

SQLITE_MAGIC = b"SQLite format 3\x00"
_BOM = b"\xef\xbb\xbf"
# How far detection looks for the first line that is not blank or a comment.
_SNIFF_BYTES = 65536
# Byte order marks of the Unicode encodings other than UTF-8, longest first.
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
)
# Bytes looked at for UTF-16 without a byte order mark.
_NUL_SAMPLE = 4096
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class HashSetFormatError(ScutError):
    """Raised when a hash set file is not in the expected or any known format."""


def open_hash_set(
    path: Path, fmt: str | None = None, algorithm: str | None = None
) -> HashSetSource:
    """Open the hash set at ``path`` for streaming its items.

    ``fmt`` is one of FORMATS, or None to detect the format from the file's
    first bytes. ``algorithm`` applies to plain lists only: it names the
    algorithm of every hash in the list, as "pdq" for a list of PDQ hashes
    that would otherwise read as SHA-256. Raises HashSetFormatError for an
    unknown format name or a file whose format cannot be detected,
    ConfigurationError for ``algorithm`` given with another format, and
    OSError when the file cannot be read.
    """
    check_hash_set_file(path)
    try:
        head = read_start(path)
        _check_encoding(path, head)
        if fmt is None:
            fmt = _detect(path, head)
            log.info("Detected hash set format %s for %s", fmt, path)
        else:
            fmt = fmt.strip().lower()
            if fmt not in FORMATS:
                raise HashSetFormatError(
                    f"unknown hash set format {fmt!r}; use one of {', '.join(FORMATS)}"
                )
        if algorithm is not None and fmt != "plain":
            raise ConfigurationError(
                f"an algorithm can be given for plain lists only, not for {fmt} "
                f"({path}); leave it out"
            )
        return _open_as(path, fmt, algorithm)
    except OSError as error:
        raise HashSetFormatError(f"{path}: cannot read the file: {error}") from error


def check_hash_set_file(path: Path) -> None:
    """Raise HashSetFormatError unless ``path`` is a regular file.

    Symbolic links are followed. A directory, named pipe or device is
    rejected by name, because reading a pipe or /dev/zero would never end.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as error:
        raise HashSetFormatError(f"hash set file not found: {path}") from error
    except OSError as error:
        # A symbolic link loop, a denied directory or a name too long.
        raise HashSetFormatError(
            f"{path}: cannot open the hash set file: {error.strerror or error}"
        ) from error
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a file")
    raise HashSetFormatError(
        f"{path} is {kind}, not a regular file; give the path of a hash set file"
    )


def read_start(path: Path) -> bytes:
    """Return the first bytes of ``path`` that format detection looks at."""
    with path.open("rb") as handle:
        return handle.read(_SNIFF_BYTES)


def _check_encoding(path: Path, head: bytes) -> None:
    """Raise HashSetFormatError for text in UTF-16 or UTF-32.

    Every reader takes UTF-8 (with or without a BOM), but Windows
    PowerShell 5 writes UTF-16 with ``>``. Without a BOM, UTF-16 of ASCII
    text shows as a NUL in every other byte.
    """
    if head.startswith(SQLITE_MAGIC):
        return
    encoding = next((name for bom, name in _OTHER_BOMS if head.startswith(bom)), None)
    sample = head[:_NUL_SAMPLE]
    if encoding is None and len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            encoding = "UTF-16 (little-endian)"
        elif even.count(0) >= 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            encoding = "UTF-16 (big-endian)"
    if encoding is not None:
        raise HashSetFormatError(
            f"{path}: the file is {encoding} text, but hash set files are read "
            f"as UTF-8; convert it first, for example with iconv -f "
            f"{encoding.split()[0]} -t UTF-8"
        )


def _open_as(path: Path, fmt: str, algorithm: str | None) -> HashSetSource:
    # The readers import HashSetFormatError from here, so they are imported
    # on use to keep this module free of import cycles.
    if fmt == "vics":
        from scut.hashsets.vics import open_vics

        return open_vics(path)
    if fmt == "icse":
        from scut.hashsets.icse import open_icse

        return open_icse(path)
    if fmt == "nsrl":
        from scut.hashsets.nsrl import open_nsrl

        return open_nsrl(path)
    if fmt == "hashkeeper":
        from scut.hashsets.hashkeeper import open_hashkeeper

        return open_hashkeeper(path)
    from scut.hashsets.plain import open_plain_list

    return open_plain_list(path, algorithm)


def detect_format(path: Path) -> str:
    """Return the name in FORMATS that the start of ``path`` matches.

    Raises HashSetFormatError naming the file when none matches.
    """
    return _detect(path, read_start(path))


def _detect(path: Path, head: bytes) -> str:
    from scut.hashsets.plain import is_plain_line

    if head.startswith(SQLITE_MAGIC):
        return "nsrl"
    text = head.removeprefix(_BOM)
    if text.lstrip().startswith(b"{"):
        return "vics"

    lines = text.decode("utf-8", errors="replace").splitlines()
    first = lines[0].strip() if lines else ""
    folded = first.replace(" ", "").lower()
    if '"sha-1","md5"' in folded:
        return "nsrl"
    if folded.startswith('"file_id","hashset_id"'):
        return "hashkeeper"
    columns = {column.strip().strip('"').lower() for column in first.split(";")}
    if {"md5", "sha1"} <= columns:
        return "icse"
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if is_plain_line(stripped):
            return "plain"
        break
    raise HashSetFormatError(
        f"{path}: format not recognised; name it as one of {', '.join(FORMATS)}"
    )
