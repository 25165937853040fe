"""The JSON API of sending material: upload, job progress, verification result."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Path, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scut.verification.report import VerificationReport
from scut.web.callers import ApiCaller
from scut.web.submissions.forms import MAX_LENGTHS, ORIGIN_FIELDS, REQUIRED
from scut.web.submissions.jobs import JobView
from scut.web.submissions.pages import JOB_ID
from scut.web.submissions.results import MAX_ID, read_report
from scut.web.submissions.routing import api_router
from scut.web.submissions.sending import Sending, receive_submission
from scut.web.submissions.state import area_state
from scut.web.submissions.uploads import FILES_FIELD, TOO_LARGE, TOO_MANY_FILES


class Problem(BaseModel):
    """An error response with the reason the request failed."""

    detail: str


class RejectedFileOut(BaseModel):
    """A file of an upload that was not kept, named as it was sent."""

    name: str
    reason: str


class FileErrorOut(BaseModel):
    """A file that failed in the ingest: its path in the exhibit, stage and reason."""

    path: str
    stage: str
    reason: str


class UploadRejection(BaseModel):
    """An upload that was not queued, with the reasons. Nothing of it is kept."""

    detail: str
    fields: dict[str, str] = Field(
        default_factory=dict, description="Invalid origin fields and why."
    )
    rejected_files: list[RejectedFileOut] = Field(default_factory=list)


class JobOut(BaseModel):
    """An ingest job of an upload and its progress."""

    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    stage: str = Field(
        description="queued, preparing, analysing, recording, succeeded or failed."
    )
    case: str
    exhibit: str
    unit: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    files_received: int
    bytes_received: int
    rejected_files: list[RejectedFileOut] = Field(
        description="Files not kept because of their names; they were not ingested."
    )
    files_seen: int = Field(description="Files found, archive members included.")
    files_done: int
    files_failed: int
    jobs_ahead: int = Field(description="Jobs that run before this queued one.")
    submission_id: int | None = Field(
        description="The submission the files went into, once the job succeeded."
    )
    failure: str = Field(description="Why the job failed, empty otherwise.")
    file_errors: list[FileErrorOut] = Field(
        description="Files that failed in the ingest, the first 50 by path."
    )


def _upload_body() -> dict[str, Any]:
    """Describe the multipart body, which the handler parses as it streams in."""
    properties: dict[str, Any] = {
        name: {"type": "string", "maxLength": MAX_LENGTHS.get(name, 10)}
        for name in ORIGIN_FIELDS
    }
    properties["unit"]["description"] = (
        "The sending unit, for the centre's roles; a submitter's own unit is used."
    )
    properties["seizure_date"]["format"] = "date"
    properties[FILES_FIELD] = {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "description": "The files; each part's filename is its path in the exhibit.",
    }
    schema = {
        "type": "object",
        "required": [*REQUIRED, FILES_FIELD],
        "properties": properties,
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }


@api_router.post(
    "/submissions",
    status_code=202,
    response_model=JobOut,
    responses={
        400: {"model": UploadRejection},
        403: {"model": Problem},
        413: {"model": UploadRejection},
    },
    openapi_extra=_upload_body(),
)
async def send_submission(
    request: Request, caller: ApiCaller, response: Response
) -> JobOut | JSONResponse:
    """Upload files with their origin and queue their ingest; return the job.

    Follow the job at ``GET /api/jobs/{id}``. A submitter sends for their
    own unit only.
    """
    sending = await receive_submission(request, caller)
    if sending.job is None:
        return _rejection(sending)
    view = area_state(request).runner.view(sending.job.id, caller)
    if view is None:
        raise RuntimeError(f"the queued job {sending.job.id} is missing")
    response.headers["Location"] = f"/api/jobs/{view.id}"
    return job_out(view)


@api_router.get(
    "/jobs/{job_id}", responses={404: {"model": Problem}}, response_model=JobOut
)
def job_progress(request: Request, job_id: JOB_ID, caller: ApiCaller) -> JobOut:
    """Return the progress of an ingest job the caller sent."""
    view = area_state(request).runner.view(job_id, caller)
    if view is None:
        raise HTTPException(404, f"no ingest job {job_id} of yours on this server")
    return job_out(view)


@api_router.get(
    "/submissions/{submission_id}/result",
    responses={403: {"model": Problem}, 404: {"model": Problem}},
    response_model=VerificationReport,
)
async def submission_result(
    request: Request,
    submission_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    caller: ApiCaller,
) -> VerificationReport:
    """Return the verification result of a submission, as ``scut verify --json``."""
    return await run_in_threadpool(read_report, request, submission_id, caller)


def job_out(view: JobView) -> JobOut:
    """Return the API's form of a job."""
    return JobOut(
        id=view.id,
        status=view.status,  # type: ignore[arg-type]
        stage=view.stage,
        case=view.case,
        exhibit=view.exhibit,
        unit=view.unit,
        created_at=view.created_at,
        finished_at=view.finished_at,
        files_received=view.files_received,
        bytes_received=view.bytes_received,
        rejected_files=[_rejected(item.name, item.reason) for item in view.rejected],
        files_seen=view.seen,
        files_done=view.done,
        files_failed=view.errors,
        jobs_ahead=view.ahead,
        submission_id=view.submission_id,
        failure=view.failure,
        file_errors=[FileErrorOut(**error) for error in view.listed_errors],
    )


def _rejection(sending: Sending) -> JSONResponse:
    error = sending.upload_error
    status_code = 400
    if error is not None and error.reason in (TOO_LARGE, TOO_MANY_FILES):
        status_code = 413
    if error is not None:
        detail = str(error)
    elif not sending.form.valid:
        detail = "invalid origin fields: " + ", ".join(sorted(sending.form.errors))
    else:
        detail = sending.files_error or "no file to ingest"
    body = UploadRejection(
        detail=detail,
        fields=dict(sending.form.errors) if error is None else {},
        rejected_files=[_rejected(item.name, item.reason) for item in sending.rejected],
    )
    return JSONResponse(body.model_dump(), status_code=status_code)


def _rejected(name: str, reason: str) -> RejectedFileOut:
    return RejectedFileOut(name=name, reason=reason)
