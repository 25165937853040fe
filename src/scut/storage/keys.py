"""Master keys: the keyring that wraps each blob's data key, and sealed secrets.

A master key is 32 random bytes (AES-256). Its key id is a fingerprint of
the key itself (the first 12 hex digits of a SHA-256 over a label and the
key), so a wrong key can never pass under a right id. The keyring comes from
one of three places:

- ``SCUT_MASTER_KEY_FILE``: a JSON key file, readable by its owner only and
  kept outside the data directory, that contains the current key id and
  every key in base64. ``scut keys rotate`` adds keys to it and retires old ones.
- ``SCUT_MASTER_KEY``: the base64 of one key, for deployments that inject
  secrets through the environment. Scut cannot add a key to it.
- neither: a key file that Scut creates on first use at
  ``$XDG_CONFIG_HOME/scut/master-key.json`` (``~/.config/scut`` by default).

Small secrets, such as the TOTP secrets of users, are sealed with
:func:`seal_text` under the current master key and opened with
:func:`open_text`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scut.errors import ScutError
from scut.settings import Settings

log = logging.getLogger(__name__)

MASTER_KEY_BYTES = 32
KEY_FILE_FORMAT = 1
KEY_FILE_NAME = "master-key.json"
NONCE_BYTES = 12
SEALED_TEXT_VERSION = "v1"

_KEY_ID = re.compile(r"^[0-9a-f]{12}$")
_KEY_ID_LABEL = b"scut master key id\x00"
_SEALED_TEXT_LABEL = b"scut sealed text v1\x00"
_MAKE_KEY_HINT = "make one with: head -c 32 /dev/urandom | base64"


class KeyringError(ScutError):
    """Raised when a master key is missing, invalid or kept where it is unsafe."""


class SealedTextError(ScutError):
    """Raised when a sealed secret is malformed, damaged or was altered."""


@dataclass(frozen=True)
class Keyring:
    """The master keys by key id, which of them is current, and where they came from.

    ``path`` is the key file, or None for a key from ``SCUT_MASTER_KEY``.
    ``rotating`` is set while a rotation has added a key but not yet
    re-wrapped every data key under it.
    """

    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)
    path: Path | None = None
    rotating: bool = False
    # The key file's (inode, size, modification time) when it was read.
    stamp: tuple[int, int, int] | None = field(default=None, compare=False)

    @property
    def source(self) -> str:
        """Describe where the keys came from, for messages."""
        if self.path is None:
            return "SCUT_MASTER_KEY"
        return f"the key file {self.path}"

    @property
    def current_key(self) -> bytes:
        """Return the key that wraps new data keys."""
        return self.keys[self.current_id]

    def key(self, key_id: str) -> bytes:
        """Return the key with this id, or raise KeyringError naming the source."""
        found = self.keys.get(key_id)
        if found is None:
            raise KeyringError(
                f"master key {key_id!r} is not in {self.source}, which contains "
                f"{', '.join(sorted(self.keys))}; set SCUT_MASTER_KEY_FILE or "
                "SCUT_MASTER_KEY to the keys this data was sealed with, or "
                "restore the key file from its backup"
            )
        return found


@contextlib.contextmanager
def maintenance_lock(settings: Settings) -> Iterator[Path]:
    """Hold the lock that lets one key command at a time change keys or blobs.

    Two rotations at once would each add a key and write the key file, and
    the second write would drop the key the first one wrapped blobs under.
    The lock lives in the data directory, beside the blobs it protects, and
    is released by the kernel when the process dies. Raises KeyringError at
    once, rather than waiting, when another process has taken it.
    """
    folder = settings.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "keys.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KeyringError(
                f"another scut keys command is running (lock file {path}); "
                "run this one again when it has finished"
            ) from None
        yield path
    finally:
        os.close(descriptor)


def key_id_of(key: bytes) -> str:
    """Return the key id of a master key: a fingerprint that reveals nothing of it."""
    return hashlib.sha256(_KEY_ID_LABEL + key).hexdigest()[:12]


def default_key_file() -> Path:
    """Return where a key file is created when no key is configured."""
    config_home = os.environ.get("XDG_CONFIG_HOME", "").strip()
    # The XDG base directory rules ignore a relative XDG_CONFIG_HOME, as the
    # audit signing key's lookup does.
    absolute = config_home and Path(config_home).is_absolute()
    base = Path(config_home) if absolute else Path.home() / ".config"
    return base / "scut" / KEY_FILE_NAME


def load_keyring(settings: Settings) -> Keyring | None:
    """Load the configured keyring; None when none is configured or created yet.

    Raises KeyringError when both settings are set, the configured key file
    is missing, unsafe or invalid, or ``SCUT_MASTER_KEY`` is not the base64
    of 32 bytes.
    """
    configured = settings.master_key_file
    from_environment = settings.master_key
    if configured is not None and from_environment is not None:
        raise KeyringError(
            "both SCUT_MASTER_KEY_FILE and SCUT_MASTER_KEY are set; unset one"
        )
    if from_environment is not None:
        return _environment_keyring(from_environment.get_secret_value())
    if configured is not None:
        return read_key_file(configured, settings.data_dir)
    default = default_key_file()
    if not default.exists():
        return None
    return read_key_file(default, settings.data_dir)


def create_default_keyring(settings: Settings) -> Keyring:
    """Create a key file with one new key at :func:`default_key_file`.

    Another process may create it at the same moment; the first one wins and
    every process returns the keyring of the file that stays.
    """
    path = default_key_file()
    _check_outside(path, settings.data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    keyring = Keyring(key_id_of(key), MappingProxyType({key_id_of(key): key}), path)
    temporary = _write_temporary(path, keyring)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return read_key_file(path, settings.data_dir)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_folder(path.parent)
    log.warning(
        "Created a master key at %s. Back it up apart from the data directory: "
        "without it no original or thumbnail can be read.",
        path,
    )
    return read_key_file(path, settings.data_dir)


def read_key_file(path: Path, data_dir: Path) -> Keyring:
    """Read and check a key file.

    Raises KeyringError when the file is missing, inside ``data_dir``,
    readable by others than its owner, or not a valid key file.
    """
    _check_outside(path, data_dir)
    return _read_checked(path)


def reload_if_changed(keyring: Keyring) -> Keyring:
    """Return the keyring read again if its key file was replaced since it was read."""
    if keyring.path is None:
        return keyring
    try:
        status = keyring.path.stat()
    except OSError:
        return keyring
    if (status.st_ino, status.st_size, status.st_mtime_ns) == keyring.stamp:
        return keyring
    return _read_checked(keyring.path)


def _read_checked(path: Path) -> Keyring:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError as error:
        raise KeyringError(
            f"key file {path} not found; restore it from its backup, or unset "
            "SCUT_MASTER_KEY_FILE to have Scut create a key file for a new "
            "installation"
        ) from error
    except OSError as error:
        raise KeyringError(f"cannot open key file {path}: {error.strerror}") from error
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise KeyringError(f"key file {path} is not a regular file")
        if status.st_mode & 0o077:
            raise KeyringError(
                f"key file {path} has mode {stat.S_IMODE(status.st_mode):04o}, so "
                f"users other than its owner can read it; run: chmod 600 {path}"
            )
        content = handle.read()
    stamp = (status.st_ino, status.st_size, status.st_mtime_ns)
    return _parse_key_file(content, path, stamp)


def add_master_key(keyring: Keyring) -> Keyring:
    """Add a new key as current to the key file and mark a rotation as started.

    Raises KeyringError for a key from ``SCUT_MASTER_KEY``, which Scut cannot
    change.
    """
    path = _writable_path(keyring)
    key = AESGCM.generate_key(bit_length=256)
    keys = dict(keyring.keys)
    keys[key_id_of(key)] = key
    updated = Keyring(key_id_of(key), MappingProxyType(keys), path, rotating=True)
    return write_key_file(updated)


def finish_rotation(keyring: Keyring) -> Keyring:
    """Record in the key file that every data key is wrapped with the current key."""
    if not keyring.rotating:
        return keyring
    _writable_path(keyring)
    return write_key_file(replace(keyring, rotating=False))


def check_retirable(keyring: Keyring, key_id: str) -> None:
    """Raise KeyringError unless ``key_id`` is an old key of a key file."""
    _writable_path(keyring)
    keyring.key(key_id)
    if key_id == keyring.current_id:
        raise KeyringError(
            f"master key {key_id!r} is the current key and cannot be retired; "
            "run scut keys rotate first"
        )


def retire_master_key(keyring: Keyring, key_id: str) -> Keyring:
    """Remove an old key from the key file.

    The caller checks first that no data key or secret is sealed under it.
    Raises KeyringError for the current key or an unknown one.
    """
    check_retirable(keyring, key_id)
    keys = {kept: key for kept, key in keyring.keys.items() if kept != key_id}
    return write_key_file(replace(keyring, keys=MappingProxyType(keys)))


def write_key_file(keyring: Keyring) -> Keyring:
    """Replace the key file atomically with the keyring's content (mode 0600)."""
    path = _writable_path(keyring)
    temporary = _write_temporary(path, keyring)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    status = path.stat()
    return replace(keyring, stamp=(status.st_ino, status.st_size, status.st_mtime_ns))


