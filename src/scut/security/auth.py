"""Users, sign-in with password and TOTP, sessions and API tokens.

Sign-in checks, in order: the source address's recent failures, the
account (known, active, not locked), the password, then the TOTP code.
Every attempt is recorded in ``login_attempts`` and in the audit log.
A failure is written in its own transaction on the same engine, so it
stays on record although the caller rolls back. The caller's session
must therefore hold no uncommitted writes when it calls a sign-in
function, because on SQLite the second transaction would wait for them.
A success is written in the caller's session, which commits it.

Session and API tokens are random strings handed out once; only their
SHA-256 digests are stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

from sqlalchemy import CursorResult, and_, case, delete, func, null, select, update
from sqlalchemy.orm import Session

from scut.db.models import ApiToken, LoginAttempt, LoginSession, Unit, User, UserRole
from scut.errors import ConfigurationError, ScutError
from scut.security.access import AccessDenied, Target, argument, operation
from scut.security.audit import record_event
from scut.security.caller import ADMIN, ROLES, SUBMITTER, Caller
from scut.security.clock import Clock, SystemClock
from scut.security.passwords import (
    Verification,
    check_password,
    hash_password,
    spend_verification_time,
    verify_password,
)
from scut.security.totp import (
    Enrolment,
    TotpError,
    begin_enrolment,
    confirm_enrolment,
    verify_code,
)
from scut.settings import Settings, get_settings
from scut.storage.keys import Keyring, load_keyring

log = logging.getLogger(__name__)

# A source with more than SOURCE_MAX_FAILURES failed attempts within the
# last SOURCE_WINDOW is rejected, whatever the user name, until enough of
# them are older than the window. Rejected attempts count as failures.
SOURCE_MAX_FAILURES = 20
SOURCE_WINDOW = dt.timedelta(minutes=10)
API_TOKEN_MAX_DAYS = 365
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,99}")

# The one message for every rejected sign-in, so that it reveals neither
# whether the user name exists nor which check failed.
SIGN_IN_FAILED = (
    "sign-in failed: the user name, password or code is wrong, or sign-in is "
    "blocked for a while after repeated failures; try again later or ask an "
    "administrator"
)


class UserError(ScutError):
    """Raised when a user to manage does not exist or a value for it is invalid."""


class SignInFailed(ScutError):
    """Raised when a sign-in is rejected.

    ``reason`` names the check that failed, for logs and the audit record;
    it must not be shown to the person signing in.
    """

    def __init__(self, reason: str, message: str = SIGN_IN_FAILED) -> None:
        super().__init__(message)
        self.reason = reason


class TotpEnrolmentRequired(SignInFailed):
    """Raised after a right password when the account has no confirmed TOTP."""


class SessionExpired(ScutError):
    """Raised when a session token is unknown, ended, idle too long or too old."""


class SessionLocked(SessionExpired):
    """Raised when a session was idle too long: its user must unlock it.

    A locked session keeps its place (the page the analyst was on) until
    its fixed end; :func:`unlock_session` reopens it with the same user's
    password and TOTP code. It subclasses SessionExpired, so a handler
    written only for sign-in sends the user there.
    """


class ApiTokenRejected(ScutError):
    """Raised when an API token is unknown, expired or revoked."""


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as administrators see it."""

    username: str
    display_name: str
    unit: str
    roles: tuple[str, ...]
    active: bool
    totp_confirmed: bool
    failed_logins: int
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None


# -- user administration ----------------------------------------------------


def _roles_target(*args: Any, **kwargs: Any) -> Target:
    roles = args[2] if len(args) > 2 else kwargs.get("roles", ())
    return Target("user", [str(args[1])], detail={"roles": sorted(roles)})


