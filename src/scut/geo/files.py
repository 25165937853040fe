"""Parts shared by the readers of map reference files: errors, size limit, checks."""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import ByteSize, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from scut.errors import ConfigurationError, ScutError

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 100 * MIB


class GeoFileError(ScutError):
    """Raised when a reference file is rejected as a whole; nothing of it is stored."""


class GeoSettings(BaseSettings):
    """Settings of the map reference data, read from ``SCUT_<NAME>``.

    NOTE: the field belongs in scut.settings.Settings; moved there, it keeps
    its variable name.
    """

    model_config = SettingsConfigDict(env_prefix="SCUT_", extra="ignore")

    # Largest boundary or gazetteer file read (bytes, or "100MiB"). A boundary
    # file is parsed whole, which takes several times its size in memory.
    geo_max_file_bytes: ByteSize = ByteSize(DEFAULT_MAX_FILE_BYTES)


def max_file_bytes() -> int:
    """Return the size limit of reference files from SCUT_GEO_MAX_FILE_BYTES.

    Raises ConfigurationError when the variable is not a size.
    """
    try:
        return int(GeoSettings().geo_max_file_bytes)
    except ValidationError as error:
        raise ConfigurationError(
            "invalid setting SCUT_GEO_MAX_FILE_BYTES: "
            f"{error.errors()[0]['msg']}; give bytes or a size such as 100MiB"
        ) from error


@dataclass(frozen=True, slots=True)
class Rejected:
    """A feature or line left out of an import, with where it is and why."""

    # "feature 3" or "line 12".
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def check_file(path: Path, max_bytes: int) -> int:
    """Return the size of the regular file at ``path`` or raise GeoFileError.

    The size is checked before anything is read, so a file over the limit
    (a sparse file included) costs nothing.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise GeoFileError(f"{path}: file not found") from None
    except OSError as error:
        raise GeoFileError(f"{path}: cannot read the file: {error}") from error
    if not path.is_file():
        raise GeoFileError(f"{path}: not a regular file")
    if info.st_size > max_bytes:
        raise GeoFileError(
            f"{path}: the file has {info.st_size:,} bytes, over the limit of "
            f"{max_bytes:,} bytes; raise SCUT_GEO_MAX_FILE_BYTES to import it"
        )
    return info.st_size


def read_capped(path: Path, max_bytes: int) -> bytes:
    """Read a whole file, raising GeoFileError if it is over ``max_bytes``.

    The limit applies even to a file that grows after its size was checked.
    """
    check_file(path, max_bytes)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise GeoFileError(f"{path}: reading the file failed: {error}") from error
    if len(data) > max_bytes:
        raise GeoFileError(
            f"{path}: the file grew past the limit of {max_bytes:,} bytes while "
            "it was read"
        )
    return data


def sha256_of(path: Path) -> str:
    """Return the SHA-256 of the file, for the import record."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def coordinate_problem(longitude: float, latitude: float) -> str | None:
    """Return why a WGS84 position is impossible, or None when it is valid."""
    if not (math.isfinite(longitude) and math.isfinite(latitude)):
        return "the coordinates are not finite numbers"
    if not -180 <= longitude <= 180:
        return f"longitude {longitude} is outside -180 to 180"
    if not -90 <= latitude <= 90:
        return f"latitude {latitude} is outside -90 to 90"
    return None
