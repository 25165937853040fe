"""The caller of a request: from a page's session or from an API token.

Each request checks its session again through scut.security.auth, which
enforces the idle and absolute limits and reads the user's roles and unit
afresh, so a removed role or a disabled account takes effect at the next
request. The caller's source is the address of this request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from scut.db.models import LoginSession, User
from scut.security.auth import (
    ApiTokenRejected,
    SessionExpired,
    SessionLocked,
    check_api_token,
    check_session,
    token_digest,
)
from scut.security.caller import Caller
from scut.settings import Settings
from scut.web.context import context_of
from scut.web.security import SESSION_COOKIE, client_address

log = logging.getLogger(__name__)

# Reason codes for sending a request back to the sign-in page, which
# explains each.
NOT_SIGNED_IN = ""
SESSION_ENDED = "ended"
SESSION_IDLE = "idle"
# An idle session, which its user unlocks on the unlock page.
SESSION_LOCKED = "locked"
SESSION_TOO_OLD = "expired"
ACCOUNT_DISABLED = "disabled"
SIGNED_OUT = "signed-out"

bearer = HTTPBearer(auto_error=False, description="An API token from Scut.")


class SignInRequired(Exception):
    """Raised when a page needs a signed-in caller and the request has none.

    ``reason`` is one of the reason codes above. The error handler sends
    the browser to the sign-in page, which explains it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason or "not signed in")
        self.reason = reason


def page_caller(request: Request) -> Caller:
    """Return the caller of the request's session, or raise SignInRequired.

    The caller is also kept in ``request.state.caller`` for the error
    handlers, which record denials under it, and the user's display name
    in ``request.state.display_name`` for the page header.
    """
    context = context_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired(NOT_SIGNED_IN)
    database = context.database
    try:
        with database.session() as session, session.begin():
            caller = check_session(
                session, token, context.clock, settings=context.settings
            )
            display_name = session.scalar(
                select(User.display_name).where(User.id == caller.user_id)
            )
    except SessionLocked:
        log.info("locked session for %s", client_address(request))
        raise SignInRequired(SESSION_LOCKED) from None
    except SessionExpired:
        with database.session() as session:
            reason = expiry_reason(
                session, token, context.clock.now(), context.settings
            )
        log.info("session rejected (%s) for %s", reason, client_address(request))
        raise SignInRequired(reason) from None
    caller = dataclasses.replace(caller, source=client_address(request))
    request.state.caller = caller
    request.state.display_name = display_name or ""
    return caller


PageCaller = Annotated[Caller, Depends(page_caller)]


def expiry_reason(
    session: Session, token: str, now: dt.datetime, settings: Settings
) -> str:
    """Return the reason code of the limit for which check_session rejected ``token``.

    check_session enforces the limits. This function reads the same row
    to name the limit that applied, for the sign-in page.
    """
    row = session.scalar(
        select(LoginSession).where(LoginSession.token_hash == token_digest(token))
    )
    if row is None or row.ended_at is not None:
        return SESSION_ENDED
    if now >= _utc(row.expires_at):
        return SESSION_TOO_OLD
    if now - _utc(row.last_seen_at) > dt.timedelta(
        minutes=settings.session_idle_minutes
    ):
        return SESSION_IDLE
    return ACCOUNT_DISABLED


def api_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Return the caller of the request's bearer token, or raise HTTP 401."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "send an API token as 'Authorization: Bearer TOKEN'",
            headers=challenge,
        )
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            caller = check_api_token(
                session,
                credentials.credentials,
                context.clock,
                source=client_address(request),
            )
    except ApiTokenRejected as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(error), headers=challenge
        ) from None
    request.state.caller = caller
    return caller


ApiCaller = Annotated[Caller, Depends(api_caller)]


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # SQLite returns stored UTC times without a zone
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
