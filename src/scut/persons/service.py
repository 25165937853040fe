"""Persons: victims, offenders, suspects, convicted persons and witnesses.

Each person has at least one category of data subject. Names are stored
as typed in ``person_names`` beside the NFC form with comma-below letters,
with the keys that search compares (``scut.persons.names``). Every change
is kept as a ``PersonEvent`` with the old and new values.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scut.db.models import (
    Conviction,
    Media,
    Person,
    PersonAddress,
    PersonCategory,
    PersonEvent,
    PersonLink,
    PersonName,
    Series,
    SeriesEvent,
)
from scut.errors import ScutError
from scut.persons import names
from scut.persons.countries import InvalidCountry, country_code
from scut.persons.dates import InvalidDate, PartialDate, parse_partial_date
from scut.persons.idnp import InvalidIdnp, validate_idnp
from scut.persons.retention import review_due
from scut.security.access import argument, operation, result_id
from scut.security.caller import Caller

log = logging.getLogger(__name__)

CATEGORIES = ("victim", "offender", "suspect", "convicted", "witness", "other")
GENDERS = ("male", "female", "unknown")
ROLES = ("victim", "offender", "witness", "other")
ADDRESS_KINDS = ("residence", "registration", "last-known")
NAME_KINDS = ("primary", "alias", "spelling")
MAX_NAME = 200


class PersonError(ScutError):
    """Raised for a person operation that the records do not allow."""


class PersonNotFound(PersonError):
    """Raised when no person has the number asked for."""


class InvalidPersonField(PersonError):
    """Raised for an invalid value, naming the field.

    ``code`` names the failed check, as InvalidIdnp and InvalidDate do for
    theirs, and ``details`` the values the message quotes, so that pages
    can explain the error in the reader's language.
    """

    def __init__(
        self,
        field_name: str,
        message: str,
        code: str = "invalid",
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.reason = message
        self.code = code
        self.details = dict(details or {})


@dataclass(slots=True)
class PersonInput:
    """The fields of a new person, as typed; the service checks them."""

    last_name: str
    first_name: str
    categories: Sequence[str]
    patronymic: str | None = None
    gender: str = "unknown"
    nationality: str | None = None
    birth_date: str | PartialDate | None = None
    birth_place: str | None = None
    idnp: str | None = None
    notes: str = ""


@dataclass(slots=True)
class PersonView:
    """A person with everything recorded about them."""

    person_id: int
    last_name: str
    first_name: str
    patronymic: str | None
    categories: list[str]
    gender: str
    nationality: str | None
    birth_date: str | None
    birth_place: str | None
    idnp: str | None
    identification: str
    identified_on: str | None
    identified_by: str | None
    review_due: str
    notes: str
    names: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    convictions: list[dict[str, Any]] = field(default_factory=list)
    # The number of each linked series, by name, for links to its page.
    series_ids: dict[str, int] = field(default_factory=dict)


@operation("persons.create", after=result_id("person"))
def create_person(
    session: Session,
    data: PersonInput,
    *,
    caller: Caller,
    retention: Mapping[str, int] | None = None,
) -> Person:
    """Check and record a new person; raise InvalidPersonField on a bad value."""
    categories = check_categories(data.categories)
    last_name = _name("last_name", data.last_name)
    first_name = _name("first_name", data.first_name)
    patronymic = _optional_name("patronymic", data.patronymic)
    birth = _birth_date(data.birth_date)
    idnp = _idnp(session, data.idnp, None)
    person = Person(
        last_name=last_name,
        first_name=first_name,
        patronymic=patronymic,
        gender=_gender(data.gender),
        nationality=_country("nationality", data.nationality),
        birth_year=birth.year if birth else None,
        birth_month=birth.month if birth else None,
        birth_day=birth.day if birth else None,
        birth_place=_optional_name("birth_place", data.birth_place),
        idnp=idnp,
        notes=data.notes.strip(),
        review_due=review_due(categories, dt.date.today(), retention),
        created_by=caller.name,
    )
    if person.birth_place:
        person.birth_place_key = names.search_key(person.birth_place)
    session.add(person)
    session.flush()
    for category in categories:
        session.add(PersonCategory(person_id=person.id, category=category))
    _add_name(
        session, person.id, "primary", data.last_name, data.first_name, data.patronymic
    )
    _event(session, person.id, "created", {"categories": categories}, caller.name)
    session.flush()
    log.info("%s recorded person %d", caller.name, person.id)
    return person


def get_person(session: Session, person_id: int) -> Person:
    """Return the person numbered ``person_id`` or raise PersonNotFound."""
    person = session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"no person number {person_id}")
    return person


def find_by_idnp(session: Session, idnp: str) -> Person | None:
    """Return the person with this valid IDNP, or None."""
    digits = validate_idnp(idnp)
    return session.scalar(select(Person).where(Person.idnp == digits))


# Fields update_person accepts, with the check each value goes through.
UPDATABLE = (
    "last_name",
    "first_name",
    "patronymic",
    "gender",
    "nationality",
    "birth_date",
    "birth_place",
    "idnp",
    "notes",
)


@operation("persons.change", before=argument("person"))
def update_person(
    session: Session, person_id: int, changes: Mapping[str, Any], *, caller: Caller
) -> dict[str, list[Any]]:
    """Change fields of a person and return {field: [old, new]} for those changed.

    A new primary name keeps the old one as an alias, so search still finds
    the person under the name they were recorded with.
    """
    person = get_person(session, person_id)
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise PersonError(
            f"unknown person field {unknown[0]!r}; fields: {', '.join(UPDATABLE)}"
        )
    changed: dict[str, list[Any]] = {}
    old_name = (person.last_name, person.first_name, person.patronymic)
    for name, value in changes.items():
        before, after = _apply(session, person, name, value)
        if before != after:
            changed[name] = [before, after]
    new_name = (person.last_name, person.first_name, person.patronymic)
    if new_name != old_name:
        session.execute(
            delete(PersonName).where(
                PersonName.person_id == person.id, PersonName.kind == "primary"
            )
        )
        _add_name(session, person.id, "alias", *old_name)
        _add_name(session, person.id, "primary", *new_name)
    if changed:
        person.updated_at = dt.datetime.now(dt.UTC)
        _event(session, person.id, "updated", changed, caller.name)
        session.flush()
    return changed


@operation("persons.change", before=argument("person"))
def add_categories(
    session: Session,
    person_id: int,
    categories: Iterable[str],
    *,
    caller: Caller,
    retention: Mapping[str, int] | None = None,
) -> list[str]:
    """Give a person further categories and return those that were new."""
    person = get_person(session, person_id)
    wanted = check_categories(list(categories))
    held = set(person_categories(session, person_id))
    added = [category for category in wanted if category not in held]
    for category in added:
        session.add(PersonCategory(person_id=person_id, category=category))
    if added:
        start = (person.reviewed_at or person.created_at).date()
        person.review_due = review_due(held | set(added), start, retention)
        _event(
            session, person_id, "categories-added", {"categories": added}, caller.name
        )
        session.flush()
    return added


@operation("persons.change", before=argument("person"))
def remove_category(
    session: Session, person_id: int, category: str, *, caller: Caller
) -> None:
    """Take a category from a person, who must keep at least one."""
    held = person_categories(session, person_id)
    if category not in held:
        raise PersonError(f"person {person_id} does not hold category {category!r}")
    if len(held) == 1:
        raise PersonError(
            f"person {person_id} must keep a category; add another before removing "
            f"{category!r}"
        )
    session.execute(
        delete(PersonCategory).where(
            PersonCategory.person_id == person_id, PersonCategory.category == category
        )
    )
    _event(session, person_id, "category-removed", {"category": category}, caller.name)


def person_categories(session: Session, person_id: int) -> list[str]:
    """Return the categories a person holds, in the standard order."""
    held = set(
        session.scalars(
            select(PersonCategory.category).where(PersonCategory.person_id == person_id)
        )
    )
    return [category for category in CATEGORIES if category in held]


@operation("persons.change", before=argument("person"))
def add_name(
    session: Session,
    person_id: int,
    last_name: str,
    first_name: str,
    patronymic: str | None = None,
    *,
    kind: str = "alias",
    caller: Caller,
) -> PersonName:
    """Record an alias or another spelling (say, in Cyrillic) of a person's name."""
    get_person(session, person_id)
    if kind not in ("alias", "spelling"):
        raise PersonError(f"unknown name kind {kind!r}; use alias or spelling")
    row = _add_name(session, person_id, kind, last_name, first_name, patronymic)
    _event(
        session,
        person_id,
        "name-added",
        {"kind": kind, "name": row.as_typed},
        caller.name,
    )
    session.flush()
    return row


