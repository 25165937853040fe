"""Storage of originals and derived images, sealed under the master keys."""

from __future__ import annotations

from scut.settings import Settings
from scut.storage.encrypted import EncryptedBlobStore, has_sealed_blobs
from scut.storage.keys import (
    KeyringError,
    create_default_keyring,
    default_key_file,
    load_keyring,
)


def open_blob_store(settings: Settings, *, fsync: bool = False) -> EncryptedBlobStore:
    """Open the encrypted blob store under ``data_dir/blobs`` with its keyring.

    With no master key configured and none at the default key file, one is
    created there, unless the store already contains sealed blobs: a new key
    could not read them. ``fsync`` defaults to False because ingest and
    rematch make a batch of blobs durable at once with ``sync()``.

    Raises KeyringError when the configured keys cannot be used.
    """
    root = settings.data_dir / "blobs"
    keyring = load_keyring(settings)
    if keyring is None:
        if has_sealed_blobs(root):
            raise KeyringError(
                f"no master key is configured and there is no key file at "
                f"{default_key_file()}, but the blob store {root} holds sealed "
                "blobs; restore the key file from its backup, or set "
                "SCUT_MASTER_KEY_FILE or SCUT_MASTER_KEY"
            )
        keyring = create_default_keyring(settings)
    return EncryptedBlobStore(root, keyring, fsync=fsync)