@operation("users.manage", before=argument("user"))
def create_user(
    session: Session,
    username: str,
    password: str,
    roles: Collection[str],
    unit_id: int | None = None,
    display_name: str = "",
    *,
    caller: Caller,
) -> User:
    """Create an active user without TOTP, which must be enrolled before sign-in.

    Raises UserError for an invalid or taken user name, an unknown role or
    unit, or no role at all, and WeakPassword for a password the policy
    rejects.
    """
    name = _valid_username(username)
    new_roles = _valid_roles(roles)
    if not new_roles:
        raise UserError(f"give {name} at least one role: {', '.join(ROLES)}")
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise UserError(f"the user name {name!r} is taken; choose another")
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise UserError(
            f"unit {unit_id} does not exist; list units with `scut units list`"
        )
    _check_submitter_unit(name, new_roles, unit_id)
    check_password(password, name)
    user = User(
        username=name,
        display_name=_valid_display_name(display_name),
        unit_id=unit_id,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    session.add_all(UserRole(user_id=user.id, role=role) for role in sorted(new_roles))
    session.flush()
    log.info("user %d created with roles %s", user.id, ", ".join(sorted(new_roles)))
    return user


@operation("users.manage")
def list_users(session: Session, *, caller: Caller) -> list[UserView]:
    """Return every user, by user name, with roles, unit and lock state."""
    roles: dict[int, list[str]] = {}
    for user_id, role in session.execute(
        select(UserRole.user_id, UserRole.role).order_by(UserRole.role)
    ):
        roles.setdefault(user_id, []).append(role)
    units: dict[int, str] = {
        unit_id: name for unit_id, name in session.execute(select(Unit.id, Unit.name))
    }
    return [
        UserView(
            username=user.username,
            display_name=user.display_name,
            unit=units.get(user.unit_id, "") if user.unit_id is not None else "",
            roles=tuple(roles.get(user.id, [])),
            active=user.active,
            totp_confirmed=user.totp_confirmed,
            failed_logins=user.failed_logins,
            locked_until=_aware(user.locked_until),
            last_login_at=_aware(user.last_login_at),
        )
        for user in session.scalars(select(User).order_by(User.username))
    ]


@operation("users.manage", before=_roles_target)
def set_roles(
    session: Session, username: str, roles: Collection[str], *, caller: Caller
) -> frozenset[str]:
    """Replace the user's roles; the next session or token check applies them.

    An empty set leaves the user unable to call any service.
    """
    user = _user(session, username)
    new_roles = _valid_roles(roles)
    _replace_roles(session, user, new_roles)
    return new_roles


def _change_target(*args: Any, **kwargs: Any) -> Target:
    added = sorted(kwargs.get("add", ()))
    removed = sorted(kwargs.get("remove", ()))
    return Target("user", [str(args[1])], detail={"add": added, "remove": removed})


@operation("users.manage", before=_change_target)
def change_roles(
    session: Session,
    username: str,
    *,
    add: Collection[str] = (),
    remove: Collection[str] = (),
    caller: Caller,
) -> frozenset[str]:
    """Add and remove roles of the user and return the roles it then has.

    A role both added and removed is removed. Raises UserError for an
    unknown user or role.
    """
    user = _user(session, username)
    current = frozenset(
        session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))
    )
    new_roles = (current | _valid_roles(add)) - _valid_roles(remove)
    _replace_roles(session, user, new_roles)
    return new_roles


@operation("users.manage", before=argument("user"))
def disable_user(session: Session, username: str, *, caller: Caller) -> None:
    """Disable the user: end their sessions and revoke their API tokens."""
    user = _user(session, username)
    user.active = False
    _end_access(session, user.id, SystemClock().now())
    log.info("user %d disabled", user.id)


@operation("users.manage", before=argument("user"))
def reset_password(
    session: Session, username: str, password: str, *, caller: Caller
) -> None:
    """Set a new password, ending the user's sessions and API tokens.

    Raises WeakPassword for a password the policy rejects. A lock from
    failed sign-ins stays; lift it with unlock_user.
    """
    user = _user(session, username)
    check_password(password, user.username)
    now = SystemClock().now()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    _end_access(session, user.id, now)
    log.info("password of user %d reset", user.id)


@operation("users.manage", before=argument("user"))
def unlock_user(session: Session, username: str, *, caller: Caller) -> None:
    """Lift a lock from failed sign-ins and clear the failure count."""
    user = _user(session, username)
    user.failed_logins = 0
    user.locked_until = None
    log.info("user %d unlocked", user.id)


