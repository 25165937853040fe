"""``scut audit`` (verify, show, anchor) and ``scut db grants``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from scut.cli.common import (
    caller,
    fail,
    open_database,
    print_json,
    settings,
    stderr,
    stdout,
    text,
)
from scut.errors import ScutError

audit_app = typer.Typer(
    help="The audit log: check its hash chain, show events, sign anchors.",
    no_args_is_help=True,
)

SHOW_COLUMNS = (
    "id",
    "at",
    "user",
    "unit",
    "action",
    "object_type",
    "object_ids",
    "outcome",
    "source",
    "justification",
)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every event's hash and link, and every signed anchor.

    Exits with status 1 when an event was edited, deleted or moved, or when
    an anchor does not match the log.
    """
    from scut.security.audit import anchor_if_due, verify_log

    loaded = settings()
    try:
        database = open_database(loaded)
        report = verify_log(database, caller(loaded), loaded)
        if report.intact:
            with database.session() as session:
                anchor_if_due(session, loaded)
    except ScutError as error:
        raise fail(error) from error

    if not report.intact:
        stdout.print(
            text(
                f"Audit log NOT intact: {report.reason} at event "
                f"{report.first_bad_id or '-'}, after checking "
                f"{report.events_checked} events and {report.anchors_checked} "
                f"anchors. {report.message}"
            ),
            soft_wrap=True,
        )
        raise typer.Exit(code=1)
    stdout.print(
        f"Audit log intact: {report.events_checked} events, "
        f"{report.anchors_checked} signed anchors checked"
    )
    if report.anchors_checked == 0:
        stderr.print(
            "[yellow]No anchors were found[/], so a rewrite of the whole log "
            "would go unnoticed; write one with: scut audit anchor"
        )


@audit_app.command("show")
def audit_show(
    user: Annotated[
        str | None, typer.Option(help="Only events of users whose name contains this.")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(
            help="Only this action, or actions starting with it if it ends in *."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only events at or after this UTC date or time (ISO 8601)."),
    ] = None,
    object_id: Annotated[
        str | None, typer.Option("--object", help="Only events naming this object id.")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, help="Maximum number of events to show, newest first.")
    ] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON on stdout.")
    ] = False,
) -> None:
    """Show audit events, newest first; the read itself is recorded as audit.read."""
    from scut.security.audit import anchor_if_due, search_events

    start = _parse_since(since)
    loaded = settings()
    try:
        database = open_database(loaded)
        events = search_events(
            database,
            caller(loaded),
            user=user,
            action=action,
            since=start,
            object_id=object_id,
            limit=limit,
        )
        with database.session() as session:
            anchor_if_due(session, loaded)
    except ScutError as error:
        raise fail(error) from error

    if as_json:
        print_json(events)
        return
    table = Table(title="Audit events")
    for column in SHOW_COLUMNS:
        no_wrap = column in ("id", "at")
        table.add_column(column.replace("_", " "), overflow="fold", no_wrap=no_wrap)
    for event in events:
        if isinstance(event["object_ids"], list):
            event["object_ids"] = ", ".join(event["object_ids"])
        table.add_row(*(text(event[column]) for column in SHOW_COLUMNS))
    stdout.print(table)


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Sign the latest event's id and hash into the anchors file now."""
    from scut.security.audit import write_anchor

    loaded = settings()
    try:
        database = open_database(loaded)
        with database.session() as session:
            path = write_anchor(session, loaded)
    except ScutError as error:
        raise fail(error) from error
    stdout.print(text(f"Anchor written to {path}"), soft_wrap=True)


def db_grants(
    app_role: Annotated[
        str, typer.Option(help="PostgreSQL role the application connects as.")
    ],
    owner_role: Annotated[
        str, typer.Option(help="PostgreSQL role that owns the tables and migrates.")
    ],
) -> None:
    """Make audit_events insert-only for the application's PostgreSQL role.

    The owner role gets every table. The application role may read and write
    every table, but may only read and insert audit events. A trigger rejects
    changes to audit events by anyone but their owner.
    """
    from scut.security.audit import (
        DB_GRANTS,
        SUCCEEDED,
        anchor_if_due,
        apply_postgres_grants,
        record_event,
    )

    loaded = settings()
    try:
        database = open_database(loaded)
        with database.session() as session, session.begin():
            apply_postgres_grants(session.connection(), app_role, owner_role)
            record_event(
                session,
                caller(loaded),
                DB_GRANTS,
                outcome=SUCCEEDED,
                detail={"app_role": app_role, "owner_role": owner_role},
            )
        with database.session() as session:
            anchor_if_due(session, loaded)
    except ScutError as error:
        raise fail(error) from error
    stdout.print(
        text(
            f"Granted: {app_role} may read and write the tables and only insert "
            f"into audit_events; {owner_role} owns them"
        ),
        soft_wrap=True,
    )


def _parse_since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(
            f"invalid --since {value!r}; use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed
