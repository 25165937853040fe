"""Key files: a blob's data key wrapped under a master key, beside the blob.

``<blob>.key`` is a small JSON document: the id of the master key, the
blob id from the sealed file's header, and the data key sealed with
AES-256-GCM under the master key. The associated data binds the wrapped
key to the master key id, the blob's file name and the blob id, so a key
file copied beside another blob does not open.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scut.storage.keys import Keyring, KeyringError
from scut.storage.segments import DATA_KEY_BYTES, BlobError

KEY_FILE_SUFFIX = ".key"
KEY_FILE_FORMAT = 1
_WRAP_LABEL = b"scut data key v1\x00"
_KEY_ID = re.compile(r"^[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A blob's key file: its data key wrapped under one master key."""

    key_id: str
    blob_id: bytes
    nonce: bytes
    wrapped: bytes

    def to_json(self) -> bytes:
        """Return the key file's content."""
        document = {
            "format": KEY_FILE_FORMAT,
            "key_id": self.key_id,
            "blob_id": self.blob_id.hex(),
            "nonce": base64.b64encode(self.nonce).decode("ascii"),
            "wrapped_key": base64.b64encode(self.wrapped).decode("ascii"),
        }
        return json.dumps(document).encode("ascii")

    @classmethod
    def from_json(cls, raw: bytes, path: Path) -> WrappedKey:
        """Parse a key file; raise BlobError naming it when it is invalid."""
        try:
            document: Any = json.loads(raw)
            if document["format"] != KEY_FILE_FORMAT:
                raise ValueError(f"format {document['format']!r}")
            key_id = str(document["key_id"])
            if not _KEY_ID.fullmatch(key_id):
                raise ValueError(f"invalid master key id {key_id[:40]!r}")
            return cls(
                key_id,
                bytes.fromhex(document["blob_id"]),
                base64.b64decode(document["nonce"], validate=True),
                base64.b64decode(document["wrapped_key"], validate=True),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise BlobError(
                f"key file {path} is damaged ({error}); restore it from a backup"
            ) from error


def wrap_data_key(
    keyring: Keyring, data_key: bytes, blob_id: bytes, name: str
) -> WrappedKey:
    """Wrap a blob's data key under the current master key, bound to the blob."""
    key_id = keyring.current_id
    nonce = os.urandom(12)
    wrapped = AESGCM(keyring.current_key).encrypt(
        nonce, data_key, _wrap_associated(key_id, name, blob_id)
    )
    return WrappedKey(key_id, blob_id, nonce, wrapped)


def unwrap_data_key(
    keyring: Keyring, wrapped: WrappedKey, name: str, key_path: Path
) -> bytes:
    """Return the data key of blob ``name`` from its key file.

    Raises KeyringError when the master key is not in the keyring, and
    BlobError when the key file fails authentication.
    """
    master_key = keyring.keys.get(wrapped.key_id)
    if master_key is None:
        raise KeyringError(
            f"blob {name} is sealed under master key {wrapped.key_id!r}, which is "
            f"not in {keyring.source} (it holds {', '.join(sorted(keyring.keys))}); "
            "set SCUT_MASTER_KEY_FILE or SCUT_MASTER_KEY to the keys this store "
            "was sealed with"
        )
    try:
        data_key = AESGCM(master_key).decrypt(
            wrapped.nonce,
            wrapped.wrapped,
            _wrap_associated(wrapped.key_id, name, wrapped.blob_id),
        )
    except InvalidTag as error:
        raise BlobError(
            f"key file {key_path} of blob {name} failed authentication under "
            f"master key {wrapped.key_id!r}: it was damaged or altered; "
            "restore it from a backup"
        ) from error
    if len(data_key) != DATA_KEY_BYTES:
        raise BlobError(
            f"key file {key_path} contains a data key of invalid size; restore it "
            "from a backup"
        )
    return data_key


def key_file_path(blob: Path) -> Path:
    """Return the path of a blob's key file."""
    return blob.with_name(blob.name + KEY_FILE_SUFFIX)


def read_key_file(path: Path) -> WrappedKey | None:
    """Read a key file; None when it does not exist, BlobError when damaged."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return WrappedKey.from_json(raw, path)


def _wrap_associated(key_id: str, name: str, blob_id: bytes) -> bytes:
    key = key_id.encode("ascii")
    return _WRAP_LABEL + key + b"\x00" + name.encode("utf-8") + b"\x00" + blob_id


def _key_file(blob: Path) -> Path:
    return blob.with_name(blob.name + KEY_FILE_SUFFIX)


def _read_key_file(path: Path) -> WrappedKey | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return WrappedKey.from_json(raw, path)
