"""The ``scut`` command line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from sqlalchemy import make_url

from scut.db.session import Database
from scut.errors import ScutError
from scut.ingest.records import Origin
from scut.ingest.summary import IngestSummary
from scut.settings import Settings, get_settings

app = typer.Typer(
    help="Scut: ingest seized media and match it against known material.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
hashsets_app = typer.Typer(
    help="Import and list known-hash sets.", no_args_is_help=True
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(hashsets_app, name="hashsets")
app.add_typer(db_app, name="db")

log = logging.getLogger(__name__)
stdout = Console()
stderr = Console(stderr=True)


@app.callback()
def main(
    log_level: Annotated[
        str, typer.Option(help="Log level: DEBUG, INFO, WARNING or ERROR.")
    ] = "WARNING",
) -> None:
    """Scut's commands. Settings come from SCUT_* environment variables."""
    logging.basicConfig(
        level=log_level.upper(),
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=stderr, show_path=False, markup=False)],
    )


def _settings(workers: int | None = None) -> Settings:
    settings = get_settings()
    if workers is not None:
        if workers < 1:
            raise typer.BadParameter(f"--workers must be at least 1, got {workers}")
        settings = settings.model_copy(update={"workers": workers})
    return settings


def _open_database(settings: Settings) -> Database:
    database = Database(settings)
    database.upgrade()
    return database


def _fail(error: ScutError) -> typer.Exit:
    # soft_wrap keeps a long path on one line, so it can be copied whole.
    stderr.print(f"[bold red]Error:[/] {escape(str(error))}", soft_wrap=True)
    return typer.Exit(code=1)


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
    )
    settings = _settings(workers)
    try:
        database = _open_database(settings)
        summary = _run_ingest(database, settings, paths, origin, as_json)
    except ScutError as error:
        raise _fail(error) from error
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
) -> IngestSummary:
    from scut.cli.progress import IngestProgress
    from scut.ingest.pipeline import IngestJob

    job = IngestJob(database, settings, paths, origin)
    job.prepare()  # a wrong source or exhibit fails before the bar is drawn
    if as_json and not stderr.is_terminal:
        return job.run()
    with IngestProgress(stderr) as progress:
        return job.run(progress)


def _print_result(summary: IngestSummary, as_json: bool) -> None:
    from scut.cli.progress import print_summary

    if as_json:
        sys.stdout.write(
            json.dumps(dataclasses.asdict(summary), indent=2, default=str) + "\n"
        )
    else:
        print_summary(stdout, summary)


def _required(value: str, option: str) -> str:
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


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"invalid date {value!r}; use YYYY-MM-DD") from error


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
    """Generate benign demo evidence and a demo hash set, then ingest it."""
    from scut.demo.generate import generate_demo
    from scut.hashsets.importer import import_plain_list

    settings = _settings(workers)
    target = destination or settings.data_dir / "demo"
    try:
        database = _open_database(settings)
        evidence = generate_demo(target, overwrite=True)
        import_plain_list(
            database,
            evidence.known_list,
            name="demo-known",
            kind="known-abuse",
            source="scut demo (stand-in for a known-material list)",
        )
        import_plain_list(
            database,
            evidence.known_good_list,
            name="demo-known-good",
            kind="known-good",
            source="scut demo (stand-in for NSRL)",
        )
        origin = Origin(case="DEMO-1", exhibit="phone-1", unit="Demo Police Unit")
        summary = _run_ingest(
            database, settings, [evidence.evidence_dir], origin, as_json
        )
    except ScutError as error:
        raise _fail(error) from error
    _print_result(summary, as_json)


@hashsets_app.command("import")
def hashsets_import(
    path: Annotated[Path, typer.Argument(help="md5sum, sha1sum or sha256sum list.")],
    name: Annotated[
        str, typer.Option(help="Name of the hash set; re-import replaces it.")
    ],
    kind: Annotated[
        str, typer.Option(help="known-abuse, alert or known-good.")
    ] = "known-abuse",
    source: Annotated[str, typer.Option(help="Where the list came from.")] = "",
    version: Annotated[str, typer.Option(help="The list's version or date.")] = "",
) -> None:
    """Import a plain hash list as a hash set."""
    from scut.hashsets.importer import import_plain_list

    settings = _settings()
    if not path.is_file():
        raise _fail(ScutError(f"hash list not found: {path}"))
    try:
        report = import_plain_list(
            _open_database(settings),
            path,
            name=name,
            kind=kind,
            source=source,
            version=version,
        )
    except ScutError as error:
        raise _fail(error) from error
    noun = "hash" if report.entries == 1 else "hashes"
    stdout.print(
        f"Hash set {escape(report.name)} ({report.kind}): {report.entries} {noun}"
    )


@hashsets_app.command("list")
def hashsets_list() -> None:
    """List the hash sets and their sizes."""
    from scut.hashsets.importer import list_hash_sets

    for row in list_hash_sets(_open_database(_settings())):
        imported = f"{row.imported_at:%Y-%m-%d %H:%M}"
        stdout.print(f"{escape(row.name)}\t{row.kind}\t{row.entries}\t{imported}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    settings = _settings()
    _open_database(settings)
    url = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    stdout.print(f"Database is up to date: {escape(url)}")
