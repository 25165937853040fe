"""What every ``scut`` command shares: consoles, settings, the database, errors."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from scut.db.session import Database
from scut.errors import ScutError
from scut.security.access import AccessDenied, record_denial
from scut.security.caller import Caller, local_operator
from scut.settings import Settings, get_settings
from scut.verification.render import terminal_text

log = logging.getLogger(__name__)

T = TypeVar("T")

stdout = Console()
stderr = Console(stderr=True)

# The databases this command opened, with their settings, for the anchor
# written when it ends.
_opened: list[tuple[Database, Settings]] = []

# The analyst the command acts for: --analyst, else the operating-system
# account that runs it.
_actor: str | None = None
# Why personal data is read or changed: --justification, else
# SCUT_JUSTIFICATION.
_justification: str | None = None


def set_actor(name: str | None) -> None:
    """Record the analyst named by --analyst for this command."""
    global _actor
    _actor = name.strip() if name and name.strip() else None


def actor() -> str:
    """Return the analyst named with --analyst, else the operating-system account."""
    if _actor:
        # Room for " (via local:<account>)" in the 200-character user column.
        return _actor[:150]
    return os_account()


def os_account() -> str:
    """Return the name of the operating-system account running the command."""
    try:
        return getpass.getuser()[:200]
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def caller(loaded: Settings | None = None) -> Caller:
    """Return the local operator: the data directory's owner, acting for --analyst.

    Raises AccessDenied when another account runs the command, because the
    command line bypasses sign-in and only the owner of the data (or root)
    may act without it.
    """
    data_dir = (loaded or settings()).data_dir
    if data_dir.exists() and os.getuid() not in (0, data_dir.stat().st_uid):
        raise AccessDenied(
            f"the account {os_account()} does not own the data directory "
            f"{data_dir}; run scut as its owner"
        )
    justification = _justification or os.environ.get("SCUT_JUSTIFICATION", "")
    return local_operator(
        os_account(), acting_for=actor() if _actor else None
    ).with_justification(justification[:2000])


def set_justification(text: str | None) -> None:
    """Record the justification given with --justification for this command."""
    global _justification
    _justification = text.strip() if text and text.strip() else None


def settings(workers: int | None = None) -> Settings:
    """Read the settings, turning a wrong value into a one-line error."""
    try:
        loaded = get_settings()
    except ValidationError as error:
        problems = "; ".join(
            f"SCUT_{'_'.join(str(part) for part in item['loc']).upper()}: {item['msg']}"
            for item in error.errors()
        )
        stderr.print(f"[bold red]Error:[/] invalid setting: {escape(problems)}")
        raise typer.Exit(code=1) from None
    if workers is not None:
        if workers < 1:
            raise typer.BadParameter(f"--workers must be at least 1, got {workers}")
        loaded = loaded.model_copy(update={"workers": workers})
    return loaded


def open_database(loaded: Settings) -> Database:
    """Open the database, bring its schema up to date, and anchor the audit log.

    An anchor of the audit chain is written after each commit that reaches
    a multiple of ``audit_anchor_interval`` events, and by close_databases
    when the command ends.
    """
    from scut.security.audit import install_auto_anchor

    database = Database(loaded)
    database.upgrade()
    install_auto_anchor(database, loaded)
    _opened.append((database, loaded))
    return database


def close_databases() -> None:
    """Anchor the audit events of this command, then close its databases.

    The command line runs it when a command ends, after its last commit, so
    that a rewrite of the whole log right after a command is caught. A
    failure to anchor is logged, not raised, because the command's work is
    committed and the next command's anchor covers its events.
    """
    from scut.security.audit import anchor_if_due

    while _opened:
        database, loaded = _opened.pop()
        try:
            with database.session() as session:
                anchor_if_due(session, loaded)
        except (OSError, SQLAlchemyError, ScutError) as error:
            log.error(
                "Could not anchor the audit log of %s: %s", loaded.data_dir, error
            )
        finally:
            database.dispose()


def call_service(loaded: Settings, work: Callable[[Database, Caller], T]) -> T:
    """Run ``work`` on the database as the local operator, ending on a Scut error.

    For service operations that open their own transactions. A denied call
    is recorded in the audit log before the command ends.
    """
    try:
        who = caller(loaded)
        database = open_database(loaded)
        try:
            return work(database, who)
        except AccessDenied as denied:
            raise deny(database, who, denied) from denied
    except ScutError as error:
        raise fail(error) from error


def deny(database: Database, who: Caller, denied: AccessDenied) -> typer.Exit:
    """Record a denied call in the audit log; return the exit that ends the command.

    Call it after the call's transaction has rolled back. A denial that
    cannot be recorded is logged, and the command still ends with the
    denial.
    """
    try:
        record_denial(database, who, denied)
    except (SQLAlchemyError, ScutError) as error:
        log.error("Could not record the denial of %s: %s", denied.operation, error)
    return fail(denied)


def fail(error: ScutError) -> typer.Exit:
    """Print a user error and return the exit that ends the command."""
    # soft_wrap keeps a long path on one line, so it can be copied whole.
    stderr.print(f"[bold red]Error:[/] {escape(str(error))}", soft_wrap=True)
    return typer.Exit(code=1)


def required(value: str, option: str) -> str:
    """Return the stripped value of a text option that must not be empty."""
    cleaned = value.strip()
    if not cleaned:
        raise typer.BadParameter(f"{option} must not be empty")
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError as error:
        raise typer.BadParameter(f"{option} is not valid UTF-8 text") from error
    if "\x00" in cleaned:
        raise typer.BadParameter(f"{option} must not contain a NUL character")
    return cleaned


def parse_date(value: str | None, option: str = "date") -> dt.date | None:
    """Read an ISO date option, or raise BadParameter naming it."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(
            f"invalid {option} {value!r}; use YYYY-MM-DD"
        ) from error


def print_json(data: Any) -> None:
    """Write data as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def text(value: object) -> Text:
    """Return a stored value as Rich text with its control characters escaped."""
    return terminal_text("" if value is None else str(value))
