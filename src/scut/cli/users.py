"""``scut users``: accounts, roles, passwords, TOTP enrolment and locks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from scut.cli.common import caller, fail, print_json, settings, stderr, stdout, text
from scut.cli.records import JsonOption, run
from scut.db.models import Unit
from scut.errors import ScutError
from scut.security.auth import UserError, UserView

if TYPE_CHECKING:
    from scut.storage.keys import Keyring

users_app = typer.Typer(
    help="User accounts: roles, passwords, TOTP enrolment and locks.",
    no_args_is_help=True,
)

UsernameArgument = Annotated[str, typer.Argument(help="The user name.")]
PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input, for "
        "scripts, instead of prompting for it twice.",
    ),
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise typer.BadParameter("no password on the first line of standard input")
        return password
    typed: str = typer.prompt(
        "Password (at least 15 characters)", hide_input=True, confirmation_prompt=True
    )
    return typed


def _unit_id(session: Session, name: str) -> int:
    unit_id = session.scalar(select(Unit.id).where(Unit.name == name.strip()))
    if unit_id is None:
        raise UserError(f"unit {name!r} not found; list units with `scut units list`")
    return unit_id


@users_app.command("add")
def users_add(
    username: UsernameArgument,
    role: Annotated[
        list[str],
        typer.Option(
            help="A role: submitter, analyst, supervisor, auditor or admin; "
            "repeat for more."
        ),
    ],
    unit: Annotated[
        str | None, typer.Option(help="Name of the unit the user belongs to.")
    ] = None,
    display_name: Annotated[
        str, typer.Option(help="The person's name as shown to others.")
    ] = "",
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Create a user; sign-in needs a TOTP enrolment next (enroll-totp)."""
    from scut.security.auth import create_user

    password = _read_password(password_stdin)

    def work(session: Session) -> str:
        unit_id = _unit_id(session, unit) if unit else None
        user = create_user(
            session, username, password, role, unit_id, display_name, caller=caller()
        )
        return user.username

    name = run(work)
    stdout.print(text(f"User {name} created"))
    stdout.print(
        text(f"Enrol an authenticator app next: scut users enroll-totp {name}")
    )


@users_app.command("list")
def users_list(as_json: JsonOption = False) -> None:
    """List the users with their roles, unit, TOTP state and lock."""
    from scut.security.auth import list_users

    users = run(lambda session: list_users(session, caller=caller()))
    if as_json:
        print_json([dataclasses.asdict(user) for user in users])
        return
    table = Table(title="Users")
    for column in ("user", "name", "unit", "roles", "state", "TOTP", "last sign-in"):
        table.add_column(column, overflow="fold")
    now = dt.datetime.now(dt.UTC)
    for user in users:
        table.add_row(
            text(user.username),
            text(user.display_name),
            text(user.unit),
            text(", ".join(user.roles)),
            text(_state(user, now)),
            "confirmed" if user.totp_confirmed else "not confirmed",
            f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "",
        )
    stdout.print(table)


def _state(user: UserView, now: dt.datetime) -> str:
    if not user.active:
        return "disabled"
    if user.locked_until is not None and user.locked_until > now:
        return f"locked until {user.locked_until:%H:%M} UTC"
    return "active"


@users_app.command("roles")
def users_roles(
    username: UsernameArgument,
    add: Annotated[
        list[str] | None, typer.Option(help="A role to give; repeat for more.")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option(help="A role to take away; repeat for more.")
    ] = None,
) -> None:
    """Add or remove roles; signed-in sessions get the change at their next request."""
    from scut.security.auth import change_roles

    roles = run(
        lambda session: change_roles(
            session, username, add=add or (), remove=remove or (), caller=caller()
        )
    )
    stdout.print(text(f"Roles of {username}: {', '.join(sorted(roles)) or 'none'}"))


@users_app.command("disable")
def users_disable(username: UsernameArgument) -> None:
    """Disable a user, ending their sessions and revoking their API tokens."""
    from scut.security.auth import disable_user

    run(lambda session: disable_user(session, username, caller=caller()))
    stdout.print(text(f"User {username} disabled"))


@users_app.command("reset-password")
def users_reset_password(
    username: UsernameArgument, password_stdin: PasswordStdinOption = False
) -> None:
    """Set a new password, ending the user's sessions and API tokens."""
    from scut.security.auth import reset_password

    password = _read_password(password_stdin)
    run(lambda session: reset_password(session, username, password, caller=caller()))
    stdout.print(text(f"Password of {username} changed"))


@users_app.command("enroll-totp")
def users_enroll_totp(
    username: UsernameArgument,
    code: Annotated[
        str | None,
        typer.Option(
            help="Confirm the pending enrolment with this code, without starting "
            "a new one; for scripts."
        ),
    ] = None,
) -> None:
    """Give the user a new TOTP secret and confirm it with a first code.

    The secret and its otpauth:// URI are printed once. Leave the code empty
    to let the user confirm it at their first sign-in instead.
    """
    from scut.security.auth import enrol_totp

    keyring = _keyring()
    if code is not None:
        _confirm(username, code, keyring)
        return
    enrolment = run(
        lambda session: enrol_totp(session, username, caller=caller(), keyring=keyring)
    )
    stdout.print(text(f"TOTP secret of {username} (shown once): {enrolment.secret}"))
    stdout.print(text(f"Provisioning URI: {enrolment.uri}"))
    first: str = typer.prompt(
        "First code from the app (leave empty to confirm later)",
        default="",
        show_default=False,
    )
    if not first.strip():
        stderr.print(
            text(
                f"The enrolment waits for a first code: scut users enroll-totp "
                f"{username} --code CODE, or the user's first sign-in"
            )
        )
        return
    _confirm(username, first, keyring)


def _keyring() -> Keyring:
    from scut.storage.keys import create_default_keyring, load_keyring

    loaded = settings()
    try:
        return load_keyring(loaded) or create_default_keyring(loaded)
    except ScutError as error:
        raise fail(error) from error


def _confirm(username: str, code: str, keyring: Keyring) -> None:
    from scut.security.auth import confirm_totp
    from scut.security.clock import SystemClock

    run(
        lambda session: confirm_totp(
            session,
            username,
            code,
            caller=caller(),
            keyring=keyring,
            clock=SystemClock(),
        )
    )
    stdout.print(text(f"TOTP of {username} confirmed"))


@users_app.command("unlock")
def users_unlock(username: UsernameArgument) -> None:
    """Lift the lock that failed sign-ins put on a user."""
    from scut.security.auth import unlock_user

    run(lambda session: unlock_user(session, username, caller=caller()))
    stdout.print(text(f"User {username} unlocked"))
