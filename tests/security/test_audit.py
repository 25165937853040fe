"""The hash-chained audit log, its signed anchors and its database guards."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import (
    Connection,
    Table,
    delete,
    func,
    insert,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.exc import DatabaseError

from scut.db.models import AuditEvent, Unit
from scut.db.session import Database
from scut.errors import ConfigurationError
from scut.security.access import AccessDenied
from scut.security.audit import (
    ANCHOR_MISMATCH,
    BAD_ANCHOR,
    BROKEN_LINK,
    DENIED,
    EDITED,
    GAP,
    GENESIS_HASH,
    SUCCEEDED,
    TRUNCATED,
    AuditError,
    ChainReport,
    anchor_file,
    anchor_if_due,
    apply_postgres_grants,
    generate_signing_key,
    install_auto_anchor,
    install_sqlite_guards,
    lock_chain,
    record_event,
    record_separately,
    search_events,
    verify_chain,
    write_anchor,
)
from scut.security.caller import ANALYST, AUDITOR, Caller, local_operator
from scut.settings import Settings

TABLE = cast(Table, AuditEvent.__table__)
OPERATOR = local_operator("tester", acting_for="ana")


@pytest.fixture
def audit_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test settings with a signing key of their own, outside data_dir."""
    key = tmp_path / "keys" / "audit-signing-key.pem"
    generate_signing_key(key)
    return settings.model_copy(update={"audit_signing_key_file": str(key)})


def _append(database: Database, count: int, caller: Caller = OPERATOR) -> None:
    for number in range(count):
        record_separately(
            database,
            caller,
            "person.view",
            outcome=SUCCEEDED,
            object_type="person",
            object_ids=[number, f"p-{number}"],
            justification=f"case {number}/2026",
            detail={"step": number, "note": "Ștefan Îonescu"},
        )


def _verify(
    database: Database, settings: Settings | None = None, batch_size: int = 10_000
) -> ChainReport:
    with database.session() as session:
        return verify_chain(session, settings, batch_size=batch_size)


def _execute(database: Database, statement: Any) -> None:
    with database.engine.begin() as connection:
        connection.execute(statement)


@contextmanager
def _attacker(database: Database) -> Iterator[Connection]:
    """Open a transaction as someone who can write the database file or tables.

    On SQLite such a person can drop the guard triggers first, so they do.
    """
    with database.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            for trigger in ("audit_events_no_update", "audit_events_no_delete"):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        yield connection


def _tamper(database: Database, statement: Any) -> None:
    """Change the table behind the application's back."""
    with _attacker(database) as connection:
        connection.execute(statement)


def _rows(database: Database) -> list[dict[str, Any]]:
    with database.engine.connect() as connection:
        result = connection.execute(select(TABLE).order_by(TABLE.c.id))
        return [dict(row._mapping) for row in result]


def _documented_hash(row: dict[str, Any]) -> str:
    """Recompute an event's hash from the format the module documents."""
    at = row["at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    record = {
        name: row[name]
        for name in (
            "id",
            "user",
            "unit",
            "role",
            "action",
            "object_type",
            "outcome",
            "source",
            "justification",
            "detail",
            "previous_hash",
        )
    }
    record["at"] = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    record["object_ids"] = json.loads(row["object_ids"])
    serialised = json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(serialised.encode("utf-8")).hexdigest()


# -- the chain --------------------------------------------------------------


