"""Reading the audit log by time range, outcome and page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from scut.db.session import Database
from scut.security.audit import (
    DENIED,
    FAILED,
    SUCCEEDED,
    AuditError,
    record_separately,
    search_events,
)
from scut.security.caller import AUDITOR, Caller, local_operator

OPERATOR = local_operator("tester", acting_for="ana")
AUDITOR_CALLER = Caller(user="uma", roles=frozenset({AUDITOR}))


def _ids(database: Database, **filters: Any) -> list[int]:
    return [event["id"] for event in search_events(database, AUDITOR_CALLER, **filters)]


def test_until_outcome_and_offset(database: Database) -> None:
    for outcome in (SUCCEEDED, DENIED, FAILED, SUCCEEDED, DENIED):
        record_separately(database, OPERATOR, "test.event", outcome=outcome)

    assert _ids(database, action="test.*", outcome=DENIED) == [5, 2]
    assert _ids(database, action="test.*", limit=2) == [5, 4]
    assert _ids(database, action="test.*", limit=2, offset=2) == [3, 2]
    assert _ids(database, action="test.*", limit=2, offset=4) == [1]
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    assert _ids(database, action="test.*", until=past) == []
    assert _ids(database, action="test.*", until=future, outcome=FAILED) == [3]


def test_new_filters_recorded_only_when_given(database: Database) -> None:
    record_separately(database, OPERATOR, "test.event", outcome=SUCCEEDED)
    search_events(database, AUDITOR_CALLER, action="test.*")
    search_events(database, AUDITOR_CALLER, outcome=DENIED, offset=3)

    reads = search_events(database, AUDITOR_CALLER, action="audit.read")
    plain, paged = reads[1]["detail"]["filters"], reads[0]["detail"]["filters"]
    assert set(plain) == {"user", "action", "object_id", "since", "limit"}
    assert paged["outcome"] == DENIED
    assert paged["offset"] == 3
    assert "until" not in paged


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"offset": -1}, "invalid offset -1"),
        ({"outcome": "maybe"}, "unknown outcome 'maybe'"),
    ],
)
def test_invalid_paging_rejected(
    database: Database, filters: dict[str, Any], message: str
) -> None:
    with pytest.raises(AuditError, match=message):
        search_events(database, AUDITOR_CALLER, **filters)
