"""Rich progress bars (ingest, imports, matching) and ingest summary tables."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from scut.ingest.summary import IngestSummary
from scut.matching.verdicts import VERDICTS


class ByteProgress:
    """A bar of bytes read, for imports that stream a file."""

    def __init__(self, console: Console, description: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task_id = self.progress.add_task(description, total=None)

    def __enter__(self) -> ByteProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.progress.stop()

    def update(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` bytes."""
        self.progress.update(self.task_id, completed=done, total=total or None)


class CountProgress(ByteProgress):
    """A bar of items done, for work counted in files."""

    def __init__(self, console: Console, description: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task_id = self.progress.add_task(description, total=None)


class _RateColumn(ProgressColumn):
    """Files per second and megabytes per second since the bar started."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0:
            return Text("")
        files = task.completed / elapsed
        megabytes = task.fields.get("bytes", 0) / elapsed / 1e6
        return Text(f"{files:.1f} files/s {megabytes:.1f} MB/s", style="cyan")


class _ErrorColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        # Files with at least one error; the summary counts error rows.
        errors = task.fields.get("errors", 0)
        return Text(f"{errors} failed", style="red" if errors else "dim")


class IngestProgress:
    """Draws ingest progress on the console; usable as a context manager."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("[bold]Ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            _ErrorColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task_id = self.progress.add_task("ingest", total=0, bytes=0, errors=0)
        self.bytes = 0
        self.errors = 0
        self.last_refresh = 0.0

    def __enter__(self) -> IngestProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.progress.update(self.task_id, bytes=self.bytes, errors=self.errors)
        self.progress.stop()

    def discovered(self, count: int) -> None:
        task = self.progress.tasks[0]
        self.progress.update(self.task_id, total=(task.total or 0) + count)

    def finished_file(self, size: int, failed: bool) -> None:
        self.bytes += size
        self.errors += int(failed)
        now = time.monotonic()
        fields: dict[str, Any] = {}
        if now - self.last_refresh > 0.2:
            fields = {"bytes": self.bytes, "errors": self.errors}
            self.last_refresh = now
        self.progress.update(self.task_id, advance=1, **fields)


def print_summary(console: Console, summary: IngestSummary) -> None:
    """Print the ingest summary as tables."""
    title = Text(f"Case {summary.case}, exhibit {summary.exhibit}")
    table = Table(title=title, show_header=False)
    table.add_column("what", style="bold")
    table.add_column("count", justify="right")
    table.add_row("Files", str(summary.files))
    for kind, count in sorted(summary.by_kind.items()):
        table.add_row(f"  {kind} files", str(count))
    table.add_row("Unique media", str(summary.unique_media))
    table.add_row("Duplicate files", str(summary.duplicates))
    table.add_row("Type mismatches", str(summary.type_mismatches))
    table.add_row("Errors", str(summary.errors))
    for stage, count in sorted(summary.errors_by_stage.items()):
        table.add_row(f"  {stage}", str(count))
    table.add_row("Notes", str(summary.notes))
    for stage, count in sorted(summary.notes_by_stage.items()):
        table.add_row(f"  {stage}", str(count))
    table.add_row("Analysed in this run", str(summary.analysed_this_run))
    table.add_row("Recorded before this run", str(summary.recorded_before_this_run))
    table.add_row("Time", f"{summary.seconds:.1f} s")
    rate = f"{summary.files_per_second:.1f} files/s"
    table.add_row("Throughput", f"{rate}, {summary.megabytes_per_second:.1f} MB/s")
    console.print(table)
    console.print(_verdict_table(summary))
    console.print(
        f"Verification result for the unit: scut verify {summary.submission}"
        " (add --pdf FILE for the report)"
    )
    if summary.listed_errors:
        console.print(_error_table(summary))


def _verdict_table(summary: IngestSummary) -> Table:
    table = Table(title="Verification result")
    table.add_column("verdict")
    table.add_column("files", justify="right")
    for verdict in VERDICTS:
        table.add_row(verdict, str(summary.by_verdict.get(verdict, 0)))
    return table


def _error_table(summary: IngestSummary) -> Table:
    shown = len(summary.listed_errors)
    total = summary.errors + summary.notes
    title = f"Errors and notes ({shown} of {total} shown)"
    table = Table(title=title, show_lines=False)
    table.add_column("path", overflow="fold")
    table.add_column("stage")
    table.add_column("reason", overflow="fold")
    for error in summary.listed_errors:
        table.add_row(Text(error["path"]), Text(error["stage"]), Text(error["reason"]))
    return table
