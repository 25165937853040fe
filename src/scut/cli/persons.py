"""``scut persons`` and ``scut convicted``: persons and convictions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from scut.cli.common import caller, fail, parse_date, print_json, stderr, stdout, text
from scut.cli.records import JsonOption, run
from scut.errors import ScutError
from scut.persons.idnp import mask_idnp, mask_in_text

persons_app = typer.Typer(
    help="Victims, offenders, suspects, convicted persons and witnesses.",
    no_args_is_help=True,
)
convicted_app = typer.Typer(
    help="Import convicted-offender lists and review uncertain links.",
    no_args_is_help=True,
)

PersonArgument = Annotated[int, typer.Argument(help="The person's number.")]


def _show_person(view: dict[str, Any]) -> None:
    name = " ".join(
        part
        for part in (view["last_name"], view["first_name"], view["patronymic"])
        if part
    )
    stdout.print(text(f"Person {view['person_id']}: {name}"))
    rows = [
        ("categories", ", ".join(view["categories"])),
        ("gender", view["gender"]),
        ("nationality", view["nationality"] or ""),
        ("birth date", view["birth_date"] or ""),
        ("birth place", view["birth_place"] or ""),
        ("IDNP", view["idnp"] or ""),
        (
            "identification",
            view["identification"]
            + (
                f" on {view['identified_on']} by {view['identified_by']}"
                if view["identification"] == "identified"
                else ""
            ),
        ),
        ("review due", view["review_due"]),
        ("notes", view["notes"]),
    ]
    for label, value in rows:
        if value:
            stdout.print(text(f"  {label}: {value}"))
    for name_row in view["names"]:
        stdout.print(text(f"  name ({name_row['kind']}): {name_row['name']}"))
    for address in view["addresses"]:
        stdout.print(
            text(
                f"  address ({address['kind']}): {address['address']} "
                f"[{address['source']}]"
            )
        )
    for link in view["links"]:
        target = (
            f"series {link['series']}" if link["series"] else f"media {link['media']}"
        )
        stdout.print(text(f"  {link['role']} in {target}"))
    for conviction in view["convictions"]:
        stdout.print(
            text(
                f"  convicted: art. {conviction['article']}, "
                f"{conviction['court'] or ''} {conviction['sentence_date']} "
                f"(released {conviction['release_date'] or '-'}; "
                f"{conviction['registry']}, linked by {conviction['link']})"
            )
        )


def _masked_change(detail: dict[str, Any]) -> dict[str, Any]:
    """Return a change record with the old and new IDNP masked, as lists show them."""
    if not isinstance(detail.get("idnp"), list):
        return detail
    masked = [mask_idnp(value) if value else value for value in detail["idnp"]]
    return {**detail, "idnp": masked}


def _masked_rejection(item: dict[str, Any]) -> dict[str, Any]:
    """Return a rejected row of a stored report with a rejected IDNP masked.

    Imports mask it before they store the report, so this covers reports
    stored by earlier versions.
    """
    if item.get("field") != "idnp":
        return item
    value = item.get("value")
    return {
        **item,
        "value": mask_idnp(value) if value else value,
        "reason": mask_in_text(str(item.get("reason", "")), value),
    }


def _idnp_note(side: dict[str, Any]) -> str:
    return f", IDNP {side['idnp']}" if side.get("idnp") else ""


@persons_app.command("add")
def persons_add(
    last_name: Annotated[str, typer.Option("--last-name", help="Last name.")],
    first_name: Annotated[str, typer.Option("--first-name", help="First name.")],
    category: Annotated[
        list[str],
        typer.Option(
            help="victim, offender, suspect, convicted, witness or other; repeat "
            "for several."
        ),
    ],
    patronymic: Annotated[str | None, typer.Option(help="Patronymic.")] = None,
    gender: Annotated[str, typer.Option(help="male, female or unknown.")] = "unknown",
    nationality: Annotated[
        str | None, typer.Option(help="ISO 3166-1 code, such as MD.")
    ] = None,
    birth_date: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD, DD.MM.YYYY, or partial: YYYY-MM or YYYY."),
    ] = None,
    birth_place: Annotated[str | None, typer.Option(help="Place of birth.")] = None,
    idnp: Annotated[str | None, typer.Option(help="The 13-digit IDNP.")] = None,
    notes: Annotated[str, typer.Option(help="Free notes.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Record a person, checking the IDNP, dates and codes."""
    from scut.persons.service import PersonInput, create_person, describe_person

    def work(session: Session) -> dict[str, Any]:
        person = create_person(
            session,
            PersonInput(
                last_name=last_name,
                first_name=first_name,
                patronymic=patronymic,
                categories=category,
                gender=gender,
                nationality=nationality,
                birth_date=birth_date,
                birth_place=birth_place,
                idnp=idnp,
                notes=notes,
            ),
            caller=caller(),
        )
        return dataclasses.asdict(describe_person(session, person.id, caller=caller()))

    view = run(work)
    if as_json:
        print_json(view)
    else:
        _show_person(view)