@operation("persons.change", before=argument("person"))
def add_address(
    session: Session,
    person_id: int,
    address: str,
    *,
    caller: Caller,
    kind: str = "residence",
    locality: str | None = None,
    country: str = "MD",
    latitude: float | None = None,
    longitude: float | None = None,
    source: str = "",
) -> PersonAddress:
    """Record an address of a person; coordinates are WGS 84 degrees."""
    get_person(session, person_id)
    if kind not in ADDRESS_KINDS:
        raise InvalidPersonField(
            "address_kind",
            f"unknown kind {kind!r}; use one of {', '.join(ADDRESS_KINDS)}",
            "unknown",
        )
    text = " ".join(address.split())
    if not text:
        raise InvalidPersonField("address", "the address is empty", "empty")
    if (latitude is None) != (longitude is None):
        raise InvalidPersonField("coordinates", "give both latitude and longitude")
    if latitude is not None and not -90 <= latitude <= 90:
        raise InvalidPersonField("latitude", f"{latitude} is outside -90..90")
    if longitude is not None and not -180 <= longitude <= 180:
        raise InvalidPersonField("longitude", f"{longitude} is outside -180..180")
    row = PersonAddress(
        person_id=person_id,
        kind=kind,
        address=text,
        locality=(locality or "").strip() or None,
        country=_country("country", country) or "MD",
        latitude=latitude,
        longitude=longitude,
        source=source or caller.name,
    )
    session.add(row)
    session.flush()
    _event(
        session,
        person_id,
        "address-added",
        {"address": text, "kind": kind},
        caller.name,
    )
    return row