def test_chain_grows_and_verifies(database: Database) -> None:
    _append(database, 4)
    with database.session() as session, session.begin():
        record_event(
            session,
            OPERATOR.with_justification("order 7/2026"),
            "media.reveal",
            outcome=DENIED,
            object_type="media",
            object_ids=[42],
            detail={"nested": {"list": [1, "два", None, True]}},
        )

    rows = _rows(database)
    assert [row["id"] for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["previous_hash"] == GENESIS_HASH
    for before, after in zip(rows, rows[1:], strict=False):
        assert after["previous_hash"] == before["hash"]
    assert rows[4]["user"] == "ana (via local:tester)"
    assert rows[4]["role"] == "admin,analyst,auditor,submitter,supervisor"
    assert rows[4]["justification"] == "order 7/2026"
    assert rows[4]["object_ids"] == '["42"]'
    report = _verify(database)
    assert report.intact
    assert report.events_checked == 5


def test_hash_matches_documented_format(database: Database) -> None:
    _append(database, 3)

    for row in _rows(database):
        assert _documented_hash(row) == row["hash"]


def test_verify_reads_in_batches(database: Database) -> None:
    _append(database, 23)

    assert _verify(database, batch_size=5).events_checked == 23
    _tamper(database, update(TABLE).where(TABLE.c.id == 17).values(unit="X"))
    report = _verify(database, batch_size=5)
    assert report.reason == EDITED
    assert report.first_bad_id == 17
    assert report.events_checked == 17


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("user", "mallory"),
        ("action", "person.change"),
        ("outcome", "failed"),
        ("justification", ""),
        ("object_ids", '["9"]'),
        ("detail", {"step": 99}),
        ("at", dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
    ],
)
def test_edited_field_detected(database: Database, column: str, value: Any) -> None:
    _append(database, 5)

    _tamper(database, update(TABLE).where(TABLE.c.id == 3).values({column: value}))

    report = _verify(database)
    assert report.reason == EDITED
    assert report.first_bad_id == 3


def test_edit_with_own_hash_breaks_next_link(database: Database) -> None:
    _append(database, 5)
    row = _rows(database)[2]
    row["user"] = "mallory"

    _tamper(
        database,
        update(TABLE)
        .where(TABLE.c.id == 3)
        .values(user="mallory", hash=_documented_hash(row)),
    )

    report = _verify(database)
    assert report.reason == BROKEN_LINK
    assert report.first_bad_id == 4


def test_deleted_middle_row_detected(database: Database) -> None:
    _append(database, 5)

    _tamper(database, delete(TABLE).where(TABLE.c.id == 3))

    report = _verify(database)
    assert report.reason == BROKEN_LINK
    assert report.first_bad_id == 4


def test_renumbered_last_row_is_gap(database: Database) -> None:
    _append(database, 5)

    _tamper(database, update(TABLE).where(TABLE.c.id == 5).values(id=9))

    report = _verify(database)
    assert report.reason == GAP
    assert report.first_bad_id == 9


def test_swapped_rows_detected(database: Database) -> None:
    _append(database, 5)
    first, second = _rows(database)[1:3]
    columns = [column.name for column in TABLE.columns if column.name != "id"]

    with _attacker(database) as connection:
        # The hash column is unique, so free the first row's hash beforehand.
        connection.execute(update(TABLE).where(TABLE.c.id == 2).values(hash="x"))
        connection.execute(
            update(TABLE)
            .where(TABLE.c.id == 3)
            .values({name: first[name] for name in columns})
        )
        connection.execute(
            update(TABLE)
            .where(TABLE.c.id == 2)
            .values({name: second[name] for name in columns})
        )

    report = _verify(database)
    assert report.reason == BROKEN_LINK
    assert report.first_bad_id == 2


def test_deleted_last_rows_caught_by_anchor(
    database: Database, audit_settings: Settings
) -> None:
    _append(database, 6)
    with database.session() as session:
        write_anchor(session, audit_settings)

    _tamper(database, delete(TABLE).where(TABLE.c.id >= 5))

    assert _verify(database).intact
    report = _verify(database, audit_settings)
    assert report.reason == TRUNCATED
    assert report.first_bad_id == 6
    assert report.events_checked == 4
    _append(database, 2)
    report = _verify(database, audit_settings)
    assert report.reason == ANCHOR_MISMATCH
    assert report.first_bad_id == 6


def test_truncated_table_caught_by_anchor(
    database: Database, audit_settings: Settings
) -> None:
    _append(database, 3)
    with database.session() as session:
        write_anchor(session, audit_settings)

    _tamper(database, delete(TABLE))

    report = _verify(database, audit_settings)
    assert report.events_checked == 0
    assert report.reason == TRUNCATED
    assert report.first_bad_id == 3
    assert report.anchors_checked == 1


def _rewrite_table(database: Database, user: str) -> None:
    """Replace every row with a consistent chain in which event 2 names ``user``."""
    rows = _rows(database)
    previous = GENESIS_HASH
    with _attacker(database) as connection:
        connection.execute(delete(TABLE))
        for row in rows:
            if row["id"] == 2:
                row["user"] = user
            row["previous_hash"] = previous
            row["hash"] = previous = _documented_hash(row)
            connection.execute(insert(TABLE).values(row))