@operation("users.manage", before=argument("user"))
def enrol_totp(
    session: Session, username: str, *, caller: Caller, keyring: Keyring
) -> Enrolment:
    """Give the user a new TOTP secret, to confirm with a first code.

    The old secret stops working at once, and the user's sessions and API
    tokens end, because a new enrolment usually means a lost device.
    """
    user = _user(session, username)
    enrolment = begin_enrolment(user, keyring)
    _end_access(session, user.id, SystemClock().now())
    log.info("TOTP enrolment of user %d started", user.id)
    return enrolment


@operation("users.manage", before=argument("user"))
def confirm_totp(
    session: Session,
    username: str,
    code: str,
    *,
    caller: Caller,
    keyring: Keyring,
    clock: Clock,
) -> None:
    """Confirm the user's new TOTP secret with a first code from their app.

    Raises TotpError when no enrolment is pending or the code does not match.
    """
    confirm_enrolment(session, _user(session, username), code, keyring, clock)


# -- sign-in ------------------------------------------------------------------


def authenticate(
    session: Session,
    username: str,
    password: str,
    totp_code: str,
    source: str,
    clock: Clock,
    *,
    settings: Settings | None = None,
    keyring: Keyring | None = None,
) -> str:
    """Sign a user in and return a new session token, handed out only here.

    ``source`` is the client's address. Raises SignInFailed, with the same
    message whatever check failed, and TotpEnrolmentRequired when the
    password is right but the account has no confirmed TOTP.
    """
    attempt = _Attempt.begin(session, username, source, clock, settings, "auth.sign-in")
    user, verification = _check_password(attempt, password)
    _check_code(attempt, user, totp_code, keyring)
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=token_digest(token),
        user_id=user.id,
        source=attempt.source,
        created_at=attempt.now,
        last_seen_at=attempt.now,
        expires_at=attempt.now + dt.timedelta(hours=attempt.settings.session_max_hours),
    )
    session.add(row)
    session.flush()
    attempt.accept(user, verification, {"session": row.id})
    return token


def issue_api_token(
    session: Session,
    username: str,
    password: str,
    totp_code: str,
    name: str,
    days: int,
    source: str,
    clock: Clock,
    *,
    settings: Settings | None = None,
    keyring: Keyring | None = None,
) -> str:
    """Check a sign-in as authenticate does and return a new API token.

    The token expires ``days`` days from now (1 to API_TOKEN_MAX_DAYS) and
    is handed out only here. Raises ApiTokenRejected for an invalid name or
    duration, and the errors of authenticate.
    """
    label = name.strip()
    if not label or len(label) > 100 or not label.isprintable():
        raise ApiTokenRejected("an API token's name has 1 to 100 printable characters")
    if not 1 <= days <= API_TOKEN_MAX_DAYS:
        raise ApiTokenRejected(
            f"an API token lasts 1 to {API_TOKEN_MAX_DAYS} days, not {days}"
        )
    attempt = _Attempt.begin(
        session, username, source, clock, settings, "auth.api-token-issue"
    )
    user, verification = _check_password(attempt, password)
    _check_code(attempt, user, totp_code, keyring)
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=token_digest(token),
        user_id=user.id,
        name=label,
        created_at=attempt.now,
        expires_at=attempt.now + dt.timedelta(days=days),
    )
    session.add(row)
    session.flush()
    attempt.accept(user, verification, {"token": row.id, "name": label, "days": days})
    return token


