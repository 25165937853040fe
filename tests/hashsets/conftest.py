"""Ground truth for the sample hash sets: which camera file is in which set."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True, slots=True)
class CameraFile:
    """One row of camera_manifest.csv."""

    path: str
    size: int
    md5: str
    sha1: str
    sha256: str
    in_set: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@pytest.fixture(scope="session")
def hashsets_dir(shared_data: Path) -> Path:
    """The folder of sample hash sets in the shared corpus."""
    return shared_data / "hashsets"


@pytest.fixture(scope="session")
def manifest(hashsets_dir: Path) -> list[CameraFile]:
    """Every camera file with its digests and the sample set that lists it."""
    with (hashsets_dir / "camera_manifest.csv").open(newline="") as handle:
        return [
            CameraFile(
                row["path"],
                int(row["size"]),
                row["md5"],
                row["sha1"],
                row["sha256"],
                row["in_set"],
            )
            for row in csv.DictReader(handle)
        ]


@pytest.fixture(scope="session")
def members(manifest: list[CameraFile]) -> Callable[[str], list[CameraFile]]:
    """Return a function giving the camera files that a sample set lists."""

    def of_set(set_name: str) -> list[CameraFile]:
        return [entry for entry in manifest if entry.in_set == set_name]

    return of_set