def seal_text(keyring: Keyring, text: str) -> str:
    """Seal a short secret with AES-256-GCM under the current master key.

    The result is ``v1:<key id>:<base64url of nonce and ciphertext>``, ASCII,
    about 54 characters longer than 4/3 of the text's UTF-8 length.
    """
    key_id = keyring.current_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keyring.current_key).encrypt(
        nonce, text.encode("utf-8"), _SEALED_TEXT_LABEL + key_id.encode("ascii")
    )
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{SEALED_TEXT_VERSION}:{key_id}:{body}"


def open_text(keyring: Keyring, sealed: str) -> str:
    """Return the secret sealed by :func:`seal_text`.

    Raises SealedTextError when the value is malformed or fails
    authentication, and KeyringError when its key is not in the keyring.
    """
    key_id = sealed_text_key_id(sealed)
    try:
        raw = base64.urlsafe_b64decode(sealed.rsplit(":", 1)[1].encode("ascii"))
    except (binascii.Error, UnicodeEncodeError) as error:
        raise SealedTextError(
            f"sealed secret under key {key_id!r} is not valid base64"
        ) from error
    if len(raw) < NONCE_BYTES + 16:
        raise SealedTextError(f"sealed secret under key {key_id!r} is truncated")
    try:
        plain = AESGCM(keyring.key(key_id)).decrypt(
            raw[:NONCE_BYTES],
            raw[NONCE_BYTES:],
            _SEALED_TEXT_LABEL + key_id.encode("ascii"),
        )
    except InvalidTag as error:
        raise SealedTextError(
            f"sealed secret under key {key_id!r} failed authentication: it was "
            "damaged or altered; enrol the secret again"
        ) from error
    return plain.decode("utf-8")


