"""Ingest, verification, matching, the PDQ index and hash sets as operations.

Each operation is called through its declared entry point on both
databases: who may call it, for which unit, and the audit event it writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from drawn_pictures import draw_picture
from records_helpers import add_media, add_submission, analyst
from scut.db.models import AuditEvent, Case, Exhibit, HashSet, Unit
from scut.db.session import Database
from scut.hashsets.service import import_set, list_sets, remove_set
from scut.ingest.pipeline import ProgressListener
from scut.ingest.records import Origin
from scut.ingest.service import ingest
from scut.matching.service import list_overlap, match_again, rebuild_index
from scut.security.access import AccessDenied, record_denial
from scut.security.caller import (
    ADMIN,
    AUDITOR,
    SUBMITTER,
    SUPERVISOR,
    Caller,
    local_operator,
)
from scut.settings import Settings
from scut.verification.report import SubmissionNotFound
from scut.verification.service import read_result


def _add_units(database: Database, *names: str) -> list[int]:
    with database.session() as session, session.begin():
        units = [Unit(name=name) for name in names]
        session.add_all(units)
        session.flush()
        return [unit.id for unit in units]


def _submitter(unit_id: int, unit: str) -> Caller:
    return Caller(
        user="sam",
        roles=frozenset({SUBMITTER}),
        unit_id=unit_id,
        unit=unit,
        source="test",
    )


def _pictures(folder: Path, count: int = 2) -> Path:
    folder.mkdir(parents=True)
    for seed in range(count):
        draw_picture(seed).save(folder / f"picture-{seed}.png")
    return folder


def _events(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        return [
            {
                "action": event.action,
                "outcome": event.outcome,
                "user": event.user,
                "unit": event.unit,
                "object_type": event.object_type,
                "object_ids": json.loads(event.object_ids),
                "detail": event.detail,
            }
            for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def _count(database: Database, model: type[Any]) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# Ingest and the verification result.


def test_submitter_ingests_and_reads_own_unit(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    (unit_a,) = _add_units(database, "Unit A")
    sam = _submitter(unit_a, "Unit A")
    origin = Origin(case="C-1", exhibit="E1", unit="Unit A")

    summary = ingest(
        database, settings, [_pictures(tmp_path / "seized")], origin, caller=sam
    )
    report = read_result(database, summary.submission, caller=sam)

    assert summary.files == 2
    assert report.unit == "Unit A"
    assert report.files == 2
    with database.session() as session:
        exhibit_id = session.scalar(select(Exhibit.id))
    ingested, read = _events(database)
    assert ingested["action"] == "ingest.run"
    assert ingested["outcome"] == "succeeded"
    assert (ingested["user"], ingested["unit"]) == ("sam", "Unit A")
    assert ingested["object_type"] == "submission"
    assert ingested["object_ids"] == [str(summary.submission)]
    assert ingested["detail"]["exhibit_id"] == exhibit_id
    assert ingested["detail"]["exhibit"] == "E1"
    assert ingested["detail"]["files"] == 2
    assert ingested["detail"]["analysed_this_run"] == 2
    assert ingested["detail"]["by_verdict"] == {"new": 2}
    assert read["action"] == "verification.read"
    assert read["object_ids"] == [str(summary.submission)]


@pytest.mark.parametrize("unit", ["Unit B", "Unit not recorded yet"])
def test_submitter_denied_other_unit_first(
    database: Database, settings: Settings, tmp_path: Path, unit: str
) -> None:
    unit_a, _ = _add_units(database, "Unit A", "Unit B")
    origin = Origin(case="C-1", exhibit="E1", unit=unit)
    # The source does not exist: a SourceError would show it was looked at.
    missing = tmp_path / "not-there"

    with pytest.raises(AccessDenied, match="only on the records of their own unit"):
        ingest(
            database,
            settings,
            [missing],
            origin,
            caller=_submitter(unit_a, "Unit A"),
        )

    assert _count(database, Case) == 0
    assert _count(database, Unit) == 2


def test_denial_records_what_was_attempted(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    unit_a, _ = _add_units(database, "Unit A", "Unit B")
    sam = _submitter(unit_a, "Unit A")
    origin = Origin(case="C-1", exhibit="E7", unit="Unit B")
    with pytest.raises(AccessDenied) as denied:
        ingest(database, settings, [tmp_path], origin, caller=sam)

    record_denial(database, sam, denied.value)

    with database.session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.outcome == "denied")
        ).one()
    assert event.action == "ingest.run"
    assert event.detail["attempted"] == {"exhibit": "E7", "unit": "Unit B"}
    assert "their own unit" in event.detail["reason"]


def test_submitter_denied_exhibit_of_other_unit(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    with database.session() as session, session.begin():
        add_submission(session, [], case="C-1", unit="Unit B")
    (unit_a,) = _add_units(database, "Unit A")
    origin = Origin(case="C-1", exhibit="E1", unit="Unit A")

    with pytest.raises(AccessDenied) as raised:
        ingest(
            database,
            settings,
            [_pictures(tmp_path / "seized")],
            origin,
            caller=_submitter(unit_a, "Unit A"),
        )

    assert "their own unit" in str(raised.value)
    assert "Unit B" not in str(raised.value)


def test_result_of_other_unit_and_unknown_alike(database: Database) -> None:
    with database.session() as session, session.begin():
        other = add_submission(session, add_media(session, 1), unit="Unit B")
    (unit_a,) = _add_units(database, "Unit A")
    sam = _submitter(unit_a, "Unit A")

    with pytest.raises(AccessDenied) as other_unit:
        read_result(database, other, caller=sam)
    with pytest.raises(AccessDenied) as unknown:
        read_result(database, other + 100, caller=sam)
    record_denial(database, sam, other_unit.value)
    record_denial(database, sam, unknown.value)

    assert str(other_unit.value) == str(unknown.value)
    denials = _events(database)
    assert [event["action"] for event in denials] == ["verification.read"] * 2
    assert [event["outcome"] for event in denials] == ["denied"] * 2
    assert [event["object_ids"] for event in denials] == [
        [str(other)],
        [str(other + 100)],
    ]
    assert denials[0]["detail"] == denials[1]["detail"]


def test_centre_gets_not_found_for_unknown(database: Database) -> None:
    with pytest.raises(SubmissionNotFound, match="no submission number 404"):
        read_result(database, 404, caller=analyst("ana"))


@pytest.mark.parametrize("role", [AUDITOR, ADMIN])
def test_auditor_and_admin_denied_ingest_and_result(
    database: Database, settings: Settings, tmp_path: Path, role: str
) -> None:
    with database.session() as session, session.begin():
        submission = add_submission(session, add_media(session, 1), unit="Unit A")
        unit_id = session.scalar(select(Unit.id).where(Unit.name == "Unit A"))
    caller = Caller(user="olga", roles=frozenset({role}), unit_id=unit_id)
    origin = Origin(case="C-2", exhibit="E1", unit="Unit A")

    with pytest.raises(AccessDenied, match="may not call ingest.run"):
        ingest(database, settings, [tmp_path], origin, caller=caller)
    with pytest.raises(AccessDenied, match="may not call verification.read"):
        read_result(database, submission, caller=caller)

    assert _count(database, Case) == 1


def test_interrupted_ingest_recorded_as_failed(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    @contextmanager
    def interrupting() -> Iterator[ProgressListener]:
        raise KeyboardInterrupt
        yield  # a generator, so that contextmanager accepts it

    origin = Origin(case="C-1", exhibit="E1", unit="Unit A")

    with pytest.raises(KeyboardInterrupt):
        ingest(
            database,
            settings,
            [_pictures(tmp_path / "seized")],
            origin,
            caller=local_operator("scut"),
            display=interrupting,
        )

    with database.session() as session:
        exhibit = session.scalars(select(Exhibit)).one()
    (event,) = _events(database)
    assert (event["action"], event["outcome"]) == ("ingest.run", "failed")
    assert event["object_ids"] == [str(exhibit.submission_id)]
    assert event["detail"]["exhibit_id"] == exhibit.id
    assert event["detail"]["reason"] == "interrupted"


# Matching again and the PDQ index.


def test_match_run_names_submissions(database: Database, settings: Settings) -> None:
    with database.session() as session, session.begin():
        first = add_submission(session, add_media(session, 2), case="C-1")
        second = add_submission(
            session, add_media(session, 1, start=2), case="C-2", unit="Unit B"
        )

    by_number = match_again(
        database, settings, caller=analyst("ana"), submissions=[first]
    )
    by_case = match_again(database, settings, caller=analyst("ana"), case="C-2")

    assert by_number.submissions == [first]
    assert by_number.report.files == 2
    assert by_case.submissions == [second]
    numbered, cased = _events(database)
    assert numbered["action"] == "match.run"
    assert numbered["object_ids"] == [str(first)]
    assert numbered["detail"]["files"] == 2
    assert numbered["detail"]["all"] is False
    assert cased["object_ids"] == [str(second)]
    assert cased["detail"]["case"] == "C-2"


def test_match_run_denied_to_submitter(database: Database, settings: Settings) -> None:
    with database.session() as session, session.begin():
        submission = add_submission(session, add_media(session, 1))
        unit_id = session.scalar(select(Unit.id))
    assert unit_id is not None

    with pytest.raises(AccessDenied, match="may not call match.run"):
        match_again(
            database,
            settings,
            caller=_submitter(unit_id, "Unit A"),
            submissions=[submission],
        )


def test_index_rebuild_audited(database: Database, settings: Settings) -> None:
    admin = Caller(user="dan", roles=frozenset({ADMIN}))

    index = rebuild_index(database, settings, caller=admin)
    with pytest.raises(AccessDenied, match="may not call index.rebuild"):
        rebuild_index(database, settings, caller=analyst("ana"))

    (event,) = _events(database)
    assert event["action"] == "index.rebuild"
    assert event["object_type"] == "pdq_index"
    assert event["detail"] == {"hashes": len(index), "kind": index.kind}


# Hash sets.


def _hash_list(path: Path) -> Path:
    path.write_text(
        "d41d8cd98f00b204e9800998ecf8427e  empty.txt\n"
        "0cc175b9c0f1b6a831c399e269772661  a.txt\n",
        encoding="utf-8",
    )
    return path


def test_hash_set_operations_audited(database: Database, tmp_path: Path) -> None:
    vera = Caller(user="vera", roles=frozenset({SUPERVISOR}))
    path = _hash_list(tmp_path / "list.md5")

    imported = import_set(database, path, caller=vera, name="local", kind="alert")
    listed = list_sets(database, caller=analyst("ana"))
    overlap = list_overlap(database, "local", caller=analyst("ana"))
    removed = remove_set(database, "local", caller=vera)

    assert imported.entries == 2
    assert [row.name for row in listed] == ["local"]
    assert overlap == []
    assert removed == 2
    events = _events(database)
    assert [event["action"] for event in events] == [
        "hashsets.import",
        "hashsets.read",
        "hashsets.remove",
    ]
    assert all(event["object_type"] == "hash_set" for event in events)
    assert all(event["object_ids"] == ["local"] for event in events)
    assert events[0]["detail"]["entries"] == 2
    assert events[0]["detail"]["kind"] == "alert"
    assert events[2]["detail"] == {"entries": 2}


def test_hash_set_import_denied_before_reading(
    database: Database, tmp_path: Path
) -> None:
    missing = tmp_path / "not-there.md5"

    with pytest.raises(AccessDenied, match="may not call hashsets.import"):
        import_set(database, missing, caller=analyst("ana"), name="local", kind="alert")
    with pytest.raises(AccessDenied, match="may not call hashsets.remove"):
        remove_set(database, "local", caller=analyst("ana"))

    assert _count(database, HashSet) == 0
    assert _events(database) == []
