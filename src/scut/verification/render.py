"""The verification result as terminal tables, JSON, HTML and PDF.

The HTML page and the PDF come from one Jinja2 template with autoescaping
on, so a file name from the evidence is shown as text, never as markup.
WeasyPrint turns the page into the PDF without a browser or a network.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from rich.console import Console
from rich.table import Table
from rich.text import Text

from scut.verification.report import VerificationReport

log = logging.getLogger(__name__)

VERDICT_TEXT = {
    "known": "Known material",
    "near": "Near copies of known material",
    "new": "New material",
    "known-good": "Known-good files set aside",
}
# Files listed in the terminal; the JSON, HTML and PDF list every file.
MAX_TERMINAL_LINES = 50
LEGEND = (
    "known: the same file is in a hash set of known material or was recorded "
    "in another case, or it is a copy of media the centre's analysts have "
    "categorised or put in a series. near: a copy that looks the same "
    "(resized, cropped, turned, recompressed) found by its perceptual hash, "
    "with the PDQ distance in bits (0 to 31), or by local features; check it by eye. "
    "new: nothing matched. known-good: a common file (operating system, "
    "software) set aside."
)


# Control characters and bidirectional overrides from evidence (file names,
# hash set fields) could move the cursor or reorder the text on screen, so
# the terminal shows them as escapes.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_text(value: str) -> Text:
    """Return ``value`` as Rich text, its control characters escaped."""
    return Text(_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", value))


def flag_text(value: bool | None) -> str:
    """Return yes, no or unknown for an identification flag."""
    if value is None:
        return "unknown"
    return "yes" if value else "no"


def to_json(report: VerificationReport) -> str:
    """Return the report as indented JSON."""
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"


# Characters of a file's path that the HTML and PDF report show. Line
# breaking of one unbroken path costs WeasyPrint time that grows faster
# than its length: archive member paths of 5,000 characters took minutes.
# The JSON report keeps the whole path.
MAX_SHOWN_PATH = 300


def shorten_path(path: str, limit: int = MAX_SHOWN_PATH) -> str:
    """Return ``path``, with its middle cut to an ellipsis past ``limit`` characters."""
    if len(path) <= limit:
        return path
    head = (limit - 1) // 2
    tail = limit - 1 - head
    return f"{path[:head]}…{path[len(path) - tail :]}"


def to_html(report: VerificationReport) -> str:
    """Return the report as a standalone HTML page."""
    environment = Environment(
        loader=PackageLoader("scut.verification", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    environment.filters["shorten"] = shorten_path
    template = environment.get_template("report.html.j2")
    return template.render(
        r=report, verdict_text=VERDICT_TEXT, flag=flag_text, legend=LEGEND
    )


def write_pdf(report: VerificationReport, path: Path) -> None:
    """Write the report as a PDF file at ``path``."""
    # Imported here: WeasyPrint loads Pango when imported, which only the
    # PDF needs.
    from weasyprint import HTML

    quiet = logging.getLogger("weasyprint")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        HTML(string=to_html(report)).write_pdf(str(path))
    finally:
        quiet.setLevel(level)


def print_report(console: Console, report: VerificationReport) -> None:
    """Print the report as tables."""
    head = Table(title=f"Verification result: submission {report.submission}")
    head.add_column("", style="bold")
    head.add_column("")
    head.add_row("Centre case", terminal_text(report.case))
    head.add_row("Unit", terminal_text(report.unit))
    if report.criminal_case_number:
        head.add_row("Criminal case number", terminal_text(report.criminal_case_number))
    head.add_row("Exhibits", terminal_text(", ".join(report.exhibits)))
    head.add_row("Files", str(report.files))
    for verdict, count in report.by_verdict.items():
        head.add_row(VERDICT_TEXT.get(verdict, verdict), str(count))
    head.add_row("Victims identified (files)", str(report.victim_identified_files))
    head.add_row("Offenders identified (files)", str(report.offender_identified_files))
    if report.alert_files:
        head.add_row("On an alert list (files)", str(report.alert_files))
    if report.errors:
        head.add_row("Could not be read (files)", str(report.errors))
    console.print(head)
    if report.by_category:
        table = Table(title="Known material by category")
        table.add_column("category")
        table.add_column("files", justify="right")
        for category, count in report.by_category.items():
            table.add_row(terminal_text(category), str(count))
        console.print(table)
    if report.series:
        table = Table(title="Series")
        for column in ("series", "files", "victim identified", "offender identified"):
            table.add_column(column)
        for series in report.series:
            table.add_row(
                terminal_text(series.name),
                str(series.files),
                flag_text(series.victim_identified),
                flag_text(series.offender_identified),
            )
        console.print(table)
    if report.contact_cases:
        table = Table(title="Centre cases to contact")
        table.add_column("case")
        table.add_column("files", justify="right")
        for case, count in report.contact_cases.items():
            table.add_row(terminal_text(case), str(count))
        console.print(table)
    _print_lines(console, report)


def _print_lines(console: Console, report: VerificationReport) -> None:
    matched = [line for line in report.lines if line.verdict in ("known", "near")]
    if not matched:
        return
    shown = matched[:MAX_TERMINAL_LINES]
    title = f"Known and near files ({len(shown)} of {len(matched)} shown"
    if len(shown) < len(matched):
        title += "; --json or --pdf lists all"
    table = Table(title=title + ")")
    for column in (
        "path",
        "verdict",
        "match",
        "source",
        "category",
        "victim id.",
        "offender id.",
    ):
        table.add_column(column, overflow="fold")
    for line in shown:
        match = f"{line.how} ({line.distance})" if line.how else ""
        verdict = f"{line.verdict}, alert" if line.alert else line.verdict
        table.add_row(
            terminal_text(f"{line.exhibit}/{line.path}"),
            verdict,
            match,
            terminal_text(line.source),
            # The code alone; the category table above names it.
            terminal_text((line.category or "").split(":")[0]),
            flag_text(line.victim_identified),
            flag_text(line.offender_identified),
        )
    console.print(table)
    console.print(Text(LEGEND, style="dim"))
