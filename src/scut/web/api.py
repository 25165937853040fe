"""The JSON API under ``/api``, authenticated by API tokens.

Clients send ``Authorization: Bearer TOKEN`` with a token from
``scut.security.auth.issue_api_token``. Cookies are never read here, so
the API needs no CSRF token. The OpenAPI description is served at
``/api/openapi.json``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.requests import Request

from scut.overview.service import MAX_RECENT, recent_submissions
from scut.web.callers import ApiCaller
from scut.web.context import context_of

router = APIRouter(prefix="/api", tags=["api"])


class Me(BaseModel):
    """The caller of the token: user name, roles and unit."""

    user: str
    roles: list[str]
    unit: str = Field(description="The user's unit, empty for none.")


class SubmissionOut(BaseModel):
    """A submission as the caller may see it."""

    id: int
    case: str = Field(description="The centre's case reference.")
    unit: str = Field(description="The unit that sent the material.")
    criminal_case_number: str
    received_at: dt.datetime
    exhibits: int
    files: int
    verdicts: dict[str, int] = Field(description="Files by verdict.")


@router.get("/me")
def me(caller: ApiCaller) -> Me:
    """Return who the token belongs to."""
    return Me(user=caller.user, roles=sorted(caller.roles), unit=caller.unit)


@router.get("/submissions")
def submissions(
    request: Request,
    caller: ApiCaller,
    limit: Annotated[int, Query(ge=1, le=MAX_RECENT)] = 20,
) -> list[SubmissionOut]:
    """Return the latest submissions the caller may see, newest first.

    A submitter gets only their own unit's submissions.
    """
    context = context_of(request)
    with context.database.session() as session, session.begin():
        lines = recent_submissions(session, limit, caller=caller)
    return [
        SubmissionOut(
            id=line.submission_id,
            case=line.case,
            unit=line.unit,
            criminal_case_number=line.criminal_case_number,
            received_at=line.received_at,
            exhibits=line.exhibits,
            files=line.files,
            verdicts=dict(line.verdicts),
        )
        for line in lines
    ]
