"""The unlock page: reopen a session locked after idle time, and return to its page.

A session idle for longer than ``session_idle_minutes`` is locked, not
ended (scut.security.auth.SessionLocked). Its cookie stays in the
browser, so this page can reopen the same session with its user's
password and a TOTP code, and send the browser back to the page it was
on. A session past its fixed end, ended, or of a disabled account cannot
be unlocked: the browser goes to the sign-in page instead.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.requests import Request

from scut.db.models import LoginSession, User
from scut.security.auth import (
    SessionExpired,
    SessionLocked,
    SignInFailed,
    check_session,
    token_digest,
    unlock_session,
)
from scut.web.admin.forms import MAX_CODE, MAX_PASSWORD, is_htmx, local_path
from scut.web.callers import expiry_reason
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.rendering import render_page
from scut.web.security import SESSION_COOKIE, client_address, delete_cookie

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PAGE = "/unlock"
HOME = "/dashboard"
UNLOCK_FAILED = N_(
    "The session was not unlocked: the password or code is wrong, or sign-in "
    "is blocked for a while after repeated failures."
)
NextPath = Annotated[str, Query(alias="next", max_length=2000)]


def unlock_target(request: Request) -> str:
    """Return the unlock page's address for a request that met a locked session.

    The page returns to where the analyst was: the page HTMX reports as
    current for an HTMX request, the requested page for a plain GET, and
    the dashboard after a form post, whose data the lock has lost.
    """
    if is_htmx(request):
        current = urlsplit(request.headers.get("hx-current-url", ""))
        same_site = current.netloc == request.headers.get("host", "")
        path = current.path + (f"?{current.query}" if current.query else "")
        back = path if same_site else HOME
    elif request.method == "GET":
        query = request.url.query
        back = request.url.path + (f"?{query}" if query else "")
    else:
        back = HOME
    return f"{PAGE}?next={quote(local_path(back, HOME), safe='')}"


@router.get(PAGE, response_class=HTMLResponse, response_model=None)
def unlock_form(request: Request, next_path: NextPath = HOME) -> Response:
    """Ask for the password and a code of the locked session's user.

    A session that is not locked goes straight back to ``next``.
    """
    context = context_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    target = local_path(next_path, HOME)
    if not token:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        with context.database.session() as session, session.begin():
            check_session(session, token, context.clock, settings=context.settings)
        return RedirectResponse(target, status_code=303)
    except SessionLocked:
        pass
    except SessionExpired:
        return _to_sign_in(request, token)
    return _form(request, token, target)


@router.post(PAGE, response_model=None)
def unlock(
    request: Request,
    password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    code: Annotated[str, Form(max_length=MAX_CODE)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = HOME,
) -> Response:
    """Reopen the session with its user's password and code, and return to its page."""
    context = context_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    target = local_path(next_path, HOME)
    if not token:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        with context.database.session() as session, session.begin():
            unlock_session(
                session,
                token,
                password,
                code.strip(),
                client_address(request),
                context.clock,
                settings=context.settings,
            )
    except SignInFailed:
        return _form(request, token, target, error=UNLOCK_FAILED, status_code=400)
    except SessionExpired:
        return _to_sign_in(request, token)
    return RedirectResponse(target, status_code=303)


def _form(
    request: Request,
    token: str,
    target: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with context_of(request).database.session() as session:
        found = session.execute(
            select(User.username, User.display_name)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.token_hash == token_digest(token))
        ).first()
    username, display_name = found if found is not None else ("", "")
    return render_page(
        request,
        "admin/unlock.html",
        status_code=status_code,
        locked_user=username,
        locked_name=display_name,
        next_path=target,
        error=error,
    )


def _to_sign_in(request: Request, token: str) -> RedirectResponse:
    """Send the browser to sign in, naming why the session cannot be unlocked."""
    context = context_of(request)
    with context.database.session() as session:
        reason = expiry_reason(session, token, context.clock.now(), context.settings)
    log.info("session for %s cannot be unlocked (%s)", client_address(request), reason)
    response = RedirectResponse(f"/sign-in?reason={quote(reason)}", status_code=303)
    delete_cookie(
        response,
        request,
        SESSION_COOKIE,
        plain_http_loopback=context.web.plain_http_loopback,
    )
    return response
