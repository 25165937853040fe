"""Person pages: one person, and the forms that record and change a person.

Every page here shows or changes personal data. So each page first gets
the session's justification (scut.web.records.justification) and calls
the person services with it, and each service call is audited. The
smaller forms of the person page are in ``person_changes``, the search
in ``search``.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.requests import Request

from scut.persons.countries import InvalidCountry, country_code
from scut.persons.dates import InvalidDate, parse_partial_date
from scut.persons.idnp import InvalidIdnp, validate_idnp
from scut.persons.service import (
    ADDRESS_KINDS,
    CATEGORIES,
    GENDERS,
    ROLES,
    InvalidPersonField,
    PersonInput,
    PersonNotFound,
    add_categories,
    check_categories,
    create_person,
    describe_person,
    person_categories,
    person_history,
    remove_category,
    update_person,
)
from scut.security.caller import Caller
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.records.common import RecordId, moment, not_found, render, see_other
from scut.web.records.fields import (
    FIELD_ERRORS,
    FieldError,
    date_error,
    idnp_error,
    person_field_error,
)
from scut.web.records.justification import justified

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

# Bounds of the form fields, well above what the services accept, so
# that the services' own checks explain a value that is too long.
MAX_NAME_FIELD = 1000
MAX_TEXT_FIELD = 20_000
MAX_SHORT_FIELD = 100

NameField = Annotated[str, Form(max_length=MAX_NAME_FIELD)]
TextField = Annotated[str, Form(max_length=MAX_TEXT_FIELD)]
ShortField = Annotated[str, Form(max_length=MAX_SHORT_FIELD)]
CategoriesField = Annotated[list[str] | None, Form(max_length=20)]


@dataclass(slots=True)
class PersonForm:
    """The values of the person form as typed, to show them again with errors."""

    last_name: str = ""
    first_name: str = ""
    patronymic: str = ""
    categories: list[str] = field(default_factory=list)
    gender: str = "unknown"
    nationality: str = ""
    birth_date: str = ""
    birth_place: str = ""
    idnp: str = ""
    notes: str = ""

    def changes(self) -> dict[str, Any]:
        """Return the fields as update_person takes them."""
        values = dataclasses.asdict(self)
        del values["categories"]
        return values


def posted_person_form(
    last_name: NameField = "",
    first_name: NameField = "",
    patronymic: NameField = "",
    categories: CategoriesField = None,
    gender: ShortField = "unknown",
    nationality: ShortField = "",
    birth_date: ShortField = "",
    birth_place: NameField = "",
    idnp: ShortField = "",
    notes: TextField = "",
) -> PersonForm:
    """Return the person form's fields as posted, for the create and edit pages."""
    return PersonForm(
        last_name,
        first_name,
        patronymic,
        categories or [],
        gender,
        nationality,
        birth_date,
        birth_place,
        idnp,
        notes,
    )


PostedPersonForm = Annotated[PersonForm, Depends(posted_person_form)]


# -- a new person --------------------------------------------------------------


@router.get("/persons/new", response_model=None)
def new_person_form(request: Request, caller: PageCaller) -> Response:
    """Show the empty form for a new person."""
    allowed = justified(request, caller, "persons.create")
    if isinstance(allowed, Response):
        return allowed
    return _person_form(request, PersonForm(), {}, person_id=None)


@router.post("/persons/new", response_model=None)
def create_person_page(
    request: Request, caller: PageCaller, form: PostedPersonForm
) -> Response:
    """Check and record a new person, or show the form again with its errors."""
    allowed = justified(request, caller, "persons.create")
    if isinstance(allowed, Response):
        return allowed
    errors = check_person_form(form)
    if errors:
        return _person_form(request, form, errors, person_id=None, status_code=400)
    data = PersonInput(
        last_name=form.last_name,
        first_name=form.first_name,
        patronymic=form.patronymic or None,
        categories=form.categories,
        gender=form.gender,
        nationality=form.nationality or None,
        birth_date=form.birth_date or None,
        birth_place=form.birth_place or None,
        idnp=form.idnp or None,
        notes=form.notes,
    )
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            person_id = create_person(session, data, caller=allowed).id
    except InvalidPersonField as error:
        log_rejected(allowed, None, error)
        errors = {error.field: person_field_error(error)}
        return _person_form(request, form, errors, person_id=None, status_code=400)
    return see_other(f"/persons/{person_id}", request)


