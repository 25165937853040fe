"""The audit log page: filters, pages of events with all their fields, the chain check.

Reading the log is itself audited by scut.security.audit.search_events,
in the same transaction as the read. Auditors see no personal data. The
services mask the IDNPs they record, but a justification is typed freely,
so numbers shaped like an IDNP (13 digits starting with 0 or 2, standing
alone) are masked in the text of events before they are shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from starlette.requests import Request

from scut.persons.idnp import mask_idnp
from scut.security.audit import OUTCOMES, ChainReport, search_events, verify_log
from scut.security.caller import Caller
from scut.web.admin.forms import FieldError, FieldErrors, is_htmx
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.rendering import render_page

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 10_000
# A number that may be an IDNP: 13 digits, first 0 or 2, not inside a
# longer run of letters and digits (such as a hash).
_IDNP_SHAPED = re.compile(r"(?<![0-9A-Za-z])[02][0-9]{12}(?![0-9A-Za-z])")

OUTCOME_LABELS = {
    "succeeded": N_("Succeeded"),
    "denied": N_("Denied"),
    "failed": N_("Failed"),
}
CHAIN_REASONS = {
    "edited": N_("An event was changed after it was written."),
    "broken link": N_("An event does not link to the one before it."),
    "gap": N_("Events are missing: their numbers jump."),
    "bad anchor": N_("A signed anchor of the log is damaged or not signed by its key."),
    "anchor mismatch": N_("The log differs from a signed anchor: it was rewritten."),
    "truncated": N_("Events at the end of the log were removed."),
}
BAD_DATE = N_("Give a date as the calendar offers it (year-month-day).")
DATES_REVERSED = N_("The end date is before the start date.")


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters of the audit page, as typed."""

    user: str = ""
    action: str = ""
    object_id: str = ""
    since: str = ""
    until: str = ""
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class EventLine:
    """An audit event as the page shows it, with IDNP-shaped numbers masked."""

    id: int
    at: dt.datetime
    user: str
    unit: str
    role: str
    action: str
    object_type: str
    object_ids: list[str]
    outcome: str
    source: str
    justification: str
    detail: list[tuple[str, str]]
    previous_hash: str
    hash: str


ShortText = Annotated[str, Query(max_length=200)]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    caller: PageCaller,
    user: ShortText = "",
    action: ShortText = "",
    object_id: ShortText = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    outcome: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    """Show one page of the events that match the filters, newest first."""
    filters = Filters(
        user.strip(),
        action.strip(),
        object_id.strip(),
        since,
        until,
        outcome if outcome in OUTCOMES else "",
    )
    return _page(request, caller, filters, page)


@router.post("/audit/verify", response_class=HTMLResponse)
def check_chain(request: Request, caller: PageCaller) -> HTMLResponse:
    """Check the hash chain and its signed anchors, and show the result.

    The check is recorded as audit.verify by the service, with its outcome.
    """
    context = context_of(request)
    report = verify_log(context.database, caller, context.settings)
    if is_htmx(request):
        return render_page(
            request, "admin/_chain_check.html", report=report, reasons=CHAIN_REASONS
        )
    return _page(request, caller, Filters(), 1, report=report)


def _page(
    request: Request,
    caller: Caller,
    filters: Filters,
    page: int,
    *,
    report: ChainReport | None = None,
) -> HTMLResponse:
    zone = ZoneInfo(context_of(request).web.time_zone)
    errors, since, until = _date_range(filters, zone)
    events: list[EventLine] = []
    more = False
    if not errors:
        found = search_events(
            context_of(request).database,
            caller,
            user=filters.user or None,
            action=f"{filters.action}*" if filters.action else None,
            object_id=filters.object_id or None,
            since=since,
            until=until,
            outcome=filters.outcome or None,
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
        )
        more = len(found) > PAGE_SIZE
        events = [event_line(event) for event in found[:PAGE_SIZE]]
    return render_page(
        request,
        "admin/audit.html",
        status_code=400 if errors else 200,
        filters=filters,
        errors=errors,
        events=events,
        page=page,
        more=more,
        query=_query(filters),
        outcomes=OUTCOMES,
        outcome_labels=OUTCOME_LABELS,
        report=report,
        reasons=CHAIN_REASONS,
    )


def _date_range(
    filters: Filters, zone: ZoneInfo
) -> tuple[FieldErrors, dt.datetime | None, dt.datetime | None]:
    """Return the errors of the date fields and the range they give, in UTC.

    Dates are days in the pages' time zone; ``until`` includes its whole day.
    """
    errors: FieldErrors = {}
    since = _day_start(filters.since, zone)
    if filters.since and since is None:
        errors["since"] = FieldError(BAD_DATE)
    end_day = _day_start(filters.until, zone)
    if filters.until and end_day is None:
        errors["until"] = FieldError(BAD_DATE)
    until = end_day + dt.timedelta(days=1) if end_day is not None else None
    if since is not None and end_day is not None and end_day < since:
        errors["until"] = FieldError(DATES_REVERSED)
    return errors, since, until


def _day_start(text: str, zone: ZoneInfo) -> dt.datetime | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    local = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return local.astimezone(dt.UTC)


def _query(filters: Filters) -> dict[str, str]:
    """Return the filters that are set, for the links to other pages."""
    return {key: value for key, value in dataclasses.asdict(filters).items() if value}


def event_line(event: dict[str, Any]) -> EventLine:
    """Return an event of search_events as the page shows it."""
    detail = event.get("detail") or {}
    return EventLine(
        id=int(event["id"]),
        at=dt.datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00")),
        user=event["user"],
        unit=event["unit"],
        role=event["role"],
        action=event["action"],
        object_type=event["object_type"],
        object_ids=[mask_idnp_shaped(str(item)) for item in event["object_ids"]],
        outcome=event["outcome"],
        source=event["source"],
        justification=mask_idnp_shaped(event["justification"]),
        detail=_detail_lines(masked(detail)),
        previous_hash=event["previous_hash"],
        hash=event["hash"],
    )


def _detail_lines(detail: Any) -> list[tuple[str, str]]:
    """Return the detail's keys with their values as JSON text."""
    if not isinstance(detail, dict):
        return [("", json.dumps(detail, ensure_ascii=False))]
    return [
        (str(key), mask_idnp_shaped(json.dumps(value, ensure_ascii=False)))
        for key, value in sorted(detail.items())
    ]


def masked(value: Any) -> Any:
    """Return ``value`` with IDNP-shaped numbers masked in every string it holds."""
    if isinstance(value, str):
        return mask_idnp_shaped(value)
    if isinstance(value, int) and _IDNP_SHAPED.fullmatch(str(value)):
        return mask_idnp(str(value))
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def mask_idnp_shaped(text: str) -> str:
    """Mask every number in ``text`` that has the shape of an IDNP."""
    return _IDNP_SHAPED.sub(lambda found: mask_idnp(found.group()), text)