@operation("persons.change", before=argument("person"))
def set_identification(
    session: Session,
    person_id: int,
    *,
    identified: bool,
    caller: Caller,
    on: dt.date | None = None,
    by: str | None = None,
) -> Person:
    """Mark a person identified (when, and by which unit or state) or not.

    The series the person is linked to as victim or offender take the
    status along.
    """
    person = get_person(session, person_id)
    if identified and not (by or "").strip():
        raise InvalidPersonField(
            "identified_by",
            "name the unit or foreign state that identified the person",
            "empty",
        )
    if on is not None and on > dt.date.today():
        raise InvalidPersonField("identified_on", f"{on} is in the future", "future")
    before = [person.identification, person.identified_on, person.identified_by]
    person.identification = "identified" if identified else "unidentified"
    person.identified_on = (on or dt.date.today()) if identified else None
    person.identified_by = (by or "").strip()[:200] if identified else None
    after = [person.identification, person.identified_on, person.identified_by]
    if before != after:
        _event(
            session,
            person_id,
            "identification",
            {
                "from": [str(value) for value in before],
                "to": [str(value) for value in after],
            },
            caller.name,
        )
    session.flush()
    for link in session.scalars(
        select(PersonLink).where(
            PersonLink.person_id == person_id, PersonLink.series_id.is_not(None)
        )
    ).all():
        assert link.series_id is not None
        if identified:
            _mark_series(session, link.series_id, link.role, caller.name)
        else:
            _unmark_series(session, link.series_id, link.role, caller.name)
    session.flush()
    return person


