"""Users, sign-in, lockout, source throttling, sessions and API tokens."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from scut.cli.main import app
from scut.db.models import (
    ApiToken,
    AuditEvent,
    LoginAttempt,
    LoginSession,
    Unit,
    User,
)
from scut.db.session import Database
from scut.security.auth import (
    ApiTokenRejected,
    SessionExpired,
    SessionLocked,
    SignInFailed,
    TotpEnrolmentRequired,
    UserError,
    authenticate,
    change_roles,
    check_api_token,
    check_session,
    confirm_totp,
    create_user,
    disable_user,
    end_session,
    enrol_totp,
    finish_totp_enrolment,
    issue_api_token,
    list_users,
    reset_password,
    revoke_api_token,
    set_roles,
    unlock_session,
    unlock_user,
)
from scut.security.caller import local_operator
from scut.security.clock import FixedClock
from scut.security.passwords import WeakPassword
from scut.settings import Settings, get_settings
from scut.storage.keys import Keyring, key_id_of

PASSWORD = "velvet ladder beneath amber rain"
WRONG = "velvet ladder beneath amber snow"
START = dt.datetime(2026, 3, 2, 9, 0, 10, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=30)
ADMIN = local_operator("scut")
SOURCE = "10.0.0.7"


@pytest.fixture
def keyring() -> Keyring:
    key = secrets.token_bytes(32)
    return Keyring(key_id_of(key), {key_id_of(key): key})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


class Desk:
    """The database, keyring and clock one test signs in against."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        keyring: Keyring,
        clock: FixedClock,
    ) -> None:
        self.database = database
        self.settings = settings
        self.keyring = keyring
        self.clock = clock
        self.secrets: dict[str, str] = {}

    def add_user(self, name: str = "ana", roles: tuple[str, ...] = ("analyst",)) -> str:
        """Create a user with a confirmed TOTP secret and return the secret."""
        with self.database.session() as session, session.begin():
            create_user(session, name, PASSWORD, roles, None, "Ana", caller=ADMIN)
            secret = enrol_totp(
                session, name, caller=ADMIN, keyring=self.keyring
            ).secret
            confirm_totp(
                session,
                name,
                pyotp.TOTP(secret).at(self.clock.now()),
                caller=ADMIN,
                keyring=self.keyring,
                clock=self.clock,
            )
        self.secrets[name] = secret
        # The confirming code's step is used; sign-ins take the next one.
        self.clock.advance(STEP)
        return secret

    def code(self, name: str = "ana") -> str:
        """Return the user's current code; a made-up one for an unknown user."""
        if name not in self.secrets:
            return "123456"
        return pyotp.TOTP(self.secrets[name]).at(self.clock.now())

    def sign_in(
        self,
        name: str = "ana",
        password: str = PASSWORD,
        code: str | None = None,
        source: str = SOURCE,
    ) -> str:
        """Sign in in one transaction, as the web application will."""
        with self.database.session() as session, session.begin():
            return authenticate(
                session,
                name,
                password,
                self.code(name) if code is None else code,
                source,
                self.clock,
                settings=self.settings,
                keyring=self.keyring,
            )

    def failed(self, **arguments: str) -> SignInFailed:
        with pytest.raises(SignInFailed) as raised:
            self.sign_in(**arguments)
        return raised.value

    def check(self, token: str) -> tuple[str, frozenset[str]]:
        with self.database.session() as session, session.begin():
            caller = check_session(session, token, self.clock, settings=self.settings)
        return caller.user, caller.roles

    def next_step(self) -> None:
        """Move to the next TOTP step, so a new code can be used."""
        self.clock.advance(STEP)

    def user(self, name: str = "ana") -> User:
        with self.database.session() as session:
            return session.scalars(select(User).where(User.username == name)).one()


@pytest.fixture
def desk(
    database: Database, settings: Settings, keyring: Keyring, clock: FixedClock
) -> Desk:
    return Desk(database, settings, keyring, clock)


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # SQLite returns stored UTC times without a zone
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


# -- user administration ------------------------------------------------------


def test_submitter_needs_unit(database: Database) -> None:
    with (
        pytest.raises(UserError, match="submitter and needs a unit"),
        database.session() as session,
        session.begin(),
    ):
        create_user(session, "sam", PASSWORD, ["submitter"], caller=ADMIN)
    with database.session() as session, session.begin():
        create_user(session, "ana", PASSWORD, ["analyst"], caller=ADMIN)
    with (
        pytest.raises(UserError, match="submitter and needs a unit"),
        database.session() as session,
        session.begin(),
    ):
        change_roles(session, "ana", add=["submitter"], remove=[], caller=ADMIN)


