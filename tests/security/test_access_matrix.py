"""The access matrix: every service operation by role and unit, deny by default."""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

import pytest
from sqlalchemy import select

from scut.db.models import AuditEvent
from scut.db.session import Database
from scut.security.access import DECLARED, MATRIX, AccessDenied, Target, check
from scut.security.caller import ROLES, Caller, local_operator

# The specification, written apart from the code: which roles may call
# each operation. S submitter, A analyst, V supervisor, U auditor, D admin.
EXPECTED: dict[str, str] = {
    "ingest.run": "SAV",
    "verification.read": "SAV",
    "submissions.list": "SAV",
    "statistics.read": "SAV",
    "work.read": "AV",
    "match.run": "AV",
    "index.rebuild": "VD",
    "hashsets.import": "VD",
    "hashsets.remove": "VD",
    "hashsets.list": "AVD",
    "hashsets.read": "AVD",
    "geo.import": "VD",
    "geo.read": "AV",
    "units.save": "D",
    "units.list": "AVD",
    "cases.open": "AV",
    "cases.status": "AV",
    "cases.list": "AV",
    "cases.read": "AV",
    "submissions.read": "AV",
    "cases.erase": "V",
    "media.list": "AV",
    "media.view": "AV",
    "media.reveal": "AV",
    "media.preview": "AV",
    "media.custody": "AVU",
    "media.categorise": "AV",
    "media.history": "AV",
    "media.conflicts": "AV",
    "series.create": "AV",
    "series.change": "AV",
    "series.merge": "AV",
    "series.split": "AV",
    "series.read": "AV",
    "series.list": "AV",
    "persons.create": "AV",
    "persons.change": "AV",
    "persons.read": "AV",
    "persons.search": "AV",
    "persons.link": "AV",
    "persons.review": "AV",
    "persons.erase": "V",
    "convicted.import": "AV",
    "convicted.review": "AV",
    "convicted.read": "AV",
    "users.manage": "D",
    "keys.manage": "D",
    "backup.run": "D",
    "restore.run": "D",
    "store.verify": "VD",
    "audit.read": "U",
    "audit.verify": "UD",
    "tokens.list": "SAVUD",
    "tokens.revoke": "SAVUD",
}
LETTERS = {
    "S": "submitter",
    "A": "analyst",
    "V": "supervisor",
    "U": "auditor",
    "D": "admin",
}
PERSONAL = {name for name in EXPECTED if name.split(".")[0] in ("persons", "convicted")}
PERSONAL.add("cases.erase")

# Modules whose public functions are service entry points, each either
# declared with @operation or listed below as an internal building block
# that checks nothing because its callers have.
SERVICE_MODULES = (
    "scut.cases.service",
    "scut.convicted.importer",
    "scut.backup.service",
    "scut.erasure",
    "scut.geo.addresses",
    "scut.geo.layers",
    "scut.geo.service",
    "scut.integrity",
    "scut.hashsets.service",
    "scut.ingest.service",
    "scut.matching.service",
    "scut.media.categorise",
    "scut.media.custody",
    "scut.media.grid",
    "scut.media.lookup",
    "scut.media.preview",
    "scut.media.view",
    "scut.overview.service",
    "scut.persons.search",
    "scut.persons.service",
    "scut.security.audit",
    "scut.security.auth",
    "scut.series.service",
    "scut.storage.maintenance",
    "scut.verification.service",
)
INTERNAL = {
    # The audit log's building blocks: every operation writes through
    # them, and reading the log goes through search_events and verify_log.
    "scut.security.audit": {
        "record_event",
        "record_separately",
        "event_hash",
        "canonical_json",
        "lock_chain",
        "verify_chain",
        "signing_key_path",
        "anchor_file",
        "generate_signing_key",
        "load_signing_key",
        "write_anchor",
        "anchor_if_due",
        "install_auto_anchor",
        "verify_anchors",
        "event_as_dict",
        "install_sqlite_guards",
        "apply_postgres_grants",
    },
    # Helpers of the key operations, which check their caller.
    "scut.storage.maintenance": {
        "required_keyring",
        "secrets_by_key",
        "reseal_secrets",
    },
    "scut.cases.service": {"find_case"},
    # Reads the locality and raion out of an address's text.
    "scut.geo.addresses": {"address_place"},
    "scut.convicted.importer": {"record_key"},
    # Blob deletion runs after an erasure that was checked has committed.
    "scut.erasure": {"delete_blobs", "orphan_blobs", "count_rows"},
    "scut.persons.service": {
        "get_person",
        "find_by_idnp",
        "person_categories",
        "birth_text",
        "check_categories",
    },
    # Sign-in establishes who the caller is, so it cannot check a caller.
    "scut.security.auth": {
        "authenticate",
        "issue_api_token",
        "finish_totp_enrolment",
        "check_session",
        "unlock_session",
        "end_session",
        "check_api_token",
        "revoke_api_token",
        "token_digest",
    },
    "scut.media.categorise": {"check_category", "same_category"},
    "scut.media.lookup": {"resolve_media", "submission_media"},
    # Blurs JPEG bytes it is given; it reads no record.
    "scut.media.preview": {"blur_thumbnail"},
    # The building blocks of match_again and list_overlap.
    "scut.matching.service": {"exhibits_for", "overlap_of_set"},
    "scut.series.service": {
        "find_series",
        "live_series",
        "summarise",
        "series_history",
        "series_media",
    },
}