def _unmark_series(session: Session, series_id: int, role: str, actor: str) -> None:
    """Clear a series' status when no identified person of ``role`` is left in it."""
    flag = {"victim": "victim_identified", "offender": "offender_identified"}.get(role)
    if flag is None:
        return
    still_identified = session.scalar(
        select(PersonLink.id)
        .join(Person, Person.id == PersonLink.person_id)
        .where(
            PersonLink.series_id == series_id,
            PersonLink.role == role,
            Person.identification == "identified",
        )
        .limit(1)
    )
    series = session.get_one(Series, series_id)
    if still_identified is None and getattr(series, flag):
        setattr(series, flag, False)
        session.add(
            SeriesEvent(
                series_id=series_id,
                action="status",
                detail={flag: [True, False], "by": "person no longer identified"},
                actor=actor,
            )
        )


@operation("persons.link", before=argument("person"))
def link_person(
    session: Session,
    person_id: int,
    role: str,
    *,
    caller: Caller,
    series_id: int | None = None,
    media_id: int | None = None,
) -> PersonLink:
    """Link a person to a series or a media with a role.

    Linking an identified victim or offender to a series marks the series'
    victim or offender identified.
    """
    person = get_person(session, person_id)
    if role not in ROLES:
        raise InvalidPersonField(
            "role", f"unknown role {role!r}; use one of {', '.join(ROLES)}", "unknown"
        )
    if (series_id is None) == (media_id is None):
        raise PersonError("link a person to either a series or a media")
    if series_id is not None and session.get(Series, series_id) is None:
        raise PersonError(f"no series number {series_id}")
    if media_id is not None and session.get(Media, media_id) is None:
        raise PersonError(f"no media number {media_id}")
    existing = session.scalar(
        select(PersonLink).where(
            PersonLink.person_id == person_id,
            PersonLink.role == role,
            PersonLink.series_id.is_(None)
            if series_id is None
            else PersonLink.series_id == series_id,
            PersonLink.media_id.is_(None)
            if media_id is None
            else PersonLink.media_id == media_id,
        )
    )
    if existing is not None:
        return existing
    link = PersonLink(
        person_id=person_id,
        series_id=series_id,
        media_id=media_id,
        role=role,
        created_by=caller.name,
    )
    session.add(link)
    session.flush()
    target = {"series": series_id} if series_id is not None else {"media": media_id}
    _event(session, person_id, "linked", {"role": role, **target}, caller.name)
    if series_id is not None and person.identification == "identified":
        _mark_series(session, series_id, role, caller.name)
    return link


@operation("persons.link", before=argument("person"))
def unlink_person(
    session: Session,
    person_id: int,
    role: str,
    *,
    caller: Caller,
    series_id: int | None = None,
    media_id: int | None = None,
) -> int:
    """Remove a person's link; the series status stays as analysts left it."""
    query = delete(PersonLink).where(
        PersonLink.person_id == person_id, PersonLink.role == role
    )
    if series_id is not None:
        query = query.where(PersonLink.series_id == series_id)
    if media_id is not None:
        query = query.where(PersonLink.media_id == media_id)
    result = session.execute(query)
    removed = int(getattr(result, "rowcount", 0) or 0)
    if removed:
        target = {"series": series_id} if series_id is not None else {"media": media_id}
        _event(session, person_id, "unlinked", {"role": role, **target}, caller.name)
    return removed


@operation("persons.review", before=argument("person"))
def mark_reviewed(
    session: Session,
    person_id: int,
    *,
    caller: Caller,
    retention: Mapping[str, int] | None = None,
) -> Person:
    """Record that an analyst reviewed a person's record and keeps it."""
    person = get_person(session, person_id)
    now = dt.datetime.now(dt.UTC)
    person.reviewed_at = now
    before = person.review_due
    person.review_due = review_due(
        person_categories(session, person_id), now.date(), retention
    )
    _event(
        session,
        person_id,
        "reviewed",
        {"review_due": [str(before), str(person.review_due)]},
        caller.name,
    )
    session.flush()
    return person


@operation("persons.review")
def due_for_review(
    session: Session, on: dt.date, *, caller: Caller, limit: int = 1000
) -> list[Person]:
    """Return persons whose review date is on or before ``on``, earliest first."""
    return list(
        session.scalars(
            select(Person)
            .where(Person.review_due <= on)
            .order_by(Person.review_due, Person.id)
            .limit(limit)
        )
    )