def test_create_user_checks_values(database: Database) -> None:
    cases = [
        (("x", PASSWORD, ["analyst"]), UserError, "invalid user name"),
        (("ana", PASSWORD, ["chief"]), UserError, "unknown role chief"),
        (("ana", PASSWORD, []), UserError, "at least one role"),
        (("ana", "short one", ["analyst"]), WeakPassword, "at least 15"),
        (("ana", "ana-ana-ana-ana-ana", ["analyst"]), WeakPassword, "user name"),
    ]
    for arguments, error, message in cases:
        with (
            pytest.raises(error, match=message),
            database.session() as session,
            session.begin(),
        ):
            create_user(session, *arguments, caller=ADMIN)


def test_create_user_rejects_taken_name(database: Database) -> None:
    with database.session() as session, session.begin():
        create_user(session, "Ana", PASSWORD, ["analyst"], caller=ADMIN)
    with (
        pytest.raises(UserError, match="'ana' is taken"),
        database.session() as session,
        session.begin(),
    ):
        create_user(session, "ana", PASSWORD, ["auditor"], caller=ADMIN)


def test_create_user_is_audited(database: Database) -> None:
    with database.session() as session, session.begin():
        session.add(Unit(name="Centre", kind="centre"))
        session.flush()
        unit_id = session.scalars(select(Unit.id)).one()
        create_user(
            session, "ana", PASSWORD, ["analyst"], unit_id, "Ana P.", caller=ADMIN
        )
        (view,) = list_users(session, caller=ADMIN)

    assert view.unit == "Centre"
    assert view.roles == ("analyst",)
    assert not view.totp_confirmed
    (event, *_) = _events(database, "users.manage")
    assert event.user == "local:scut"
    assert "ana" in event.object_ids


def test_user_without_totp_cannot_sign_in(desk: Desk) -> None:
    with desk.database.session() as session, session.begin():
        create_user(session, "ana", PASSWORD, ["analyst"], caller=ADMIN)

    with pytest.raises(TotpEnrolmentRequired, match="confirmed TOTP") as raised:
        desk.sign_in(code="123456")
    assert raised.value.reason == "totp-not-enrolled"
    with desk.database.session() as session:
        assert session.scalars(select(LoginSession)).all() == []


def test_user_finishes_enrolment_remotely(desk: Desk) -> None:
    with desk.database.session() as session, session.begin():
        create_user(session, "ana", PASSWORD, ["analyst"], caller=ADMIN)
        secret = enrol_totp(session, "ana", caller=ADMIN, keyring=desk.keyring).secret
    desk.secrets["ana"] = secret

    with pytest.raises(SignInFailed) as raised, desk.database.session() as session:
        finish_totp_enrolment(
            session,
            "ana",
            WRONG,
            desk.code(),
            SOURCE,
            desk.clock,
            settings=desk.settings,
            keyring=desk.keyring,
        )
    assert raised.value.reason == "wrong-password"
    with desk.database.session() as session, session.begin():
        finish_totp_enrolment(
            session,
            "ana",
            PASSWORD,
            desk.code(),
            SOURCE,
            desk.clock,
            settings=desk.settings,
            keyring=desk.keyring,
        )

    assert desk.user().totp_confirmed
    assert desk.failed().reason == "wrong-code"  # the confirming code is used
    desk.next_step()
    assert desk.check(desk.sign_in()) == ("ana", frozenset({"analyst"}))


# -- sign-in ------------------------------------------------------------------


def test_sign_in_returns_session_of_user(desk: Desk) -> None:
    desk.add_user(roles=("analyst", "supervisor"))

    token = desk.sign_in()

    assert desk.check(token) == ("ana", frozenset({"analyst", "supervisor"}))
    user = desk.user()
    assert user.last_login_at is not None
    with desk.database.session() as session:
        attempts = session.scalars(select(LoginAttempt)).all()
    assert [(row.username, row.source, row.success) for row in attempts] == [
        ("ana", SOURCE, True)
    ]
    (event,) = _events(desk.database, "auth.sign-in")
    assert (event.user, event.outcome, event.source) == ("ana", "succeeded", SOURCE)


