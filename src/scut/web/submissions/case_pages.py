"""Pages of the centre's cases and of one submission's files, for analysts.

Each page reads through the declared case services, which admit the
centre's analysts and supervisors only; a submitter gets the 403 page.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import Form, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request

from scut.cases.service import (
    CASE_STATUSES,
    RecordError,
    describe_case,
    describe_submission,
    list_cases,
    set_case_status,
)
from scut.matching.verdicts import VERDICTS
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.navigation import NavigationItem, add_link
from scut.web.rendering import render_page
from scut.web.submissions.results import MAX_ID, PageNumber
from scut.web.submissions.routing import router

add_link(NavigationItem(N_("Cases"), "/cases", operation="cases.list", order=12))

FILES_PER_PAGE = 100
STATUS_LABELS = {"open": N_("Open"), "closed": N_("Closed")}
KIND_LABELS = {
    "image": N_("Picture"),
    "video": N_("Video"),
    "archive": N_("Archive"),
    "other": N_("Other file"),
}
Reference = Annotated[str, Path(min_length=1, max_length=100)]
SubmissionNumber = Annotated[int, Path(ge=1, le=MAX_ID)]
VerdictFilter = Annotated[str, Query(max_length=20)]


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, caller: PageCaller) -> HTMLResponse:
    """List the centre's cases with their status and number of submissions."""
    with context_of(request).database.session() as session, session.begin():
        cases = list_cases(session, caller=caller)
    return render_page(
        request,
        "submissions/cases.html",
        cases=cases,
        status_labels=STATUS_LABELS,
        case_path=case_path,
    )


@router.get("/cases/{reference:path}", response_class=HTMLResponse)
def case_page(
    request: Request, reference: Reference, caller: PageCaller
) -> HTMLResponse:
    """Show a case: its status, series, submissions and their exhibits."""
    try:
        with context_of(request).database.session() as session, session.begin():
            case = describe_case(session, reference, caller=caller)
    except RecordError:
        raise HTTPException(404) from None
    for submission in case["submissions"]:
        # The service returns ISO texts; the pages format dates by language.
        seizure = submission["seizure_date"]
        submission["seizure_date"] = dt.date.fromisoformat(seizure) if seizure else None
        submission["received_at"] = dt.datetime.fromisoformat(submission["received_at"])
    return render_page(
        request,
        "submissions/case.html",
        case=case,
        status_labels=STATUS_LABELS,
        statuses=CASE_STATUSES,
    )


@router.post("/cases/status")
def change_case_status(
    request: Request,
    caller: PageCaller,
    reference: Annotated[str, Form(min_length=1, max_length=100)],
    status: Annotated[str, Form(max_length=20)],
) -> RedirectResponse:
    """Open or close a case, then show it again."""
    if status not in CASE_STATUSES:
        raise HTTPException(400)
    try:
        with context_of(request).database.session() as session, session.begin():
            set_case_status(session, reference, status, caller=caller)
    except RecordError:
        raise HTTPException(404) from None
    return RedirectResponse(case_path(reference), status_code=303)


@router.get("/submissions/{submission_id:int}", response_class=HTMLResponse)
def submission_page(
    request: Request,
    submission_id: SubmissionNumber,
    caller: PageCaller,
    page: PageNumber = 1,
    verdict: VerdictFilter = "",
) -> HTMLResponse:
    """Show a submission's origin, exhibits, errors, and its files in pages."""
    chosen = verdict if verdict in VERDICTS else None
    offset = (page - 1) * FILES_PER_PAGE
    try:
        with context_of(request).database.session() as session, session.begin():
            submission = describe_submission(
                session, submission_id, offset, FILES_PER_PAGE, chosen, caller=caller
            )
    except RecordError:
        raise HTTPException(404) from None
    pages = max(1, -(-submission["files"] // FILES_PER_PAGE))
    return render_page(
        request,
        "submissions/submission.html",
        submission=submission,
        page=page,
        pages=pages,
        verdict=chosen or "",
        verdicts=VERDICTS,
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        case_path=case_path,
    )


def case_path(reference: str) -> str:
    """Return the path of a case's page, its reference percent-encoded."""
    return "/cases/" + quote(reference, safe="")