@operation("persons.read", before=argument("person"))
def describe_person(session: Session, person_id: int, *, caller: Caller) -> PersonView:
    """Return a person with names, addresses, links and convictions."""
    person = get_person(session, person_id)
    view = PersonView(
        person_id=person.id,
        last_name=person.last_name,
        first_name=person.first_name,
        patronymic=person.patronymic,
        categories=person_categories(session, person.id),
        gender=person.gender,
        nationality=person.nationality,
        birth_date=birth_text(person),
        birth_place=person.birth_place,
        idnp=person.idnp,
        identification=person.identification,
        identified_on=person.identified_on.isoformat()
        if person.identified_on
        else None,
        identified_by=person.identified_by,
        review_due=person.review_due.isoformat(),
        notes=person.notes,
    )
    for row in session.scalars(
        select(PersonName)
        .where(PersonName.person_id == person.id)
        .order_by(PersonName.id)
    ):
        view.names.append({"kind": row.kind, "name": row.as_typed})
    for address in session.scalars(
        select(PersonAddress)
        .where(PersonAddress.person_id == person.id)
        .order_by(PersonAddress.id)
    ):
        view.addresses.append(
            {
                "kind": address.kind,
                "address": address.address,
                "locality": address.locality,
                "country": address.country,
                "source": address.source,
            }
        )
    for link, series_name in session.execute(
        select(PersonLink, Series.name)
        .outerjoin(Series, Series.id == PersonLink.series_id)
        .where(PersonLink.person_id == person.id)
        .order_by(PersonLink.id)
    ):
        view.links.append(
            {"role": link.role, "series": series_name, "media": link.media_id}
        )
        if link.series_id is not None and series_name is not None:
            view.series_ids[series_name] = link.series_id
    for conviction in session.scalars(
        select(Conviction)
        .where(Conviction.person_id == person.id)
        .order_by(Conviction.sentence_date, Conviction.id)
    ):
        view.convictions.append(
            {
                "registry": conviction.source_registry,
                "article": conviction.article,
                "court": conviction.court,
                "sentence_date": str(conviction.sentence_date or ""),
                "release_date": str(conviction.release_date or ""),
                "link": conviction.link,
            }
        )
    return view


@operation("persons.read", before=argument("person"))
def person_history(
    session: Session, person_id: int, *, caller: Caller
) -> list[dict[str, Any]]:
    """Return every change of a person record, oldest first."""
    get_person(session, person_id)
    return [
        {
            "at": event.created_at.isoformat(timespec="seconds"),
            "action": event.action,
            "actor": event.actor,
            "detail": event.detail,
        }
        for event in session.scalars(
            select(PersonEvent)
            .where(PersonEvent.person_id == person_id)
            .order_by(PersonEvent.id)
        )
    ]


def birth_text(person: Person) -> str | None:
    """Return a person's partial birth date as text, or None."""
    if person.birth_year is None:
        return None
    return str(PartialDate(person.birth_year, person.birth_month, person.birth_day))


def check_categories(categories: Iterable[str]) -> list[str]:
    """Return the categories in the standard order, or raise naming a wrong one."""
    wanted = {category.strip().lower() for category in categories if category.strip()}
    if not wanted:
        raise InvalidPersonField(
            "categories",
            f"a person needs a category: one of {', '.join(CATEGORIES)}",
            "empty",
        )
    unknown = sorted(wanted - set(CATEGORIES))
    if unknown:
        raise InvalidPersonField(
            "categories",
            f"unknown category {unknown[0]!r}; use {', '.join(CATEGORIES)}",
            "unknown",
        )
    return [category for category in CATEGORIES if category in wanted]


def _apply(session: Session, person: Person, name: str, value: Any) -> tuple[Any, Any]:
    if name == "birth_date":
        before = birth_text(person)
        birth = _birth_date(value)
        person.birth_year = birth.year if birth else None
        person.birth_month = birth.month if birth else None
        person.birth_day = birth.day if birth else None
        return before, birth_text(person)
    before = getattr(person, name)
    if name in ("last_name", "first_name"):
        after: Any = _name(name, value)
    elif name in ("patronymic", "birth_place"):
        after = _optional_name(name, value)
    elif name == "gender":
        after = _gender(value)
    elif name == "nationality":
        after = _country(name, value)
    elif name == "idnp":
        after = _idnp(session, value, person.id)
    else:
        after = str(value or "").strip()
    setattr(person, name, after)
    if name == "birth_place":
        person.birth_place_key = names.search_key(after) if after else None
    return before, after


