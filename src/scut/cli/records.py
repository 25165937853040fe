"""``scut units``, ``cases``, ``media`` and ``series``: the analysts' records."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from scut.cli.common import (
    caller,
    fail,
    open_database,
    print_json,
    required,
    settings,
    stdout,
    text,
)
from scut.errors import ScutError
from scut.security.access import AccessDenied, record_denial

units_app = typer.Typer(help="Units that send material.", no_args_is_help=True)
cases_app = typer.Typer(help="The centre's cases.", no_args_is_help=True)
media_app = typer.Typer(
    help="List and categorise media, with the category history.", no_args_is_help=True
)
series_app = typer.Typer(
    help="Series of media produced together, with the same victims.",
    no_args_is_help=True,
)

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def run(work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction, turning a Scut error into a message.

    A denied call is recorded in the audit log after the rollback.
    """
    loaded = settings()
    database = open_database(loaded)
    try:
        with database.session() as session, session.begin():
            return work(session)
    except AccessDenied as denied:
        record_denial(database, caller(loaded), denied)
        raise fail(denied) from denied
    except ScutError as error:
        raise fail(error) from error


# -- units -----------------------------------------------------------------


@units_app.command("add")
def units_add(
    name: Annotated[str, typer.Argument(help="The unit's name.")],
    kind: Annotated[
        str,
        typer.Option(
            help="police, border-police, customs, prosecution, centre or "
            "foreign-partner."
        ),
    ] = "police",
    country: Annotated[
        str, typer.Option(help="ISO 3166-1 code of the unit's state.")
    ] = "MD",
) -> None:
    """Record a unit, or change the kind and state of a recorded one."""
    from scut.cases.service import save_unit

    unit = run(
        lambda session: save_unit(
            session, required(name, "NAME"), kind, country, caller=caller()
        )
    )
    stdout.print(
        text(f"Unit {unit['id']} {unit['name']} ({unit['kind']}, {unit['country']})")
    )


@units_app.command("list")
def units_list(as_json: JsonOption = False) -> None:
    """List the units."""
    from scut.cases.service import list_units

    units = run(lambda session: list_units(session, caller=caller()))
    if as_json:
        print_json(units)
        return
    table = Table(title="Units")
    for column in ("id", "name", "kind", "country", "submissions"):
        table.add_column(column, overflow="fold")
    for unit in units:
        table.add_row(
            *(
                text(unit[key])
                for key in ("id", "name", "kind", "country", "submissions")
            )
        )
    stdout.print(table)


# -- cases -----------------------------------------------------------------


@cases_app.command("open")
def cases_open(
    reference: Annotated[str, typer.Argument(help="The centre's case reference.")],
    title: Annotated[str, typer.Option(help="A short title.")] = "",
) -> None:
    """Open a case, or change the title of an open one."""
    from scut.cases.service import open_case

    case = run(
        lambda session: open_case(
            session, required(reference, "REFERENCE"), title, caller=caller()
        )
    )
    stdout.print(text(f"Case {case['reference']} ({case['status']})"))


@cases_app.command("close")
def cases_close(
    reference: Annotated[str, typer.Argument(help="The case reference.")],
) -> None:
    """Close a case; its records stay."""
    from scut.cases.service import set_case_status

    run(lambda session: set_case_status(session, reference, "closed", caller=caller()))
    stdout.print(text(f"Case {reference} closed"))


@cases_app.command("list")
def cases_list(as_json: JsonOption = False) -> None:
    """List the cases with their submissions and series."""
    from scut.cases.service import list_cases

    cases = run(lambda session: list_cases(session, caller=caller()))
    if as_json:
        print_json(cases)
        return
    table = Table(title="Cases")
    for column in ("reference", "title", "status", "submissions", "series"):
        table.add_column(column, overflow="fold")
    for case in cases:
        table.add_row(
            *(
                text(case[key])
                for key in ("reference", "title", "status", "submissions")
            ),
            text(", ".join(case["series"])),
        )
    stdout.print(table)