def test_same_error_for_every_wrong_credential(desk: Desk) -> None:
    desk.add_user()

    unknown = desk.failed(name="nobody")
    desk.next_step()
    wrong_password = desk.failed(password=WRONG)
    desk.next_step()
    wrong_code = desk.failed(code="000000" if desk.code() != "000000" else "111111")

    assert str(unknown) == str(wrong_password) == str(wrong_code)
    assert "nobody" not in str(unknown)
    assert [unknown.reason, wrong_password.reason, wrong_code.reason] == [
        "unknown-user",
        "wrong-password",
        "wrong-code",
    ]


def test_failures_recorded_despite_rollback(desk: Desk) -> None:
    desk.add_user()
    desk.failed(password=WRONG)
    desk.failed(name="nobody")

    with desk.database.session() as session:
        attempts = session.scalars(select(LoginAttempt).order_by(LoginAttempt.id))
        rows = [(row.username, row.success) for row in attempts]
    assert rows == [("ana", False), ("nobody", False)]
    events = _events(desk.database, "auth.sign-in")
    assert [event.outcome for event in events] == ["failed", "failed"]
    assert [event.detail["reason"] for event in events] == [
        "wrong-password",
        "unknown-user",
    ]
    assert desk.user().failed_logins == 1


def test_lock_after_five_failures(desk: Desk) -> None:
    desk.add_user()
    for _ in range(4):
        assert desk.failed(password=WRONG).reason == "wrong-password"
    assert desk.user().locked_until is None

    desk.failed(password=WRONG)

    locked_until = desk.user().locked_until
    assert locked_until is not None
    assert _utc(locked_until) == desk.clock.now() + dt.timedelta(minutes=10)
    assert desk.failed().reason == "locked"


def test_lock_holds_against_right_password(desk: Desk) -> None:
    desk.add_user()
    for _ in range(5):
        desk.failed(password=WRONG)
    locked_until = desk.user().locked_until

    desk.clock.advance(dt.timedelta(minutes=9, seconds=59))
    assert desk.failed().reason == "locked"
    assert desk.failed(password=WRONG).reason == "locked"

    user = desk.user()
    assert user.locked_until == locked_until
    assert user.failed_logins == 5
    with desk.database.session() as session:
        assert session.scalars(select(LoginSession)).all() == []


def test_lock_ends_after_ten_minutes(desk: Desk) -> None:
    desk.add_user()
    for _ in range(5):
        desk.failed(password=WRONG)

    desk.clock.advance(dt.timedelta(minutes=10))
    token = desk.sign_in()

    assert desk.check(token)[0] == "ana"
    user = desk.user()
    assert user.failed_logins == 0
    assert user.locked_until is None


def test_failure_after_lock_counts_from_one(desk: Desk) -> None:
    desk.add_user()
    for _ in range(5):
        desk.failed(password=WRONG)
    desk.clock.advance(dt.timedelta(minutes=10))

    assert desk.failed(password=WRONG).reason == "wrong-password"

    user = desk.user()
    assert user.failed_logins == 1
    assert user.locked_until is None


def test_wrong_codes_lock_too(desk: Desk) -> None:
    desk.add_user()
    for _ in range(5):
        desk.next_step()
        wrong = "000000" if desk.code() != "000000" else "111111"
        assert desk.failed(code=wrong).reason == "wrong-code"

    assert desk.user().locked_until is not None
    desk.next_step()
    assert desk.failed().reason == "locked"


def test_success_resets_failure_count(desk: Desk) -> None:
    desk.add_user()
    for _ in range(4):
        desk.failed(password=WRONG)
    desk.sign_in()
    desk.next_step()
    for _ in range(4):
        desk.failed(password=WRONG)

    assert desk.user().locked_until is None
    assert desk.user().failed_logins == 4


def test_unlock_lifts_lock(desk: Desk) -> None:
    desk.add_user()
    for _ in range(5):
        desk.failed(password=WRONG)

    with desk.database.session() as session, session.begin():
        unlock_user(session, "ana", caller=ADMIN)

    assert desk.check(desk.sign_in())[0] == "ana"