def finish_totp_enrolment(
    session: Session,
    username: str,
    password: str,
    totp_code: str,
    source: str,
    clock: Clock,
    *,
    settings: Settings | None = None,
    keyring: Keyring | None = None,
) -> None:
    """Confirm a pending TOTP enrolment with the password and a first code.

    The one thing a user without a confirmed TOTP may do remotely; it opens
    no session. Failures count as failed sign-ins. Raises SignInFailed as
    authenticate does.
    """
    attempt = _Attempt.begin(
        session, username, source, clock, settings, "auth.totp-confirm"
    )
    user, verification = _check_password(attempt, password)
    if user.totp_confirmed or user.totp_secret_sealed is None:
        reason = "no-pending-enrolment"
        message = (
            "no TOTP enrolment is waiting for confirmation; sign in with your "
            "authenticator app, or ask an administrator to start an enrolment"
        )
        attempt.reject(reason, user, error=SignInFailed(reason, message))
    try:
        with attempt.own_transaction() as side:
            confirm_enrolment(side, user, totp_code, attempt.keyring(keyring), clock)
    except TotpError:
        attempt.reject("wrong-code", user, counts=True)
    attempt.accept(user, verification, {})


# -- sessions and API tokens ----------------------------------------------------


def check_session(
    session: Session, token: str, clock: Clock, *, settings: Settings | None = None
) -> Caller:
    """Return the caller of a session token and mark the session as active now.

    Roles and unit are read from the database at each call, so a change
    applies to the next request. Raises SessionLocked for a session idle
    for more than session_idle_minutes, and SessionExpired for an unknown
    or ended session, one older than session_max_hours, and one of a
    disabled user.
    """
    loaded = settings or get_settings()
    now = clock.now()
    row, user = _live_session(session, token, now, loaded)
    if now - _when(row.last_seen_at) > dt.timedelta(
        minutes=loaded.session_idle_minutes
    ):
        raise SessionLocked(
            f"the session was idle for more than {loaded.session_idle_minutes} "
            "minutes and is locked; unlock it with your password and code"
        )
    row.last_seen_at = now
    return _caller_of(session, user, row.source)


def unlock_session(
    session: Session,
    token: str,
    password: str,
    totp_code: str,
    source: str,
    clock: Clock,
    *,
    settings: Settings | None = None,
    keyring: Keyring | None = None,
) -> Caller:
    """Reopen a locked session with its own user's password and TOTP code.

    The checks and the failure counting are those of a sign-in, under the
    session's user name, so an unlock cannot be used to guess another
    account. The session keeps its fixed end. Returns the caller, as
    check_session does. Raises SessionExpired for a session that is past
    its end, ended or of a disabled user, and SignInFailed as
    authenticate does.
    """
    loaded = settings or get_settings()
    row, user = _live_session(session, token, clock.now(), loaded)
    attempt = _Attempt.begin(
        session, user.username, source, clock, loaded, "auth.unlock"
    )
    checked, verification = _check_password(attempt, password)
    _check_code(attempt, checked, totp_code, keyring)
    row.last_seen_at = attempt.now
    attempt.accept(checked, verification, {"session": row.id})
    return _caller_of(session, checked, row.source)


def _live_session(
    session: Session, token: str, now: dt.datetime, loaded: Settings
) -> tuple[LoginSession, User]:
    """Return a session that has not ended and its active user, or raise."""
    row = session.scalar(
        select(LoginSession).where(LoginSession.token_hash == token_digest(token))
    )
    if row is None or row.ended_at is not None:
        raise SessionExpired("the session is unknown or was ended; sign in again")
    if now >= _when(row.expires_at):
        raise SessionExpired(
            f"the session ended {loaded.session_max_hours} hours after sign-in; "
            "sign in again"
        )
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise SessionExpired("the account is disabled; ask an administrator")
    return row, user


def end_session(session: Session, token: str, clock: Clock) -> None:
    """End the session of ``token`` (sign out); an unknown or ended one is left."""
    row = session.scalar(
        select(LoginSession).where(LoginSession.token_hash == token_digest(token))
    )
    if row is None or row.ended_at is not None:
        return
    row.ended_at = clock.now()
    user = session.get(User, row.user_id)
    if user is not None:
        caller = _caller_of(session, user, row.source)
        _audit(session, caller, "auth.sign-out", "succeeded", user, {"session": row.id})