def test_rewritten_table_caught_by_anchor(
    database: Database, audit_settings: Settings
) -> None:
    _append(database, 4)
    with database.session() as session:
        write_anchor(session, audit_settings)

    _rewrite_table(database, "mallory")

    assert _verify(database).intact
    report = _verify(database, audit_settings)
    assert report.reason == ANCHOR_MISMATCH
    assert report.first_bad_id == 4


def test_rewritten_anchor_fails_signature(
    database: Database, audit_settings: Settings
) -> None:
    _append(database, 4)
    with database.session() as session:
        path = write_anchor(session, audit_settings)
    _rewrite_table(database, "mallory")

    anchor = json.loads(path.read_text())
    anchor["hash"] = _rows(database)[-1]["hash"]
    path.write_text(json.dumps(anchor) + "\n")

    report = _verify(database, audit_settings)
    assert report.reason == BAD_ANCHOR
    assert report.first_bad_id == 4
    assert "does not match the signing key" in report.message


def test_wrong_signing_key_fails_anchor(
    database: Database, audit_settings: Settings, tmp_path: Path
) -> None:
    _append(database, 2)
    with database.session() as session:
        write_anchor(session, audit_settings)
    other_key = tmp_path / "other" / "key.pem"
    generate_signing_key(other_key)

    other = audit_settings.model_copy(update={"audit_signing_key_file": str(other_key)})

    report = _verify(database, other)
    assert report.reason == BAD_ANCHOR
    assert report.anchors_checked == 0
    assert _verify(database, audit_settings).anchors_checked == 1


def test_unreadable_anchor_line_reported(
    database: Database, audit_settings: Settings
) -> None:
    _append(database, 2)
    with database.session() as session:
        path = write_anchor(session, audit_settings)
    with path.open("ab") as handle:
        handle.write(b'{"event_id": 2, "hash": "cut sho')

    report = _verify(database, audit_settings)
    assert report.reason == BAD_ANCHOR
    assert "line 2" in report.message
    with database.session() as session:
        write_anchor(session, audit_settings)
    assert len(path.read_text().splitlines()) == 3


# -- writing ----------------------------------------------------------------


def _break_audit_inserts(database: Database) -> None:
    """Make every insert into audit_events fail inside the database."""
    if database.engine.dialect.name == "sqlite":
        statements = [
            "CREATE TRIGGER audit_store_down BEFORE INSERT ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"
        ]
    else:
        statements = [
            "CREATE FUNCTION audit_store_down() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$",
            "CREATE TRIGGER audit_store_down BEFORE INSERT ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_store_down()",
        ]
    for statement in statements:
        _execute(database, text(statement))


def test_audit_failure_rolls_back_action(database: Database) -> None:
    _break_audit_inserts(database)

    with (
        pytest.raises(AuditError, match="audit store unavailable"),
        database.session() as session,
        session.begin(),
    ):
        session.add(Unit(name="Police, Orhei"))
        record_event(session, OPERATOR, "units.save", outcome=SUCCEEDED)

    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_separate_event_outlives_rollback(database: Database) -> None:
    with (
        pytest.raises(RuntimeError),
        database.session() as session,
        session.begin(),
    ):
        session.add(Unit(name="Police, Orhei"))
        session.flush()
        raise RuntimeError("the action failed")
    record_separately(database, OPERATOR, "units.save", outcome=DENIED)

    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == 0
        events = session.scalars(select(AuditEvent)).all()
    assert [(event.action, event.outcome) for event in events] == [
        ("units.save", DENIED)
    ]


@pytest.mark.parametrize(
    ("caller", "options", "message"),
    [
        (OPERATOR, {"outcome": "allowed"}, "invalid audit outcome"),
        (OPERATOR, {"outcome": SUCCEEDED, "detail": {"score": 0.5}}, "float"),
        (OPERATOR, {"outcome": SUCCEEDED, "detail": {"ключ": 1}}, "ASCII"),
        (OPERATOR, {"outcome": SUCCEEDED, "detail": {"n": 2**60}}, "2\\*\\*53"),
        (OPERATOR, {"outcome": SUCCEEDED, "justification": "a\x00b"}, "NUL"),
        (OPERATOR, {"outcome": SUCCEEDED, "object_ids": ["\udcff"]}, "Unicode"),
        (local_operator("tester", "a" * 250), {"outcome": SUCCEEDED}, "limit of 200"),
    ],
)
def test_invalid_event_rejected(
    sqlite_settings: Settings, caller: Caller, options: dict[str, Any], message: str
) -> None:
    database = Database(sqlite_settings)
    database.upgrade()

    with pytest.raises(AuditError, match=message):
        record_separately(database, caller, "person.view", **options)

    assert _rows(database) == []
    database.dispose()


