"""Tests of the master keyring, sealed secrets, and the ``scut keys`` commands."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from drawn_pictures import draw_picture
from scut.db.models import AuditEvent, User
from scut.db.session import Database
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.security.audit import event_as_dict
from scut.settings import Settings
from scut.storage import open_blob_store
from scut.storage.encrypted import EncryptedBlobStore, census
from scut.storage.keys import (
    Keyring,
    KeyringError,
    SealedTextError,
    add_master_key,
    create_default_keyring,
    default_key_file,
    finish_rotation,
    key_id_of,
    load_keyring,
    maintenance_lock,
    open_text,
    read_key_file,
    reload_if_changed,
    retire_master_key,
    seal_text,
    sealed_text_key_id,
    write_key_file,
)

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration folder of this test's own, and no key in the environment."""
    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    monkeypatch.delenv("SCUT_MASTER_KEY", raising=False)
    monkeypatch.delenv("SCUT_MASTER_KEY_FILE", raising=False)
    return folder


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", **changes)


def key_file_with(path: Path, *keys: bytes) -> Keyring:
    """Write a key file holding ``keys``, the last one current."""
    path.parent.mkdir(parents=True, exist_ok=True)
    by_id = {key_id_of(key): key for key in keys}
    return write_key_file(Keyring(key_id_of(keys[-1]), by_id, path))


def new_key() -> bytes:
    return os.urandom(32)


def drawn_jpeg(seed: int) -> bytes:
    output = io.BytesIO()
    draw_picture(seed).save(output, format="JPEG", quality=90)
    return output.getvalue()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_default_key_file_created_once(
    tmp_path: Path, config_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path)
    assert load_keyring(settings) is None

    with caplog.at_level(logging.WARNING, logger="scut.storage.keys"):
        created = create_default_keyring(settings)

    path = config_home / "scut" / "master-key.json"
    assert default_key_file() == path
    assert created.path == path
    assert path.stat().st_mode & 0o777 == 0o600
    assert str(path) in caplog.text
    assert "Back it up" in caplog.text
    loaded = load_keyring(settings)
    assert loaded is not None
    assert loaded.current_id == created.current_id
    assert loaded.current_key == created.current_key


def test_second_creation_keeps_first_key(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    first = create_default_keyring(settings)

    second = create_default_keyring(settings)

    assert second.current_id == first.current_id
    assert list(second.keys) == [first.current_id]


def test_default_key_file_under_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    assert default_key_file() == tmp_path / "home/.config/scut/master-key.json"


def test_key_file_readable_by_others_rejected(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.json"
    key_file_with(path, new_key())
    path.chmod(0o640)

    with pytest.raises(KeyringError) as raised:
        load_keyring(settings_for(tmp_path, master_key_file=path))

    assert str(path) in str(raised.value)
    assert "0640" in str(raised.value)
    assert f"chmod 600 {path}" in str(raised.value)


def test_key_file_in_data_dir_rejected(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.json"
    key_file_with(path, new_key())

    with pytest.raises(KeyringError, match="inside the data directory"):
        load_keyring(settings_for(tmp_path, master_key_file=path))


def test_default_key_file_in_data_dir_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "data" / "config"))

    with pytest.raises(KeyringError, match="inside the data directory"):
        create_default_keyring(settings_for(tmp_path))
    assert not (tmp_path / "data" / "config" / "scut").exists()


def test_missing_configured_key_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "absent.json"

    with pytest.raises(KeyringError, match="not found; restore it"):
        load_keyring(settings_for(tmp_path, master_key_file=path))
    assert not path.exists()


def test_altered_key_id_rejected(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.json"
    keyring = key_file_with(path, new_key())
    document = json.loads(path.read_text())
    document["keys"] = {"0123456789ab": document["keys"][keyring.current_id]}
    document["current"] = "0123456789ab"
    path.write_text(json.dumps(document))

    with pytest.raises(KeyringError, match="does not match its key"):
        read_key_file(path, tmp_path / "data")


def test_environment_key_loaded(tmp_path: Path) -> None:
    key = new_key()
    encoded = SecretStr(base64.b64encode(key).decode())

    keyring = load_keyring(settings_for(tmp_path, master_key=encoded))

    assert keyring is not None
    assert keyring.path is None
    assert keyring.current_id == key_id_of(key)
    assert keyring.current_key == key
    assert keyring.source == "SCUT_MASTER_KEY"
    assert base64.b64encode(key).decode() not in repr(keyring)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (base64.b64encode(b"short").decode(), "decodes to 5 bytes, not 32"),
        ("not base64!", "not valid base64"),
    ],
)
def test_environment_key_invalid(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message):
        load_keyring(settings_for(tmp_path, master_key=SecretStr(value)))


