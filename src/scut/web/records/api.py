"""The JSON API of persons and series, under ``/api``, for API token holders.

Person endpoints touch personal data, so each request carries its
justification (a case reference or a reason) in the ``X-Justification``
header, percent-encoded UTF-8 where it is not ASCII. A request without
one is denied with 403 by the service, which records the denial.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Header, HTTPException, Query, status
from pydantic import BaseModel, Field, field_validator
from starlette.requests import Request

from scut.persons.search import MAX_QUERY_LENGTH, PersonQuery, search_persons
from scut.persons.service import (
    CATEGORIES,
    InvalidPersonField,
    PersonInput,
    PersonNotFound,
    PersonView,
    create_person,
    describe_person,
)
from scut.security.caller import Caller
from scut.series.service import (
    SeriesNotFound,
    SeriesSummary,
    describe_series,
    list_series,
)
from scut.web.callers import ApiCaller
from scut.web.context import context_of
from scut.web.records.common import RecordId
from scut.web.records.justification import API_HEADER, MAX_JUSTIFICATION

log = logging.getLogger(__name__)


class ProblemOut(BaseModel):
    """The reason a request was rejected."""

    detail: str


# The errors every endpoint here may return, for the OpenAPI description.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemOut, "description": "A value of the query is invalid."},
    401: {"model": ProblemOut, "description": "No valid API token."},
    403: {
        "model": ProblemOut,
        "description": "The token's roles do not allow it, or the justification "
        "that personal data needs is missing.",
    },
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemOut, "description": "No record has this number."}
}

api_router = APIRouter(prefix="/api", tags=["records"], responses=ERROR_RESPONSES)

MAX_SEARCH_RESULTS = 200
MAX_NAME = 200
MAX_TEXT = 20_000

JustificationHeader = Annotated[
    str,
    Header(
        alias=API_HEADER,
        max_length=MAX_JUSTIFICATION * 3,
        description=(
            "Why personal data is read or changed: a case reference or a "
            "reason, percent-encoded UTF-8 where it is not ASCII."
        ),
    ),
]


def _no_nul(value: Any) -> Any:
    """Reject NUL characters, which PostgreSQL cannot store in text."""
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise ValueError("the text contains a NUL character")
    return value


class PersonHitOut(BaseModel):
    """A person found by the search; the IDNP keeps its last four digits only."""

    id: int
    name: str
    matched: str = Field(description="The spelling of the name that matched.")
    score: float
    birth_date: str | None = Field(description="YYYY, YYYY-MM or YYYY-MM-DD.")
    categories: list[str]
    idnp: str | None = Field(description="Masked: only the last four digits.")


class NameOut(BaseModel):
    """One spelling of a person's name: primary, alias or spelling."""

    kind: str
    name: str


class AddressOut(BaseModel):
    """An address of a person."""

    kind: str
    address: str
    locality: str | None
    country: str
    source: str


class LinkOut(BaseModel):
    """A person's role in a series or a media."""

    role: str
    series: str | None
    media: int | None


class ConvictionOut(BaseModel):
    """A conviction from a registry list, linked to the person."""

    registry: str
    article: str
    court: str | None
    sentence_date: str
    release_date: str
    link: str


class PersonOut(BaseModel):
    """Everything recorded about a person, the IDNP in full."""

    id: int
    last_name: str
    first_name: str
    patronymic: str | None
    categories: list[str]
    gender: str
    nationality: str | None = Field(description="ISO 3166-1 alpha-2.")
    birth_date: str | None = Field(description="YYYY, YYYY-MM or YYYY-MM-DD.")
    birth_place: str | None
    idnp: str | None
    identification: str
    identified_on: str | None
    identified_by: str | None
    review_due: str
    notes: str
    names: list[NameOut]
    addresses: list[AddressOut]
    links: list[LinkOut]
    convictions: list[ConvictionOut]


class PersonCreate(BaseModel):
    """A new person; the service checks every value as the form's checks do."""

    last_name: str = Field(min_length=1, max_length=MAX_NAME)
    first_name: str = Field(min_length=1, max_length=MAX_NAME)
    patronymic: str | None = Field(default=None, max_length=MAX_NAME)
    categories: list[Annotated[str, Field(max_length=20)]] = Field(
        min_length=1,
        max_length=len(CATEGORIES),
        description=f"One or more of {', '.join(CATEGORIES)}.",
    )
    gender: str = Field(default="unknown", max_length=10)
    nationality: str | None = Field(
        default=None, max_length=3, description="ISO 3166-1 code."
    )
    birth_date: str | None = Field(
        default=None,
        max_length=20,
        description="YYYY-MM-DD, DD.MM.YYYY, YYYY-MM, MM.YYYY or YYYY.",
    )
    birth_place: str | None = Field(default=None, max_length=MAX_NAME)
    idnp: str | None = Field(default=None, max_length=20)
    notes: str = Field(default="", max_length=MAX_TEXT)

    @field_validator("*")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        return _no_nul(value)


class NoteOut(BaseModel):
    """A clue seen in a series."""

    kind: str
    text: str
    author: str


class SeriesPersonOut(BaseModel):
    """A person linked to a series, with the role."""

    person: int
    role: str
    name: str
    identification: str


class SeriesOut(BaseModel):
    """A series with its status, media count, cases, notes and persons."""

    id: int
    name: str
    media: int
    victim_identified: bool
    offender_identified: bool
    merged_into: str | None = Field(description="The series it was merged into.")
    cases: list[str]
    notes: list[NoteOut]
    persons: list[SeriesPersonOut]


class SeriesEventOut(BaseModel):
    """One change of a series."""

    at: dt.datetime
    action: str
    actor: str
    detail: dict[str, Any]