def test_sqlite_lock_takes_write_lock(sqlite_settings: Settings) -> None:
    database = Database(sqlite_settings)
    database.upgrade()
    path = make_url(database.url).database
    assert path is not None

    with database.session() as session, session.begin():
        lock_chain(session)
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    database.dispose()


CHILD = """
import sys, time
from pathlib import Path
from sqlalchemy import text
from scut.db.session import Database
from scut.security.audit import record_separately
from scut.security.caller import local_operator
from scut.settings import Settings

url, number, count, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
database = Database(Settings(data_dir=Path(folder) / "data", database_url=url))
with database.engine.connect() as connection:
    connection.execute(text("SELECT 1"))
caller = local_operator(f"writer-{number}")
(Path(folder) / f"ready-{number}").touch()
while not (Path(folder) / "go").exists():
    time.sleep(0.001)
for step in range(count):
    record_separately(
        database, caller, "test.append", outcome="succeeded", object_ids=[step]
    )
database.dispose()
"""


def test_concurrent_processes_keep_one_chain(
    database: Database, tmp_path: Path
) -> None:
    writers, count = 4, 25
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, database.url, str(n), str(count), tmp_path],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(writers)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < writers:
        if time.monotonic() > deadline or any(c.poll() is not None for c in children):
            break  # the return codes below tell which writer failed
        time.sleep(0.01)
    (tmp_path / "go").touch()
    errors = [child.communicate(timeout=300)[1] for child in children]
    for child, output in zip(children, errors, strict=True):
        assert child.returncode == 0, output

    rows = _rows(database)
    assert [row["id"] for row in rows] == list(range(1, writers * count + 1))
    assert len({row["user"] for row in rows}) == writers
    report = _verify(database)
    assert report.intact, report.message
    assert report.events_checked == writers * count


# -- anchors ----------------------------------------------------------------


def _anchored_ids(settings: Settings) -> list[int]:
    path = anchor_file(settings)
    if not path.exists():
        return []
    return [json.loads(line)["event_id"] for line in path.read_text().splitlines()]


def test_auto_anchor_every_interval(
    database: Database, audit_settings: Settings
) -> None:
    settings = audit_settings.model_copy(update={"audit_anchor_interval": 4})
    install_auto_anchor(database, settings)

    _append(database, 9)
    assert _anchored_ids(settings) == [4, 8]
    with pytest.raises(RuntimeError), database.session() as session, session.begin():
        for _ in range(3):
            record_event(session, OPERATOR, "person.view", outcome=SUCCEEDED)
        raise RuntimeError("the action failed")
    assert _anchored_ids(settings) == [4, 8]
    with database.session() as session, session.begin():
        for _ in range(3):
            record_event(session, OPERATOR, "person.view", outcome=SUCCEEDED)

    assert _anchored_ids(settings) == [4, 8, 12]
    report = _verify(database, settings)
    assert report.intact
    assert report.anchors_checked == 3


def test_anchor_if_due_only_after_new_events(
    database: Database, audit_settings: Settings
) -> None:
    with database.session() as session:
        assert anchor_if_due(session, audit_settings) is None
    _append(database, 2)

    with database.session() as session:
        assert anchor_if_due(session, audit_settings) == anchor_file(audit_settings)
        assert anchor_if_due(session, audit_settings) is None
    _append(database, 2)
    with database.session() as session:
        assert anchor_if_due(session, audit_settings, min_new_events=3) is None
        assert anchor_if_due(session, audit_settings, min_new_events=2) is not None

    assert _anchored_ids(audit_settings) == [2, 4]


def test_empty_log_cannot_be_anchored(
    database: Database, audit_settings: Settings
) -> None:
    with database.session() as session, pytest.raises(AuditError, match="empty"):
        write_anchor(session, audit_settings)