def check_api_token(
    session: Session, token: str, clock: Clock, *, source: str = ""
) -> Caller:
    """Return the caller of an API token and record its use.

    Raises ApiTokenRejected for an unknown, revoked or expired token, or one
    whose user is disabled.
    """
    now = clock.now()
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token))
    )
    if row is None or row.revoked_at is not None:
        raise ApiTokenRejected("the API token is unknown or revoked; get a new one")
    if now >= _when(row.expires_at):
        raise ApiTokenRejected("the API token has expired; get a new one")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise ApiTokenRejected("the account is disabled; ask an administrator")
    row.last_used_at = now
    return _caller_of(session, user, source[:100])


def revoke_api_token(session: Session, token: str, clock: Clock) -> None:
    """Revoke an API token; revoking it twice changes nothing.

    Raises ApiTokenRejected for a token that was never issued.
    """
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token))
    )
    if row is None:
        raise ApiTokenRejected(
            "the API token is unknown; check that it was copied whole"
        )
    if row.revoked_at is not None:
        return
    row.revoked_at = clock.now()
    user = session.get(User, row.user_id)
    if user is not None:
        caller = _caller_of(session, user, "")
        _audit(
            session,
            caller,
            "auth.api-token-revoke",
            "succeeded",
            user,
            {"token": row.id},
        )


@dataclass(frozen=True, slots=True)
class ApiTokenView:
    """An API token as its owner sees it: never the token itself."""

    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


@operation("tokens.list")
def list_api_tokens(
    session: Session, username: str | None = None, *, caller: Caller
) -> list[ApiTokenView]:
    """Return the API tokens of ``username``, newest first; by default the caller's.

    Another user's tokens are listed only for an administrator. Raises
    AccessDenied for anyone else, and UserError for an unknown user or a
    caller without an account (the local operator names the user).
    """
    owner = _token_owner(session, username, caller, "tokens.list")
    rows = session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == owner.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return [
        ApiTokenView(
            id=row.id,
            name=row.name,
            created_at=_when(row.created_at),
            expires_at=_when(row.expires_at),
            last_used_at=_aware(row.last_used_at),
            revoked_at=_aware(row.revoked_at),
        )
        for row in rows
    ]


@operation("tokens.revoke", before=argument("api_token"))
def revoke_api_token_by_id(
    session: Session, token_id: int, *, caller: Caller, clock: Clock
) -> None:
    """Revoke the API token ``token_id`` of the caller, or of anyone for an admin.

    Revoking a token twice changes nothing. Raises ApiTokenRejected for an
    unknown id and AccessDenied for another user's token.
    """
    row = session.get(ApiToken, token_id)
    if row is None:
        raise ApiTokenRejected(f"no API token has the id {token_id}")
    if row.user_id != caller.user_id and ADMIN not in caller.roles:
        raise AccessDenied(
            f"{caller.name} may revoke only their own API tokens, not token {token_id}",
            "tokens.revoke",
            Target("api_token", [str(token_id)]),
        )
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        log.info("API token %d of user %d revoked", row.id, row.user_id)


def _token_owner(
    session: Session, username: str | None, caller: Caller, operation_name: str
) -> User:
    if username is None:
        if caller.user_id is None:
            raise UserError(f"{caller.name} has no account; name the user instead")
        owner = session.get(User, caller.user_id)
        if owner is None:
            raise UserError(f"the account of {caller.name} no longer exists")
        return owner
    owner = _user(session, username)
    if owner.id != caller.user_id and ADMIN not in caller.roles:
        raise AccessDenied(
            f"{caller.name} may list only their own API tokens",
            operation_name,
            Target("user", [owner.username]),
        )
    return owner