@pytest.mark.slow
def test_source_throttled_across_user_names(desk: Desk) -> None:
    desk.add_user()
    for number in range(20):
        desk.failed(name=f"guess{number}", source="10.9.9.9")

    # 20 failures in the window: the source may still try.
    desk.sign_in(source="10.9.9.9")
    desk.next_step()
    desk.failed(name="guess20", source="10.9.9.9")

    # Now more than 20: rejected whatever the user name and password.
    assert desk.failed(source="10.9.9.9").reason == "throttled"
    assert desk.failed(name="guess21", source="10.9.9.9").reason == "throttled"
    assert desk.user().failed_logins == 0
    # Another source is not affected.
    assert desk.check(desk.sign_in(source="10.9.9.10"))[0] == "ana"


@pytest.mark.slow
def test_source_throttle_ends_with_window(desk: Desk) -> None:
    desk.add_user()
    for number in range(21):
        desk.failed(name=f"guess{number}", source="10.9.9.9")
    desk.clock.advance(dt.timedelta(minutes=9))
    assert desk.failed(source="10.9.9.9").reason == "throttled"

    # The 21 failures leave the window; the rejected attempt, a minute
    # later, does not by itself hold the source.
    desk.clock.advance(dt.timedelta(minutes=1, seconds=1))

    assert desk.check(desk.sign_in(source="10.9.9.9"))[0] == "ana"


def test_disabled_user_rejected(desk: Desk) -> None:
    desk.add_user()
    token = desk.sign_in()
    desk.next_step()

    with desk.database.session() as session, session.begin():
        disable_user(session, "ana", caller=ADMIN)

    failure = desk.failed()
    assert failure.reason == "disabled"
    assert str(failure) == str(desk.failed(name="nobody"))
    with pytest.raises(SessionExpired):
        desk.check(token)


def test_weaker_hash_upgraded_at_sign_in(desk: Desk) -> None:
    desk.add_user()
    weak = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    with desk.database.session() as session, session.begin():
        user = session.scalars(select(User)).one()
        user.password_hash = weak.hash(PASSWORD)

    desk.sign_in()

    assert extract_parameters(desk.user().password_hash).memory_cost == 65536


def test_reset_password_ends_sessions(desk: Desk) -> None:
    desk.add_user()
    token = desk.sign_in()
    desk.next_step()
    new_password = "quiet orchard after the long frost"

    with desk.database.session() as session, session.begin():
        reset_password(session, "ana", new_password, caller=ADMIN)

    with pytest.raises(SessionExpired, match="unknown or was ended"):
        desk.check(token)
    assert desk.failed().reason == "wrong-password"
    desk.next_step()
    assert desk.check(desk.sign_in(password=new_password))[0] == "ana"


# -- sessions -----------------------------------------------------------------


def test_idle_session_locks_after_thirty_minutes(desk: Desk) -> None:
    desk.add_user()
    token = desk.sign_in()

    desk.clock.advance(dt.timedelta(minutes=30))
    desk.check(token)  # exactly 30 minutes idle is still allowed
    desk.clock.advance(dt.timedelta(minutes=30, seconds=1))

    with pytest.raises(SessionLocked, match="idle for more than 30 minutes"):
        desk.check(token)
    # Locked is not ended: it stays locked until its user unlocks it.
    desk.clock.advance(dt.timedelta(hours=2))
    with pytest.raises(SessionLocked):
        desk.check(token)


def _unlock(desk: Desk, token: str, password: str = PASSWORD, code: str = "") -> str:
    with desk.database.session() as session, session.begin():
        return unlock_session(
            session,
            token,
            password,
            code or desk.code(),
            SOURCE,
            desk.clock,
            settings=desk.settings,
            keyring=desk.keyring,
        ).user


def test_locked_session_unlocked_by_its_user(desk: Desk) -> None:
    desk.add_user()
    desk.add_user("ion")
    token = desk.sign_in()
    desk.clock.advance(dt.timedelta(minutes=45))
    with pytest.raises(SessionLocked):
        desk.check(token)

    # A code from another account's authenticator, or a wrong password,
    # does not open it, and each counts as a failure of the session's user.
    with pytest.raises(SignInFailed):
        _unlock(desk, token, code=desk.code("ion"))
    with pytest.raises(SignInFailed):
        _unlock(desk, token, password="wrong password for this account")
    assert desk.user().failed_logins == 2
    with pytest.raises(SessionLocked):
        desk.check(token)

    assert _unlock(desk, token) == "ana"
    assert desk.check(token)[0] == "ana"
    assert desk.user().failed_logins == 0
    outcomes = [event.outcome for event in _events(desk.database, "auth.unlock")]
    assert outcomes == ["failed", "failed", "succeeded"]


