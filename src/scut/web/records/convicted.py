"""Convicted-offender lists: upload and import, the list of imports, the review queue.

Every page here reads or changes personal data, so it needs the
session's justification. The import runs in the request, as
``scut convicted import`` runs it, in one transaction: a list that cannot
be read stores nothing.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ByteSize
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scut.convicted.importer import (
    ImportNotFound,
    ImportReport,
    ReviewError,
    decide_review,
    import_convicted,
    import_history,
    import_report,
    open_reviews,
)
from scut.convicted.reader import ConvictedFileError
from scut.security.caller import Caller
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.records.common import RecordId, not_found, render, see_other
from scut.web.records.fields import FieldError
from scut.web.records.justification import justified
from scut.web.records.labels import IMPORT_COUNTS
from scut.web.records.uploads import Upload, UploadRejected, receive_file

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

MIB = 1024 * 1024
# Imports listed on the imports page, newest first.
LISTED_IMPORTS = 50
# Rejected rows shown per page of an import's report.
REJECTED_PER_PAGE = 200
# Review items shown; the service returns the best first per conviction.
REVIEW_ITEMS = 200
UPLOAD_FOLDER = "convicted-uploads"
MAX_REGISTRY = 200

UPLOAD_ERRORS = {
    "too-large": N_("The file is larger than %(maximum)s MiB, the upload limit."),
    "missing": N_("Choose a CSV or XLSX file to upload."),
    "malformed": N_("The upload did not arrive as a form with a file. Try again."),
}
UNREADABLE = N_(
    "The file could not be read as a list of convicted offenders. Nothing was imported."
)
REVIEW_FAILED = N_("The decision was not recorded.")


class ConvictedUploadSettings(BaseSettings):
    """The upload limit of the import page, read from ``SCUT_WEB_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="SCUT_WEB_", extra="ignore")

    # Largest list the import page accepts, in bytes or with a unit ("64MiB").
    # A list of 100,000 rows in CSV takes about 20 MiB.
    convicted_upload_max_bytes: ByteSize = ByteSize(64 * MIB)


@router.get("/convicted", response_model=None)
def imports_page(request: Request, caller: PageCaller) -> Response:
    """Show the upload form and the latest imports."""
    allowed = justified(request, caller, "convicted.read")
    if isinstance(allowed, Response):
        return allowed
    return _imports_page(request, allowed)


def _imports_page(
    request: Request,
    caller: Caller,
    *,
    error: FieldError | None = None,
    registry: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = context_of(request)
    with context.database.session() as session, session.begin():
        batches = import_history(session, caller=caller, limit=LISTED_IMPORTS)
        imports = [
            {
                "id": batch.id,
                "file": batch.file_name,
                "at": batch.started_at,
                "by": batch.actor,
                "counts": dict(batch.counts or {}),
            }
            for batch in batches
        ]
    limit = ConvictedUploadSettings().convicted_upload_max_bytes
    return render(
        request,
        "records/convicted.html",
        status_code=status_code,
        imports=imports,
        error=error,
        registry=registry,
        count_labels=IMPORT_COUNTS,
        maximum_mib=round(limit / MIB, 1),
    )


@router.post("/convicted/imports", response_model=None)
async def upload_list(request: Request, caller: PageCaller) -> Response:
    """Receive a list, import it and open its report.

    The form has the fields ``file`` and ``registry`` (the source registry
    for rows whose file names none).
    """
    allowed = justified(request, caller, "convicted.import")
    if isinstance(allowed, Response):
        return allowed
    context = context_of(request)
    limit = int(ConvictedUploadSettings().convicted_upload_max_bytes)
    try:
        upload = await receive_file(
            request, context.settings.data_dir / UPLOAD_FOLDER, limit
        )
    except UploadRejected as rejected:
        log.info("upload by %s rejected: %s", caller.name, rejected)
        values = {"maximum": f"{limit / MIB:g}"}
        error = FieldError(UPLOAD_ERRORS[rejected.reason], values, str(rejected))
        status_code = 413 if rejected.reason == "too-large" else 400
        return await run_in_threadpool(
            _imports_page, request, allowed, error=error, status_code=status_code
        )
    registry = upload.fields.get("registry", "").strip()[:MAX_REGISTRY]
    try:
        report = await run_in_threadpool(_import, request, upload, registry, allowed)
    except ConvictedFileError as error:
        log.info("list %s of %s not imported: %s", upload.file_name, caller.name, error)
        # The message names the private copy, so name the uploaded file instead.
        detail = str(error).replace(str(upload.path), upload.file_name)
        failed = FieldError(UNREADABLE, detail=detail)
        return await run_in_threadpool(
            _imports_page,
            request,
            allowed,
            error=failed,
            registry=registry,
            status_code=400,
        )
    finally:
        upload.remove()
    return see_other(f"/convicted/imports/{report.import_id}", request)


def _import(
    request: Request, upload: Upload, registry: str, caller: Caller
) -> ImportReport:
    # NOTE: the import runs inside the request. A list of 100,000 rows took
    # about 10 minutes from the command line, which is longer than a proxy
    # in front of the server may wait, so such lists need a background job.
    context = context_of(request)
    with context.database.session() as session, session.begin():
        return import_convicted(
            session,
            upload.path,
            caller=caller,
            registry=registry or None,
            accept=context.settings.linkage_accept,
            review=context.settings.linkage_review,
        )


@router.get("/convicted/imports/{import_id:int}", response_model=None)
def report_page(
    request: Request,
    caller: PageCaller,
    import_id: RecordId,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Show an import's counts and its rejected rows with row, field and reason."""
    allowed = justified(request, caller, "convicted.read")
    if isinstance(allowed, Response):
        return allowed
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            report = import_report(session, import_id, caller=allowed)
    except ImportNotFound:
        raise not_found() from None
    pages = max(1, -(-len(report.rejected) // REJECTED_PER_PAGE))
    page = min(page, pages)
    start = (page - 1) * REJECTED_PER_PAGE
    return render(
        request,
        "records/convicted_report.html",
        report=report,
        rejected=report.rejected[start : start + REJECTED_PER_PAGE],
        first_row=start,
        page=page,
        pages=pages,
        count_labels=IMPORT_COUNTS,
    )


@router.get("/convicted/review", response_model=None)
def review_page(
    request: Request,
    caller: PageCaller,
    linked: Annotated[int | None, Query(ge=1)] = None,
    rejected: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Show the pairs of a registry row and a recorded person waiting for a decision."""
    allowed = justified(request, caller, "convicted.read")
    if isinstance(allowed, Response):
        return allowed
    return _review_page(request, allowed, linked=linked, rejected=rejected)


def _review_page(
    request: Request,
    caller: Caller,
    *,
    linked: int | None = None,
    rejected: int | None = None,
    error: FieldError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = context_of(request)
    with context.database.session() as session, session.begin():
        items = open_reviews(session, caller=caller, limit=REVIEW_ITEMS)
    return render(
        request,
        "records/convicted_review.html",
        status_code=status_code,
        groups=_by_conviction(items),
        items=len(items),
        linked=linked,
        rejected=rejected,
        error=error,
    )


def _by_conviction(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group the review items of each conviction, keeping their order."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(item["conviction"], []).append(item)
    return list(groups.values())


@router.post("/convicted/review/{review_id:int}", response_model=None)
def decide_page(
    request: Request,
    caller: PageCaller,
    review_id: RecordId,
    decision: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Accept or reject one pair of the queue, then show the queue again."""
    allowed = justified(request, caller, "convicted.review")
    if isinstance(allowed, Response):
        return allowed
    if decision not in ("accept", "reject"):
        error = FieldError(REVIEW_FAILED, detail=f"unknown decision {decision!r}")
        return _review_page(request, allowed, error=error, status_code=400)
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            conviction = decide_review(
                session, review_id, accept=decision == "accept", caller=allowed
            )
            person_id = conviction.person_id
    except ReviewError as failed:
        log.info("review decision by %s rejected: %s", caller.name, failed)
        error = FieldError(REVIEW_FAILED, detail=str(failed))
        return _review_page(request, allowed, error=error, status_code=400)
    if decision == "accept" and person_id is not None:
        return see_other(f"/convicted/review?linked={person_id}", request)
    return see_other(f"/convicted/review?rejected={review_id}", request)
