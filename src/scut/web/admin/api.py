"""The administration API: hash sets, users, units, one's API tokens and the audit log.

Each endpoint calls a declared service operation with the token's caller,
so the access matrix decides, as it does for the pages.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field
from starlette.requests import Request

from scut.cases.service import list_units
from scut.hashsets.service import list_sets
from scut.security.audit import search_events, verify_log
from scut.security.auth import (
    ApiTokenRejected,
    list_api_tokens,
    list_users,
    revoke_api_token_by_id,
)
from scut.web.admin.audit import mask_idnp_shaped, masked
from scut.web.callers import ApiCaller
from scut.web.context import context_of


class ProblemOut(BaseModel):
    """The reason a request was rejected."""

    detail: str


# The errors every endpoint of this area may return, for the OpenAPI description.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemOut, "description": "A value is invalid."},
    401: {"model": ProblemOut, "description": "No valid API token was sent."},
    403: {"model": ProblemOut, "description": "The token's roles do not allow it."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemOut, "description": "No API token has this id."},
}

log = logging.getLogger(__name__)

api_router = APIRouter(prefix="/api", tags=["api"], responses=ERROR_RESPONSES)

# Ids are 32-bit database integers, so a larger value cannot name a row.
MAX_ID = 2**31 - 1
MAX_EVENTS = 500
# Free text without control characters, which the database rejects.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"
FilterText = Annotated[str | None, Query(max_length=200, pattern=PLAIN_TEXT)]


class HashSetOut(BaseModel):
    """A known-hash set and its size."""

    name: str
    kind: str = Field(description="known-abuse, alert or known-good.")
    format: str
    items: int
    entries: int = Field(description="Hashes kept.")
    rejected: int = Field(description="Records of the file left out.")
    version: str
    source: str
    imported_at: dt.datetime


class UserOut(BaseModel):
    """A user account as administrators see it."""

    username: str
    display_name: str
    unit: str = Field(description="The user's unit, empty for none.")
    roles: list[str]
    active: bool
    totp_confirmed: bool
    failed_logins: int
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None


class UnitOut(BaseModel):
    """A unit that sends material, or a foreign partner."""

    id: int
    name: str
    kind: str
    country: str = Field(description="ISO 3166-1 alpha-2 code of the unit's state.")
    submissions: int


class ApiTokenOut(BaseModel):
    """One of the caller's API tokens; the token itself is never shown again."""

    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class AuditEventOut(BaseModel):
    """An audit event with every field its hash covers."""

    id: int
    at: dt.datetime
    user: str
    unit: str
    role: str = Field(description="The caller's roles, comma-separated.")
    action: str
    object_type: str
    object_ids: list[str]
    outcome: str
    source: str
    justification: str
    detail: Any = Field(description="Details of the event, IDNP-shaped numbers masked.")
    previous_hash: str
    hash: str


class ChainCheckOut(BaseModel):
    """The result of checking the audit chain and its signed anchors."""

    intact: bool
    events_checked: int
    anchors_checked: int
    first_bad_id: int | None
    reason: str | None = Field(
        description="edited, broken link, gap, bad anchor, anchor mismatch or "
        "truncated; null when intact."
    )
    message: str


@api_router.get("/hash-sets")
def hash_sets(request: Request, caller: ApiCaller) -> list[HashSetOut]:
    """Return every hash set with its size, by name."""
    rows = list_sets(context_of(request).database, caller=caller)
    return [HashSetOut.model_validate(row, from_attributes=True) for row in rows]


@api_router.get("/users")
def users(request: Request, caller: ApiCaller) -> list[UserOut]:
    """Return every user with roles, unit and lock state (administrators only)."""
    with context_of(request).database.session() as session, session.begin():
        found = list_users(session, caller=caller)
    return [UserOut.model_validate(user, from_attributes=True) for user in found]


@api_router.get("/units")
def units(request: Request, caller: ApiCaller) -> list[UnitOut]:
    """Return every unit with its number of submissions."""
    with context_of(request).database.session() as session, session.begin():
        found = list_units(session, caller=caller)
    return [UnitOut.model_validate(unit) for unit in found]


@api_router.get("/tokens")
def tokens(request: Request, caller: ApiCaller) -> list[ApiTokenOut]:
    """Return the caller's API tokens, newest first."""
    with context_of(request).database.session() as session, session.begin():
        found = list_api_tokens(session, caller=caller)
    return [ApiTokenOut.model_validate(token, from_attributes=True) for token in found]


@api_router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
def revoke_token(
    request: Request,
    caller: ApiCaller,
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> None:
    """Revoke one of the caller's API tokens (an administrator's: anyone's)."""
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            revoke_api_token_by_id(
                session, token_id, caller=caller, clock=context.clock
            )
    except ApiTokenRejected as error:
        log.info("API token %d not revoked for %s: %s", token_id, caller.user, error)
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None


@api_router.get("/audit/events")
def audit_events(
    request: Request,
    caller: ApiCaller,
    user: FilterText = None,
    action: FilterText = None,
    object_id: FilterText = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    outcome: Literal["succeeded", "denied", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[AuditEventOut]:
    """Return audit events, newest first; the read is recorded (auditors only).

    ``user`` matches part of the user name. ``action`` matches exactly, or
    as a prefix when it ends in ``*``. ``since`` is inclusive and ``until``
    exclusive; times without a zone are UTC.
    """
    found = search_events(
        context_of(request).database,
        caller,
        user=user,
        action=action,
        object_id=object_id,
        since=since,
        until=until,
        outcome=outcome,
        limit=limit,
        offset=offset,
    )
    return [_event_out(event) for event in found]


@api_router.post("/audit/verify")
def audit_verify(request: Request, caller: ApiCaller) -> ChainCheckOut:
    """Check the audit chain and its anchors; the check is recorded in the log."""
    context = context_of(request)
    report = verify_log(context.database, caller, context.settings)
    return ChainCheckOut(
        intact=report.intact,
        events_checked=report.events_checked,
        anchors_checked=report.anchors_checked,
        first_bad_id=report.first_bad_id,
        reason=report.reason,
        message=report.message,
    )


def _event_out(event: dict[str, Any]) -> AuditEventOut:
    return AuditEventOut(
        id=event["id"],
        at=dt.datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00")),
        user=event["user"],
        unit=event["unit"],
        role=event["role"],
        action=event["action"],
        object_type=event["object_type"],
        object_ids=[mask_idnp_shaped(str(item)) for item in event["object_ids"]],
        outcome=event["outcome"],
        source=event["source"],
        justification=mask_idnp_shaped(event["justification"]),
        detail=masked(event["detail"]),
        previous_hash=event["previous_hash"],
        hash=event["hash"],
    )