def check_person_form(form: PersonForm) -> dict[str, FieldError]:
    """Return the errors of every field the checks of scut.persons reject.

    The service checks every value again and stops at the first error.
    Checking here first shows the errors of all fields at once.
    """
    errors: dict[str, FieldError] = {}
    try:
        check_categories(form.categories)
    except InvalidPersonField as error:
        errors["categories"] = person_field_error(error)
    for name in ("last_name", "first_name"):
        if not getattr(form, name).strip():
            errors[name] = person_field_error(
                InvalidPersonField(name, "must not be empty", "empty")
            )
    if form.gender not in GENDERS:
        errors["gender"] = FieldError(FIELD_ERRORS[("gender", "unknown")])
    if form.idnp.strip():
        try:
            validate_idnp(form.idnp)
        except InvalidIdnp as error:
            errors["idnp"] = idnp_error(error)
    if form.birth_date.strip():
        try:
            parse_partial_date(form.birth_date)
        except InvalidDate as error:
            errors["birth_date"] = date_error(error)
    if form.nationality.strip():
        try:
            country_code(form.nationality)
        except InvalidCountry:
            errors["nationality"] = FieldError(FIELD_ERRORS[("nationality", "unknown")])
    return errors


def _person_form(
    request: Request,
    form: PersonForm,
    errors: dict[str, FieldError],
    *,
    person_id: int | None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "records/person_form.html",
        status_code=status_code,
        form=form,
        errors=errors,
        person_id=person_id,
        categories=CATEGORIES,
        genders=GENDERS,
    )


# -- one person ----------------------------------------------------------------


@router.get("/persons/{person_id:int}", response_model=None)
def person_page(request: Request, caller: PageCaller, person_id: RecordId) -> Response:
    """Show everything recorded about one person, the IDNP in full."""
    allowed = justified(request, caller, "persons.read")
    if isinstance(allowed, Response):
        return allowed
    return person_page_with_errors(request, allowed, person_id)


def person_page_with_errors(
    request: Request,
    caller: Caller,
    person_id: int,
    *,
    form: str = "",
    errors: dict[str, FieldError] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render the person page, with the errors of the form named ``form``."""
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            view = describe_person(session, person_id, caller=caller)
            history = person_history(session, person_id, caller=caller)
    except PersonNotFound:
        raise not_found() from None
    for event in history:
        event["at"] = moment(event["at"])
    return render(
        request,
        "records/person.html",
        status_code=status_code,
        person=view,
        full_name=" ".join(
            part for part in (view.last_name, view.first_name, view.patronymic) if part
        ),
        history=history,
        failed_form=form,
        errors=errors or {},
        values=values or {},
        roles=ROLES,
        address_kinds=ADDRESS_KINDS,
    )


@router.get("/persons/{person_id:int}/edit", response_model=None)
def edit_person_form(
    request: Request, caller: PageCaller, person_id: RecordId
) -> Response:
    """Show the form that changes a person's fields and categories."""
    allowed = justified(request, caller, "persons.read")
    if isinstance(allowed, Response):
        return allowed
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            view = describe_person(session, person_id, caller=allowed)
    except PersonNotFound:
        raise not_found() from None
    form = PersonForm(
        last_name=view.last_name,
        first_name=view.first_name,
        patronymic=view.patronymic or "",
        categories=list(view.categories),
        gender=view.gender,
        nationality=view.nationality or "",
        birth_date=view.birth_date or "",
        birth_place=view.birth_place or "",
        idnp=view.idnp or "",
        notes=view.notes,
    )
    return _person_form(request, form, {}, person_id=person_id)


@router.post("/persons/{person_id:int}/edit", response_model=None)
def edit_person(
    request: Request, caller: PageCaller, person_id: RecordId, form: PostedPersonForm
) -> Response:
    """Change a person's fields and categories in one transaction."""
    allowed = justified(request, caller, "persons.change")
    if isinstance(allowed, Response):
        return allowed
    errors = check_person_form(form)
    if errors:
        return _person_form(request, form, errors, person_id=person_id, status_code=400)
    context = context_of(request)
    try:
        with context.database.session() as session, session.begin():
            update_person(session, person_id, form.changes(), caller=allowed)
            _set_categories(session, person_id, form.categories, allowed)
    except PersonNotFound:
        raise not_found() from None
    except InvalidPersonField as error:
        log_rejected(allowed, person_id, error)
        errors = {error.field: person_field_error(error)}
        return _person_form(request, form, errors, person_id=person_id, status_code=400)
    return see_other(f"/persons/{person_id}", request)


def _set_categories(
    session: Session, person_id: int, wanted: list[str], caller: Caller
) -> None:
    """Give the person the categories ``wanted`` and take the others away."""
    chosen = check_categories(wanted)
    current = person_categories(session, person_id)
    add_categories(session, person_id, chosen, caller=caller)
    for category in current:
        if category not in chosen:
            remove_category(session, person_id, category, caller=caller)


def log_rejected(
    caller: Caller, person_id: int | None, error: InvalidPersonField
) -> None:
    """Log a value the person service rejected, without the value.

    The service's message quotes the value (a name, an IDNP), which is
    personal data and stays out of the log.
    """
    log.info(
        "person %s: %s rejected the %s (%s check)",
        person_id if person_id is not None else "form",
        caller.name,
        error.field,
        error.code,
    )
