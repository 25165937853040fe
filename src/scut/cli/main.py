"""The ``scut`` command line."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.logging import RichHandler
from rich.markup import escape
from sqlalchemy import make_url

from scut.cli.audit import audit_app, db_grants
from scut.cli.backup import backup_app, check_blob_store
from scut.cli.common import call_service as _call_service
from scut.cli.common import (
    close_databases,
    set_actor,
    set_justification,
    stderr,
    stdout,
)
from scut.cli.common import fail as _fail
from scut.cli.common import open_database as _open_database
from scut.cli.common import parse_date as _parse_date
from scut.cli.common import required as _required
from scut.cli.common import settings as _settings
from scut.cli.geo import geo_app
from scut.cli.keys import keys_app
from scut.cli.persons import convicted_app, persons_app
from scut.cli.records import cases_app, media_app, series_app, units_app
from scut.cli.users import users_app
from scut.cli.web import serve
from scut.db.session import Database
from scut.errors import ScutError
from scut.ingest.records import Origin
from scut.ingest.summary import IngestSummary
from scut.security.caller import Caller
from scut.settings import Settings

if TYPE_CHECKING:
    from scut.matching.service import MatchRun

app = typer.Typer(
    help="Scut: ingest seized media and match it against known material.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
hashsets_app = typer.Typer(
    help="Import, list and remove known-hash sets.", no_args_is_help=True
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
index_app = typer.Typer(
    help="The PDQ index of perceptual hashes.", no_args_is_help=True
)
app.add_typer(hashsets_app, name="hashsets")
app.add_typer(db_app, name="db")
app.add_typer(index_app, name="index")
app.add_typer(units_app, name="units")
app.add_typer(cases_app, name="cases")
app.add_typer(media_app, name="media")
app.add_typer(series_app, name="series")
app.add_typer(persons_app, name="persons")
app.add_typer(convicted_app, name="convicted")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(geo_app, name="geo")
app.add_typer(backup_app)
db_app.command("grants")(db_grants)
app.command("serve")(serve)

log = logging.getLogger(__name__)


@app.callback()
def main(
    context: typer.Context,
    log_level: Annotated[
        str, typer.Option(help="Log level: DEBUG, INFO, WARNING or ERROR.")
    ] = "WARNING",
    analyst: Annotated[
        str | None,
        typer.Option(
            help="The analyst the command acts for, recorded with every change; "
            "default: the operating-system account."
        ),
    ] = None,
    justification: Annotated[
        str | None,
        typer.Option(
            help="Why personal data is read or changed: a case reference or a "
            "reason, kept in the audit log; default: SCUT_JUSTIFICATION."
        ),
    ] = None,
) -> None:
    """Scut's commands. Settings come from SCUT_* environment variables."""
    set_actor(analyst)
    set_justification(justification)
    # After the command's last commit: anchor its audit events.
    context.call_on_close(close_databases)
    logging.basicConfig(
        level=log_level.upper(),
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=stderr, show_path=False, markup=False)],
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Folders, archives or files to ingest.")
    ],
    case: Annotated[str, typer.Option(help="The centre's case reference.")],
    exhibit: Annotated[
        str, typer.Option(help="Exhibit label, unique within the case.")
    ],
    unit: Annotated[str, typer.Option(help="Unit that sent the material.")],
    officer: Annotated[str, typer.Option(help="Officer who sent it.")] = "",
    criminal_case: Annotated[
        str, typer.Option(help="The unit's criminal case number.")
    ] = "",
    seizure_date: Annotated[
        str | None, typer.Option(help="Date of seizure, YYYY-MM-DD.")
    ] = None,
    legal_basis: Annotated[
        str, typer.Option(help="The legal act or order under which it was sent.")
    ] = "",
    device: Annotated[
        str, typer.Option(help="The seized device: make, model, serial number.")
    ] = "",
    workers: Annotated[
        int | None, typer.Option(help="Analysis processes; default one per CPU core.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Ingest seized files into an exhibit and print the verification summary."""
    origin = Origin(
        case=_required(case, "--case"),
        exhibit=_required(exhibit, "--exhibit"),
        unit=_required(unit, "--unit"),
        officer=officer.strip(),
        criminal_case_number=criminal_case.strip(),
        seizure_date=_parse_date(seizure_date),
        legal_basis=legal_basis.strip(),
        device=device.strip(),
    )
    settings = _settings(workers)
    try:
        summary = _call_service(
            settings,
            lambda database, who: _run_ingest(
                database, settings, paths, origin, as_json, who
            ),
        )
    except KeyboardInterrupt:
        stderr.print("Interrupted; run the same command again to finish the ingest.")
        raise typer.Exit(code=130) from None
    _print_result(summary, as_json)


def _run_ingest(
    database: Database,
    settings: Settings,
    paths: list[Path],
    origin: Origin,
    as_json: bool,
    who: Caller,
) -> IngestSummary:
    from scut.cli.progress import IngestProgress
    from scut.ingest.service import ingest

    # The service opens the bar after the caller, the sources and the
    # exhibit are checked, so those errors come before the bar is drawn.
    quiet = as_json and not stderr.is_terminal
    return ingest(
        database,
        settings,
        paths,
        origin,
        caller=who,
        display=None if quiet else lambda: IngestProgress(stderr),
    )


def _print_result(summary: IngestSummary, as_json: bool) -> None:
    from scut.cli.progress import print_summary

    if as_json:
        sys.stdout.write(
            json.dumps(dataclasses.asdict(summary), indent=2, default=str) + "\n"
        )
    else:
        print_summary(stdout, summary)


@app.command()
def demo(
    destination: Annotated[
        Path | None,
        typer.Option(help="Folder for the generated evidence; default DATA_DIR/demo."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Analysis processes; default one per CPU core.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Generate benign demo evidence and demo hash sets, ingest it, verify it."""
    from scut.demo.generate import generate_demo
    from scut.demo.geo import load_demo_geography
    from scut.hashsets.service import import_set
    from scut.verification import render
    from scut.verification.report import VerificationReport
    from scut.verification.service import read_result

    settings = _settings(workers)
    target = destination or settings.data_dir / "demo"

    def work(
        database: Database, who: Caller
    ) -> tuple[IngestSummary, VerificationReport]:
        evidence = generate_demo(target, overwrite=True)
        import_set(
            database,
            evidence.known_vics,
            caller=who,
            name="demo-known",
            kind="known-abuse",
            source="scut demo (stand-in for a Project VIC list)",
        )
        import_set(
            database,
            evidence.known_good_list,
            caller=who,
            name="demo-known-good",
            kind="known-good",
            fmt="plain",
            source="scut demo (stand-in for NSRL)",
        )
        origin = Origin(case="DEMO-1", exhibit="phone-1", unit="Demo Police Unit")
        summary = _run_ingest(
            database, settings, [evidence.evidence_dir], origin, as_json, who
        )
        return summary, read_result(database, summary.submission, caller=who)

    summary, report = _call_service(settings, work)
    stderr.print(escape(_call_service(settings, load_demo_geography)), soft_wrap=True)
    if as_json:
        result = {
            "ingest": dataclasses.asdict(summary),
            "verification": report.as_dict(),
        }
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
        return
    _print_result(summary, as_json)
    render.print_report(stdout, report)


@hashsets_app.command("import")
def hashsets_import(
    path: Annotated[
        Path,
        typer.Argument(
            help="VICS JSON, ICSE CSV, NSRL (RDSv3 or NSRLFile.txt), HashKeeper "
            "or an md5sum/sha1sum/sha256sum list."
        ),
    ],
    name: Annotated[
        str, typer.Option(help="Name of the hash set; re-import replaces it.")
    ],
    kind: Annotated[
        str, typer.Option(help="known-abuse, alert or known-good.")
    ] = "known-abuse",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="vics, icse, nsrl, hashkeeper or plain; found from the content "
            "when left out.",
        ),
    ] = None,
    algorithm: Annotated[
        str | None,
        typer.Option(help="For a plain list of 64-hex PDQ hashes: pdq."),
    ] = None,
    source: Annotated[str, typer.Option(help="Where the list came from.")] = "",
    version: Annotated[str, typer.Option(help="The list's version or date.")] = "",
) -> None:
    """Import a hash set file, streaming it with a progress bar."""
    from scut.cli.progress import ByteProgress
    from scut.hashsets.importer import ImportReport
    from scut.hashsets.service import import_set

    settings = _settings()
    set_name = _required(name, "--name")
    if not path.is_file():
        raise _fail(ScutError(f"hash set file not found: {path}"))

    def work(database: Database, who: Caller) -> ImportReport:
        with ByteProgress(stderr, f"Importing {path.name}") as progress:
            return import_set(
                database,
                path,
                caller=who,
                name=set_name,
                kind=kind,
                fmt=fmt,
                algorithm=algorithm,
                source=source,
                version=version,
                progress=progress.update,
            )

    report = _call_service(settings, work)
    noun = "hash" if report.entries == 1 else "hashes"
    stdout.print(
        f"Hash set {escape(report.name)} ({report.kind}, {report.format}): "
        f"{report.items} items, {report.entries} {noun}"
    )
    if report.rejected:
        stderr.print(
            f"[yellow]{report.rejected} records left out[/]; the first ones:",
            soft_wrap=True,
        )
        for line in report.rejected_examples:
            stderr.print(f"  {escape(line)}", soft_wrap=True)


@hashsets_app.command("list")
def hashsets_list() -> None:
    """List the hash sets and their sizes."""
    from rich.table import Table

    from scut.hashsets.service import list_sets
    from scut.verification.render import terminal_text

    table = Table(title="Hash sets")
    table.add_column("name", overflow="fold", min_width=12)
    table.add_column("kind", overflow="fold")
    table.add_column("format")
    for column in ("items", "hashes", "rejected"):
        table.add_column(column, justify="right")
    table.add_column("version", overflow="fold")
    table.add_column("imported", no_wrap=True)
    rows = _call_service(
        _settings(), lambda database, who: list_sets(database, caller=who)
    )
    for row in rows:
        table.add_row(
            terminal_text(row.name),
            row.kind,
            row.format,
            str(row.items),
            str(row.entries),
            str(row.rejected),
            terminal_text(row.version),
            f"{row.imported_at:%Y-%m-%d}",
        )
    stdout.print(table)


@hashsets_app.command("remove")
def hashsets_remove(
    name: Annotated[str, typer.Argument(help="Name of the hash set to remove.")],
) -> None:
    """Remove a hash set; `scut match` then renews the verdicts it gave."""
    from scut.hashsets.service import remove_set

    removed = _call_service(
        _settings(), lambda database, who: remove_set(database, name, caller=who)
    )
    stdout.print(f"Removed hash set {escape(name)} with {removed} hashes")
    stdout.print(
        "Verdicts it gave stand until matched again: scut match --all "
        "(or --case, --submission)"
    )


@app.command()
def match(
    submission: Annotated[
        list[int] | None,
        typer.Option(help="Submission number to match again; may be repeated."),
    ] = None,
    case: Annotated[
        str | None, typer.Option(help="Match every submission of this case again.")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Match every recorded file again.")
    ] = False,
    hash_set: Annotated[
        str | None,
        typer.Option(
            help="Instead, list which items of this hash set other sets know, by "
            "any hash (PhotoDNA included)."
        ),
    ] = None,
) -> None:
    """Match recorded files again against the hash sets and all other media."""
    from scut.matching.service import list_overlap

    settings = _settings()
    if hash_set is not None:
        _print_overlap(
            _call_service(
                settings,
                lambda database, who: list_overlap(database, hash_set, caller=who),
            )
        )
        return
    run = _call_service(
        settings,
        lambda database, who: _run_rematch(
            database, settings, who, submission or [], case, everything
        ),
    )
    report = run.report
    stdout.print(
        f"Matched {report.files} files again; {report.changed} verdicts changed"
    )
    for verdict, count in sorted(report.by_verdict.items()):
        stdout.print(f"  {verdict}: {count}")


def _run_rematch(
    database: Database,
    settings: Settings,
    who: Caller,
    submissions: list[int],
    case: str | None,
    everything: bool,
) -> MatchRun:
    from scut.cli.progress import CountProgress
    from scut.matching.service import match_again

    with CountProgress(stderr, "Matching") as progress:
        return match_again(
            database,
            settings,
            caller=who,
            submissions=submissions,
            case=case,
            everything=everything,
            progress=progress.update,
        )


def _print_overlap(rows: list[dict[str, object]]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Items known to other hash sets")
    for column in ("item", "algorithm", "value", "other set", "category"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            *(
                Text(str(row[key] if row[key] is not None else ""))
                for key in ("item", "algorithm", "value", "other_set", "category")
            )
        )
    stdout.print(table)
    stdout.print(f"{len(rows)} matches")


@app.command()
def verify(
    submission: Annotated[
        int | None, typer.Argument(help="Submission number; or use --blobs.")
    ] = None,
    blobs: Annotated[
        bool,
        typer.Option(
            "--blobs",
            help="Instead, re-hash every stored original against its media row "
            "and decrypt every thumbnail; exit status 1 on any problem.",
        ),
    ] = False,
    sample: Annotated[
        int | None,
        typer.Option(min=1, help="With --blobs: re-hash this many media at random."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON on stdout.")
    ] = False,
    html: Annotated[
        Path | None, typer.Option(help="Also write the result as an HTML page here.")
    ] = None,
    pdf: Annotated[
        Path | None, typer.Option(help="Also write the result as a PDF file here.")
    ] = None,
) -> None:
    """Print the verification result of a submission, or check the blob store."""
    from scut.verification import render
    from scut.verification.service import read_result

    if blobs or sample is not None:
        if not blobs:
            raise typer.BadParameter("--sample applies to --blobs only")
        check_blob_store(submission, sample, as_json, [html, pdf])
        return
    if submission is None:
        raise typer.BadParameter("give a SUBMISSION number, or --blobs")

    report = _call_service(
        _settings(),
        lambda database, who: read_result(database, submission, caller=who),
    )
    try:
        if html is not None:
            html.write_text(render.to_html(report), encoding="utf-8")
        if pdf is not None:
            render.write_pdf(report, pdf)
    except ScutError as error:
        raise _fail(error) from error
    except OSError as error:
        raise _fail(ScutError(f"cannot write the report: {error}")) from error
    if as_json:
        sys.stdout.write(render.to_json(report))
    else:
        render.print_report(stdout, report)
    for path in (html, pdf):
        if path is not None:
            stderr.print(f"Wrote {escape(str(path))}", soft_wrap=True)


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Build the PDQ index anew from the database."""
    import time

    from scut.matching.service import rebuild_index

    settings = _settings()
    started = time.monotonic()
    index = _call_service(
        settings, lambda database, who: rebuild_index(database, settings, caller=who)
    )
    stdout.print(
        f"PDQ index rebuilt: {len(index)} hashes, {index.kind}, "
        f"{time.monotonic() - started:.1f} s"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    settings = _settings()
    _open_database(settings)
    url = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    stdout.print(f"Database is up to date: {escape(url)}")
