"""The verification result of a submission: the page, the PDF and the JSON.

Each view reads the result through the declared verification service,
which admits a submitter to their own unit's submissions only and
records the read in the audit log. The page shows what ``scut verify`` and the PDF
show, in the chosen language, with the files in pages.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import threading
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import HTTPException, Path, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scut.hashsets.categories import PROJECTVIC, UK
from scut.security.caller import Caller
from scut.verification.render import to_json, write_pdf
from scut.verification.report import SubmissionNotFound, VerificationReport
from scut.verification.service import read_result
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.labels import category_label
from scut.web.rendering import render_page
from scut.web.submissions.jobs import JobRunner, JobView
from scut.web.submissions.routing import router
from scut.web.submissions.state import area_state

log = logging.getLogger(__name__)

FILES_PER_PAGE = 100
# Submission numbers are PostgreSQL integers; a larger number is no submission.
MAX_ID = 2**31 - 1
SubmissionId = Annotated[int, Path(ge=1, le=MAX_ID)]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
JobQuery = Annotated[str, Query(max_length=64)]

FLAGS = {True: N_("yes"), False: N_("no"), None: N_("unknown")}
LEGEND = N_(
    "Known: the same file is in a hash set of known material or was recorded "
    "in another case, or it is a copy of media that the centre's analysts "
    "have categorised or put in a series. Near match: a copy that looks the "
    "same (resized, cropped, turned, recompressed), found by its perceptual "
    "hash with the PDQ distance in bits, or by local features; check it by "
    "eye. New: nothing matched. Known good: a common file (operating system, "
    "software) set aside."
)
# The scheme names that reports write before a category code.
_SCHEMES = {"projectvic": PROJECTVIC, "uk": UK}


@router.get("/submissions/{submission_id:int}/result", response_class=HTMLResponse)
def result_page(
    request: Request,
    submission_id: SubmissionId,
    caller: PageCaller,
    page: PageNumber = 1,
    job: JobQuery = "",
) -> HTMLResponse:
    """Show the verification result; ``job`` adds what its upload rejected."""
    report = read_report(request, submission_id, caller)
    pages = max(1, -(-len(report.lines) // FILES_PER_PAGE))
    page = min(page, pages)
    start = (page - 1) * FILES_PER_PAGE
    return render_page(
        request,
        "submissions/result.html",
        report=report,
        received_at=_utc_time(report.received_at),
        generated_at=_utc_time(report.generated_at),
        seizure_date=dt.date.fromisoformat(report.seizure_date)
        if report.seizure_date
        else None,
        lines=report.lines[start : start + FILES_PER_PAGE],
        page=page,
        pages=pages,
        first_line=start + 1,
        job=_job_of(area_state(request).runner, job, caller, submission_id),
        flag=flag_label,
        report_category=report_category,
        legend=LEGEND,
    )


@router.get("/submissions/{submission_id:int}/result.pdf")
async def result_pdf(
    request: Request, submission_id: SubmissionId, caller: PageCaller
) -> Response:
    """Send the result as the PDF that ``scut verify --pdf`` writes, to download."""
    report = await run_in_threadpool(read_report, request, submission_id, caller)
    runner = area_state(request).runner
    if not _PDF_RENDERS.acquire(blocking=False):
        log.warning(
            "PDF of submission %d rejected for %s: another PDF is being rendered",
            submission_id,
            caller.user,
        )
        raise HTTPException(
            status_code=503,
            detail="another PDF is being rendered; try again in a minute",
            headers={"Retry-After": "60"},
        )
    try:
        data = await run_in_threadpool(_pdf_bytes, report, runner)
    finally:
        _PDF_RENDERS.release()
    return Response(
        data,
        media_type="application/pdf",
        headers=_attachment(f"submission-{submission_id}-result.pdf"),
    )


@router.get("/submissions/{submission_id:int}/result.json")
def result_json(
    request: Request, submission_id: SubmissionId, caller: PageCaller
) -> Response:
    """Send the result as the JSON that ``scut verify --json`` prints, to download."""
    report = read_report(request, submission_id, caller)
    return Response(
        to_json(report).encode("utf-8"),
        media_type="application/json",
        headers=_attachment(f"submission-{submission_id}-result.json"),
    )


def read_report(
    request: Request, submission_id: int, caller: Caller
) -> VerificationReport:
    """Read the result through the service; a missing number is HTTP 404.

    AccessDenied propagates, so that the error handler records it and
    shows the 403 page.
    """
    try:
        return read_result(context_of(request).database, submission_id, caller=caller)
    except SubmissionNotFound:
        raise HTTPException(404) from None


def flag_label(value: bool | None) -> str:
    """Return the message for an identification flag: yes, no or unknown."""
    return FLAGS[value]


def report_category(text: str) -> str:
    """Return the message naming a category as a report writes it.

    Reports write "projectvic 1: child abuse material"; the scheme and
    code find the label of the pages. Any other text is returned as it is.
    """
    scheme, _, code = text.split(":", 1)[0].partition(" ")
    known = _SCHEMES.get(scheme)
    label = category_label(known, code) if known else None
    return label or text


def _job_of(
    runner: JobRunner, job_id: str, caller: Caller, submission_id: int
) -> JobView | None:
    if not job_id:
        return None
    job = runner.view(job_id, caller)
    if job is None or job.submission_id != submission_id:
        return None
    return job


def _utc_time(text: str) -> dt.datetime:
    """Parse a time as the report writes it ("2026-03-07 10:15:00 UTC")."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC)


# PDF renders at once per server. A large report keeps a core busy for
# a minute or more, so more at once would starve the pages of CPU.
_PDF_RENDERS = threading.BoundedSemaphore(1)


def _pdf_bytes(report: VerificationReport, runner: JobRunner) -> bytes:
    # The PDF is written in a private folder of the runner, which removes
    # it at the next start if this process dies before the folder goes.
    with tempfile.TemporaryDirectory(
        dir=runner.root, prefix=f"{runner.instance}-report-"
    ) as folder:
        path = FilePath(folder) / "result.pdf"
        write_pdf(report, path)
        return path.read_bytes()


def _attachment(filename: str) -> dict[str, Any]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
