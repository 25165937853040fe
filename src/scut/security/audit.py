"""The audit log: an append-only chain of hashed events, anchored by signatures.

Chain. Each row of ``audit_events`` stores ``previous_hash``, the ``hash`` of
the row before it (64 zeros for the first row), and its own ``hash``: the
lowercase hex SHA-256 of the UTF-8 bytes of this JSON object::

    {"action":"person.view","at":"2026-05-01T09:30:00.123456Z","detail":{},
     "id":17,"justification":"case 12/2026","object_ids":["4","9"],
     "object_type":"person","outcome":"succeeded","previous_hash":"<64 hex>",
     "role":"analyst,supervisor","source":"10.0.0.7","unit":"Centre",
     "user":"ana"}

The object contains exactly these thirteen keys, shown here wrapped, but
the serialisation has no whitespace at all. Its rules:

- keys sorted by code point at every level, separators ``,`` and ``:``;
- strings written as UTF-8, with ``"`` and ``\\`` escaped by a backslash and
  characters below U+0020 as ``\\b``, ``\\f``, ``\\n``, ``\\r``, ``\\t`` or
  ``\\u00xx`` (lowercase hex); every other character is written as itself;
- ``id`` an integer; ``at`` the event time in UTC as
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fractional digits);
- ``object_ids`` a list of strings, stored in its column as that JSON text;
- ``detail`` an object whose keys are ASCII and whose values are strings,
  integers within +-(2**53 - 1), booleans, null, lists or such objects.

Python writes the same bytes with ``json.dumps(record, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)``.

Appends are serialised so concurrent writers cannot fork the chain: on
PostgreSQL with a transaction-scoped advisory lock, on SQLite by taking the
database write lock with a write that changes nothing. The lock is held until
the caller's transaction ends, so record an event as the last write of its
transaction. Ids are assigned here (previous id + 1), so they are consecutive.

Anchors. The chain shows edits, deletions and reordering, but a whole table
rewritten with recomputed hashes, or rows cut from its end, still forms a
valid chain. So the latest event id and hash are signed with an Ed25519 key
kept outside the data directory and appended to an anchors file (one JSON line
each), which belongs to this one database. ``verify_chain`` checks every
anchor against the table. Anchors protect only as far as the key and the
anchors file are out of reach of whoever can write the database.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import Connection, Row, String, event, func, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from scut.db.models import AuditEvent, utc_now
from scut.db.session import Database
from scut.errors import ConfigurationError, ScutError
from scut.security.access import (
    AccessDenied,
    Target,
    check,
    checks_itself,
    record_denial,
)
from scut.security.caller import Caller
from scut.settings import Settings

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
SUCCEEDED = "succeeded"
DENIED = "denied"
FAILED = "failed"
OUTCOMES = (SUCCEEDED, DENIED, FAILED)

AUDIT_READ = "audit.read"
AUDIT_VERIFY = "audit.verify"
DB_GRANTS = "db.grants"

# Key of the PostgreSQL advisory lock that serialises appends ("SCAU").
AUDIT_LOCK_KEY = 0x53434155
VERIFY_BATCH_SIZE = 10_000
ANCHOR_FILE_NAME = "anchors.jsonl"
# Anchors compared with the table per query while verifying.
ANCHOR_BATCH_SIZE = 1000
MAX_DETAIL_INTEGER = 2**53 - 1

# Values of ChainReport.reason, one per kind of damage found.
EDITED = "edited"
BROKEN_LINK = "broken link"
GAP = "gap"
BAD_ANCHOR = "bad anchor"
ANCHOR_MISMATCH = "anchor mismatch"
TRUNCATED = "truncated"

_TEXT_FIELDS = (
    "user",
    "unit",
    "role",
    "action",
    "object_type",
    "outcome",
    "source",
    "justification",
)
# Session.info keys that carry the anchoring state of one transaction.
_FIRST_APPENDED = "scut.audit.first_appended"
_ANCHOR_DUE = "scut.audit.anchor_due"


class AuditError(ScutError):
    """Raised when an audit event cannot be written or the log cannot be checked."""


# -- writing ----------------------------------------------------------------


def record_event(
    session: Session,
    caller: Caller,
    action: str,
    *,
    outcome: str,
    object_type: str = "",
    object_ids: Sequence[int | str] = (),
    justification: str = "",
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to the chain in the session's transaction.

    The event is flushed, not committed, so it is committed or rolled back
    with the action. Raises AuditError when a value is invalid or the row cannot be
    written; the caller must then roll back, so the action does not happen.
    """
    fields = {
        "user": caller.name,
        "unit": caller.unit,
        "role": ",".join(sorted(caller.roles)),
        "action": action,
        "object_type": object_type,
        "outcome": outcome,
        "source": caller.source,
        "justification": justification or caller.justification,
    }
    _check_fields(fields)
    ids = [_checked_text("object id", str(value)) for value in object_ids]
    plain_detail = _plain_json(detail or {}, "detail")

    # The action's own pending rows fail here as themselves, not as audit errors.
    session.flush()
    try:
        lock_chain(session)
        previous_id, previous_hash = _latest_event(session)
        new = AuditEvent(
            id=previous_id + 1,
            at=utc_now(),
            object_ids=_ids_text(ids),
            detail=plain_detail,
            previous_hash=previous_hash,
            **fields,
        )
        new.hash = event_hash(_hashed_record(new, ids, plain_detail))
        session.add(new)
        session.flush()
    except SQLAlchemyError as error:
        raise AuditError(
            f"audit event {action!r} ({outcome}) could not be written, so the "
            f"action must not go ahead: {_database_reason(error)}. Check that the "
            "database is reachable and that this role may insert into "
            "audit_events"
        ) from error
    session.info.setdefault(_FIRST_APPENDED, new.id)
    return new


