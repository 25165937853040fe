"""Who may call which service operation: the access matrix, deny by default.

Every service entry point is declared with :func:`operation`, which names
it. Its rule in :data:`MATRIX` lists the roles that may call it, whether a
submitter is held to the records of their own unit, and whether it
touches personal data (then the caller must give a justification). An
operation missing from the matrix cannot be declared, and
tests/security/test_access_matrix.py fails when a service function is
neither declared nor listed as an internal building block.

The wrapper checks the caller before the call, records a denial in its
own transaction (it must stay on record although the call does not
happen), and on success records the event in the call's transaction, so
that an event that cannot be written fails the call.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from scut.errors import ScutError
from scut.security.caller import ADMIN, ANALYST, AUDITOR, SUBMITTER, SUPERVISOR, Caller

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

CENTRE = frozenset({ANALYST, SUPERVISOR})


class AccessDenied(ScutError):
    """Raised when the caller's roles, unit or justification do not allow a call.

    The boundary that opened the transaction (the command line, the web
    application) records the denial after rolling back, with
    :func:`record_denial`, because an event written in the failed
    transaction would be lost with it.
    """

    def __init__(
        self, message: str, operation: str = "", target: Target | None = None
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.target = target or Target()


@dataclass(frozen=True, slots=True)
class Rule:
    """The roles allowed to call an operation, and what the call needs."""

    roles: frozenset[str]
    # The call reads or changes personal data: a justification is required.
    personal: bool = False
    # Submitters may act only on records of their own unit.
    unit_scoped: bool = False
    # Read-only calls that list no media or personal data are not audited.
    audited: bool = True


def _rule(
    *roles: str, personal: bool = False, unit_scoped: bool = False, audited: bool = True
) -> Rule:
    return Rule(frozenset(roles), personal, unit_scoped, audited)


MATRIX: Mapping[str, Rule] = {
    # Material sent by units, and its verification result.
    "ingest.run": _rule(SUBMITTER, ANALYST, SUPERVISOR, unit_scoped=True),
    "verification.read": _rule(SUBMITTER, ANALYST, SUPERVISOR, unit_scoped=True),
    # Dashboard summaries: submissions listed without officers, counts and
    # the work waiting. They show no media and no personal data.
    "submissions.list": _rule(
        SUBMITTER, ANALYST, SUPERVISOR, unit_scoped=True, audited=False
    ),
    "statistics.read": _rule(
        SUBMITTER, ANALYST, SUPERVISOR, unit_scoped=True, audited=False
    ),
    "work.read": _rule(ANALYST, SUPERVISOR, audited=False),
    "match.run": _rule(ANALYST, SUPERVISOR),
    "index.rebuild": _rule(ADMIN, SUPERVISOR),
    # Known-hash sets.
    "hashsets.import": _rule(ADMIN, SUPERVISOR),
    "hashsets.remove": _rule(ADMIN, SUPERVISOR),
    "hashsets.list": _rule(ADMIN, ANALYST, SUPERVISOR, audited=False),
    # Reads the entries of sets (partners' PhotoDNA and LACE values among
    # them) to compare sets; no media or personal data, but audited.
    "hashsets.read": _rule(ADMIN, ANALYST, SUPERVISOR),
    # Map reference data (boundaries, gazetteer): public data, so reading
    # it is not audited.
    "geo.import": _rule(ADMIN, SUPERVISOR),
    "geo.read": _rule(ANALYST, SUPERVISOR, audited=False),
    # Units and cases.
    "units.save": _rule(ADMIN),
    "units.list": _rule(ADMIN, ANALYST, SUPERVISOR, audited=False),
    "cases.open": _rule(ANALYST, SUPERVISOR),
    "cases.status": _rule(ANALYST, SUPERVISOR),
    "cases.list": _rule(ANALYST, SUPERVISOR, audited=False),
    "cases.read": _rule(ANALYST, SUPERVISOR),
    # One submission with its exhibits and the paths and verdicts of its
    # files; paths come from the evidence, so each read is audited.
    "submissions.read": _rule(ANALYST, SUPERVISOR),
    # Media.
    "media.list": _rule(ANALYST, SUPERVISOR),
    "media.view": _rule(ANALYST, SUPERVISOR),
    "media.reveal": _rule(ANALYST, SUPERVISOR),
    # The grid's blurred previews keep a few greyscale cells of a thumbnail,
    # in which nothing can be recognised, so one is not a look at the media
    # and is not audited. The audited media.list event of the grid page
    # names every media whose preview the page shows.
    "media.preview": _rule(ANALYST, SUPERVISOR, audited=False),
    # The auditor may check custody too. The history names the staff who
    # received, ingested, categorised, viewed and handed over a media, as the
    # audit log does. It contains no picture, path, metadata or categorisation
    # reason, so it shows nothing of the media and no data subject's personal data.
    "media.custody": _rule(ANALYST, SUPERVISOR, AUDITOR),
    "media.categorise": _rule(ANALYST, SUPERVISOR),
    "media.history": _rule(ANALYST, SUPERVISOR),
    "media.conflicts": _rule(ANALYST, SUPERVISOR),
    # Series.
    "series.create": _rule(ANALYST, SUPERVISOR),
    "series.change": _rule(ANALYST, SUPERVISOR),
    "series.merge": _rule(ANALYST, SUPERVISOR),
    "series.split": _rule(ANALYST, SUPERVISOR),
    "series.read": _rule(ANALYST, SUPERVISOR),
    "series.list": _rule(ANALYST, SUPERVISOR, audited=False),
    # Persons: personal data, so every call needs a justification.
    "persons.create": _rule(ANALYST, SUPERVISOR, personal=True),
    "persons.change": _rule(ANALYST, SUPERVISOR, personal=True),
    "persons.read": _rule(ANALYST, SUPERVISOR, personal=True),
    "persons.search": _rule(ANALYST, SUPERVISOR, personal=True),
    "persons.link": _rule(ANALYST, SUPERVISOR, personal=True),
    "persons.review": _rule(ANALYST, SUPERVISOR, personal=True),
    "persons.erase": _rule(SUPERVISOR, personal=True),
    # Convicted-offender lists.
    "convicted.import": _rule(ANALYST, SUPERVISOR, personal=True),
    "convicted.review": _rule(ANALYST, SUPERVISOR, personal=True),
    "convicted.read": _rule(ANALYST, SUPERVISOR, personal=True),
    # Administration and the audit log.
    "users.manage": _rule(ADMIN),
    "keys.manage": _rule(ADMIN),
    "backup.run": _rule(ADMIN),
    "restore.run": _rule(ADMIN),
    "store.verify": _rule(ADMIN, SUPERVISOR),
    "audit.read": _rule(AUDITOR),
    "audit.verify": _rule(AUDITOR, ADMIN),
    # A user's own API tokens. Listing or revoking another user's tokens
    # needs the admin role, which the functions check themselves.
    "tokens.list": _rule(SUBMITTER, ANALYST, SUPERVISOR, AUDITOR, ADMIN, audited=False),
    "tokens.revoke": _rule(SUBMITTER, ANALYST, SUPERVISOR, AUDITOR, ADMIN),
    "cases.erase": _rule(SUPERVISOR, personal=True),
}

# Operation name -> the service function declared for it, for the tests.
DECLARED: dict[str, list[str]] = {}


@dataclass(frozen=True, slots=True)
class Target:
    """The object of a call, for the audit record and the unit check."""

    object_type: str = ""
    object_ids: Sequence[int | str] = ()
    # The unit owning the target, for unit-scoped rules.
    unit_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def check(caller: Caller, name: str, target: Target | None = None) -> Rule:
    """Return the rule of ``name`` if the caller may call it, or raise AccessDenied."""
    found = target or Target()
    rule = MATRIX.get(name)
    if rule is None:
        raise AccessDenied(
            f"operation {name!r} is not in the access matrix", name, found
        )
    if not (caller.roles & rule.roles):
        raise AccessDenied(
            f"{caller.name} may not call {name}: it needs one of the roles "
            f"{', '.join(sorted(rule.roles))}",
            name,
            found,
        )
    if rule.personal and not caller.justification:
        raise AccessDenied(
            f"{name} touches personal data: give a justification (a case "
            "reference or a reason): --justification or SCUT_JUSTIFICATION on "
            "the command line, the X-Justification header in the API",
            name,
            found,
        )
    outside_unit = caller.unit_id is None or found.unit_id != caller.unit_id
    if rule.unit_scoped and _held_to_unit(caller) and outside_unit:
        raise AccessDenied(
            f"{caller.name} may act only on the records of their own unit",
            name,
            found,
        )
    return rule


def _held_to_unit(caller: Caller) -> bool:
    """Return whether only the caller's unit scopes their access (submitters)."""
    return not caller.local_operator and not (caller.roles & CENTRE)