def token_digest(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- the steps of a sign-in -------------------------------------------------------


@dataclass
class _Attempt:
    """One sign-in attempt: who, from where, when, and how to record it."""

    session: Session
    username: str
    source: str
    now: dt.datetime
    settings: Settings
    action: str
    clock: Clock
    _keyring: Keyring | None = field(default=None, repr=False)

    @classmethod
    def begin(
        cls,
        session: Session,
        username: str,
        source: str,
        clock: Clock,
        settings: Settings | None,
        action: str,
    ) -> _Attempt:
        return cls(
            session=session,
            username=_printable(username.strip())[:100],
            source=_printable(source.strip())[:100],
            now=clock.now(),
            settings=settings or get_settings(),
            action=action,
            clock=clock,
        )

    def keyring(self, explicit: Keyring | None) -> Keyring:
        if explicit is not None:
            return explicit
        if self._keyring is None:
            self._keyring = load_keyring(self.settings)
        if self._keyring is None:
            raise ConfigurationError(
                "no master key is configured, so TOTP secrets cannot be opened; "
                "set SCUT_MASTER_KEY_FILE or SCUT_MASTER_KEY to the key they were "
                "sealed with"
            )
        return self._keyring

    @contextmanager
    def own_transaction(self) -> Iterator[Session]:
        """Open a session on the caller's engine whose work commits at once."""
        with Session(self.session.get_bind().engine) as side, side.begin():
            yield side

    def reject(
        self,
        reason: str,
        user: User | None = None,
        *,
        counts: bool = False,
        error: SignInFailed | None = None,
    ) -> NoReturn:
        """Record the failure in its own transaction and raise ``error``.

        Without ``error`` it raises SignInFailed with the common message.
        ``counts`` adds the failure to the account's count towards a lock.
        """
        with self.own_transaction() as side:
            side.add(
                LoginAttempt(
                    username=self.username,
                    source=self.source,
                    at=self.now,
                    success=False,
                )
            )
            if user is not None and counts:
                _count_failure(side, user.id, self.now, self.settings)
            caller = Caller(
                user=user.username if user else self.username,
                roles=frozenset(),
                user_id=user.id if user else None,
                source=self.source,
            )
            _audit(side, caller, self.action, "failed", user, {"reason": reason})
        if user is not None:
            self.session.expire(user, ["failed_logins", "locked_until"])
        log.warning(
            "%s from %s rejected: %s (user %s)",
            self.action,
            self.source,
            reason,
            user.id if user else "unknown",
        )
        raise error or SignInFailed(reason)

    def accept(
        self, user: User, verification: Verification, detail: dict[str, Any]
    ) -> None:
        """Record the success in the caller's session and reset the failures."""
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = self.now
        if verification.new_hash is not None:
            user.password_hash = verification.new_hash
        self.session.add(
            LoginAttempt(
                username=self.username, source=self.source, at=self.now, success=True
            )
        )
        caller = _caller_of(self.session, user, self.source)
        _audit(self.session, caller, self.action, "succeeded", user, detail)
        self.session.flush()
        log.info("%s of user %d from %s succeeded", self.action, user.id, self.source)


def _check_password(attempt: _Attempt, password: str) -> tuple[User, Verification]:
    """Run the checks up to the password; return the user and the verification."""
    if _source_failures(attempt) > SOURCE_MAX_FAILURES:
        attempt.reject("throttled")
    name = attempt.username.lower()
    user = None
    if USERNAME.fullmatch(name):
        user = attempt.session.scalar(select(User).where(User.username == name))
    if user is None:
        spend_verification_time(password)
        attempt.reject("unknown-user")
    if not user.active:
        spend_verification_time(password)
        attempt.reject("disabled", user)
    if user.locked_until is not None and _when(user.locked_until) > attempt.now:
        attempt.reject("locked", user)
    verification = verify_password(user.password_hash, password)
    if not verification.matches:
        attempt.reject("wrong-password", user, counts=True)
    return user, verification


def _check_code(
    attempt: _Attempt, user: User, code: str, keyring: Keyring | None
) -> None:
    """Check the TOTP code, claiming its time step in its own transaction."""
    if not user.totp_confirmed:
        reason = "totp-not-enrolled"
        message = (
            "sign-in needs a confirmed TOTP authenticator: confirm the enrolment "
            "with the first code from your app, or ask an administrator to start one"
        )
        attempt.reject(reason, user, error=TotpEnrolmentRequired(reason, message))
    with attempt.own_transaction() as side:
        accepted = verify_code(
            side, user, code, attempt.keyring(keyring), attempt.clock
        )
    if not accepted:
        attempt.reject("wrong-code", user, counts=True)


def _source_failures(attempt: _Attempt) -> int:
    since = attempt.now - SOURCE_WINDOW
    count = attempt.session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.source == attempt.source)
        .where(LoginAttempt.success.is_(False))
        .where(LoginAttempt.at > since)
    )
    return int(count or 0)