def sealed_text_key_id(sealed: str) -> str:
    """Return the key id a value of :func:`seal_text` was sealed under."""
    parts = sealed.split(":")
    if (
        len(parts) != 3
        or parts[0] != SEALED_TEXT_VERSION
        or not _KEY_ID.fullmatch(parts[1])
    ):
        raise SealedTextError(
            f"not a sealed secret of format {SEALED_TEXT_VERSION} "
            f"(starts with {sealed[:16]!r})"
        )
    return parts[1]


def _environment_keyring(value: str) -> Keyring:
    key = _decode_key(value.strip(), "SCUT_MASTER_KEY")
    return Keyring(key_id_of(key), MappingProxyType({key_id_of(key): key}))


def _decode_key(value: str, where: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except binascii.Error as error:
        raise KeyringError(f"{where} is not valid base64; {_MAKE_KEY_HINT}") from error
    if len(key) != MASTER_KEY_BYTES:
        raise KeyringError(
            f"{where} decodes to {len(key)} bytes, not {MASTER_KEY_BYTES}; "
            f"{_MAKE_KEY_HINT}"
        )
    return key


def _parse_key_file(content: bytes, path: Path, stamp: tuple[int, int, int]) -> Keyring:
    try:
        document: Any = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KeyringError(f"key file {path} is not valid JSON: {error}") from error
    if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
        raise KeyringError(
            f"key file {path} is not a Scut key file of format {KEY_FILE_FORMAT}"
        )
    listed = document.get("keys")
    current = document.get("current")
    if not isinstance(listed, dict) or not listed:
        raise KeyringError(f"key file {path} lists no keys")
    keys: dict[str, bytes] = {}
    for key_id, encoded in listed.items():
        where = f"key {key_id!r} in {path}"
        if not isinstance(encoded, str):
            raise KeyringError(f"{where} is not a base64 string")
        key = _decode_key(encoded, where)
        if key_id != key_id_of(key):
            raise KeyringError(
                f"{where} does not match its key (the key's id is "
                f"{key_id_of(key)!r}); the file was altered, restore it from "
                "its backup"
            )
        keys[key_id] = key
    if current not in keys:
        raise KeyringError(
            f"key file {path} names current key {current!r}, which it does not hold"
        )
    rotating = bool(document.get("rotating", False))
    return Keyring(current, MappingProxyType(keys), path, rotating, stamp)


def _serialise(keyring: Keyring) -> bytes:
    document = {
        "format": KEY_FILE_FORMAT,
        "current": keyring.current_id,
        "rotating": keyring.rotating,
        "keys": {
            key_id: base64.b64encode(key).decode("ascii")
            for key_id, key in sorted(keyring.keys.items())
        },
    }
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def _write_temporary(path: Path, keyring: Keyring) -> Path:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            # The umask could only narrow 0600, but a changed mode could widen it.
            os.fchmod(handle.fileno(), 0o600)
            handle.write(_serialise(keyring))
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _writable_path(keyring: Keyring) -> Path:
    if keyring.path is None:
        raise KeyringError(
            "the master key comes from SCUT_MASTER_KEY, which Scut cannot change. "
            "To rotate, write a key file (mode 0600, outside the data directory) "
            f'of the form {{"format": 1, "current": "{keyring.current_id}", '
            f'"keys": {{"{keyring.current_id}": "<SCUT_MASTER_KEY>"}}}}, set '
            "SCUT_MASTER_KEY_FILE to it, unset SCUT_MASTER_KEY, and run the "
            "command again"
        )
    return keyring.path


def _check_outside(path: Path, data_dir: Path) -> None:
    resolved = path.expanduser().resolve()
    data = data_dir.expanduser().resolve()
    if resolved == data or resolved.is_relative_to(data):
        raise KeyringError(
            f"key file {path} is inside the data directory {data_dir}; a copy of "
            "the data would carry its key. Move the key file elsewhere and set "
            "SCUT_MASTER_KEY_FILE to it"
        )


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