def test_both_key_sources_rejected(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.json"
    key_file_with(path, new_key())
    encoded = SecretStr(base64.b64encode(new_key()).decode())

    with pytest.raises(KeyringError, match="unset one"):
        load_keyring(settings_for(tmp_path, master_key_file=path, master_key=encoded))


def test_sealed_text_round_trip(tmp_path: Path) -> None:
    keyring = key_file_with(tmp_path / "keys" / "master.json", new_key())

    sealed = seal_text(keyring, TOTP_SECRET)

    assert TOTP_SECRET not in sealed
    assert sealed.startswith(f"v1:{keyring.current_id}:")
    assert sealed_text_key_id(sealed) == keyring.current_id
    assert open_text(keyring, sealed) == TOTP_SECRET
    assert seal_text(keyring, TOTP_SECRET) != sealed, "nonces must differ"
    assert len(sealed) <= 400, "must fit users.totp_secret_sealed"


def test_sealed_text_altered_rejected(tmp_path: Path) -> None:
    keyring = key_file_with(tmp_path / "keys" / "master.json", new_key())
    sealed = seal_text(keyring, TOTP_SECRET)
    body = bytearray(base64.urlsafe_b64decode(sealed.rsplit(":", 1)[1]))
    body[20] ^= 0x01
    altered = sealed.rsplit(":", 1)[0] + ":" + base64.urlsafe_b64encode(body).decode()

    with pytest.raises(SealedTextError, match="failed authentication"):
        open_text(keyring, altered)
    with pytest.raises(SealedTextError, match="not a sealed secret"):
        open_text(keyring, "JBSWY3DPEHPK3PXP")


def test_sealed_text_other_key_rejected(tmp_path: Path) -> None:
    keyring = key_file_with(tmp_path / "keys" / "a.json", new_key())
    other = key_file_with(tmp_path / "keys" / "b.json", new_key())

    with pytest.raises(KeyringError) as raised:
        open_text(other, seal_text(keyring, TOTP_SECRET))

    assert keyring.current_id in str(raised.value)


def test_add_finish_and_retire_key(tmp_path: Path) -> None:
    old_key = new_key()
    keyring = key_file_with(tmp_path / "keys" / "master.json", old_key)
    old_id = keyring.current_id

    added = add_master_key(keyring)
    finished = finish_rotation(added)
    retired = retire_master_key(finished, old_id)

    assert added.current_id != old_id
    assert added.rotating
    assert set(added.keys) == {old_id, added.current_id}
    assert not finished.rotating
    reread = read_key_file(tmp_path / "keys" / "master.json", tmp_path / "data")
    assert set(reread.keys) == {added.current_id}
    assert reread.current_id == retired.current_id
    assert (tmp_path / "keys" / "master.json").stat().st_mode & 0o777 == 0o600


def test_current_key_cannot_be_retired(tmp_path: Path) -> None:
    keyring = key_file_with(tmp_path / "keys" / "master.json", new_key())

    with pytest.raises(KeyringError, match="is the current key"):
        retire_master_key(keyring, keyring.current_id)
    with pytest.raises(KeyringError, match="is not in"):
        retire_master_key(keyring, "0123456789ab")


def test_environment_key_cannot_rotate(tmp_path: Path) -> None:
    encoded = SecretStr(base64.b64encode(new_key()).decode())
    keyring = load_keyring(settings_for(tmp_path, master_key=encoded))
    assert keyring is not None

    with pytest.raises(KeyringError) as raised:
        add_master_key(keyring)

    assert "SCUT_MASTER_KEY, which Scut cannot change" in str(raised.value)
    assert "SCUT_MASTER_KEY_FILE" in str(raised.value)


def test_reload_sees_rewritten_key_file(tmp_path: Path) -> None:
    keyring = key_file_with(tmp_path / "keys" / "master.json", new_key())
    assert reload_if_changed(keyring) is keyring

    rotated = add_master_key(keyring)

    assert reload_if_changed(keyring).current_id == rotated.current_id


def test_new_key_rejected_for_sealed_store(tmp_path: Path, config_home: Path) -> None:
    settings = settings_for(tmp_path)
    store = open_blob_store(settings)
    data = drawn_jpeg(1)
    store.put_original(sha256_of(data), data)
    (config_home / "scut" / "master-key.json").unlink()

    with pytest.raises(KeyringError, match="holds sealed blobs"):
        open_blob_store(settings)
    assert not (config_home / "scut" / "master-key.json").exists()


# The ``scut keys`` commands, run as a user runs them.


def scut(
    settings: Settings, *arguments: str, master_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = dict(
        os.environ,
        SCUT_DATA_DIR=str(settings.data_dir),
        SCUT_DATABASE_URL=settings.resolved_database_url,
    )
    environment.pop("SCUT_MASTER_KEY_FILE", None)
    if master_key is not None:
        environment["SCUT_MASTER_KEY"] = master_key
    elif settings.master_key_file is not None:
        environment["SCUT_MASTER_KEY_FILE"] = str(settings.master_key_file)
    return subprocess.run(
        [sys.executable, "-m", "scut", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def ingest_pictures(tmp_path: Path, settings: Settings, database: Database) -> Settings:
    """Ingest a few drawn pictures under a new key file; return the settings."""
    key_path = tmp_path / "keys" / "master.json"
    key_file_with(key_path, new_key())
    keyed = settings.model_copy(update={"master_key_file": key_path})
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for index in range(6):
        (evidence / f"IMG_{index}.jpg").write_bytes(drawn_jpeg(index))
    origin = Origin(case="K1", exhibit="E1", unit="Police")
    IngestJob(database, keyed, [evidence], origin).run()
    return keyed


@pytest.fixture
def ingested(tmp_path: Path, sqlite_settings: Settings) -> Iterator[Settings]:
    """Settings of a SQLite store of six pictures sealed under a key file."""
    database = Database(sqlite_settings)
    database.upgrade()
    yield ingest_pictures(tmp_path, sqlite_settings, database)
    database.dispose()


@pytest.fixture
def sealed(tmp_path: Path, sqlite_settings: Settings) -> Settings:
    """Settings of a store of six originals and thumbnails, without an ingest."""
    key_path = tmp_path / "keys" / "master.json"
    keyring = key_file_with(key_path, new_key())
    store = EncryptedBlobStore(sqlite_settings.data_dir / "blobs", keyring)
    for index in range(6):
        data = drawn_jpeg(index)
        store.put_original(sha256_of(data), data)
        store.put_derived(sha256_of(data), "thumb.jpg", data[:600])
    return sqlite_settings.model_copy(update={"master_key_file": key_path})


def read_every_blob(store: EncryptedBlobStore) -> int:
    """Read every original and thumbnail; return how many originals there are."""
    count = 0
    for sha256 in store.iter_originals():
        with store.open_original(sha256) as handle:
            assert sha256_of(handle.read()) == sha256
        assert store.read_derived(sha256, "thumb.jpg")[:2] == b"\xff\xd8"
        count += 1
    return count


def test_cli_rotate_and_retire(
    tmp_path: Path, settings: Settings, database: Database
) -> None:
    ingested = ingest_pictures(tmp_path, settings, database)
    assert ingested.master_key_file is not None
    old = read_key_file(ingested.master_key_file, ingested.data_dir)
    with database.session() as session, session.begin():
        session.add(
            User(
                username="ana",
                password_hash="not used here",
                totp_secret_sealed=seal_text(old, TOTP_SECRET),
            )
        )

    before = scut(ingested, "keys", "status")
    rotated = scut(ingested, "keys", "rotate")
    retired = scut(ingested, "keys", "rotate", "--retire", old.current_id)

    assert before.returncode == 0, before.stderr
    assert f"{old.current_id} │ current │ 12" in before.stdout
    assert "plaintext: 0" in before.stdout
    assert rotated.returncode == 0, rotated.stderr
    assert "Re-wrapped 12 data keys" in rotated.stdout
    assert "re-sealed 1 user secrets" in rotated.stdout
    assert retired.returncode == 0, retired.stderr
    assert f"Retired master key {old.current_id}" in retired.stdout
    keyring = read_key_file(ingested.master_key_file, ingested.data_dir)
    assert list(keyring.keys) == [keyring.current_id]
    assert not keyring.rotating
    with database.session() as session:
        events = [
            event_as_dict(row)
            for row in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "keys.manage")
                .order_by(AuditEvent.id)
            )
        ]
    actions = [(event["detail"] or {}).get("action") for event in events]
    assert actions == [None, "rotate", "retire"]
    assert events[1]["object_ids"] == [keyring.current_id]
    assert events[2]["object_ids"] == [old.current_id]
    store = EncryptedBlobStore(ingested.data_dir / "blobs", keyring)
    assert read_every_blob(store) == 6
    assert census(store.root).sealed_by_key == {keyring.current_id: 12}
    with database.session() as session:
        sealed = session.scalars(select(User.totp_secret_sealed)).one()
    assert sealed is not None
    assert sealed_text_key_id(sealed) == keyring.current_id
    assert open_text(keyring, sealed) == TOTP_SECRET


def test_cli_retire_rejected_while_used(sealed: Settings) -> None:

    assert sealed.master_key_file is not None
    keyring = read_key_file(sealed.master_key_file, sealed.data_dir)
    finish_rotation(add_master_key(keyring))

    rejected = scut(sealed, "keys", "rotate", "--retire", keyring.current_id)

    assert rejected.returncode == 1
    assert f"master key '{keyring.current_id}' still wraps 12 data keys" in (
        rejected.stderr.replace("\n", " ")
    )
    assert (
        keyring.current_id
        in read_key_file(sealed.master_key_file, sealed.data_dir).keys
    )


def test_cli_rotate_resumes(sealed: Settings) -> None:

    assert sealed.master_key_file is not None
    keyring = add_master_key(read_key_file(sealed.master_key_file, sealed.data_dir))
    store = EncryptedBlobStore(sealed.data_dir / "blobs", keyring)

    def stop_after_four(done: int, total: int) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.rewrap_keys(stop_after_four)
    resumed = scut(sealed, "keys", "rotate")

    assert resumed.returncode == 0, resumed.stderr
    assert "Re-wrapped 10 data keys" in resumed.stdout
    assert "2 were under it already" in resumed.stdout
    reread = read_key_file(sealed.master_key_file, sealed.data_dir)
    assert reread.current_id == keyring.current_id, "no further key is added"
    assert not reread.rotating


def test_cli_rotate_refused_while_another_runs(sealed: Settings) -> None:
    assert sealed.master_key_file is not None
    before = sealed.master_key_file.read_bytes()

    with maintenance_lock(sealed):
        second = scut(sealed, "keys", "rotate")
        sealing = scut(sealed, "keys", "seal-existing")
    after_release = scut(sealed, "keys", "rotate")

    assert second.returncode == 1
    assert "another scut keys command is running" in second.stderr.replace("\n", " ")
    assert sealing.returncode == 1
    assert after_release.returncode == 0, after_release.stderr
    assert "Re-wrapped 12 data keys" in after_release.stdout
    # Only the run that held the lock added a key.
    added = read_key_file(sealed.master_key_file, sealed.data_dir)
    assert len(added.keys) == len(json.loads(before)["keys"]) + 1


def test_cli_rotate_rejected_for_environment_key(sqlite_settings: Settings) -> None:
    encoded = base64.b64encode(new_key()).decode()

    completed = scut(sqlite_settings, "keys", "rotate", master_key=encoded)

    assert completed.returncode == 1
    assert "SCUT_MASTER_KEY, which Scut cannot change" in completed.stderr.replace(
        "\n", " "
    )
    assert "Traceback" not in completed.stderr


def test_cli_wrong_key_names_blob(ingested: Settings) -> None:
    encoded = base64.b64encode(new_key()).decode()

    completed = scut(ingested, "match", "--all", master_key=encoded)

    message = completed.stderr.replace("\n", " ")
    assert completed.returncode == 1
    assert "Error: blob " in message
    assert "is sealed under master key" in message
    assert "Traceback" not in completed.stderr