TargetOf = Callable[..., Target]


def argument(object_type: str, position: int = 1) -> TargetOf:
    """Return a target maker that names the positional argument ``position``."""

    def target(*args: Any, **_: Any) -> Target:
        value = args[position] if len(args) > position else None
        if value is None:
            return Target(object_type)
        if isinstance(value, (list, tuple)):
            return Target(object_type, [str(item) for item in value])
        return Target(object_type, [str(value)])

    return target


def result_id(object_type: str) -> Callable[..., Target]:
    """Return a target maker that names the ``id`` of the call's result."""

    def target(result: Any, *_: Any, **__: Any) -> Target:
        return Target(object_type, [str(getattr(result, "id", ""))])

    return target


def unchecked(function: Callable[P, R]) -> Callable[P, R]:
    """Return the body of a declared operation without its check and audit.

    For a service that already checked its own caller and records one
    event for its whole work (an import calling the person services row
    by row).
    """
    inner: Callable[P, R] = getattr(function, "__wrapped__", function)
    return inner


def checks_itself(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a service function that checks ``name`` and audits by itself.

    For a function whose check and audit event cannot wrap the call. The
    audit log's own readers record the read in the same transaction as the
    rows they return, and the verification writes its event after the
    check, with the check's outcome. The function is returned unchanged.
    """
    if name not in MATRIX:
        raise KeyError(f"operation {name!r} is not in the access matrix")

    def declare(function: Callable[P, R]) -> Callable[P, R]:
        DECLARED.setdefault(name, []).append(
            f"{function.__module__}.{function.__qualname__}"
        )
        setattr(function, "scut_operation", name)  # noqa: B010 - read by the tests
        return function

    return declare


def operation(
    name: str,
    *,
    before: TargetOf | None = None,
    after: Callable[..., Target] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a service function as the operation ``name`` of the matrix.

    The function takes a Session (or a Database) first and ``caller`` as a
    keyword. ``before(*args, **kwargs)`` returns the target known from the
    arguments (its unit, for unit-scoped rules); ``after(result, *args,
    **kwargs)`` returns the target known from the result, for the audit.
    """
    if name not in MATRIX:
        raise KeyError(f"operation {name!r} is not in the access matrix")

    def declare(function: Callable[P, R]) -> Callable[P, R]:
        DECLARED.setdefault(name, []).append(
            f"{function.__module__}.{function.__qualname__}"
        )

        @functools.wraps(function)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            caller = kwargs.get("caller")
            if not isinstance(caller, Caller):
                raise TypeError(f"{function.__qualname__} needs caller=Caller(...)")
            target = before(*args, **kwargs) if before is not None else Target()
            rule = check(caller, name, target)
            result = function(*args, **kwargs)
            if rule.audited:
                if after is not None:
                    target = after(result, *args, **kwargs)
                _record(args[0], caller, name, target)
            return result

        setattr(guarded, "scut_operation", name)  # noqa: B010 - read by the tests
        return guarded

    return declare


def _record(store: Any, caller: Caller, name: str, target: Target) -> None:
    from scut.security.audit import record_event

    arguments: dict[str, Any] = {
        "outcome": "succeeded",
        "object_type": target.object_type,
        "object_ids": [str(item) for item in target.object_ids],
        "detail": target.detail or None,
    }
    if isinstance(store, Session):
        record_event(store, caller, name, **arguments)
        return
    with store.session() as session, session.begin():
        record_event(session, caller, name, **arguments)


def record_denial(database: Any, caller: Caller, denied: AccessDenied) -> None:
    """Record a denied call in its own transaction, after the call's rolled back."""
    from scut.security.audit import record_event

    log.warning("access denied: %s", denied)
    with database.session() as session, session.begin():
        record_event(
            session,
            caller,
            denied.operation or "unknown",
            outcome="denied",
            object_type=denied.target.object_type,
            object_ids=[str(item) for item in denied.target.object_ids],
            detail=_denial_detail(denied),
        )


def _denial_detail(denied: AccessDenied) -> dict[str, Any]:
    """Return the reason of a denial and what the call would have acted on."""
    detail: dict[str, Any] = {"reason": str(denied)}
    if denied.target.detail:
        detail["attempted"] = denied.target.detail
    return detail
