"""Unit pages: the list of units, adding one, and changing a unit's kind and country."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import quote

import pycountry
from babel import Locale
from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.requests import Request

from scut.cases.service import UNIT_KINDS, RecordError, list_units, save_unit
from scut.security.caller import Caller
from scut.web.admin.forms import MAX_NAME, FieldError, FieldErrors
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.rendering import language_of, render_page

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

ADD = "add"
KIND_LABELS = {
    "police": N_("Police"),
    "border-police": N_("Border police"),
    "customs": N_("Customs"),
    "prosecution": N_("Prosecution"),
    "centre": N_("The centre"),
    "foreign-partner": N_("Foreign partner"),
}
UNIT_ERRORS = (
    ("unknown unit kind", "kind", N_("Choose one of the kinds offered.")),
    (
        "foreign partner",
        "kind",
        N_("A unit of another state is a foreign partner: choose that kind, or MD."),
    ),
    (
        "country",
        "country",
        N_("Give the state as its ISO 3166-1 code, such as MD, RO or UA."),
    ),
    ("unit name", "name", N_("A unit name has at most 200 printable characters.")),
)
NAME_TAKEN = N_("A unit with this name exists. Change it in the list.")


@router.get("/admin/units", response_class=HTMLResponse)
def units_page(request: Request, caller: PageCaller, saved: str = "") -> HTMLResponse:
    """List the units with a form to add one and a form per unit to change it."""
    return _page(request, caller, saved=saved[:MAX_NAME])


@router.post("/admin/units", response_model=None)
def save(
    request: Request,
    caller: PageCaller,
    name: Annotated[str, Form(max_length=MAX_NAME * 2)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    country: Annotated[str, Form(max_length=40)] = "",
    mode: Annotated[str, Form(max_length=10)] = ADD,
) -> Response:
    """Add a unit, or change the kind and state of the unit named in the form.

    The add form rejects a name that exists, so that adding never changes
    another unit by accident.
    """
    name = name.strip()
    values = {"name": name, "kind": kind, "country": country.strip(), "mode": mode}
    context = context_of(request)
    if not name:
        errors = {"name": FieldError(N_("Give the unit a name."))}
        return _page(request, caller, errors, values, status_code=400)
    try:
        with context.database.session() as session, session.begin():
            name_taken = mode == ADD and _exists(session, name, caller)
            if not name_taken:
                save_unit(session, name, kind, country.strip(), caller=caller)
    except RecordError as error:
        log.info("unit %r not saved by %s: %s", name, caller.user, error)
        return _page(request, caller, _unit_errors(error), values, status_code=400)
    if name_taken:
        errors = {"name": FieldError(NAME_TAKEN)}
        return _page(request, caller, errors, values, status_code=400)
    return RedirectResponse(f"/admin/units?saved={quote(name, safe='')}", 303)


def _exists(session: Session, name: str, caller: Caller) -> bool:
    return any(unit["name"] == name for unit in list_units(session, caller=caller))


def _unit_errors(error: RecordError) -> FieldErrors:
    message = str(error)
    for fragment, field, explanation in UNIT_ERRORS:
        if fragment in message:
            return {field: FieldError(explanation, message)}
    return {"name": FieldError(N_("The unit could not be saved."), message)}


def country_names(language: str) -> list[tuple[str, str]]:
    """Return (ISO 3166-1 alpha-2 code, name in ``language``) of each state, by name."""
    territories = Locale.parse(language).territories
    codes = (country.alpha_2 for country in pycountry.countries)
    named = [(code, territories.get(code, code)) for code in codes]
    return sorted(named, key=lambda pair: pair[1].casefold())


def _page(
    request: Request,
    caller: Caller,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    *,
    status_code: int = 200,
    saved: str = "",
) -> HTMLResponse:
    context = context_of(request)
    with context.database.session() as session, session.begin():
        units = list_units(session, caller=caller)
    countries = country_names(language_of(request))
    return render_page(
        request,
        "admin/units.html",
        status_code=status_code,
        units=units,
        kinds=UNIT_KINDS,
        kind_labels=KIND_LABELS,
        countries=countries,
        country_name=dict(countries),
        errors=errors or {},
        values=values or {"kind": "police", "country": "MD", "mode": ADD},
        saved=saved,
    )
