"""MD5, SHA-1 and SHA-256 of bytes, in one call or fed in pieces."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from scut.hashing.digests import Digests, DigestSet, digest_bytes

# Bytes with every value 0-255, some text, and a NUL run, so that no byte
# value is treated specially by accident.
SAMPLE = bytes(range(256)) + "Chișinău, Bălți".encode() + b"\x00" * 70 + b"scut"

# Ten camera files spread over the four upstream folders of the corpus.
CAMERA_FILES = [
    "camera/exif-samples/Canon_40D.jpg",
    "camera/exif-samples/Nikon_D70.jpg",
    "camera/exif-samples/orientation/landscape_6.jpg",
    "camera/exiftool/GPS.jpg",
    "camera/exiftool/Panasonic.jpg",
    "camera/metadata-extractor-images/Apple iPhone 4.jpg",
    "camera/metadata-extractor-images/Canon PowerShot S30 (2).jpg",
    "camera/metadata-extractor-images/Olympus μ Digital 800.JPG",
    "camera/metadata-extractor-images/Trust PowerCam Zoom LCD 710.JPG",
    "camera/pillow/hopper_orientation_8.jpg",
]


def _hashlib_digests(data: bytes) -> Digests:
    return Digests(
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.fixture(scope="module")
def manifest(shared_data: Path) -> dict[str, dict[str, str]]:
    with (shared_data / "hashsets" / "camera_manifest.csv").open() as handle:
        return {row["path"]: row for row in csv.DictReader(handle)}


def test_digests_equal_hashlib() -> None:
    assert digest_bytes(SAMPLE) == _hashlib_digests(SAMPLE)


def test_digests_of_abc_vector() -> None:
    # The "abc" vectors published with each algorithm's specification.
    assert digest_bytes(b"abc") == Digests(
        md5="900150983cd24fb0d6963f7d28e17f72",
        sha1="a9993e364706816aba3e25717850c26c9cd0d89d",
        sha256="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    )


def test_digests_of_empty_input() -> None:
    assert digest_bytes(b"") == _hashlib_digests(b"")


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1000])
def test_chunked_digests_equal_whole(chunk_size: int) -> None:
    digests = DigestSet()
    for start in range(0, len(SAMPLE), chunk_size):
        digests.update(SAMPLE[start : start + chunk_size])
    assert digests.result() == digest_bytes(SAMPLE)


def test_chunked_digests_count_size() -> None:
    digests = DigestSet()
    for start in range(0, len(SAMPLE), 100):
        digests.update(memoryview(SAMPLE)[start : start + 100])
    assert digests.size == len(SAMPLE)


def test_buffer_types_give_same_digests() -> None:
    as_bytes = digest_bytes(SAMPLE)
    assert digest_bytes(bytearray(SAMPLE)) == as_bytes
    assert digest_bytes(memoryview(SAMPLE)) == as_bytes


def test_camera_files_listed_in_manifest(
    manifest: dict[str, dict[str, str]],
) -> None:
    assert set(CAMERA_FILES) <= set(manifest)


@pytest.mark.parametrize("path", CAMERA_FILES)
def test_camera_file_matches_manifest(
    shared_data: Path, manifest: dict[str, dict[str, str]], path: str
) -> None:
    data = (shared_data / path).read_bytes()
    row = manifest[path]
    assert digest_bytes(data) == Digests(
        md5=row["md5"], sha1=row["sha1"], sha256=row["sha256"]
    ), path
    assert len(data) == int(row["size"]), path