def record_separately(
    database: Database,
    caller: Caller,
    action: str,
    *,
    outcome: str,
    object_type: str = "",
    object_ids: Sequence[int | str] = (),
    justification: str = "",
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append an event in its own short transaction and commit it.

    For denials and failed sign-ins, which must stay on record although the
    action's own transaction rolls back. Call it after that transaction has
    ended: on SQLite, while it holds the write lock, this append waits for
    the lock (busy_timeout) and then fails. Raises AuditError as record_event.
    """
    with database.session() as session, session.begin():
        return record_event(
            session,
            caller,
            action,
            outcome=outcome,
            object_type=object_type,
            object_ids=object_ids,
            justification=justification,
            detail=detail,
        )


def event_hash(record: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex digest of an event's canonical JSON (module docs)."""
    return hashlib.sha256(canonical_json(record)).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Serialise a value as canonical JSON: sorted keys, no whitespace, UTF-8."""
    encoded = json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return encoded.encode("utf-8")


def _hashed_record(
    row: AuditEvent | Row[Any], ids: list[str], detail: Any
) -> dict[str, Any]:
    record = {name: getattr(row, name) for name in _TEXT_FIELDS}
    record.update(
        id=row.id,
        at=_iso_utc(row.at),
        object_ids=ids,
        detail=detail,
        previous_hash=row.previous_hash,
    )
    return record


def _iso_utc(value: dt.datetime | str) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        # SQLite stores the UTC time without its offset.
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ids_text(ids: list[str]) -> str:
    return json.dumps(ids, separators=(",", ":"), ensure_ascii=False)


def _check_fields(fields: Mapping[str, str]) -> None:
    if fields["outcome"] not in OUTCOMES:
        raise AuditError(
            f"invalid audit outcome {fields['outcome']!r}; use one of "
            f"{', '.join(OUTCOMES)}"
        )
    if not fields["action"]:
        raise AuditError("an audit event needs an action name, such as 'person.view'")
    for name, value in fields.items():
        _checked_text(name, value)
        limit = getattr(AuditEvent.__table__.c[name].type, "length", None)
        if limit is not None and len(value) > limit:
            raise AuditError(
                f"audit field {name} is {len(value)} characters long, over its "
                f"limit of {limit}: {value[:40]!r}...; shorten it"
            )


def _checked_text(name: str, value: str) -> str:
    if "\x00" in value:
        raise AuditError(f"audit field {name} contains a NUL character: {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise AuditError(
            f"audit field {name} is not valid Unicode text: {value!r} ({error})"
        ) from error
    return value


def _plain_json(value: Any, where: str) -> Any:
    """Return value as plain JSON data, or raise AuditError naming the bad part."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _checked_text(where, value)
    if isinstance(value, int):
        if abs(value) > MAX_DETAIL_INTEGER:
            raise AuditError(
                f"audit {where} is the integer {value}, beyond +-(2**53 - 1); "
                "write it as a string"
            )
        return value
    if isinstance(value, Mapping):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key or not key.isascii():
                raise AuditError(
                    f"audit {where} has the key {key!r}; keys must be non-empty "
                    "ASCII strings"
                )
            plain[key] = _plain_json(item, f"{where}.{key}")
        return plain
    if isinstance(value, list | tuple):
        return [_plain_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise AuditError(
        f"invalid audit {where}: {value!r} of type {type(value).__name__}. Use "
        "strings, integers, booleans, null, lists and objects, and write a "
        "float or a date as a string"
    )


def lock_chain(session: Session) -> None:
    """Take the append lock, held until the session's transaction ends.

    Appends that hold it one after another cannot both link to the same
    previous event. On PostgreSQL the transaction must read at READ COMMITTED
    (the default): at a stricter isolation level it may read a stale latest
    event, and its insert then fails on the duplicate id. Raises AuditError
    on a database other than SQLite or PostgreSQL.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY}
        )
    elif dialect == "sqlite":
        # Any UPDATE takes SQLite's RESERVED (write) lock for the rest of the
        # transaction, even one that matches no row.
        session.execute(text("UPDATE audit_events SET id = id WHERE 0"))
    else:
        raise AuditError(
            f"cannot serialise audit appends on a {dialect} database; Scut "
            "supports SQLite and PostgreSQL"
        )


def _latest_event(session: Session) -> tuple[int, str]:
    latest = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if latest is None:
        return 0, GENESIS_HASH
    return latest.id, latest.hash


def _database_reason(error: SQLAlchemyError) -> str:
    cause = error.orig if isinstance(error, DBAPIError) else error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


# -- verification -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the audit chain and its anchors."""

    events_checked: int
    first_bad_id: int | None = None
    # edited, broken link, gap, bad anchor, anchor mismatch or truncated,
    # or None when the chain and its anchors are intact.
    reason: str | None = None
    anchors_checked: int = 0
    # What is wrong, as a sentence for the auditor, or empty when intact.
    message: str = ""

    @property
    def intact(self) -> bool:
        """Whether no problem was found."""
        return self.reason is None


def verify_chain(
    session: Session,
    settings: Settings | None = None,
    *,
    batch_size: int = VERIFY_BATCH_SIZE,
) -> ChainReport:
    """Check every event's hash and link in id order, then the anchors.

    Rows are read in batches of ``batch_size``, so memory stays flat. The
    report names the first altered, deleted or moved row. Anchors are checked
    only when ``settings`` is given; without them a rewritten table or rows
    cut from its end go unnoticed. Raises ConfigurationError when anchors
    exist but the signing key cannot be read.
    """
    checked = 0
    previous_id, previous_hash = 0, GENESIS_HASH
    for row in _stream_events(session, batch_size):
        checked += 1
        problem = _row_problem(row, previous_id, previous_hash)
        if problem is not None:
            reason, message = problem
            return ChainReport(checked, row.id, reason, message=message)
        previous_id, previous_hash = row.id, row.hash

    if settings is None:
        return ChainReport(checked)
    return dataclasses.replace(
        verify_anchors(session, settings), events_checked=checked
    )


def _stream_events(session: Session, batch_size: int) -> Iterator[Row[Any]]:
    table = AuditEvent.__table__.c
    columns: list[Any] = [table[name] for name in ("id", "previous_hash", "hash")]
    columns += [table[name] for name in _TEXT_FIELDS]
    # Raw text, so a value edited into something unparsable is reported
    # as an edit instead of failing the read.
    columns.append(table.detail.cast(String).label("detail"))
    columns.append(table.object_ids)
    if session.get_bind().dialect.name == "sqlite":
        columns.append(table.at.cast(String).label("at"))
    else:
        columns.append(table.at)

    last_id = 0
    while True:
        rows = session.execute(
            select(*columns)
            .where(table.id > last_id)
            .order_by(table.id)
            .limit(batch_size)
        ).all()
        yield from rows
        if len(rows) < batch_size:
            return
        last_id = rows[-1].id


def _row_problem(
    row: Row[Any], previous_id: int, previous_hash: str
) -> tuple[str, str] | None:
    if row.previous_hash != previous_hash:
        return BROKEN_LINK, (
            f"event {row.id} links to previous hash {row.previous_hash[:16]}..., "
            f"but the event before it, {previous_id or 'none'}, has "
            f"{previous_hash[:16]}...: an event was deleted, inserted or moved"
        )
    if row.id != previous_id + 1:
        return GAP, (
            f"event {row.id} follows event {previous_id}; ids must be "
            "consecutive, so events were deleted or renumbered"
        )
    if _stored_hash(row) != row.hash:
        return EDITED, (
            f"event {row.id} no longer matches its hash: a field of it was changed"
        )
    return None


def _stored_hash(row: Row[Any]) -> str | None:
    try:
        ids = json.loads(row.object_ids)
        detail = json.loads(row.detail)
        return event_hash(_hashed_record(row, ids, detail))
    except (ValueError, TypeError):
        return None


# -- anchors ----------------------------------------------------------------


def signing_key_path(settings: Settings) -> Path:
    """Return where the anchor signing key is: the setting, else the config dir."""
    if settings.audit_signing_key_file:
        return Path(settings.audit_signing_key_file).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG base directory rules ignore a relative XDG_CONFIG_HOME.
    if not config_home or not Path(config_home).is_absolute():
        config_home = str(Path.home() / ".config")
    return Path(config_home) / "scut" / "audit-signing-key.pem"


def anchor_file(settings: Settings) -> Path:
    """Return the path of the anchors file, one signed JSON line per anchor."""
    if settings.audit_anchor_dir:
        folder = Path(settings.audit_anchor_dir).expanduser()
    else:
        folder = settings.data_dir / "audit-anchors"
    return folder / ANCHOR_FILE_NAME


def generate_signing_key(path: Path) -> Ed25519PrivateKey:
    """Create an Ed25519 key as an unencrypted PEM file with mode 0600.

    Raises FileExistsError when ``path`` exists, so a key is never replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails if the key exists: two first uses at once keep one key.
        os.link(temporary, path)
    finally:
        temporary.unlink()
    return key


def load_signing_key(settings: Settings, *, create: bool) -> Ed25519PrivateKey:
    """Read the anchor signing key; with ``create``, make the default one if absent.

    Raises ConfigurationError when the key lies inside the data directory,
    is missing (a configured path is never created), is open to other users
    or is not an unencrypted Ed25519 PEM key.
    """
    path = signing_key_path(settings)
    if path.resolve().is_relative_to(settings.data_dir.resolve()):
        raise ConfigurationError(
            f"audit signing key {path} lies inside the data directory "
            f"{settings.data_dir}, where whoever can rewrite the database could "
            "also re-sign the anchors; set SCUT_AUDIT_SIGNING_KEY_FILE to a path "
            "outside it"
        )
    if not path.exists():
        if not create or settings.audit_signing_key_file:
            raise ConfigurationError(
                f"audit signing key not found: {path}. Anchors can only be "
                "signed and checked with their key: restore the file, or set "
                "SCUT_AUDIT_SIGNING_KEY_FILE to where it is"
            )
        try:
            generate_signing_key(path)
            log.warning(
                "Created the audit signing key %s; back it up and keep it away "
                "from the data directory, because the audit anchors can only be "
                "checked with it",
                path,
            )
        except FileExistsError:
            pass  # another process created it first
    return _read_signing_key(path)


def _read_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigurationError(
                f"audit signing key {path} is open to other users (mode "
                f"{mode:o}); run chmod 600 {path}"
            )
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ConfigurationError(
            f"cannot read the audit signing key {path}: {error}; it must be an "
            "unencrypted PEM private key readable by this account"
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(
            f"audit signing key {path} is a {type(key).__name__}, not an Ed25519 "
            "key; point SCUT_AUDIT_SIGNING_KEY_FILE to an Ed25519 key"
        )
    return key


def _key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


def write_anchor(session: Session, settings: Settings) -> Path:
    """Sign the latest committed event's id and hash into the anchors file.

    Call it outside a transaction that has appended events, because an
    anchor of an event that is later rolled back reads as a truncated table.
    Returns the anchors file. Raises AuditError when the log is empty and
    ConfigurationError when the signing key cannot be read.
    """
    event_id, latest_hash = _latest_event(session)
    if event_id == 0:
        raise AuditError("the audit log is empty, so there is no event to anchor")
    return _append_anchor(settings, event_id, latest_hash)


def anchor_if_due(
    session: Session, settings: Settings, *, min_new_events: int = 1
) -> Path | None:
    """Write an anchor when ``min_new_events`` or more events follow the last one.

    Commands call it after their last commit, so every event they wrote is
    anchored. Returns the anchors file when an anchor was written.
    """
    path = anchor_file(settings)
    event_id, latest_hash = _latest_event(session)
    if event_id - _last_anchored_id(path) < min_new_events:
        return None
    return _append_anchor(settings, event_id, latest_hash)


def install_auto_anchor(database: Database, settings: Settings) -> None:
    """Anchor automatically after every ``settings.audit_anchor_interval`` events.

    Sessions of ``database`` that append an event whose id reaches a multiple
    of the interval write an anchor right after they commit. A failure to
    write it is logged, not raised, because the events are already committed
    and the next anchor covers them. Call it once per Database, because each
    call adds its own listeners.
    """
    interval = settings.audit_anchor_interval

    def before_commit(session: Session) -> None:
        first = session.info.get(_FIRST_APPENDED)
        if first is None or session.in_nested_transaction():
            return
        # The append lock is still held, so the latest row is this transaction's.
        event_id, latest_hash = _latest_event(session)
        if event_id // interval > (first - 1) // interval:
            session.info[_ANCHOR_DUE] = (event_id, latest_hash)

    def after_commit(session: Session) -> None:
        due = session.info.pop(_ANCHOR_DUE, None)
        if due is None or session.in_nested_transaction():
            return
        try:
            _append_anchor(settings, *due)
        except (OSError, ScutError) as error:
            log.error("Could not write the audit anchor of event %d: %s", due[0], error)

    def after_transaction_end(session: Session, transaction: Any) -> None:
        if transaction.parent is None:
            session.info.pop(_FIRST_APPENDED, None)
            session.info.pop(_ANCHOR_DUE, None)

    event.listen(database.sessions, "before_commit", before_commit)
    event.listen(database.sessions, "after_commit", after_commit)
    event.listen(database.sessions, "after_transaction_end", after_transaction_end)


def _append_anchor(settings: Settings, event_id: int, latest_hash: str) -> Path:
    key = load_signing_key(settings, create=True)
    payload = {
        "anchored_at": _iso_utc(utc_now()),
        "event_id": event_id,
        "hash": latest_hash,
    }
    signature = key.sign(canonical_json(payload))
    line = dict(
        payload,
        key=_key_id(key.public_key()),
        signature=base64.b64encode(signature).decode("ascii"),
    )
    path = anchor_file(settings)
    _append_line(path, canonical_json(line) + b"\n")
    log.info("Anchored audit event %d in %s", event_id, path)
    return path


def _append_line(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = not path.exists()
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        size = os.fstat(descriptor).st_size
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            # A crash cut the last line short; start the new one on its own line.
            data = b"\n" + data
        while data:
            data = data[os.write(descriptor, data) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _last_anchored_id(path: Path) -> int:
    """Return the event id of the file's last readable anchor, or 0."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 65536))
            tail = handle.read()
    except FileNotFoundError:
        return 0
    for line in reversed(tail.splitlines()):
        try:
            event_id = json.loads(line)["event_id"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(event_id, int):
            return event_id
    return 0


def verify_anchors(session: Session, settings: Settings) -> ChainReport:
    """Check each anchor's signature and that its event still has its hash.

    A missing anchors file counts as no anchors. ``events_checked`` is 0 in
    the report. Raises ConfigurationError when anchors exist but the signing
    key cannot be read.
    """
    path = anchor_file(settings)
    if not path.exists():
        return ChainReport(0)
    public_key = load_signing_key(settings, create=False).public_key()
    checked = 0
    pending: list[tuple[int, str, int]] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            anchor = _read_anchor(line, public_key)
            if isinstance(anchor, str):
                found = _compare_anchors(session, pending, path, checked)
                return found or ChainReport(
                    0,
                    _anchor_event_id(line),
                    BAD_ANCHOR,
                    checked,
                    f"line {number} of {path}: {anchor}",
                )
            pending.append((*anchor, number))
            checked += 1
            if len(pending) >= ANCHOR_BATCH_SIZE:
                found = _compare_anchors(session, pending, path, checked)
                if found is not None:
                    return found
                pending.clear()
    found = _compare_anchors(session, pending, path, checked)
    return found or ChainReport(0, anchors_checked=checked)


def _read_anchor(line: bytes, public_key: Ed25519PublicKey) -> tuple[int, str] | str:
    """Return an anchor's event id and hash, or why it is not a valid anchor."""
    try:
        anchor = json.loads(line)
        payload = {name: anchor[name] for name in ("anchored_at", "event_id", "hash")}
        signature = base64.b64decode(anchor["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return "not a valid anchor record"
    event_id, anchored_hash = payload["event_id"], payload["hash"]
    if not isinstance(event_id, int) or not isinstance(anchored_hash, str):
        return "not a valid anchor record"
    try:
        public_key.verify(signature, canonical_json(payload))
    except InvalidSignature:
        return (
            f"the signature of the anchor of event {event_id} does not match the "
            f"signing key {_key_id(public_key)} (it names key {anchor.get('key')}):"
            " the anchor was forged or altered, or another key is configured"
        )
    return event_id, anchored_hash


def _anchor_event_id(line: bytes) -> int | None:
    try:
        event_id = json.loads(line)["event_id"]
    except (ValueError, KeyError, TypeError):
        return None
    return event_id if isinstance(event_id, int) else None


def _compare_anchors(
    session: Session,
    pending: list[tuple[int, str, int]],
    path: Path,
    checked: int,
) -> ChainReport | None:
    ids = [event_id for event_id, _, _ in pending]
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.id.in_(ids))
    )
    stored = {event_id: stored_hash for event_id, stored_hash in rows}
    for event_id, anchored_hash, number in pending:
        if event_id not in stored:
            return ChainReport(
                0,
                event_id,
                TRUNCATED,
                checked,
                f"event {event_id}, anchored on line {number} of {path}, is "
                "missing: events were removed from the end of the log or the "
                "table was emptied",
            )
        if stored[event_id] != anchored_hash:
            return ChainReport(
                0,
                event_id,
                ANCHOR_MISMATCH,
                checked,
                f"event {event_id} has a hash other than the one anchored on "
                f"line {number} of {path}: the log was rewritten",
            )
    return None


# -- reading ----------------------------------------------------------------


@checks_itself(AUDIT_READ)
def search_events(
    database: Database,
    caller: Caller,
    *,
    user: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    object_id: str | None = None,
    limit: int = 100,
    until: dt.datetime | None = None,
    outcome: str | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Return audit events, newest first, and record the read as audit.read.

    ``user`` matches part of the user name, any case. ``action`` matches
    exactly, or as a prefix when it ends in ``*``. ``since`` is inclusive
    and ``until`` exclusive, and a naive one is read as UTC. ``object_id``
    matches events that name that object id, and ``outcome`` is one of
    OUTCOMES. ``offset`` skips that many of the newest matching events, for
    paging. Raises AccessDenied (recorded) unless the caller is an auditor,
    and AuditError for an invalid limit, offset or outcome.
    """
    filters = {
        "user": user,
        "action": action,
        "object_id": object_id,
        "since": _iso_utc(since) if since else None,
        "limit": limit,
    }
    # Recorded only when given, so events of reads without them keep their form.
    optional = {
        "until": _iso_utc(until) if until else None,
        "outcome": outcome,
        "offset": offset or None,
    }
    filters.update({key: value for key, value in optional.items() if value})
    _check_access(database, caller, AUDIT_READ, filters)
    if limit < 1:
        raise AuditError(f"invalid limit {limit}; it must be at least 1")
    if offset < 0:
        raise AuditError(f"invalid offset {offset}; it must be 0 or more")
    if outcome is not None and outcome not in OUTCOMES:
        raise AuditError(
            f"unknown outcome {outcome!r}; use one of {', '.join(OUTCOMES)}"
        )

    query = (
        select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
    )
    if user:
        query = query.where(
            func.lower(AuditEvent.user).contains(user.lower(), autoescape=True)
        )
    if action and action.endswith("*"):
        query = query.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
    elif action:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        query = query.where(AuditEvent.at >= since.astimezone(dt.UTC))
    if until is not None:
        if until.tzinfo is None:
            until = until.replace(tzinfo=dt.UTC)
        query = query.where(AuditEvent.at < until.astimezone(dt.UTC))
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    if object_id:
        needle = json.dumps(object_id, ensure_ascii=False)
        query = query.where(AuditEvent.object_ids.contains(needle, autoescape=True))

    with database.session() as session, session.begin():
        events = [event_as_dict(row) for row in session.scalars(query)]
        record_event(
            session,
            caller,
            AUDIT_READ,
            outcome=SUCCEEDED,
            object_type="audit_event",
            object_ids=[row["id"] for row in events],
            detail={"filters": filters, "returned": len(events)},
        )
    return events


@checks_itself(AUDIT_VERIFY)
def verify_log(database: Database, caller: Caller, settings: Settings) -> ChainReport:
    """Verify the chain and its anchors, and record the check as audit.verify.

    The event is written after the check, in its own transaction, with the
    outcome failed when the log is not intact. Raises AccessDenied (recorded)
    unless the caller is an auditor or an administrator.
    """
    _check_access(database, caller, AUDIT_VERIFY, {})
    with database.session() as session:
        report = verify_chain(session, settings)
    record_separately(
        database,
        caller,
        AUDIT_VERIFY,
        outcome=SUCCEEDED if report.intact else FAILED,
        object_type="audit_event",
        object_ids=[report.first_bad_id] if report.first_bad_id else [],
        detail={
            "events_checked": report.events_checked,
            "anchors_checked": report.anchors_checked,
            "reason": report.reason,
        },
    )
    return report


def _check_access(
    database: Database, caller: Caller, operation: str, detail: dict[str, Any]
) -> None:
    try:
        check(caller, operation, Target("audit_event", detail=detail))
    except AccessDenied as denied:
        record_denial(database, caller, denied)
        raise


def event_as_dict(row: AuditEvent) -> dict[str, Any]:
    """Return an event as plain data, its time as ISO UTC, its ids as a list."""
    try:
        ids = json.loads(row.object_ids)
    except ValueError:
        ids = row.object_ids
    return {
        "id": row.id,
        "at": _iso_utc(row.at),
        **{name: getattr(row, name) for name in _TEXT_FIELDS},
        "object_ids": ids,
        "detail": row.detail,
        "previous_hash": row.previous_hash,
        "hash": row.hash,
    }


# -- database guards --------------------------------------------------------

_SQLITE_GUARDS = (
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_update
BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE rejected'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_delete
BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE rejected'); END""",
)

# Allows UPDATE, DELETE and TRUNCATE only to the table's owner. A superuser
# other than the owner is rejected too, unless it disables the trigger.
_POSTGRES_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.scut_audit_events_append_only()
RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    IF current_user::text <> (
        SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = TG_RELID
    ) THEN
        RAISE EXCEPTION 'audit_events is append-only: % by role % rejected',
            TG_OP, current_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the owner of audit_events may change it.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$guard$
"""


def install_sqlite_guards(connection: Connection) -> None:
    """Create the SQLite triggers that abort UPDATE and DELETE on audit_events.

    Meant for an Alembic migration (``install_sqlite_guards(op.get_bind())``).
    Anyone who can write the database file can drop them, which the chain
    and its anchors then reveal.
    """
    if connection.dialect.name != "sqlite":
        raise AuditError(
            f"install_sqlite_guards needs a SQLite connection, not "
            f"{connection.dialect.name}; use scut db grants on PostgreSQL"
        )
    for statement in _SQLITE_GUARDS:
        connection.execute(text(statement))


def apply_postgres_grants(
    connection: Connection, app_role: str, owner_role: str
) -> None:
    """Give the owner role every table and the application role only what it needs.

    The application role gets SELECT, INSERT, UPDATE and DELETE on every
    table of the current schema, and USAGE on its sequences. On audit_events
    it gets SELECT and INSERT only. Tables and sequences the owner creates
    later get the same grants. A trigger rejects UPDATE, DELETE and TRUNCATE
    on audit_events by anyone but its owner. Runs in the connection's
    transaction; the connecting role must be a superuser or a member of both
    roles. Raises AuditError when a role does not exist or they are the same.
    """
    if connection.dialect.name != "postgresql":
        raise AuditError(
            f"database grants apply to PostgreSQL, not {connection.dialect.name}"
        )
    _check_roles(connection, app_role, owner_role)
    quote = connection.dialect.identifier_preparer.quote_identifier
    schema = quote(str(connection.execute(text("SELECT current_schema()")).scalar()))
    app, owner = quote(app_role), quote(owner_role)
    tables = connection.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    ).scalars()
    statements = [
        f"ALTER TABLE {schema}.{quote(name)} OWNER TO {owner}" for name in tables
    ]
    audit = f"{schema}.audit_events"
    guard = f"{schema}.scut_audit_events_append_only()"
    statements += [
        f"GRANT USAGE ON SCHEMA {schema} TO {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} "
        f"TO {app}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {app}",
        f"REVOKE ALL ON {audit} FROM {app}, PUBLIC",
        f"GRANT SELECT, INSERT ON {audit} TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        f"GRANT USAGE ON SEQUENCES TO {app}",
        _POSTGRES_GUARD_FUNCTION.format(schema=schema),
        f"ALTER FUNCTION {guard} OWNER TO {owner}",
        f"DROP TRIGGER IF EXISTS audit_events_append_only ON {audit}",
        f"CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE "
        f"ON {audit} FOR EACH ROW EXECUTE FUNCTION {guard}",
        f"DROP TRIGGER IF EXISTS audit_events_no_truncate ON {audit}",
        f"CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE "
        f"ON {audit} FOR EACH STATEMENT EXECUTE FUNCTION {guard}",
    ]
    for statement in statements:
        connection.execute(text(statement))
    log.info("Granted audit-safe privileges to %s, owner %s", app_role, owner_role)


def _check_roles(connection: Connection, app_role: str, owner_role: str) -> None:
    if app_role == owner_role:
        raise AuditError(
            f"the application role and the owner role are both {app_role!r}; the "
            "application must not own the tables, so name two roles"
        )
    found = set(
        connection.execute(
            text("SELECT rolname FROM pg_roles WHERE rolname IN (:app, :owner)"),
            {"app": app_role, "owner": owner_role},
        ).scalars()
    )
    for role in (app_role, owner_role):
        if role not in found:
            raise AuditError(
                f"PostgreSQL role {role!r} does not exist; create it first "
                f"(CREATE ROLE ...)"
            )