def test_unlock_keeps_the_fixed_end(desk: Desk) -> None:
    desk.add_user()
    token = desk.sign_in()
    desk.clock.advance(dt.timedelta(hours=12))

    with pytest.raises(SessionExpired, match="12 hours after sign-in") as raised:
        _unlock(desk, token)

    assert not isinstance(raised.value, SessionLocked)


def test_session_ends_twelve_hours_after_sign_in(desk: Desk) -> None:
    desk.add_user()
    token = desk.sign_in()

    for _ in range(12 * 3 - 1):
        desk.clock.advance(dt.timedelta(minutes=20))
        desk.check(token)
    desk.clock.advance(dt.timedelta(minutes=19, seconds=59))
    desk.check(token)
    desk.clock.advance(dt.timedelta(seconds=1))

    with pytest.raises(SessionExpired, match="12 hours after sign-in"):
        desk.check(token)


def test_removed_role_applies_at_next_check(desk: Desk) -> None:
    desk.add_user(roles=("analyst", "supervisor"))
    token = desk.sign_in()
    assert desk.check(token)[1] == {"analyst", "supervisor"}

    with desk.database.session() as session, session.begin():
        set_roles(session, "ana", ["analyst"], caller=ADMIN)
    assert desk.check(token)[1] == {"analyst"}

    with desk.database.session() as session, session.begin():
        change_roles(session, "ana", remove=["analyst"], add=["auditor"], caller=ADMIN)
    assert desk.check(token)[1] == {"auditor"}


def test_end_session(desk: Desk) -> None:
    desk.add_user()
    token = desk.sign_in()

    with desk.database.session() as session, session.begin():
        end_session(session, token, desk.clock)
        end_session(session, token, desk.clock)

    with pytest.raises(SessionExpired, match="unknown or was ended"):
        desk.check(token)
    assert [event.outcome for event in _events(desk.database, "auth.sign-out")] == [
        "succeeded"
    ]


def test_unknown_session_token_rejected(desk: Desk) -> None:
    with pytest.raises(SessionExpired, match="unknown"):
        desk.check(secrets.token_urlsafe(32))


# -- API tokens ---------------------------------------------------------------


def _issue(desk: Desk, days: int = 30, password: str = PASSWORD) -> str:
    with desk.database.session() as session, session.begin():
        return issue_api_token(
            session,
            "ana",
            password,
            desk.code(),
            "import script",
            days,
            SOURCE,
            desk.clock,
            settings=desk.settings,
            keyring=desk.keyring,
        )


def _check_token(desk: Desk, token: str) -> frozenset[str]:
    with desk.database.session() as session, session.begin():
        return check_api_token(session, token, desk.clock, source=SOURCE).roles


def test_api_token_gives_user_roles(desk: Desk) -> None:
    desk.add_user()
    token = _issue(desk)

    assert _check_token(desk, token) == {"analyst"}
    with desk.database.session() as session:
        row = session.scalars(select(ApiToken)).one()
    assert row.name == "import script"
    assert row.last_used_at is not None
    (event,) = _events(desk.database, "auth.api-token-issue")
    assert event.outcome == "succeeded"


def test_api_token_needs_sign_in_checks(desk: Desk) -> None:
    desk.add_user()

    with pytest.raises(SignInFailed) as raised:
        _issue(desk, password=WRONG)

    assert raised.value.reason == "wrong-password"
    assert desk.user().failed_logins == 1
    with desk.database.session() as session:
        assert session.scalars(select(ApiToken)).all() == []


def test_api_token_expires(desk: Desk) -> None:
    desk.add_user()
    token = _issue(desk, days=7)

    desk.clock.advance(dt.timedelta(days=7) - dt.timedelta(seconds=1))
    assert _check_token(desk, token) == {"analyst"}
    desk.clock.advance(dt.timedelta(seconds=1))

    with pytest.raises(ApiTokenRejected, match="expired"):
        _check_token(desk, token)


def test_api_token_duration_bounded(desk: Desk) -> None:
    desk.add_user()
    for days in (0, 366):
        with pytest.raises(ApiTokenRejected, match="1 to 365 days"):
            _issue(desk, days=days)