def _public_functions(module: ModuleType) -> list[str]:
    return [
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value)
        and not name.startswith("_")
        and value.__module__ == module.__name__
    ]


def test_matrix_matches_specification() -> None:
    assert set(MATRIX) == set(EXPECTED)
    for name, letters in EXPECTED.items():
        expected = {LETTERS[letter] for letter in letters}
        assert set(MATRIX[name].roles) == expected, name
        assert MATRIX[name].personal == (name in PERSONAL), name


@pytest.mark.parametrize("module_name", SERVICE_MODULES)
def test_every_service_function_is_declared(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in _public_functions(module):
        function = getattr(module, name)
        declared = getattr(function, "scut_operation", None)
        internal = name in INTERNAL.get(module_name, set())
        assert declared or internal, f"{module_name}.{name} is not in the matrix"
        assert not (declared and internal), f"{module_name}.{name} listed twice"


def test_declared_operations_exist() -> None:
    for name in DECLARED:
        assert name in MATRIX


def test_every_operation_is_enforced() -> None:
    # A rule no service function declares would protect nothing.
    for module_name in SERVICE_MODULES:
        importlib.import_module(module_name)
    undeclared = sorted(set(MATRIX) - set(DECLARED))
    assert undeclared == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_allowed_or_denied(name: str, role: str) -> None:
    caller = Caller(user="u", roles=frozenset({role}), unit_id=1, justification="C-1")
    allowed = role in {LETTERS[letter] for letter in EXPECTED[name]}
    target = Target(unit_id=1)
    if allowed:
        assert check(caller, name, target) is MATRIX[name]
    else:
        with pytest.raises(AccessDenied, match=f"may not call {name}"):
            check(caller, name, target)


def test_no_roles_denied_everything() -> None:
    nobody = Caller(user="nobody", roles=frozenset(), justification="C-1")
    for name in MATRIX:
        with pytest.raises(AccessDenied):
            check(nobody, name, Target())


def test_personal_data_needs_justification() -> None:
    caller = Caller(user="ana", roles=frozenset({"analyst"}))
    with pytest.raises(AccessDenied, match="give a justification"):
        check(caller, "persons.search")
    check(caller.with_justification("CASE-7"), "persons.search")
    check(caller, "series.read")


def test_submitter_held_to_own_unit() -> None:
    submitter = Caller(user="s", roles=frozenset({"submitter"}), unit_id=3)
    check(submitter, "verification.read", Target(unit_id=3))
    with pytest.raises(AccessDenied, match="their own unit"):
        check(submitter, "verification.read", Target(unit_id=4))
    without_unit = Caller(user="s", roles=frozenset({"submitter"}))
    with pytest.raises(AccessDenied, match="their own unit"):
        check(without_unit, "verification.read", Target(unit_id=3))
    # The centre's analysts see every unit's submissions.
    check(Caller(user="a", roles=frozenset({"analyst"})), "verification.read")


def test_local_operator_may_do_everything() -> None:
    operator = local_operator("scut", acting_for="ana").with_justification("C-1")
    for name in MATRIX:
        check(operator, name, Target(unit_id=9))
    assert operator.name == "ana (via local:scut)"


def test_unknown_operation_denied() -> None:
    with pytest.raises(AccessDenied, match="not in the access matrix"):
        check(local_operator("scut"), "persons.teleport")


def test_denied_call_runs_nothing_and_is_recorded(database: Database) -> None:
    from scut.security.access import record_denial
    from scut.series.service import create_series, list_series

    auditor = Caller(user="olga", roles=frozenset({"auditor"}))
    with (
        pytest.raises(AccessDenied) as raised,
        database.session() as session,
        session.begin(),
    ):
        create_series(session, "Hidden", caller=auditor)
    record_denial(database, auditor, raised.value)
    analyst = Caller(user="ana", roles=frozenset({"analyst"}))
    with database.session() as session, session.begin():
        assert list_series(session, caller=analyst) == []
        events = session.scalars(select(AuditEvent)).all()
    assert [(event.action, event.outcome, event.user) for event in events] == [
        ("series.create", "denied", "olga")
    ]


def test_allowed_change_is_audited_in_its_transaction(database: Database) -> None:
    from scut.series.service import create_series

    analyst = Caller(user="ana", roles=frozenset({"analyst"}), source="10.0.0.5")
    with database.session() as session, session.begin():
        series = create_series(session, "Lake", caller=analyst)
    with database.session() as session:
        (event,) = session.scalars(select(AuditEvent)).all()
    assert event.action == "series.create"
    assert event.outcome == "succeeded"
    assert str(series.id) in event.object_ids
    assert event.source == "10.0.0.5"


def test_rolled_back_change_leaves_no_event(database: Database) -> None:
    from scut.series.service import create_series

    analyst = Caller(user="ana", roles=frozenset({"analyst"}))
    with database.session() as session, session.begin():
        create_series(session, "Lake", caller=analyst)
        session.rollback()
    with database.session() as session:
        assert session.scalars(select(AuditEvent)).all() == []