def _count_failure(
    session: Session, user_id: int, now: dt.datetime, settings: Settings
) -> None:
    """Count one more failure, locking the account at login_max_failures.

    Atomic UPDATEs, so concurrent failures all count. A lock that has run
    out is cleared first, so the count starts again from this failure.
    """
    lapsed = and_(User.locked_until.is_not(None), User.locked_until <= now)
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            failed_logins=case((lapsed, 1), else_=User.failed_logins + 1),
            locked_until=case((lapsed, null()), else_=User.locked_until),
        )
    )
    until = now + dt.timedelta(minutes=settings.login_lock_minutes)
    locked = cast(
        "CursorResult[Any]",
        session.execute(
            update(User)
            .where(User.id == user_id)
            .where(User.failed_logins >= settings.login_max_failures)
            .where(User.locked_until.is_(None))
            .values(locked_until=until)
        ),
    )
    if locked.rowcount:
        log.warning(
            "user %d locked until %s after %d failed sign-ins",
            user_id,
            until.isoformat(timespec="seconds"),
            settings.login_max_failures,
        )


# -- helpers ------------------------------------------------------------------------


def _audit(
    session: Session,
    caller: Caller,
    action: str,
    outcome: str,
    user: User | None,
    detail: dict[str, Any],
) -> None:
    record_event(
        session,
        caller,
        action,
        outcome=outcome,
        object_type="user",
        object_ids=[str(user.id)] if user is not None else [],
        detail=detail or None,
    )


def _caller_of(session: Session, user: User, source: str) -> Caller:
    roles = session.scalars(select(UserRole.role).where(UserRole.user_id == user.id))
    unit = session.get(Unit, user.unit_id) if user.unit_id is not None else None
    return Caller(
        user=user.username,
        roles=frozenset(roles),
        user_id=user.id,
        unit_id=user.unit_id,
        unit=unit.name if unit is not None else "",
        source=source,
    )


def _end_access(session: Session, user_id: int, now: dt.datetime) -> None:
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def _check_submitter_unit(
    name: str, roles: frozenset[str], unit_id: int | None
) -> None:
    """Raise UserError for a submitter without a unit, who could send nothing."""
    if SUBMITTER in roles and unit_id is None:
        raise UserError(
            f"{name} is a submitter and needs a unit: a unit's officer sends "
            "material for that unit only"
        )


def _replace_roles(session: Session, user: User, roles: frozenset[str]) -> None:
    _check_submitter_unit(user.username, roles, user.unit_id)
    session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.add_all(UserRole(user_id=user.id, role=role) for role in sorted(roles))
    session.flush()
    log.info("roles of user %d set to %s", user.id, ", ".join(sorted(roles)) or "none")


def _user(session: Session, username: str) -> User:
    name = username.strip().lower()
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        raise UserError(f"no user is named {name!r}; list them with `scut users list`")
    return user


def _valid_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise UserError(
            f"invalid user name {username!r}: use 3 to 100 lowercase letters, "
            "digits, dots, hyphens or underscores, starting with a letter or digit"
        )
    return name


def _valid_roles(roles: Collection[str]) -> frozenset[str]:
    new_roles = frozenset(role.strip().lower() for role in roles)
    unknown = sorted(new_roles - set(ROLES))
    if unknown:
        raise UserError(f"unknown role {', '.join(unknown)}; use {', '.join(ROLES)}")
    return new_roles


def _valid_display_name(display_name: str) -> str:
    cleaned = display_name.strip()
    if len(cleaned) > 200 or not cleaned.isprintable():
        raise UserError("a display name has at most 200 printable characters")
    return cleaned


def _printable(text: str) -> str:
    # Names and addresses as typed go into text columns and the audit log,
    # which reject NUL and unpaired surrogates.
    return "".join(char if char.isprintable() else "\ufffd" for char in text)


def _when(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # SQLite returns stored UTC times without a zone
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else _when(moment)
