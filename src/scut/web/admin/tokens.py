"""The API token page: issue a token after a fresh sign-in, list and revoke one's own.

Issuing checks the password and a TOTP code again, as a sign-in does, so
that a session left open cannot hand out a token that outlives it. The
token is shown once, in the response to that request; only its SHA-256
digest is stored.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request

from scut.security.auth import (
    API_TOKEN_MAX_DAYS,
    ApiTokenRejected,
    SignInFailed,
    issue_api_token,
    list_api_tokens,
    revoke_api_token_by_id,
)
from scut.security.caller import Caller
from scut.web.admin.forms import (
    MAX_CODE,
    MAX_NAME,
    MAX_PASSWORD,
    FieldError,
    FieldErrors,
)
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.rendering import render_page
from scut.web.security import client_address

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PAGE = "/account/api-tokens"
DEFAULT_DAYS = 90
CHECK_FAILED = N_(
    "The password or code is wrong, or sign-in is blocked for a while after "
    "repeated failures. The token was not issued."
)
NAME_INVALID = N_("A token's name has 1 to 100 printable characters.")
DAYS_INVALID = N_("A token lasts 1 to 365 days.")
REVOKED = N_("The API token was revoked.")


@router.get(PAGE, response_class=HTMLResponse)
def tokens_page(
    request: Request, caller: PageCaller, revoked: str = ""
) -> HTMLResponse:
    """List the caller's API tokens, with the form that issues a new one."""
    notice = REVOKED if revoked else None
    return _page(request, caller, notice=notice)


@router.post(PAGE, response_class=HTMLResponse)
def issue(
    request: Request,
    caller: PageCaller,
    name: Annotated[str, Form(max_length=MAX_NAME)] = "",
    days: Annotated[str, Form(max_length=10)] = str(DEFAULT_DAYS),
    password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    code: Annotated[str, Form(max_length=MAX_CODE)] = "",
) -> HTMLResponse:
    """Issue a token to the caller after checking their password and code again.

    The response page shows the token once. Failures are counted as
    failed sign-ins of the caller's account.
    """
    values = {"name": name, "days": days}
    lifetime = int(days) if days.strip().isdigit() else 0
    if not 1 <= lifetime <= API_TOKEN_MAX_DAYS:
        errors = {"days": FieldError(DAYS_INVALID)}
        return _page(request, caller, errors, values, status_code=400)
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            token = issue_api_token(
                session,
                caller.user,
                password,
                code.strip(),
                name,
                lifetime,
                client_address(request),
                context.clock,
                settings=context.settings,
            )
    except SignInFailed:
        errors = {"code": FieldError(CHECK_FAILED)}
        return _page(request, caller, errors, values, status_code=400)
    except ApiTokenRejected as error:
        log.info("API token for %s not issued: %s", caller.user, error)
        errors = {"name": FieldError(NAME_INVALID, str(error))}
        return _page(request, caller, errors, values, status_code=400)
    return _page(request, caller, issued=token, issued_name=name.strip())


@router.post(PAGE + "/{token_id}/revoke")
def revoke(
    request: Request, caller: PageCaller, token_id: Annotated[int, Path(ge=1)]
) -> RedirectResponse:
    """Revoke one of the caller's tokens; another user's is denied by the service."""
    context = context_of(request)
    with context.database.session() as session, session.begin():
        revoke_api_token_by_id(session, token_id, caller=caller, clock=context.clock)
    return RedirectResponse(f"{PAGE}?revoked={token_id}", status_code=303)


def _page(
    request: Request,
    caller: Caller,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    *,
    status_code: int = 200,
    notice: str | None = None,
    issued: str = "",
    issued_name: str = "",
) -> HTMLResponse:
    context = context_of(request)
    with context.database.session() as session, session.begin():
        tokens = list_api_tokens(session, caller=caller)
    return render_page(
        request,
        "admin/api_tokens.html",
        status_code=status_code,
        tokens=tokens,
        errors=errors or {},
        values=values or {"name": "", "days": str(DEFAULT_DAYS)},
        notice=notice,
        issued=issued,
        issued_name=issued_name,
        max_days=API_TOKEN_MAX_DAYS,
        revoke_base=PAGE,
    )