@cases_app.command("show")
def cases_show(
    reference: Annotated[str, typer.Argument(help="The case reference.")],
    as_json: JsonOption = False,
) -> None:
    """Show a case: its submissions with their origin, exhibits and series."""
    from scut.cases.service import describe_case

    case = run(lambda session: describe_case(session, reference, caller=caller()))
    if as_json:
        print_json(case)
        return
    stdout.print(text(f"Case {case['reference']} {case['title']} ({case['status']})"))
    if case["series"]:
        stdout.print(text("Series: " + ", ".join(case["series"])))
    table = Table(title="Submissions")
    for column in (
        "no.",
        "unit",
        "officer",
        "criminal case",
        "legal basis",
        "seized",
        "received",
        "exhibits",
    ):
        table.add_column(column, overflow="fold")
    for item in case["submissions"]:
        table.add_row(
            text(item["id"]),
            text(item["unit"]),
            text(item["officer"]),
            text(item["criminal_case_number"]),
            text(item["legal_basis"]),
            text(item["seizure_date"] or ""),
            text(item["received_at"]),
            text(
                "; ".join(
                    f"{exhibit['label']} ({exhibit['files']} files"
                    + (f", {exhibit['device']}" if exhibit["device"] else "")
                    + ")"
                    for exhibit in item["exhibits"]
                )
            ),
        )
    stdout.print(table)


# -- media -----------------------------------------------------------------


def _media_ids(
    session: Session,
    references: list[str] | None,
    submission: int | None,
    series: str | None = None,
    *,
    pictures_and_videos: bool = False,
) -> list[int]:
    from scut.media.lookup import resolve_media, submission_media
    from scut.series.service import series_media

    ids: list[int] = []
    if submission is not None:
        ids.extend(
            submission_media(
                session, submission, pictures_and_videos=pictures_and_videos
            )
        )
    if series is not None:
        ids.extend(series_media(session, series))
    ids.extend(resolve_media(session, references or []))
    return list(dict.fromkeys(ids))


SubmissionOption = Annotated[
    int | None, typer.Option(help="Every media of this submission number.")
]
MediaArgument = Annotated[
    list[str] | None,
    typer.Argument(help="Media numbers or SHA-256 prefixes (8 hex digits or more)."),
]


