"""User pages: the list, creation with roles and unit, and each account's actions.

Every change goes through the services of scut.security.auth, which check
that the caller is an administrator and record the change in the audit
log. Role changes apply at the user's next request, because each request
reads the roles again.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Form, HTTPException, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import Request

from scut.cases.service import list_units
from scut.security.auth import (
    UserError,
    UserView,
    confirm_totp,
    create_user,
    disable_user,
    enrol_totp,
    list_api_tokens,
    list_users,
    reset_password,
    revoke_api_token_by_id,
    set_roles,
    unlock_user,
)
from scut.security.caller import ADMIN, ROLES, Caller
from scut.security.passwords import WeakPassword
from scut.security.totp import TotpError
from scut.web.admin.forms import (
    MAX_CODE,
    MAX_NAME,
    MAX_PASSWORD,
    FieldError,
    FieldErrors,
    keyring_for,
)
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.rendering import render_page

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

# The user names that scut.security.auth accepts, so a path cannot hold more.
USERNAME_PATH = r"^[a-z0-9][a-z0-9._-]{2,99}$"
UsernamePath = Annotated[str, Path(pattern=USERNAME_PATH)]
PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD)]

DONE = {
    "created": N_(
        "The user was created. Start a TOTP enrolment next: the user cannot "
        "sign in without it."
    ),
    "roles": N_("The roles were changed. They apply from the user's next request."),
    "password": N_(
        "The password was changed. The user's sessions and API tokens have ended."
    ),
    "unlocked": N_("The lock from failed sign-ins was lifted."),
    "disabled": N_("The user was disabled. Their sessions and API tokens have ended."),
    "confirmed": N_("The authenticator app is confirmed. The user can sign in now."),
    "revoked": N_("The API token was revoked."),
}
WEAK_PASSWORD = N_(
    "The password does not meet the policy: at least 15 characters, not a "
    "common password or one character repeated, and not containing the user name."
)
PASSWORDS_DIFFER = N_("The two passwords differ.")
UNKNOWN_UNIT = N_("The unit does not exist. Reload the page and choose again.")
USER_ERRORS = (
    ("taken", "username", N_("This user name is taken. Choose another.")),
    (
        "invalid user name",
        "username",
        N_(
            "A user name has 3 to 100 lowercase letters, digits, dots, hyphens "
            "or underscores, and starts with a letter or digit."
        ),
    ),
    (
        "display name",
        "display_name",
        N_("A display name has at most 200 printable characters."),
    ),
    ("unit", "unit", UNKNOWN_UNIT),
    ("at least one role", "roles", N_("Choose at least one role.")),
)
USER_FAILED = N_("The user could not be saved.")
CONFIRM_FAILED = N_(
    "The code did not match the new secret. Check the clock of the device "
    "and try the code it shows now, or let the user confirm it at sign-in."
)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, caller: PageCaller) -> HTMLResponse:
    """List the users with their roles, unit and state, with a form to create one."""
    return _list_page(request, caller, {}, {"roles": []})


@router.post("/admin/users", response_model=None)
def create(
    request: Request,
    caller: PageCaller,
    username: Annotated[str, Form(max_length=MAX_NAME)] = "",
    display_name: Annotated[str, Form(max_length=MAX_NAME * 2)] = "",
    password: PasswordField = "",
    password_repeat: PasswordField = "",
    unit: Annotated[str, Form(max_length=20)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Create a user with roles and a unit, then show the user's page."""
    chosen = [role for role in roles or [] if role in ROLES]
    values = {
        "username": username,
        "display_name": display_name,
        "unit": unit,
        "roles": chosen,
    }
    errors: FieldErrors = {}
    if password != password_repeat:
        errors["password_repeat"] = FieldError(PASSWORDS_DIFFER)
    if not chosen:
        errors["roles"] = FieldError(N_("Choose at least one role."))
    if unit and not unit.isdigit():
        errors["unit"] = FieldError(UNKNOWN_UNIT)
    if errors:
        return _list_page(request, caller, errors, values, status_code=400)
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            user = create_user(
                session,
                username,
                password,
                chosen,
                int(unit) if unit else None,
                display_name,
                caller=caller,
            )
            name = user.username
    except (UserError, WeakPassword) as error:
        log.info("user %r not created by %s: %s", username, caller.user, error)
        return _list_page(request, caller, _user_errors(error), values, status_code=400)
    return _redirect(name, "created")


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(
    request: Request, caller: PageCaller, username: UsernamePath, done: str = ""
) -> HTMLResponse:
    """Show one user with the forms that change them."""
    return _user_page(request, caller, username, notice=DONE.get(done))