def test_default_key_created_private(
    sqlite_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    database = Database(sqlite_settings)
    database.upgrade()
    _append(database, 1)

    with caplog.at_level(logging.WARNING), database.session() as session:
        write_anchor(session, sqlite_settings)
        write_anchor(session, sqlite_settings)

    key = tmp_path / "config" / "scut" / "audit-signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.parent.stat().st_mode & 0o777 == 0o700
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert str(key) in warnings[0]
    assert _verify(database, sqlite_settings).anchors_checked == 2
    database.dispose()


def test_signing_key_checks(sqlite_settings: Settings, tmp_path: Path) -> None:
    database = Database(sqlite_settings)
    database.upgrade()
    _append(database, 1)
    inside = sqlite_settings.data_dir / "key.pem"
    generate_signing_key(inside)
    outside = tmp_path / "keys" / "key.pem"
    generate_signing_key(outside)
    outside.chmod(0o644)

    cases = {
        str(inside): "inside the data directory",
        str(outside): "open to other users",
        str(tmp_path / "missing.pem"): "not found",
    }
    for path, message in cases.items():
        settings = sqlite_settings.model_copy(update={"audit_signing_key_file": path})
        with (
            database.session() as session,
            pytest.raises(ConfigurationError, match=message),
        ):
            write_anchor(session, settings)
    database.dispose()


# -- reading ----------------------------------------------------------------


def test_search_filters_and_records_reads(database: Database) -> None:
    bob = local_operator("tester", acting_for="bob")
    record_separately(
        database, OPERATOR, "person.view", outcome=SUCCEEDED, object_ids=[7]
    )
    record_separately(
        database, bob, "person.change", outcome=SUCCEEDED, object_ids=[17]
    )
    record_separately(database, bob, "media.reveal", outcome=DENIED, object_ids=[7])

    def ids(**filters: Any) -> list[int]:
        return [event["id"] for event in search_events(database, OPERATOR, **filters)]

    assert ids(user="BOB", action="person.*") == [2]
    assert ids(object_id="7", action="media.reveal") == [3]
    assert ids(object_id="7", user="ana") == [1]
    assert ids(object_id="7", action="person.*") == [1]
    assert ids(since=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)) == []
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    assert ids(since=yesterday, limit=3) == [8, 7, 6]
    assert ids(action="audit.read", limit=2) == [9, 8]
    read = _rows(database)[-1]
    assert read["action"] == "audit.read"
    assert read["detail"]["returned"] == 2
    assert read["object_ids"] == '["9","8"]'
    assert _verify(database).intact


def test_search_denied_without_auditor_role(database: Database) -> None:
    analyst = Caller(user="ana", roles=frozenset({ANALYST}), source="10.0.0.7")

    with pytest.raises(AccessDenied, match="auditor"):
        search_events(database, analyst, user="bob")

    rows = _rows(database)
    assert [(row["action"], row["outcome"]) for row in rows] == [("audit.read", DENIED)]
    assert rows[0]["source"] == "10.0.0.7"
    auditor = Caller(user="uma", roles=frozenset({AUDITOR}))
    assert [event["user"] for event in search_events(database, auditor)] == ["ana"]


# -- database guards ---------------------------------------------------------


def test_sqlite_guards_reject_changes(sqlite_settings: Settings) -> None:
    database = Database(sqlite_settings)
    database.upgrade()
    with database.engine.begin() as connection:
        install_sqlite_guards(connection)
    _append(database, 3)

    with pytest.raises(DatabaseError, match="append-only: UPDATE"):
        _execute(database, update(TABLE).values(user="mallory"))
    with pytest.raises(DatabaseError, match="append-only: DELETE"):
        _execute(database, delete(TABLE))

    assert _verify(database).events_checked == 3
    _tamper(database, update(TABLE).where(TABLE.c.id == 2).values(user="mallory"))
    assert _verify(database).reason == EDITED
    database.dispose()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture
