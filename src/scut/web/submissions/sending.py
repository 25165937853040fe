"""Sending material: the caller's check, the upload, the origin, and a queued job.

The form and ``POST /api/submissions`` both end here. The upload is
written to a new job folder. When the origin is invalid, the upload is
rejected or no file is left, the folder is removed at once and nothing
is queued.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scut.cases.service import list_units
from scut.security.access import CENTRE, Target, check
from scut.security.caller import Caller
from scut.web.context import WebContext, context_of
from scut.web.submissions.folders import remove_folder
from scut.web.submissions.forms import (
    NO_FILE_ACCEPTED,
    NO_FILES,
    OriginForm,
    read_origin,
)
from scut.web.submissions.jobs import FILES_FOLDER, Job
from scut.web.submissions.state import area_state
from scut.web.submissions.uploads import RejectedFile, UploadRejected, receive_upload


@dataclass(slots=True)
class Sending:
    """The outcome of one upload: a queued job, or why none was queued."""

    form: OriginForm
    job: Job | None = None
    rejected: list[RejectedFile] = field(default_factory=list)
    # The error that rejected the upload as a whole.
    upload_error: UploadRejected | None = None
    # A catalog message about the files, when none could be queued.
    files_error: str | None = None


def check_may_send(caller: Caller) -> None:
    """Raise AccessDenied unless the caller may send material.

    A submitter sends for their own unit only, so one without a unit is
    denied. The ingest service checks the caller again with the unit and
    exhibit of the upload.
    """
    check(caller, "ingest.run", Target("unit", unit_id=caller.unit_id))


def fixed_unit(caller: Caller) -> str | None:
    """Return the unit a caller sends for, or None when they choose one."""
    return None if caller.roles & CENTRE else caller.unit


def unit_choices(context: WebContext, caller: Caller) -> list[str]:
    """Return the names of the units the caller may choose from."""
    if fixed_unit(caller) is not None:
        return []
    with context.database.session() as session, session.begin():
        return [unit["name"] for unit in list_units(session, caller=caller)]


def local_today(context: WebContext) -> dt.date:
    """Return today's date in the time zone of the pages."""
    return context.clock.now().astimezone(ZoneInfo(context.web.time_zone)).date()


async def receive_submission(request: Request, caller: Caller) -> Sending:
    """Receive the request's upload and queue its ingest job when it is valid.

    Raises AccessDenied when the caller may not send material.
    """
    check_may_send(caller)
    context = context_of(request)
    state = area_state(request)
    units = await run_in_threadpool(unit_choices, context, caller)
    unit = fixed_unit(caller)
    today = local_today(context)

    def origin_of(fields: dict[str, str]) -> OriginForm:
        return read_origin(fields, fixed_unit=unit, units=units, today=today)

    folder = await run_in_threadpool(state.runner.new_folder)
    queued = False
    try:
        try:
            upload = await receive_upload(
                request,
                folder / FILES_FOLDER,
                state.uploads,
                lambda fields: origin_of(dict(fields)).valid,
            )
        except UploadRejected as error:
            return Sending(origin_of(error.fields), upload_error=error)
        sending = Sending(origin_of(upload.fields), rejected=upload.rejected)
        if not sending.form.valid:
            return sending
        if not upload.files:
            sending.files_error = NO_FILE_ACCEPTED if upload.rejected else NO_FILES
            return sending
        sending.job = Job(
            id=state.runner.job_id_of(folder),
            folder=folder,
            origin=sending.form.origin(),
            caller=caller,
            created_at=context.clock.now(),
            files_received=len(upload.files),
            bytes_received=upload.size,
            rejected=upload.rejected,
        )
        state.runner.submit(sending.job)
        queued = True
        return sending
    finally:
        if not queued:
            await run_in_threadpool(remove_folder, folder)
