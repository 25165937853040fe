"""A fuzz run of the JSON API from its OpenAPI description: no server error.

Schemathesis reads /api/openapi.json from the application itself and sends
requests generated from each operation's parameters and bodies, signed
with an API token of a user who has every role, so the requests reach
the services instead of stopping at the token check. Any 5xx response, or
one that does not match the described response, fails the test. The run
is sized to stay within a minute per database; raise SCUT_FUZZ_EXAMPLES
for a longer one.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, assume, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from scut.db.models import ApiToken
from scut.db.session import Database
from scut.security.auth import issue_api_token
from scut.security.caller import ROLES
from web.helpers import SteppingClock, Users

EXAMPLES = int(os.environ.get("SCUT_FUZZ_EXAMPLES", "15"))


@pytest.fixture
def api_token(users: Users, database: Database, clock: SteppingClock) -> str:
    """An API token of a user of unit Fuzz holding every role."""
    user = users.add("fuzzer", tuple(ROLES), unit="Fuzz")
    with database.session() as session, session.begin():
        return issue_api_token(
            session,
            user.username,
            user.password,
            user.code(clock),
            "fuzz run",
            1,
            "127.0.0.1",
            clock,
            settings=users.settings,
            keyring=users.keyring(),
        )


def _revokes_own_token(case: schemathesis.Case, token_id: int) -> bool:
    if case.method.upper() != "DELETE" or "/tokens/" not in case.path:
        return False
    return str((case.path_parameters or {}).get("token_id", "")) == str(token_id) or (
        str((case.path_parameters or {}).get("id", "")) == str(token_id)
    )


def test_api_has_no_server_error(
    app: FastAPI,
    api_token: str,
    clock: SteppingClock,
    database: Database,
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 2, "the API describes too few operations"
    headers = {"Authorization": f"Bearer {api_token}"}
    with database.session() as session:
        own_token_id = session.scalars(select(ApiToken.id)).one()
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            # Revoking the run's own token would leave the rest unchecked.
            assume(not _revokes_own_token(case, own_token_id))
            # Each token use is checked against the clock; keep it moving.
            clock.advance(dt.timedelta(milliseconds=1))
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks)

        call()
