"""The pages: sign-in, sign-out, the language switch and the dashboard."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import Request

from scut.overview.service import count_records, recent_submissions, waiting_work
from scut.security.access import MATRIX
from scut.security.auth import (
    SignInFailed,
    authenticate,
    end_session,
    finish_totp_enrolment,
)
from scut.security.caller import Caller
from scut.web.callers import (
    ACCOUNT_DISABLED,
    SESSION_ENDED,
    SESSION_IDLE,
    SESSION_TOO_OLD,
    SIGNED_OUT,
    PageCaller,
)
from scut.web.config import LANGUAGES
from scut.web.context import context_of
from scut.web.i18n import LANGUAGE_COOKIE, N_
from scut.web.rendering import render_page
from scut.web.security import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    client_address,
    delete_cookie,
    set_cookie,
)

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

RECENT_SUBMISSIONS = 10
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Bounds of the sign-in fields, well above any valid value, so that a
# huge field is rejected before the password hash is computed.
MAX_USERNAME = 200
MAX_PASSWORD = 1024
MAX_CODE = 20

SIGN_IN_REASONS = {
    SESSION_IDLE: N_(
        "Your session was locked because it was idle for too long. Sign in again."
    ),
    SESSION_TOO_OLD: N_("Your session reached its maximum length. Sign in again."),
    SESSION_ENDED: N_("Your session has ended. Sign in again."),
    ACCOUNT_DISABLED: N_("Your account is disabled. Ask an administrator."),
    SIGNED_OUT: N_("You have signed out."),
}
SIGN_IN_FAILED = N_(
    "Sign-in failed: the user name, password or code is wrong, or sign-in "
    "is blocked for a while after repeated failures. Try again later or ask "
    "an administrator."
)
AUTHENTICATOR_CONFIRMED = N_(
    "Your authenticator app is confirmed. Sign in with its next code."
)
AUTHENTICATOR_FAILED = N_(
    "The authenticator could not be confirmed: the user name, password or "
    "code is wrong, or no enrolment is waiting. Ask an administrator."
)

UsernameField = Annotated[str, Form(max_length=MAX_USERNAME)]
PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD)]
CodeField = Annotated[str, Form(max_length=MAX_CODE)]


@router.get("/")
def home() -> RedirectResponse:
    """Redirect to the dashboard, which redirects to the sign-in page if needed."""
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, reason: str = "") -> HTMLResponse:
    """Show the sign-in form, with why the browser was sent here."""
    return render_page(
        request, "sign_in.html", notice=SIGN_IN_REASONS.get(reason), username=""
    )


@router.post("/sign-in", response_model=None)
def sign_in(
    request: Request,
    username: UsernameField = "",
    password: PasswordField = "",
    code: CodeField = "",
) -> Response:
    """Check the user name, password and TOTP code, and open a session.

    Every failure shows the same message, whichever check failed, so the
    page reveals neither which user names exist nor which factor was wrong.
    """
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            token = authenticate(
                session,
                username,
                password,
                code.strip(),
                client_address(request),
                context.clock,
                settings=context.settings,
            )
    except SignInFailed:
        return render_page(
            request, "sign_in.html", error=SIGN_IN_FAILED, username=username
        )
    response = RedirectResponse("/dashboard", status_code=303)
    plain = context.web.plain_http_loopback
    set_cookie(response, request, SESSION_COOKIE, token, plain_http_loopback=plain)
    delete_cookie(response, request, PRESESSION_COOKIE, plain_http_loopback=plain)
    return response


@router.get("/sign-in/authenticator", response_class=HTMLResponse)
def authenticator_form(request: Request) -> HTMLResponse:
    """Show the form that confirms a new authenticator app with its first code."""
    return render_page(request, "authenticator.html", username="")


@router.post("/sign-in/authenticator", response_class=HTMLResponse)
def confirm_authenticator(
    request: Request,
    username: UsernameField = "",
    password: PasswordField = "",
    code: CodeField = "",
) -> HTMLResponse:
    """Confirm a pending TOTP enrolment, without opening a session."""
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            finish_totp_enrolment(
                session,
                username,
                password,
                code.strip(),
                client_address(request),
                context.clock,
                settings=context.settings,
            )
    except SignInFailed:
        return render_page(
            request, "authenticator.html", error=AUTHENTICATOR_FAILED, username=username
        )
    return render_page(
        request, "sign_in.html", notice=AUTHENTICATOR_CONFIRMED, username=username
    )


@router.post("/sign-out")
def sign_out(request: Request) -> RedirectResponse:
    """End the session and return to the sign-in page."""
    context = context_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with context.database.session() as session, session.begin():
            end_session(session, token, context.clock)
    response = RedirectResponse(f"/sign-in?reason={SIGNED_OUT}", status_code=303)
    delete_cookie(
        response,
        request,
        SESSION_COOKIE,
        plain_http_loopback=context.web.plain_http_loopback,
    )
    return response


@router.post("/language")
def choose_language(
    request: Request,
    language: Annotated[str, Form(max_length=10)],
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> RedirectResponse:
    """Keep the chosen language in a cookie and return to the page it was chosen on."""
    context = context_of(request)
    response = RedirectResponse(_local_path(next_path), status_code=303)
    if language in LANGUAGES:
        set_cookie(
            response,
            request,
            LANGUAGE_COOKIE,
            language,
            plain_http_loopback=context.web.plain_http_loopback,
            max_age=LANGUAGE_COOKIE_SECONDS,
        )
    return response


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, caller: PageCaller) -> HTMLResponse:
    """Show recent submissions, counts, and the work waiting, as the roles allow."""
    context = context_of(request)
    with context.database.session() as session, session.begin():
        submissions = (
            recent_submissions(session, RECENT_SUBMISSIONS, caller=caller)
            if _may(caller, "submissions.list")
            else None
        )
        counts = (
            count_records(session, caller=caller)
            if _may(caller, "statistics.read")
            else None
        )
        work = (
            waiting_work(session, caller=caller) if _may(caller, "work.read") else None
        )
    return render_page(
        request,
        "dashboard.html",
        submissions=submissions,
        counts=counts,
        work=work,
    )


def _may(caller: Caller, operation: str) -> bool:
    """Return whether the caller's roles allow ``operation``, to choose what to show.

    The service call checks the caller again, with its unit and target.
    """
    return bool(caller.roles & MATRIX[operation].roles)


def _local_path(path: str) -> str:
    """Return ``path`` if it is a path on this site, else "/".

    Rejects absolute and scheme-relative URLs (``//host``) and backslashes,
    which some browsers read as slashes, so the switch cannot redirect away.
    """
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if any(not char.isprintable() for char in path):
        return "/"
    return path