@router.post("/admin/users/{username}/roles", response_model=None)
def change_user_roles(
    request: Request,
    caller: PageCaller,
    username: UsernamePath,
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Replace the user's roles; their next request has the new ones.

    An administrator cannot take the administrator role from themselves,
    so that the last one cannot lock everyone out by mistake.
    """
    chosen = {role for role in roles or [] if role in ROLES}
    if username == caller.user and ADMIN not in chosen:
        error = FieldError(N_("You cannot remove your own administrator role."))
        return _user_page(request, caller, username, {"roles": error}, 400)
    context = context_of(request)
    with context.database.session() as session, session.begin():
        set_roles(session, username, chosen, caller=caller)
    return _redirect(username, "roles")


@router.post("/admin/users/{username}/disable", response_model=None)
def disable(
    request: Request,
    caller: PageCaller,
    username: UsernamePath,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Disable the user once the box that confirms it is ticked."""
    if confirm != "yes":
        error = FieldError(N_("Tick the box to confirm that the user is disabled."))
        return _user_page(request, caller, username, {"disable": error}, 400)
    if username == caller.user:
        error = FieldError(N_("You cannot disable your own account."))
        return _user_page(request, caller, username, {"disable": error}, 400)
    context = context_of(request)
    with context.database.session() as session, session.begin():
        disable_user(session, username, caller=caller)
    return _redirect(username, "disabled")


@router.post("/admin/users/{username}/password", response_model=None)
def new_password(
    request: Request,
    caller: PageCaller,
    username: UsernamePath,
    password: PasswordField = "",
    password_repeat: PasswordField = "",
) -> Response:
    """Set a new password, which ends the user's sessions and API tokens."""
    if password != password_repeat:
        errors = {"password_repeat": FieldError(PASSWORDS_DIFFER)}
        return _user_page(request, caller, username, errors, 400)
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            reset_password(session, username, password, caller=caller)
    except WeakPassword as error:
        log.info("password of %s not reset by %s: %s", username, caller.user, error)
        errors = {"password": FieldError(WEAK_PASSWORD, str(error))}
        return _user_page(request, caller, username, errors, 400)
    return _redirect(username, "password")


@router.post("/admin/users/{username}/unlock")
def unlock(
    request: Request, caller: PageCaller, username: UsernamePath
) -> RedirectResponse:
    """Lift the lock that failed sign-ins put on the account."""
    context = context_of(request)
    with context.database.session() as session, session.begin():
        unlock_user(session, username, caller=caller)
    return _redirect(username, "unlocked")


@router.post("/admin/users/{username}/totp", response_class=HTMLResponse)
def start_enrolment(
    request: Request, caller: PageCaller, username: UsernamePath
) -> HTMLResponse:
    """Give the user a new TOTP secret and show it once, as a QR code and as text."""
    context = context_of(request)
    keyring = keyring_for(context.settings)
    with context.database.session() as session, session.begin():
        enrolment = enrol_totp(session, username, caller=caller, keyring=keyring)
    return render_page(
        request,
        "admin/totp.html",
        username=username,
        secret_groups=_groups(enrolment.secret),
        uri=enrolment.uri,
        qr_code=qr_data_uri(enrolment.uri),
        errors={},
    )


@router.post("/admin/users/{username}/totp/confirm", response_model=None)
def confirm_enrolment(
    request: Request,
    caller: PageCaller,
    username: UsernamePath,
    code: Annotated[str, Form(max_length=MAX_CODE)] = "",
) -> Response:
    """Confirm the pending enrolment with the first code from the user's app."""
    context = context_of(request)
    keyring = keyring_for(context.settings)
    try:
        with context.database.session() as session, session.begin():
            confirm_totp(
                session,
                username,
                code.strip(),
                caller=caller,
                keyring=keyring,
                clock=context.clock,
            )
    except TotpError as error:
        log.info("TOTP of %s not confirmed by %s: %s", username, caller.user, error)
        errors = {"totp": FieldError(CONFIRM_FAILED, str(error))}
        return _user_page(request, caller, username, errors, 400)
    return _redirect(username, "confirmed")


@router.post("/admin/users/{username}/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    caller: PageCaller,
    username: UsernamePath,
    token_id: Annotated[int, Path(ge=1)],
) -> RedirectResponse:
    """Revoke one of the user's API tokens."""
    context = context_of(request)
    with context.database.session() as session, session.begin():
        revoke_api_token_by_id(session, token_id, caller=caller, clock=context.clock)
    return _redirect(username, "revoked")


def qr_data_uri(text: str) -> str:
    """Return ``text`` as a QR code in an SVG ``data:`` URI, which the CSP allows.

    It uses error correction level M and a quiet zone of four modules, the
    margin that ISO/IEC 18004 requires around a QR code.
    """
    code = segno.make(text, error="m", micro=False)
    return str(code.svg_data_uri(scale=5, border=4, dark="#000", light="#fff"))


def _groups(secret: str) -> list[str]:
    """Split a base32 secret in groups of four characters, to read and type it."""
    return [secret[start : start + 4] for start in range(0, len(secret), 4)]


def _redirect(username: str, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"/admin/users/{quote(username)}?done={done}", status_code=303
    )


def _user_errors(error: UserError | WeakPassword) -> FieldErrors:
    """Return the field an error of the user services belongs to, explained."""
    message = str(error)
    if isinstance(error, WeakPassword):
        return {"password": FieldError(WEAK_PASSWORD, message)}
    for fragment, field, explanation in USER_ERRORS:
        if fragment in message:
            return {field: FieldError(explanation, message)}
    return {"form": FieldError(USER_FAILED, message)}


def _list_page(
    request: Request,
    caller: Caller,
    errors: FieldErrors,
    values: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    context = context_of(request)
    with context.database.session() as session, session.begin():
        users = list_users(session, caller=caller)
        units = list_units(session, caller=caller)
    return render_page(
        request,
        "admin/users.html",
        status_code=status_code,
        users=users,
        units=units,
        roles=ROLES,
        errors=errors,
        values=values,
        locked=_locked_names(users, context.clock.now()),
    )


def _user_page(
    request: Request,
    caller: Caller,
    username: str,
    errors: FieldErrors | None = None,
    status_code: int = 200,
    *,
    notice: str | None = None,
) -> HTMLResponse:
    context = context_of(request)
    with context.database.session() as session, session.begin():
        found = [
            user
            for user in list_users(session, caller=caller)
            if user.username == username
        ]
        if not found:
            raise HTTPException(404)
        tokens = list_api_tokens(session, username, caller=caller)
    user = found[0]
    now = context.clock.now()
    return render_page(
        request,
        "admin/user.html",
        status_code=status_code,
        user=user,
        tokens=tokens,
        roles=ROLES,
        errors=errors or {},
        notice=notice,
        locked=_is_locked(user, now),
        self_page=username == caller.user,
    )


def _is_locked(user: UserView, now: dt.datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _locked_names(users: list[UserView], now: dt.datetime) -> set[str]:
    return {user.username for user in users if _is_locked(user, now)}