def _add_name(
    session: Session,
    person_id: int,
    kind: str,
    last_name: str,
    first_name: str,
    patronymic: str | None,
) -> PersonName:
    last = _name("last_name", last_name)
    first = _name("first_name", first_name)
    middle = _optional_name("patronymic", patronymic)
    typed = " ".join(
        part.strip() for part in (last_name, first_name, patronymic or "") if part
    )
    first_key = names.search_key(first)
    row = PersonName(
        person_id=person_id,
        kind=kind,
        last_name=last,
        first_name=first,
        patronymic=middle,
        as_typed=typed,
        last_key=names.search_key(last),
        last_loose=names.loose_key(last),
        first_key=first_key,
        first_group=names.given_name_group(first_key),
        patronymic_key=names.search_key(middle) if middle else None,
    )
    session.add(row)
    return row


def _name(field_name: str, value: str | None) -> str:
    text = names.normalise_name(value or "")
    if not text:
        raise InvalidPersonField(field_name, "must not be empty", "empty")
    if len(text) > MAX_NAME:
        raise InvalidPersonField(
            field_name,
            f"longer than {MAX_NAME} characters",
            "too-long",
            {"maximum": str(MAX_NAME)},
        )
    if not any(character.isalpha() for character in text):
        raise InvalidPersonField(
            field_name, f"{text!r} contains no letters", "no-letters"
        )
    return text


def _optional_name(field_name: str, value: str | None) -> str | None:
    if value is None or not names.normalise_name(value):
        return None
    return _name(field_name, value)


def _gender(value: str | None) -> str:
    text = (value or "unknown").strip().lower()
    aliases = {"m": "male", "f": "female", "u": "unknown", "x": "unknown"}
    text = aliases.get(text, text)
    if text not in GENDERS:
        raise InvalidPersonField(
            "gender", f"unknown gender {value!r}; use {', '.join(GENDERS)}", "unknown"
        )
    return text


def _country(field_name: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return country_code(value)
    except InvalidCountry as error:
        raise InvalidPersonField(field_name, str(error), "unknown") from None


def _birth_date(value: str | PartialDate | None) -> PartialDate | None:
    if value is None or isinstance(value, PartialDate):
        return value
    if not value.strip():
        return None
    try:
        return parse_partial_date(value)
    except InvalidDate as error:
        raise InvalidPersonField(
            "birth_date", str(error), error.code, error.details
        ) from None


def _idnp(session: Session, value: str | None, person_id: int | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        digits = validate_idnp(value)
    except InvalidIdnp as error:
        raise InvalidPersonField(
            "idnp", str(error), error.code, error.details
        ) from None
    holder = session.scalar(select(Person.id).where(Person.idnp == digits))
    if holder is not None and holder != person_id:
        raise InvalidPersonField(
            "idnp",
            f"IDNP {digits} is already recorded for person {holder}",
            "duplicate",
            {"person": str(holder)},
        )
    return digits


def _mark_series(session: Session, series_id: int, role: str, actor: str) -> None:
    series = session.get_one(Series, series_id)
    if role == "victim" and not series.victim_identified:
        series.victim_identified = True
        session.add(
            SeriesEvent(
                series_id=series_id,
                action="status",
                detail={"victim_identified": [False, True], "by": "identified person"},
                actor=actor,
            )
        )
    elif role == "offender" and not series.offender_identified:
        series.offender_identified = True
        session.add(
            SeriesEvent(
                series_id=series_id,
                action="status",
                detail={
                    "offender_identified": [False, True],
                    "by": "identified person",
                },
                actor=actor,
            )
        )


def _event(
    session: Session, person_id: int, action: str, detail: dict[str, Any], actor: str
) -> None:
    session.add(
        PersonEvent(person_id=person_id, action=action, detail=detail, actor=actor)
    )