@media_app.command("list")
def media_list(
    submission: SubmissionOption = None,
    series: Annotated[str | None, typer.Option(help="Media of this series.")] = None,
    conflicts: Annotated[
        bool, typer.Option("--conflicts", help="Media whose category sources disagree.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List media with their verdict, category and series."""
    from scut.media.categorise import conflicting_media
    from scut.media.lookup import list_media

    def work(session: Session) -> list[dict[str, object]]:
        if conflicts:
            ids = conflicting_media(session, caller=caller())
        else:
            if submission is None and series is None:
                raise ScutError("name a --submission, a --series or --conflicts")
            ids = _media_ids(session, None, submission, series)
        return [
            dataclasses.asdict(line)
            for line in list_media(session, ids, caller=caller(), submission=submission)
        ]

    lines = run(work)
    if as_json:
        print_json(lines)
        return
    table = Table(title=f"{len(lines)} media")
    for column in ("no.", "sha256", "kind", "verdict", "category", "series", "path"):
        table.add_column(column, overflow="fold")
    for line in lines:
        category = line["category"] or ""
        if line["category_conflict"]:
            category = f"{category} (conflict)"
        table.add_row(
            text(line["media_id"]),
            text(str(line["sha256"])[:16]),
            text(line["kind"]),
            text(line["verdict"]),
            text(category),
            text(line["series"] or ""),
            text(line["path"]),
        )
    stdout.print(table)


@media_app.command("categorise")
def media_categorise(
    media: MediaArgument = None,
    code: Annotated[
        str, typer.Option(help="Category code: Project VIC 0-4, or UK A, B or C.")
    ] = "",
    scheme: Annotated[str, typer.Option(help="projectvic or uk.")] = "projectvic",
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "",
    submission: SubmissionOption = None,
) -> None:
    """Set the category of media as your decision, kept in their history."""
    from scut.media.categorise import categorise, check_category

    def work(session: Session) -> list[object]:
        category = check_category(scheme, required(code, "--code"))
        # Of a submission, only its pictures and videos that are not
        # known-good: an archive or a system file is never abuse material.
        ids = _media_ids(session, media, submission, pictures_and_videos=True)
        if not ids:
            raise ScutError("name the media to categorise, or a --submission")
        return list(categorise(session, ids, category, caller=caller(), reason=reason))

    changes = run(work)
    conflicts = [change for change in changes if getattr(change, "conflict", False)]
    stdout.print(f"Categorised {len(changes)} media")
    for change in conflicts:
        sources = ", ".join(
            f"{source}: {value}" for source, value in getattr(change, "disagreeing", ())
        )
        stdout.print(
            text(f"  media {getattr(change, 'media_id', '')} conflicts with {sources}"),
            style="yellow",
        )


@media_app.command("history")
def media_history(
    media: Annotated[str, typer.Argument(help="Media number or SHA-256 prefix.")],
    as_json: JsonOption = False,
) -> None:
    """Show every categorisation of a media."""
    from scut.media.categorise import category_history
    from scut.media.lookup import resolve_media

    def work(session: Session) -> list[dict[str, object]]:
        (media_id,) = resolve_media(session, [media])
        return [
            dataclasses.asdict(line)
            for line in category_history(session, media_id, caller=caller())
        ]

    lines = run(work)
    if as_json:
        print_json(lines)
        return
    table = Table(title="Category history")
    for column in ("when", "category", "before", "source", "by", "reason", "conflict"):
        table.add_column(column, overflow="fold")
    for line in lines:
        table.add_row(
            text(line["at"]),
            text(line["category"]),
            text(line["previous"] or ""),
            text(line["source"]),
            text(line["actor"]),
            text(line["reason"]),
            "yes" if line["conflict"] else "",
        )
    stdout.print(table)


MediaReference = Annotated[
    str, typer.Argument(help="Media number or SHA-256 prefix (8 hex digits or more).")
]


@media_app.command("show")
def media_show(media: MediaReference, as_json: JsonOption = False) -> None:
    """Show a media: hashes, metadata, where it was found, matches and category.

    The view is recorded in the audit log.
    """
    from scut.cli.media_output import print_detail
    from scut.media.lookup import resolve_media
    from scut.media.view import media_detail

    def work(session: Session) -> dict[str, Any]:
        (media_id,) = resolve_media(session, [media])
        return dataclasses.asdict(media_detail(session, media_id, caller=caller()))

    detail = run(work)
    if as_json:
        print_json(detail)
        return
    print_detail(detail)


@media_app.command("custody")
def media_custody(media: MediaReference, as_json: JsonOption = False) -> None:
    """Show a media's chain of custody: received, ingested, categorised, viewed."""
    from scut.cli.media_output import print_custody
    from scut.media.custody import custody_history
    from scut.media.lookup import resolve_media

    def work(session: Session) -> tuple[int, list[dict[str, Any]]]:
        (media_id,) = resolve_media(session, [media])
        events = custody_history(session, media_id, caller=caller())
        return media_id, [dataclasses.asdict(event) for event in events]

    media_id, events = run(work)
    if as_json:
        print_json(events)
        return
    print_custody(media_id, events)


@media_app.command("thumbnail")
def media_thumbnail(
    media: MediaReference,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="A new file for the thumbnail (JPEG), readable by you only; an "
            "existing file is never overwritten.",
        ),
    ],
) -> None:
    """Reveal a media's thumbnail unblurred into a file; the reveal is audited.

    A video's thumbnail is its strip of frames.
    """
    from scut.cli.media_output import new_private_file
    from scut.media.lookup import resolve_media
    from scut.media.view import reveal_thumbnail
    from scut.storage import open_blob_store

    loaded = settings()

    def work(session: Session) -> bytes:
        (media_id,) = resolve_media(session, [media])
        store = open_blob_store(loaded)
        return reveal_thumbnail(session, store, media_id, caller=caller())

    try:
        # The file is created before the reveal, so a reveal is recorded
        # only when its bytes have somewhere to go.
        with new_private_file(out) as handle:
            handle.write(run(work))
    except ScutError as error:
        raise fail(error) from error
    stdout.print(text(f"Thumbnail written to {out}"))


# -- series ----------------------------------------------------------------

SeriesArgument = Annotated[str, typer.Argument(help="Series name or number.")]


@series_app.command("create")
def series_create(
    name: Annotated[str, typer.Argument(help="A unique name for the series.")],
    media: MediaArgument = None,
    submission: SubmissionOption = None,
) -> None:
    """Create a series, optionally with media."""
    from scut.series.service import add_media, create_series

    def work(session: Session) -> tuple[int, int]:
        series = create_series(session, name, caller=caller())
        ids = _media_ids(session, media, submission)
        added = add_media(session, series.name, ids, caller=caller()) if ids else 0
        return series.id, added

    series_id, added = run(work)
    stdout.print(text(f"Series {series_id} {name.strip()} created with {added} media"))


@series_app.command("add")
def series_add(
    series: SeriesArgument,
    media: MediaArgument = None,
    submission: SubmissionOption = None,
    move: Annotated[
        bool, typer.Option("--move", help="Take media out of another series.")
    ] = False,
) -> None:
    """Add media to a series."""
    from scut.series.service import add_media

    added = run(
        lambda session: add_media(
            session,
            series,
            _media_ids(session, media, submission),
            caller=caller(),
            move=move,
        )
    )
    stdout.print(f"Added {added} media")


@series_app.command("remove")
def series_remove(series: SeriesArgument, media: MediaArgument = None) -> None:
    """Take media out of a series."""
    from scut.series.service import remove_media

    removed = run(
        lambda session: remove_media(
            session, series, _media_ids(session, media, None), caller=caller()
        )
    )
    stdout.print(f"Removed {removed} media")


@series_app.command("rename")
def series_rename(
    series: SeriesArgument,
    new_name: Annotated[str, typer.Argument(help="The new name.")],
) -> None:
    """Rename a series; the old name stays in its history."""
    from scut.series.service import rename_series

    run(lambda session: rename_series(session, series, new_name, caller=caller()))
    stdout.print(text(f"Series renamed to {new_name.strip()}"))


@series_app.command("merge")
def series_merge(
    keep: Annotated[str, typer.Argument(help="The series that stays.")],
    merged: Annotated[str, typer.Argument(help="The series merged into it.")],
) -> None:
    """Merge a series into another with every media, person, case and note."""
    from scut.series.service import merge_series

    run(lambda session: merge_series(session, keep, merged, caller=caller()))
    stdout.print(text(f"Series {merged} merged into {keep}"))


@series_app.command("split")
def series_split(
    series: SeriesArgument,
    new_name: Annotated[str, typer.Argument(help="Name of the new series.")],
    media: MediaArgument = None,
) -> None:
    """Move some media of a series into a new series that keeps its links."""
    from scut.series.service import split_series

    created = run(
        lambda session: (
            split_series(
                session,
                series,
                _media_ids(session, media, None),
                new_name,
                caller=caller(),
            ).id
        )
    )
    stdout.print(text(f"Series {created} {new_name.strip()} split off"))


@series_app.command("status")
def series_status(
    series: SeriesArgument,
    victim_identified: Annotated[
        bool | None,
        typer.Option(
            "--victim-identified/--victim-unidentified",
            help="Whether the series' victims are identified.",
        ),
    ] = None,
    offender_identified: Annotated[
        bool | None,
        typer.Option(
            "--offender-identified/--offender-unidentified",
            help="Whether the series' offenders are identified.",
        ),
    ] = None,
) -> None:
    """Set whether the victims and offenders of a series are identified."""
    from scut.series.service import set_status

    def work(session: Session) -> tuple[bool, bool]:
        found = set_status(
            session,
            series,
            caller=caller(),
            victim_identified=victim_identified,
            offender_identified=offender_identified,
        )
        return found.victim_identified, found.offender_identified

    victim, offender = run(work)
    stdout.print(
        f"Victim identified: {'yes' if victim else 'no'}; "
        f"offender identified: {'yes' if offender else 'no'}"
    )


@series_app.command("note")
def series_note(
    series: SeriesArgument,
    note: Annotated[str, typer.Argument(help="The clue, in words.")],
    kind: Annotated[
        str, typer.Option(help="object, place, language or other.")
    ] = "other",
) -> None:
    """Record a clue seen in a series."""
    from scut.series.service import add_note

    run(lambda session: add_note(session, series, kind, note, caller=caller()).id)
    stdout.print("Note recorded")


@series_app.command("link-case")
def series_link_case(
    series: SeriesArgument,
    case: Annotated[str, typer.Argument(help="The case reference.")],
) -> None:
    """Link a series to a case."""
    from scut.series.service import link_case

    run(lambda session: link_case(session, series, case, caller=caller()))
    stdout.print(text(f"Series linked to case {case}"))


@series_app.command("list")
def series_list(
    merged: Annotated[
        bool, typer.Option("--merged", help="Include series merged into others.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the series with their size and status."""
    from scut.series.service import list_series

    found = run(
        lambda session: [
            dataclasses.asdict(item)
            for item in list_series(session, caller=caller(), include_merged=merged)
        ]
    )
    if as_json:
        print_json(found)
        return
    table = Table(title="Series")
    for column in (
        "no.",
        "name",
        "media",
        "victim identified",
        "offender identified",
        "cases",
    ):
        table.add_column(column, overflow="fold")
    for item in found:
        name = item["name"]
        if item["merged_into"]:
            name = f"{name} (merged into {item['merged_into']})"
        table.add_row(
            text(item["series_id"]),
            text(name),
            text(item["media"]),
            "yes" if item["victim_identified"] else "no",
            "yes" if item["offender_identified"] else "no",
            text(", ".join(item["cases"])),
        )
    stdout.print(table)


@series_app.command("show")
def series_show(series: SeriesArgument, as_json: JsonOption = False) -> None:
    """Show a series: status, media, cases, persons, notes and history."""
    from scut.series.service import describe_series

    def work(session: Session) -> dict[str, object]:
        return describe_series(session, series, caller=caller())

    data = run(work)
    if as_json:
        print_json(data)
        return
    stdout.print(text(f"Series {data['series_id']} {data['name']}"))
    if data["merged_into"]:
        stdout.print(text(f"Merged into {data['merged_into']}"))
    stdout.print(
        f"Media: {data['media']}; victim identified: "
        f"{'yes' if data['victim_identified'] else 'no'}; offender identified: "
        f"{'yes' if data['offender_identified'] else 'no'}"
    )
    for key, title in (("cases", "Cases"), ("media_ids", "Media numbers")):
        values = data[key]
        assert isinstance(values, list)
        if values:
            stdout.print(text(f"{title}: " + ", ".join(str(value) for value in values)))
    persons = data["persons"]
    assert isinstance(persons, list)
    for person in persons:
        stdout.print(
            text(
                f"  {person['role']}: person {person['person']} {person['name']} "
                f"({person['identification']})"
            )
        )
    notes = data["notes"]
    assert isinstance(notes, list)
    for note in notes:
        stdout.print(text(f"  {note['kind']}: {note['text']} ({note['author']})"))
    history = data["history"]
    assert isinstance(history, list)
    table = Table(title="History")
    for column in ("when", "action", "by", "detail"):
        table.add_column(column, overflow="fold")
    for event in history:
        table.add_row(
            text(event["at"]),
            text(event["action"]),
            text(event["actor"]),
            text(event["detail"]),
        )
    stdout.print(table)


@cases_app.command("erase")
def cases_erase(
    reference: Annotated[str, typer.Argument(help="The case reference.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: this cannot be undone.")
    ] = False,
) -> None:
    """Erase a case with its submissions and the media no other case holds."""
    from scut.erasure import delete_blobs, erase_case
    from scut.storage import open_blob_store

    if not yes:
        raise typer.BadParameter("erasing a case cannot be undone; add --yes")
    report = run(lambda session: erase_case(session, reference, caller=caller()))
    deleted = delete_blobs(open_blob_store(settings()), report.blobs_to_delete)
    for table, count in sorted(report.rows.items()):
        stdout.print(f"  {table}: {count}")
    stdout.print(text(f"Case {reference} erased; {deleted} media files deleted"))