@persons_app.command("show")
def persons_show(person: PersonArgument, as_json: JsonOption = False) -> None:
    """Show everything recorded about a person."""
    from scut.persons.service import describe_person

    view = run(
        lambda session: dataclasses.asdict(
            describe_person(session, person, caller=caller())
        )
    )
    if as_json:
        print_json(view)
    else:
        _show_person(view)


@persons_app.command("history")
def persons_history(person: PersonArgument, as_json: JsonOption = False) -> None:
    """Show every change of a person record: who, when and what."""
    from scut.persons.service import person_history

    events = [
        {**event, "detail": _masked_change(event["detail"])}
        for event in run(
            lambda session: person_history(session, person, caller=caller())
        )
    ]
    if as_json:
        print_json(events)
        return
    table = Table(title=f"History of person {person}")
    for column in ("when", "action", "by", "detail"):
        table.add_column(column, overflow="fold")
    for event in events:
        table.add_row(
            text(event["at"]),
            text(event["action"]),
            text(event["actor"]),
            text(json.dumps(event["detail"], ensure_ascii=False, default=str)),
        )
    stdout.print(table)


@persons_app.command("update")
def persons_update(
    person: PersonArgument,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    patronymic: Annotated[str | None, typer.Option()] = None,
    gender: Annotated[str | None, typer.Option()] = None,
    nationality: Annotated[str | None, typer.Option()] = None,
    birth_date: Annotated[str | None, typer.Option()] = None,
    birth_place: Annotated[str | None, typer.Option()] = None,
    idnp: Annotated[str | None, typer.Option()] = None,
    notes: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change fields of a person; an empty value clears an optional field."""
    from scut.persons.service import update_person

    given = {
        "last_name": last_name,
        "first_name": first_name,
        "patronymic": patronymic,
        "gender": gender,
        "nationality": nationality,
        "birth_date": birth_date,
        "birth_place": birth_place,
        "idnp": idnp,
        "notes": notes,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise typer.BadParameter("give at least one field to change")
    changed = run(
        lambda session: update_person(session, person, changes, caller=caller())
    )
    if not changed:
        stdout.print("Nothing changed")
    for name, (before, after) in _masked_change(changed).items():
        stdout.print(text(f"{name}: {before or '-'} -> {after or '-'}"))


@persons_app.command("name")
def persons_name(
    person: PersonArgument,
    last_name: Annotated[str, typer.Option("--last-name")],
    first_name: Annotated[str, typer.Option("--first-name")],
    patronymic: Annotated[str | None, typer.Option()] = None,
    spelling: Annotated[
        bool,
        typer.Option(
            "--spelling",
            help="The same name in another script or form, rather than an alias.",
        ),
    ] = False,
) -> None:
    """Record an alias or another spelling of a person's name."""
    from scut.persons.service import add_name

    run(
        lambda session: (
            add_name(
                session,
                person,
                last_name,
                first_name,
                patronymic,
                kind="spelling" if spelling else "alias",
                caller=caller(),
            ).id
        )
    )
    stdout.print("Name recorded")


@persons_app.command("address")
def persons_address(
    person: PersonArgument,
    address: Annotated[str, typer.Argument(help="The address as written.")],
    kind: Annotated[
        str, typer.Option(help="residence, registration or last-known.")
    ] = "residence",
    locality: Annotated[str | None, typer.Option(help="Town or village.")] = None,
    country: Annotated[str, typer.Option(help="ISO 3166-1 code.")] = "MD",
    latitude: Annotated[float | None, typer.Option(help="WGS 84 degrees.")] = None,
    longitude: Annotated[float | None, typer.Option(help="WGS 84 degrees.")] = None,
) -> None:
    """Record an address of a person."""
    from scut.persons.service import add_address

    run(
        lambda session: (
            add_address(
                session,
                person,
                address,
                caller=caller(),
                kind=kind,
                locality=locality,
                country=country,
                latitude=latitude,
                longitude=longitude,
            ).id
        )
    )
    stdout.print("Address recorded")


@persons_app.command("category")
def persons_category(
    person: PersonArgument,
    add: Annotated[list[str] | None, typer.Option(help="Category to add.")] = None,
    remove: Annotated[str | None, typer.Option(help="Category to remove.")] = None,
) -> None:
    """Add or remove categories of data subject."""
    from scut.persons.service import add_categories, person_categories, remove_category

    def work(session: Session) -> list[str]:
        if add:
            add_categories(session, person, add, caller=caller())
        if remove:
            remove_category(session, person, remove, caller=caller())
        return person_categories(session, person)

    stdout.print(text("Categories: " + ", ".join(run(work))))


@persons_app.command("identify")
def persons_identify(
    person: PersonArgument,
    by: Annotated[
        str, typer.Option(help="The unit or foreign state that identified the person.")
    ] = "",
    on: Annotated[
        str | None, typer.Option(help="Date, YYYY-MM-DD; default today.")
    ] = None,
    undo: Annotated[
        bool, typer.Option("--undo", help="Mark the person unidentified again.")
    ] = False,
) -> None:
    """Mark a person identified; linked series take the status along."""
    from scut.persons.service import set_identification

    day = parse_date(on, "--on")
    run(
        lambda session: (
            set_identification(
                session, person, identified=not undo, caller=caller(), on=day, by=by
            ).id
        )
    )
    stdout.print("Person marked " + ("unidentified" if undo else "identified"))


@persons_app.command("link")
def persons_link(
    person: PersonArgument,
    role: Annotated[str, typer.Option(help="victim, offender, witness or other.")],
    series: Annotated[str | None, typer.Option(help="Series name or number.")] = None,
    media: Annotated[
        str | None, typer.Option(help="Media number or SHA-256 prefix.")
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the link.")] = False,
) -> None:
    """Link a person to a series or a media with a role."""
    from scut.media.lookup import resolve_media
    from scut.persons.service import link_person, unlink_person
    from scut.series.service import live_series

    def work(session: Session) -> None:
        series_id = live_series(session, series).id if series else None
        media_id = resolve_media(session, [media])[0] if media else None
        if remove:
            if not unlink_person(
                session,
                person,
                role,
                caller=caller(),
                series_id=series_id,
                media_id=media_id,
            ):
                raise ScutError("no such link")
            return
        link_person(
            session,
            person,
            role,
            caller=caller(),
            series_id=series_id,
            media_id=media_id,
        )

    run(work)
    stdout.print("Link removed" if remove else "Person linked")


@persons_app.command("search")
def persons_search(
    name: Annotated[
        str, typer.Argument(help="Name words in any order, any script.")
    ] = "",
    birth_date: Annotated[
        str | None, typer.Option(help="Whole or partial birth date.")
    ] = None,
    idnp: Annotated[str | None, typer.Option(help="Exact IDNP.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Find persons by name with or without diacritics, in Latin or Cyrillic."""
    from scut.persons.search import PersonQuery, search_persons

    if not 1 <= limit <= 1000:
        raise typer.BadParameter(f"--limit must be 1 to 1000, got {limit}")
    query = PersonQuery(text=name, birth_date=birth_date, idnp=idnp, category=category)
    hits = run(
        lambda session: [
            dataclasses.asdict(hit)
            for hit in search_persons(session, query, limit, caller=caller())
        ]
    )
    if as_json:
        print_json(hits)
        return
    table = Table(title=f"{len(hits)} persons")
    columns = ("no.", "name", "born", "IDNP", "categories", "matched spelling", "how")
    for column in columns:
        table.add_column(column, overflow="fold")
    for hit in hits:
        table.add_row(
            text(hit["person_id"]),
            text(hit["name"]),
            text(hit["birth_date"] or ""),
            text(hit["idnp"] or ""),
            text(", ".join(hit["categories"])),
            text(hit["matched"]),
            text("; ".join(hit["how"])),
        )
    stdout.print(table)


@persons_app.command("due")
def persons_due(
    before: Annotated[
        str | None, typer.Option(help="Due on or before this date; default today.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List person records due for review of whether they are still needed."""
    from scut.persons.service import due_for_review, person_categories

    day = parse_date(before, "--before") or dt.date.today()

    def work(session: Session) -> list[dict[str, Any]]:
        return [
            {
                "person": person.id,
                "name": f"{person.last_name} {person.first_name}",
                "categories": person_categories(session, person.id),
                "review_due": person.review_due.isoformat(),
            }
            for person in due_for_review(session, day, caller=caller())
        ]

    rows = run(work)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} records due for review by {day}")
    for column in ("no.", "name", "categories", "review due"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            text(row["person"]),
            text(row["name"]),
            text(", ".join(row["categories"])),
            text(row["review_due"]),
        )
    stdout.print(table)


@persons_app.command("reviewed")
def persons_reviewed(person: PersonArgument) -> None:
    """Record that you reviewed a person's record and keep it."""
    from scut.persons.service import mark_reviewed

    due = run(
        lambda session: mark_reviewed(session, person, caller=caller()).review_due
    )
    stdout.print(f"Kept; next review due {due.isoformat()}")


# -- convicted ---------------------------------------------------------------


@convicted_app.command("import")
def convicted_import(
    path: Annotated[
        Path, typer.Argument(help="A CSV or XLSX list (docs/convicted-layout.md).")
    ],
    registry: Annotated[
        str | None,
        typer.Option(help="The source registry, when the file has no registry column."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import a convicted-offender list and link its rows to recorded persons."""
    from scut.cli.common import settings
    from scut.convicted.importer import import_convicted

    if not path.is_file():
        raise fail(ScutError(f"file not found: {path}"))
    loaded = settings()
    report = run(
        lambda session: import_convicted(
            session,
            path,
            caller=caller(),
            registry=registry,
            accept=loaded.linkage_accept,
            review=loaded.linkage_review,
        )
    )
    if as_json:
        print_json(dataclasses.asdict(report))
        return
    counts = report.counts()
    stdout.print(
        text(f"Import {report.import_id} of {path.name}: {counts['rows']} rows")
    )
    for label, key in (
        ("new convictions", "new"),
        ("updated", "updated"),
        ("unchanged", "unchanged"),
        ("linked by IDNP", "linked_idnp"),
        ("linked by name and birth", "linked_probable"),
        ("for review", "review"),
        ("new persons", "new_persons"),
        ("rejected", "rejected"),
    ):
        stdout.print(f"  {label}: {counts[key]}")
    for item in report.rejected[:50]:
        where = f"row {item['row']}" + (f", {item['field']}" if item["field"] else "")
        stderr.print(
            text(f"  {where}: {item['reason']}"), style="yellow", soft_wrap=True
        )
    if report.rejected_count > 50:
        stderr.print(
            f"  ... {report.rejected_count - 50} more; see `scut convicted report "
            f"{report.import_id}`"
        )


@convicted_app.command("report")
def convicted_report(
    import_id: Annotated[int, typer.Argument(help="The import's number.")],
) -> None:
    """Print the stored report of an import, every rejected row included."""
    from scut.db.models import ConvictedImport

    def work(session: Session) -> dict[str, Any]:
        batch = session.get(ConvictedImport, import_id)
        if batch is None:
            raise ScutError(f"no convicted import number {import_id}")
        return {
            "import": batch.id,
            "file": batch.file_name,
            "sha256": batch.file_sha256,
            "format": batch.format,
            "by": batch.actor,
            "started_at": batch.started_at,
            "finished_at": batch.finished_at,
            "counts": batch.counts,
            "rejected": [
                _masked_rejection(item) for item in batch.rejected.get("rows", [])
            ],
        }

    print_json(run(work))


@convicted_app.command("imports")
def convicted_imports() -> None:
    """List the latest imports."""
    from scut.convicted.importer import import_history

    def work(session: Session) -> list[dict[str, Any]]:
        return [
            {
                "id": batch.id,
                "file": batch.file_name,
                "at": batch.started_at.isoformat(timespec="seconds"),
                "by": batch.actor,
                "counts": batch.counts,
            }
            for batch in import_history(session, caller=caller())
        ]

    table = Table(title="Convicted-offender imports")
    for column in (
        "no.",
        "file",
        "when",
        "by",
        "rows",
        "new",
        "updated",
        "review",
        "rejected",
    ):
        table.add_column(column, overflow="fold")
    for row in run(work):
        counts = row["counts"]
        table.add_row(
            text(row["id"]),
            text(row["file"]),
            text(row["at"]),
            text(row["by"]),
            *(
                text(counts.get(key, ""))
                for key in ("rows", "new", "updated", "review", "rejected")
            ),
        )
    stdout.print(table)


@convicted_app.command("review")
def convicted_review(
    accept: Annotated[
        int | None, typer.Option(help="Accept this review item: link the pair.")
    ] = None,
    reject: Annotated[
        int | None, typer.Option(help="Reject this review item: not the same person.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the review queue, or accept or reject one of its items."""
    from scut.convicted.importer import decide_review, open_reviews

    if accept is not None and reject is not None:
        raise typer.BadParameter("give --accept or --reject, not both")
    chosen = accept if accept is not None else reject
    if chosen is not None:
        linked = run(
            lambda session: (
                decide_review(
                    session, chosen, accept=accept is not None, caller=caller()
                ).person_id
            )
        )
        if linked is None:
            stdout.print("Rejected; other candidates remain open")
        else:
            stdout.print(f"Conviction linked to person {linked}")
        return
    items = run(lambda session: open_reviews(session, caller=caller()))
    if as_json:
        print_json(items)
        return
    table = Table(title=f"{len(items)} pairs to review")
    for column in ("item", "probability", "registry row", "recorded person", "fields"):
        table.add_column(column, overflow="fold")
    for entry in items:
        row = entry["row"]
        person = entry["person"]
        table.add_row(
            text(entry["review"]),
            text(f"{entry['probability']:.2f}"),
            text(
                f"{row['name']}, born {row['birth_date'] or '?'}{_idnp_note(row)} "
                f"({row['registry']})"
            ),
            text(
                f"{person['id']}: {person['name']}, born "
                f"{person['birth_date'] or '?'}{_idnp_note(person)}"
            ),
            text("; ".join(f"{key} {value}" for key, value in entry["levels"].items())),
        )
    stdout.print(table)


@persons_app.command("erase")
def persons_erase(
    person: PersonArgument,
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: this cannot be undone.")
    ] = False,
) -> None:
    """Erase a person with every name, address, link, conviction and change."""
    from scut.erasure import erase_person

    if not yes:
        raise typer.BadParameter("erasing a person cannot be undone; add --yes")
    report = run(lambda session: erase_person(session, person, caller=caller()))
    for table, count in sorted(report.rows.items()):
        stdout.print(f"  {table}: {count}")
    stdout.print(f"Person {person} erased")
