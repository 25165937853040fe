"""Pages of sending material: the list, the form, the upload and its progress."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import HTTPException, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scut.overview.service import MAX_RECENT, recent_submissions
from scut.security.access import CENTRE
from scut.security.caller import Caller
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.navigation import NavigationItem, add_link
from scut.web.rendering import render_page
from scut.web.submissions.forms import MAX_LENGTHS, OriginForm
from scut.web.submissions.jobs import (
    ANALYSING,
    FAILED,
    PREPARING,
    QUEUED,
    RECORDING,
    SUCCEEDED,
    JobView,
)
from scut.web.submissions.routing import router
from scut.web.submissions.sending import (
    Sending,
    check_may_send,
    fixed_unit,
    local_today,
    receive_submission,
    unit_choices,
)
from scut.web.submissions.state import area_state
from scut.web.submissions.uploads import (
    INCOMPLETE,
    MALFORMED,
    TOO_LARGE,
    TOO_MANY_FILES,
)

log = logging.getLogger(__name__)

add_link(
    NavigationItem(
        N_("Submissions"), "/submissions", operation="submissions.list", order=10
    )
)
add_link(
    NavigationItem(
        N_("Send material"), "/submissions/new", operation="ingest.run", order=11
    )
)

UPLOAD_ERRORS = {
    TOO_LARGE: N_(
        "The files are larger than the upload limit. Send them in several "
        "parts, or ask the centre to ingest them from the seized media."
    ),
    TOO_MANY_FILES: N_(
        "The upload has more files than the limit. Send them in several "
        "parts, or packed in an archive."
    ),
    MALFORMED: N_("The upload could not be read. Reload the page and try again."),
    INCOMPLETE: N_(
        "The upload was interrupted. Check the connection and send the files again."
    ),
}
STAGES = {
    QUEUED: N_("Waiting for the jobs before it"),
    PREPARING: N_("Preparing the exhibit"),
    ANALYSING: N_("Analysing and matching files"),
    RECORDING: N_("Recording the last results"),
    SUCCEEDED: N_("Finished"),
    FAILED: N_("Failed"),
}
JOB_ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/submissions", response_class=HTMLResponse)
def submission_list(request: Request, caller: PageCaller) -> HTMLResponse:
    """List the latest submissions the caller may see, with links to their results."""
    context = context_of(request)
    with context.database.session() as session, session.begin():
        lines = recent_submissions(session, MAX_RECENT, caller=caller)
    return render_page(
        request,
        "submissions/list.html",
        submissions=lines,
        centre=bool(caller.roles & CENTRE),
    )


@router.get("/submissions/new", response_class=HTMLResponse)
def submission_form(request: Request, caller: PageCaller) -> HTMLResponse:
    """Show the form that sends material with its origin."""
    check_may_send(caller)
    context = context_of(request)
    form = OriginForm({"unit": fixed_unit(caller) or ""})
    return _form_page(request, caller, form, unit_choices(context, caller))


@router.post("/submissions", response_model=None)
async def submit(request: Request, caller: PageCaller) -> Response:
    """Receive an upload from the form and queue its ingest.

    The form's script posts it with the X-CSRF-Token header, so the body
    streams to the job folder unparsed by the CSRF check. A valid upload
    is redirected to its progress page; otherwise the form comes back
    with its errors.
    """
    sending = await receive_submission(request, caller)
    if sending.job is not None:
        return RedirectResponse(f"/submissions/jobs/{sending.job.id}", status_code=303)
    status_code = 400
    upload_error = sending.upload_error
    if upload_error is not None and upload_error.reason in (
        TOO_LARGE,
        TOO_MANY_FILES,
    ):
        status_code = 413
    units = await run_in_threadpool(unit_choices, context_of(request), caller)
    return _form_page(request, caller, sending.form, units, sending, status_code)


def _form_page(
    request: Request,
    caller: Caller,
    form: OriginForm,
    units: list[str],
    sending: Sending | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    limits = area_state(request).uploads
    upload_error = sending.upload_error if sending else None
    return render_page(
        request,
        "submissions/form.html",
        status_code=status_code,
        form=form,
        units=units,
        fixed_unit=fixed_unit(caller),
        rejected=sending.rejected if sending else [],
        files_error=sending.files_error if sending else None,
        upload_error=UPLOAD_ERRORS.get(upload_error.reason) if upload_error else None,
        max_bytes=int(limits.max_bytes),
        max_megabytes=round(limits.max_bytes / 2**20),
        max_files=limits.max_files,
        max_lengths=MAX_LENGTHS,
        today=local_today(context_of(request)).isoformat(),
    )


@router.get("/submissions/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: JOB_ID, caller: PageCaller) -> HTMLResponse:
    """Show a job's progress, which the page polls until the job ends."""
    return render_page(
        request,
        "submissions/job.html",
        job=_job(request, job_id, caller),
        stages=STAGES,
    )


@router.get("/submissions/jobs/{job_id}/progress", response_class=HTMLResponse)
def job_progress(request: Request, job_id: JOB_ID, caller: PageCaller) -> HTMLResponse:
    """Return the progress fragment; once the job succeeded, HTMX opens the result."""
    job = _job(request, job_id, caller)
    response = render_page(
        request, "submissions/_progress.html", job=job, stages=STAGES
    )
    polled = request.headers.get("hx-request") == "true"
    if polled and job.status == SUCCEEDED and job.submission_id is not None:
        response.headers["HX-Redirect"] = result_path(job)
    return response


def result_path(job: JobView) -> str:
    """Return the path of the result page of a finished job's submission."""
    return f"/submissions/{job.submission_id}/result?job={job.id}"


def _job(request: Request, job_id: str, caller: Caller) -> JobView:
    job = area_state(request).runner.view(job_id, caller)
    if job is None:
        # Another user's job is reported as missing, so ids cannot be probed.
        raise HTTPException(404)
    return job
