"""The smaller forms of the person page: names, addresses, identification, links.

Each form runs one change through the person services with the session's
justification, then shows the person again. A rejected change shows the
page with the error next to the field of its form.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.requests import Request

from scut.persons.dates import InvalidDate, parse_date
from scut.persons.service import (
    InvalidPersonField,
    PersonError,
    PersonNotFound,
    add_address,
    add_name,
    link_person,
    set_identification,
)
from scut.security.caller import Caller
from scut.series.service import SeriesError, find_series
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.records.common import RecordId, not_found, see_other
from scut.web.records.fields import FieldError, date_error, person_field_error
from scut.web.records.justification import justified
from scut.web.records.persons import (
    NameField,
    ShortField,
    TextField,
    log_rejected,
    person_page_with_errors,
)

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

NOT_ACCEPTED = N_("The change was not accepted.")


@router.post("/persons/{person_id:int}/names", response_model=None)
def add_name_page(
    request: Request,
    caller: PageCaller,
    person_id: RecordId,
    kind: ShortField = "alias",
    last_name: NameField = "",
    first_name: NameField = "",
    patronymic: NameField = "",
) -> Response:
    """Record an alias or another spelling of the person's name."""
    values = {
        "kind": kind,
        "last_name": last_name,
        "first_name": first_name,
        "patronymic": patronymic,
    }

    def work(session: Session, allowed: Caller) -> None:
        add_name(
            session,
            person_id,
            last_name,
            first_name,
            patronymic or None,
            kind=kind,
            caller=allowed,
        )

    return _change(request, caller, person_id, "name", values, work)


@router.post("/persons/{person_id:int}/addresses", response_model=None)
def add_address_page(
    request: Request,
    caller: PageCaller,
    person_id: RecordId,
    kind: ShortField = "residence",
    address: TextField = "",
    locality: NameField = "",
    country: ShortField = "MD",
) -> Response:
    """Record an address of the person."""
    values = {
        "kind": kind,
        "address": address,
        "locality": locality,
        "country": country,
    }

    def work(session: Session, allowed: Caller) -> None:
        add_address(
            session,
            person_id,
            address,
            caller=allowed,
            kind=kind,
            locality=locality or None,
            country=country or "MD",
        )

    return _change(request, caller, person_id, "address", values, work)


@router.post("/persons/{person_id:int}/identification", response_model=None)
def identification_page(
    request: Request,
    caller: PageCaller,
    person_id: RecordId,
    identified: ShortField = "",
    identified_on: ShortField = "",
    identified_by: NameField = "",
) -> Response:
    """Mark the person identified, with the date and the unit or state, or not."""
    values = {
        "identified": identified,
        "identified_on": identified_on,
        "identified_by": identified_by,
    }
    on: dt.date | None = None
    if identified == "yes" and identified_on.strip():
        try:
            on = parse_date(identified_on)
        except InvalidDate as error:
            return _failed(
                request,
                caller,
                person_id,
                "identification",
                {"identified_on": date_error(error)},
                values,
            )

    def work(session: Session, allowed: Caller) -> None:
        set_identification(
            session,
            person_id,
            identified=identified == "yes",
            caller=allowed,
            on=on,
            by=identified_by,
        )

    return _change(request, caller, person_id, "identification", values, work)


@router.post("/persons/{person_id:int}/links", response_model=None)
def link_page(
    request: Request,
    caller: PageCaller,
    person_id: RecordId,
    role: ShortField = "victim",
    series: NameField = "",
) -> Response:
    """Link the person to a series, named or numbered, with a role."""
    values = {"role": role, "series": series}

    def work(session: Session, allowed: Caller) -> None:
        series_id = find_series(session, series).id
        link_person(session, person_id, role, caller=allowed, series_id=series_id)

    return _change(request, caller, person_id, "link", values, work, "persons.link")


def _change(
    request: Request,
    caller: Caller,
    person_id: int,
    form: str,
    values: dict[str, str],
    work: Callable[[Session, Caller], None],
    operation: str = "persons.change",
) -> Response:
    """Run one change of a person's record, then show the person again.

    A rejected change shows the page with the error next to the field of
    the form named ``form``, and the values as typed.
    """
    allowed = justified(request, caller, operation)
    if isinstance(allowed, Response):
        return allowed
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            work(session, allowed)
    except PersonNotFound:
        raise not_found() from None
    except InvalidPersonField as error:
        log_rejected(allowed, person_id, error)
        errors = {error.field: person_field_error(error)}
        return _failed(request, allowed, person_id, form, errors, values)
    except (PersonError, SeriesError) as error:
        log.info(
            "change of person %d by %s rejected: %s", person_id, caller.name, error
        )
        errors = {"form": FieldError(NOT_ACCEPTED, detail=str(error))}
        return _failed(request, allowed, person_id, form, errors, values)
    return see_other(f"/persons/{person_id}#{form}", request)


def _failed(
    request: Request,
    caller: Caller,
    person_id: int,
    form: str,
    errors: dict[str, FieldError],
    values: dict[str, str],
) -> Response:
    allowed = justified(request, caller, "persons.read")
    if isinstance(allowed, Response):
        return allowed
    return person_page_with_errors(
        request,
        allowed,
        person_id,
        form=form,
        errors=errors,
        values=values,
        status_code=400,
    )