def granted_postgres(postgres_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A migrated PostgreSQL database with an owner role and an application role."""
    suffix = uuid.uuid4().hex[:10]
    owner, app_role = f"scut_owner_{suffix}", f"scut_app_{suffix}"
    superuser = Database(
        Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    )
    superuser.upgrade()
    with superuser.engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {_quoted(owner)} NOLOGIN"))
        connection.execute(text(f"CREATE ROLE {_quoted(app_role)} LOGIN"))
    app_url = make_url(postgres_url).set(username=app_role, password=None)
    app = Database(
        Settings(
            data_dir=tmp_path / "data",
            database_url=app_url.render_as_string(hide_password=False),
        )
    )
    yield {"superuser": superuser, "app": app, "owner": owner, "app_role": app_role}
    app.dispose()
    # Roles are cluster-wide: hand back what they own here, then drop them.
    with superuser.engine.begin() as connection:
        for role in (owner, app_role):
            connection.execute(
                text(f"REASSIGN OWNED BY {_quoted(role)} TO CURRENT_USER")
            )
            connection.execute(text(f"DROP OWNED BY {_quoted(role)}"))
            connection.execute(text(f"DROP ROLE {_quoted(role)}"))
    superuser.dispose()


def test_postgres_grants_hold(granted_postgres: dict[str, Any]) -> None:
    superuser: Database = granted_postgres["superuser"]
    app: Database = granted_postgres["app"]
    owner = granted_postgres["owner"]
    with superuser.engine.begin() as connection:
        apply_postgres_grants(connection, granted_postgres["app_role"], owner)
        apply_postgres_grants(connection, granted_postgres["app_role"], owner)

    _append(app, 3)
    with app.session() as session, session.begin():
        session.add(Unit(name="Police, Orhei"))
        session.flush()
        session.execute(update(Unit).values(kind="customs"))
    rejected = {
        "UPDATE": update(TABLE).values(user="mallory"),
        "DELETE": delete(TABLE),
        "TRUNCATE": text("TRUNCATE audit_events"),
    }
    for statement in rejected.values():
        with pytest.raises(DatabaseError, match="permission denied"):
            _execute(app, statement)
    for name, statement in rejected.items():
        with pytest.raises(DatabaseError, match=f"append-only: {name}"):
            _execute(superuser, statement)

    assert _verify(app).events_checked == 3
    with superuser.engine.connect() as connection:
        owners = set(
            connection.execute(
                text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
    assert owners == {owner}
    with superuser.engine.begin() as connection:
        connection.execute(text(f'SET LOCAL ROLE "{owner}"'))
        connection.execute(update(TABLE).where(TABLE.c.id == 3).values(unit="X"))
    assert _verify(app).reason == EDITED


def test_postgres_grants_need_real_roles(granted_postgres: dict[str, Any]) -> None:
    superuser: Database = granted_postgres["superuser"]
    owner = granted_postgres["owner"]

    with superuser.engine.begin() as connection:
        with pytest.raises(AuditError, match="does not exist"):
            apply_postgres_grants(connection, "nobody_here", owner)
        with pytest.raises(AuditError, match="both"):
            apply_postgres_grants(connection, owner, owner)


# -- command line -------------------------------------------------------------


def _scut(settings: Settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = dict(
        os.environ,
        SCUT_DATA_DIR=str(settings.data_dir),
        SCUT_DATABASE_URL=settings.resolved_database_url,
        SCUT_AUDIT_SIGNING_KEY_FILE=settings.audit_signing_key_file,
        COLUMNS="200",
    )
    return subprocess.run(
        [sys.executable, "-m", "scut", "--analyst", "uma", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_verify_show_and_anchor(
    database: Database, audit_settings: Settings
) -> None:
    _append(database, 3)

    verified = _scut(audit_settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "intact: 3 events, 0 signed anchors" in verified.stdout
    anchored = _scut(audit_settings, "audit", "anchor")
    assert anchored.returncode == 0, anchored.stderr
    shown = _scut(
        audit_settings,
        "audit",
        "show",
        "--action",
        "person.view",
        "--object",
        "p-1",
        "--json",
    )
    assert shown.returncode == 0, shown.stderr
    events = json.loads(shown.stdout)
    assert [event["id"] for event in events] == [2]
    assert events[0]["object_ids"] == ["1", "p-1"]
    table = _scut(audit_settings, "audit", "show", "--user", "uma", "--limit", "1")
    assert table.returncode == 0, table.stderr
    assert "audit.read" in table.stdout

    rows = _rows(database)
    assert [row["action"] for row in rows[3:]] == [
        "audit.verify",
        "audit.read",
        "audit.read",
    ]
    assert rows[-1]["user"].startswith("uma (via local:")
    _tamper(database, update(TABLE).where(TABLE.c.id == 2).values(outcome="failed"))
    broken = _scut(audit_settings, "audit", "verify")
    assert broken.returncode == 1, broken.stderr
    assert "NOT intact: edited at event 2" in broken.stdout