def test_api_token_revoked(desk: Desk) -> None:
    desk.add_user()
    token = _issue(desk)

    with desk.database.session() as session, session.begin():
        revoke_api_token(session, token, desk.clock)
        revoke_api_token(session, token, desk.clock)

    with pytest.raises(ApiTokenRejected, match="revoked"):
        _check_token(desk, token)
    with (
        pytest.raises(ApiTokenRejected, match="unknown"),
        desk.database.session() as session,
    ):
        revoke_api_token(session, secrets.token_urlsafe(32), desk.clock)


def test_api_token_of_disabled_user_rejected(desk: Desk) -> None:
    desk.add_user()
    token = _issue(desk)

    with desk.database.session() as session, session.begin():
        disable_user(session, "ana", caller=ADMIN)

    with pytest.raises(ApiTokenRejected):
        _check_token(desk, token)


# -- what is stored -----------------------------------------------------------


def _all_stored_text(session: Session) -> str:
    tables = (
        "users",
        "user_roles",
        "login_sessions",
        "api_tokens",
        "login_attempts",
        "audit_events",
    )
    values: list[str] = []
    for table in tables:
        for row in session.execute(text(f"SELECT * FROM {table}")):
            values.extend(str(value) for value in row)
    return "\n".join(values)


def test_only_hashes_are_stored(desk: Desk) -> None:
    secret = desk.add_user()
    session_token = desk.sign_in()
    desk.next_step()
    code = desk.code()
    api_token = _issue(desk)
    desk.next_step()
    desk.failed(password=WRONG)

    with desk.database.session() as session:
        stored = _all_stored_text(session)

    assert "ana" in stored  # the search does read the rows
    for value in (PASSWORD, WRONG, secret, session_token, api_token):
        assert value not in stored
    assert f"'{code}'" not in stored
    assert f'"{code}"' not in stored
    with desk.database.session() as session:
        hashes = session.scalars(select(LoginSession.token_hash)).all()
        token_hashes = session.scalars(select(ApiToken.token_hash)).all()
    assert len(hashes) == 1
    assert len(hashes[0]) == 64
    assert len(token_hashes[0]) == 64


# -- command line -------------------------------------------------------------


@pytest.fixture
def command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Result]]:
    """Run ``scut`` in this process on a SQLite database under tmp_path."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    monkeypatch.setenv("SCUT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCUT_MASTER_KEY", key)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SCUT_DATABASE_URL", raising=False)
    monkeypatch.delenv("SCUT_MASTER_KEY_FILE", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*arguments: str, stdin: str = "") -> Result:
        return runner.invoke(app, list(arguments), input=stdin)

    yield run
    get_settings.cache_clear()


def test_users_command_line(command_line: Callable[..., Result]) -> None:
    def ok(*arguments: str, stdin: str = "") -> str:
        result = command_line(*arguments, stdin=stdin)
        assert result.exit_code == 0, result.stderr + result.stdout
        return result.stdout

    ok("units", "add", "Centre", "--kind", "centre")
    ok(
        "users",
        "add",
        "ana",
        "--role",
        "analyst",
        "--role",
        "supervisor",
        "--unit",
        "Centre",
        "--display-name",
        "Ana P.",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    weak = command_line(
        "users", "add", "bob", "--role", "auditor", "--password-stdin", stdin="short\n"
    )
    assert weak.exit_code == 1
    assert "at least 15" in weak.stderr

    enrolled = ok("users", "enroll-totp", "ana", stdin="\n")
    secret = enrolled.split("(shown once): ")[1].split()[0]
    assert "otpauth://totp/Scut:ana?" in enrolled
    ok("users", "enroll-totp", "ana", "--code", pyotp.TOTP(secret).now())
    ok("users", "roles", "ana", "--remove", "supervisor", "--add", "auditor")
    ok("users", "unlock", "ana")
    ok("users", "disable", "ana")

    (listed,) = json.loads(ok("users", "list", "--json"))
    assert listed["username"] == "ana"
    assert listed["unit"] == "Centre"
    assert listed["roles"] == ["analyst", "auditor"]
    assert listed["totp_confirmed"] is True
    assert listed["active"] is False


def test_password_prompt_asks_twice(command_line: Callable[..., Result]) -> None:
    mismatch = f"{PASSWORD}\nsomething else entirely\n{PASSWORD}\n{PASSWORD}\n"

    result = command_line("users", "add", "ana", "--role", "analyst", stdin=mismatch)

    assert result.exit_code == 0, result.stderr + result.stdout
    assert "do not match" in result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr
