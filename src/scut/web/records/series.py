"""Series pages: the list, one series with its media tiles, and the series forms.

A series is found by its number or its name, as the command line finds
it. The forms change a series through src/scut/series/service.py, whose
operations check the caller and write the audit events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.requests import Request

from scut.security.caller import Caller
from scut.series.service import (
    NOTE_KINDS,
    SeriesError,
    SeriesNotFound,
    add_note,
    create_series,
    describe_series,
    link_case,
    list_series,
    merge_series,
    rename_series,
    set_status,
    split_series,
)
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.records.common import (
    TILES_PER_PAGE,
    RecordId,
    moment,
    not_found,
    render,
    see_other,
)
from scut.web.records.fields import FieldError

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

MAX_NAME_FIELD = 1000
MAX_NOTE_FIELD = 20_000
# Media one split may move, as check boxes of one page can choose.
MAX_SPLIT_MEDIA = 10_000

NOT_ACCEPTED = N_("The change was not accepted.")
SERIES_NAME_RULES = N_(
    "A series name has 1 to 200 characters, not only digits, and no other "
    "series has it."
)

NameField = Annotated[str, Form(max_length=MAX_NAME_FIELD)]
# A change of one series, run inside the form's transaction.
Change = Callable[[Session, Caller], Any]


@router.get("/series", response_class=HTMLResponse)
def series_list(
    request: Request, caller: PageCaller, merged: bool = False
) -> HTMLResponse:
    """List the series with their status and counts, merged ones when asked."""
    return _list_page(request, caller, merged=merged)


def _list_page(
    request: Request,
    caller: Caller,
    *,
    merged: bool = False,
    error: FieldError | None = None,
    name: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = context_of(request)
    with context.database.session() as session, session.begin():
        summaries = list_series(session, caller=caller, include_merged=merged)
    return render(
        request,
        "records/series_list.html",
        status_code=status_code,
        series=summaries,
        merged=merged,
        error=error,
        name=name,
    )


@router.post("/series/new", response_model=None)
def create_series_page(
    request: Request, caller: PageCaller, name: NameField = ""
) -> Response:
    """Create an empty series and open it."""
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            series_id = create_series(session, name, caller=caller).id
    except SeriesError as error:
        log.info("new series by %s rejected: %s", caller.name, error)
        rejected = FieldError(SERIES_NAME_RULES, detail=str(error))
        return _list_page(request, caller, error=rejected, name=name, status_code=400)
    return see_other(f"/series/{series_id}", request)


@router.get("/series/{reference:path}", response_class=HTMLResponse)
def series_page(
    request: Request,
    caller: PageCaller,
    reference: str,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Show one series: media tiles, persons, cases, notes and history."""
    return _series_page(request, caller, reference, page=page)


def _series_page(
    request: Request,
    caller: Caller,
    reference: str,
    *,
    page: int = 1,
    form: str = "",
    errors: dict[str, FieldError] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            data = describe_series(session, reference, caller=caller)
    except SeriesNotFound:
        raise not_found() from None
    for event in data["history"]:
        event["at"] = moment(event["at"])
    media_ids: list[int] = data["media_ids"]
    pages = max(1, -(-len(media_ids) // TILES_PER_PAGE))
    page = min(page, pages)
    start = (page - 1) * TILES_PER_PAGE
    return render(
        request,
        "records/series.html",
        status_code=status_code,
        series=data,
        tiles=media_ids[start : start + TILES_PER_PAGE],
        page=page,
        pages=pages,
        note_kinds=NOTE_KINDS,
        failed_form=form,
        errors=errors or {},
        values=values or {},
    )


@router.post("/series/{series_id:int}/rename", response_model=None)
def rename_page(
    request: Request, caller: PageCaller, series_id: RecordId, name: NameField = ""
) -> Response:
    """Rename the series; its history keeps the old name."""

    def work(session: Session, allowed: Caller) -> None:
        rename_series(session, str(series_id), name, caller=allowed)

    return _change(request, caller, series_id, "rename", {"name": name}, work)


@router.post("/series/{series_id:int}/notes", response_model=None)
def note_page(
    request: Request,
    caller: PageCaller,
    series_id: RecordId,
    kind: Annotated[str, Form(max_length=20)] = "other",
    text: Annotated[str, Form(max_length=MAX_NOTE_FIELD)] = "",
) -> Response:
    """Record a clue seen in the series."""

    def work(session: Session, allowed: Caller) -> None:
        add_note(session, str(series_id), kind, text, caller=allowed)

    values = {"kind": kind, "text": text}
    return _change(request, caller, series_id, "note", values, work)


@router.post("/series/{series_id:int}/cases", response_model=None)
def case_page(
    request: Request, caller: PageCaller, series_id: RecordId, case: NameField = ""
) -> Response:
    """Link the series to one of the centre's cases by its reference."""

    def work(session: Session, allowed: Caller) -> None:
        link_case(session, str(series_id), case, caller=allowed)

    return _change(request, caller, series_id, "case", {"case": case}, work)


@router.post("/series/{series_id:int}/status", response_model=None)
def status_page(
    request: Request,
    caller: PageCaller,
    series_id: RecordId,
    victim_identified: Annotated[bool, Form()] = False,
    offender_identified: Annotated[bool, Form()] = False,
) -> Response:
    """Set whether the victims and the offenders of the series are identified."""

    def work(session: Session, allowed: Caller) -> None:
        set_status(
            session,
            str(series_id),
            caller=allowed,
            victim_identified=victim_identified,
            offender_identified=offender_identified,
        )

    return _change(request, caller, series_id, "status", {}, work)


@router.post("/series/{series_id:int}/merge", response_model=None)
def merge_page(
    request: Request, caller: PageCaller, series_id: RecordId, other: NameField = ""
) -> Response:
    """Merge another series, named or numbered, into this one."""

    def work(session: Session, allowed: Caller) -> None:
        merge_series(session, str(series_id), other, caller=allowed)

    return _change(request, caller, series_id, "merge", {"other": other}, work)


@router.post("/series/{series_id:int}/split", response_model=None)
def split_page(
    request: Request,
    caller: PageCaller,
    series_id: RecordId,
    name: NameField = "",
    media: Annotated[list[int] | None, Form(max_length=MAX_SPLIT_MEDIA)] = None,
) -> Response:
    """Move the chosen media into a new series, which keeps the links, and open it."""
    created: list[int] = []

    def work(session: Session, allowed: Caller) -> None:
        chosen = media or []
        new = split_series(session, str(series_id), chosen, name, caller=allowed)
        created.append(new.id)

    response = _change(request, caller, series_id, "split", {"name": name}, work)
    if created:
        return see_other(f"/series/{created[0]}", request)
    return response


def _change(
    request: Request,
    caller: Caller,
    series_id: int,
    form: str,
    values: dict[str, str],
    work: Change,
) -> Response:
    """Run one change of a series, then show it again.

    A rejected change shows the page with the service's reason next to
    the form named ``form``, and the values as typed. A series named in the
    form that does not exist is such a reason. When the series of the page
    does not exist, showing it again gives the not-found page.
    """
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            work(session, caller)
    except SeriesError as error:
        log.info(
            "change of series %d by %s rejected: %s", series_id, caller.name, error
        )
        errors = {"form": FieldError(NOT_ACCEPTED, detail=str(error))}
        return _series_page(
            request,
            caller,
            str(series_id),
            form=form,
            errors=errors,
            values=values,
            status_code=400,
        )
    return see_other(f"/series/{series_id}#{form}", request)
