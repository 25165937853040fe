"""Checks of stored blobs: a listing of the store in SHA-256 order, and re-hashing.

:func:`scan_store` lists the originals and derived images of a store,
grouped by SHA-256 in ascending order. A caller walks it beside the media
rows sorted the same way, and so finds missing and orphan blobs with
constant memory. :func:`check_original` and
:func:`check_derived` read one blob through the store, which decrypts it,
and return what is wrong with it, if anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scut.storage.encrypted import COPY_CHUNK, EncryptedBlobStore
from scut.storage.keyfiles import KEY_FILE_SUFFIX
from scut.storage.keys import KeyringError
from scut.storage.segments import HEADER_BYTES, BlobError, is_sealed

log = logging.getLogger(__name__)

# Kinds of Finding.kind, one per way a blob can be wrong.
MISSING = "missing"
MISMATCHED = "mismatched"
UNDECRYPTABLE = "undecryptable"
PLAINTEXT = "plaintext"
ORPHAN = "orphan"

# A blob's file name: the SHA-256, then for a derived image a dot and a
# name of the form FileBlobStore.derived_path accepts.
_SHA256_NAME = re.compile(
    r"^(?P<sha256>[0-9a-f]{64})(?:\.(?P<derived>[a-z0-9][a-z0-9.-]{0,40}))?$"
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with one blob file, named as it is named in the store."""

    kind: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(slots=True)
class StoredMedia:
    """The files a store holds for one SHA-256, key files apart."""

    sha256: str
    original: bool = False
    # Names of derived images, such as "thumb.jpg", without the key files.
    derived: set[str] = field(default_factory=set)
    # Blob names (such as "<sha256>.thumb.jpg") that have a key file.
    keyed: set[str] = field(default_factory=set)

    def lone_key_files(self) -> list[str]:
        """Return the key files whose blob is gone, left by an interrupted write."""
        present = {self.sha256} if self.original else set()
        present.update(f"{self.sha256}.{name}" for name in self.derived)
        return sorted(f"{name}{KEY_FILE_SUFFIX}" for name in self.keyed - present)


def scan_store(root: Path, unexpected: list[str]) -> Iterator[StoredMedia]:
    """Yield what the store under ``root`` holds for each SHA-256, in ascending order.

    Needs no key and reads no blob: it lists folders only. Some files are
    not where the store looks for them, because their name is no SHA-256
    or they lie in another folder than their name selects. The store
    never reads those, and their paths relative to ``root`` are appended
    to ``unexpected``.
    """
    for first, second in _prefix_folders(root):
        grouped: dict[str, StoredMedia] = {}
        for kind in ("originals", "derived"):
            folder = root / kind / first / second
            for name in _file_names(folder):
                if not _group(name, kind, first + second, grouped):
                    unexpected.append(f"{kind}/{first}/{second}/{name}")
        for sha256 in sorted(grouped):
            yield grouped[sha256]


def check_original(store: EncryptedBlobStore, sha256: str) -> Finding | None:
    """Decrypt the original ``sha256`` and compare its SHA-256 with its name."""
    path = store.original_path(sha256)
    try:
        with store.open_original(sha256) as handle:
            digest = hashlib.sha256()
            while chunk := handle.read(COPY_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        return Finding(MISSING, sha256, "the original is not in the blob store")
    except (BlobError, KeyringError) as error:
        return Finding(UNDECRYPTABLE, sha256, str(error))
    except OSError as error:
        return Finding(UNDECRYPTABLE, sha256, f"cannot be read: {error}")
    if digest.hexdigest() != sha256:
        return Finding(
            MISMATCHED,
            sha256,
            f"the stored content has SHA-256 {digest.hexdigest()}, so the original "
            "was replaced or altered",
        )
    return _plaintext_finding(path, sha256)


def check_derived(store: EncryptedBlobStore, sha256: str, name: str) -> Finding | None:
    """Decrypt the derived image ``name`` of ``sha256``; its content has no digest."""
    path = store.derived_path(sha256, name)
    try:
        store.read_derived(sha256, name)
    except FileNotFoundError:
        return Finding(MISSING, path.name, "the derived image is not in the blob store")
    except (BlobError, KeyringError) as error:
        return Finding(UNDECRYPTABLE, path.name, str(error))
    except OSError as error:
        return Finding(UNDECRYPTABLE, path.name, f"cannot be read: {error}")
    return _plaintext_finding(path, path.name)


def _plaintext_finding(path: Path, name: str) -> Finding | None:
    # The store reads a plaintext blob of a store from before encryption as
    # it is, so a sound digest does not show that the blob is sealed.
    try:
        with path.open("rb") as handle:
            head = handle.read(HEADER_BYTES)
    except OSError as error:
        return Finding(UNDECRYPTABLE, name, f"cannot be read: {error}")
    if is_sealed(head):
        return None
    return Finding(
        PLAINTEXT,
        name,
        "stored in plaintext; run scut keys seal-existing to seal it",
    )


def _prefix_folders(root: Path) -> list[tuple[str, str]]:
    """Return the ``ab/cd`` folders under originals and derived, sorted."""
    found: set[tuple[str, str]] = set()
    for kind in ("originals", "derived"):
        for first in _folder_names(root / kind):
            for second in _folder_names(root / kind / first):
                found.add((first, second))
    return sorted(found)


def _folder_names(folder: Path) -> list[str]:
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    return [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]


def _file_names(folder: Path) -> list[str]:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [entry.name for entry in entries if not entry.is_dir(follow_symlinks=False)]


def _group(name: str, kind: str, prefix: str, grouped: dict[str, StoredMedia]) -> bool:
    """Add a file to its SHA-256's entry; return False for an unexpected file."""
    blob_name = name.removesuffix(KEY_FILE_SUFFIX)
    matched = _SHA256_NAME.fullmatch(blob_name)
    if matched is None:
        return False
    sha256, derived = matched["sha256"], matched["derived"]
    if sha256[:4] != prefix or (kind == "originals") != (derived is None):
        return False
    entry = grouped.setdefault(sha256, StoredMedia(sha256))
    if name.endswith(KEY_FILE_SUFFIX):
        entry.keyed.add(blob_name)
    elif derived is None:
        entry.original = True
    else:
        entry.derived.add(derived)
    return True