class SeriesDetailOut(SeriesOut):
    """A series with the numbers of its media and its history."""

    media_ids: list[int]
    history: list[SeriesEventOut]


@api_router.get("/persons")
def api_search_persons(
    request: Request,
    caller: ApiCaller,
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    category: Annotated[str | None, Query(max_length=20)] = None,
    birth_date: Annotated[str | None, Query(max_length=20)] = None,
    idnp: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_RESULTS)] = 50,
    justification: JustificationHeader = "",
) -> list[PersonHitOut]:
    """Search persons by name in Latin or Cyrillic, best first.

    Diacritics, case and script are folded, given names match their other
    forms (Ion, Ioan, Иван), and a partial name matches while it is typed.
    Returns 400 for a query with nothing to search.
    """
    allowed = _justified(caller, justification)
    query = PersonQuery(
        text=_checked_text(q),
        birth_date=birth_date,
        idnp=idnp,
        category=category,
    )
    with context_of(request).database.session() as session, session.begin():
        hits = search_persons(session, query, limit, caller=allowed)
    return [
        PersonHitOut(
            id=hit.person_id,
            name=hit.name,
            matched=hit.matched,
            score=round(hit.score, 2),
            birth_date=hit.birth_date,
            categories=hit.categories,
            idnp=hit.idnp,
        )
        for hit in hits
    ]


@api_router.get("/persons/{person_id}", responses=NOT_FOUND)
def api_person(
    request: Request,
    caller: ApiCaller,
    person_id: RecordId,
    justification: JustificationHeader = "",
) -> PersonOut:
    """Return one person with names, addresses, links and convictions."""
    allowed = _justified(caller, justification)
    try:
        with context_of(request).database.session() as session, session.begin():
            view = describe_person(session, person_id, caller=allowed)
    except PersonNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such person") from None
    return _person_out(view)


@api_router.post(
    "/persons",
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "A value was rejected; the detail names it."}},
)
def api_create_person(
    request: Request,
    caller: ApiCaller,
    person: PersonCreate,
    justification: JustificationHeader = "",
) -> PersonOut:
    """Record a new person and return the record.

    A rejected value returns 422 with ``detail`` listing the field, the
    check that failed (``type``) and the reason.
    """
    allowed = _justified(caller, justification)
    data = PersonInput(**person.model_dump())
    try:
        with context_of(request).database.session() as session, session.begin():
            created = create_person(session, data, caller=allowed)
            view = describe_person(session, created.id, caller=allowed)
    except InvalidPersonField as error:
        log.info(
            "API person by %s rejected: %s (%s check)",
            caller.name,
            error.field,
            error.code,
        )
        detail = [
            {"loc": ["body", error.field], "msg": error.reason, "type": error.code}
        ]
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail
        ) from None
    return _person_out(view)


@api_router.get("/series")
def api_series(
    request: Request, caller: ApiCaller, merged: bool = False
) -> list[SeriesOut]:
    """Return every series by name, with merged ones when ``merged`` is set."""
    with context_of(request).database.session() as session, session.begin():
        summaries = list_series(session, caller=caller, include_merged=merged)
    return [_series_out(summary) for summary in summaries]


@api_router.get("/series/{series_id}", responses=NOT_FOUND)
def api_one_series(
    request: Request, caller: ApiCaller, series_id: RecordId
) -> SeriesDetailOut:
    """Return one series with the numbers of its media and its history."""
    try:
        with context_of(request).database.session() as session, session.begin():
            data = describe_series(session, str(series_id), caller=caller)
    except SeriesNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such series") from None
    return SeriesDetailOut(
        id=data["series_id"],
        name=data["name"],
        media=data["media"],
        victim_identified=data["victim_identified"],
        offender_identified=data["offender_identified"],
        merged_into=data["merged_into"],
        cases=data["cases"],
        notes=[NoteOut(**note) for note in data["notes"]],
        persons=[SeriesPersonOut(**person) for person in data["persons"]],
        media_ids=data["media_ids"],
        history=[SeriesEventOut(**event) for event in data["history"]],
    )


def _justified(caller: Caller, header: str) -> Caller:
    """Return the caller with the request's justification, if it sent one."""
    text = " ".join(unquote(header).split())[:MAX_JUSTIFICATION]
    return caller.with_justification(_checked_text(text))


def _checked_text(text: str) -> str:
    if "\x00" in text:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "the text contains a NUL character"
        )
    return text


def _person_out(view: PersonView) -> PersonOut:
    return PersonOut(
        id=view.person_id,
        last_name=view.last_name,
        first_name=view.first_name,
        patronymic=view.patronymic,
        categories=view.categories,
        gender=view.gender,
        nationality=view.nationality,
        birth_date=view.birth_date,
        birth_place=view.birth_place,
        idnp=view.idnp,
        identification=view.identification,
        identified_on=view.identified_on,
        identified_by=view.identified_by,
        review_due=view.review_due,
        notes=view.notes,
        names=[NameOut(**name) for name in view.names],
        addresses=[AddressOut(**address) for address in view.addresses],
        links=[LinkOut(**link) for link in view.links],
        convictions=[ConvictionOut(**item) for item in view.convictions],
    )


def _series_out(summary: SeriesSummary) -> SeriesOut:
    return SeriesOut(
        id=summary.series_id,
        name=summary.name,
        media=summary.media,
        victim_identified=summary.victim_identified,
        offender_identified=summary.offender_identified,
        merged_into=summary.merged_into,
        cases=summary.cases,
        notes=[NoteOut(**note) for note in summary.notes],
        persons=[SeriesPersonOut(**person) for person in summary.persons],
    )
