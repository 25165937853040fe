"""Users with TOTP, a clock tests move, and sign-in through the form."""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from scut.db.models import Unit
from scut.db.session import Database
from scut.security.auth import confirm_totp, create_user, enrol_totp
from scut.security.caller import local_operator
from scut.settings import Settings
from scut.storage.keys import Keyring, create_default_keyring, load_keyring

PASSWORD = "orchard lantern velvet 42"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


class SteppingClock:
    """The system time plus an offset that tests move forward.

    Each TOTP code may be used once, so tests take each code a step (30 s)
    later than the one before. Between steps the clock follows real time,
    so the server measures idle time as it would in use.
    """

    def __init__(self) -> None:
        self.offset = dt.timedelta()
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self.offset += delta


@dataclass(frozen=True)
class WebUser:
    """A user made for a test, with what signing in needs."""

    username: str
    secret: str
    password: str = PASSWORD

    def code(self, clock: SteppingClock) -> str:
        """Return a code of the next time step, moving the clock there."""
        clock.advance(dt.timedelta(seconds=30))
        return str(pyotp.TOTP(self.secret).at(clock.now()))


class Users:
    """Makes users with confirmed TOTP on the test database."""

    def __init__(
        self, database: Database, settings: Settings, clock: SteppingClock
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self.operator = local_operator("test-admin")

    def keyring(self) -> Keyring:
        return load_keyring(self.settings) or create_default_keyring(self.settings)

    def add(
        self,
        username: str,
        roles: tuple[str, ...],
        *,
        unit: str | None = None,
        display_name: str = "",
    ) -> WebUser:
        keyring = self.keyring()
        # Scut creates no submitter without a unit. Tests of one (as a
        # user whose unit was taken away would be) get a unit that is then
        # removed from the user.
        unitless_submitter = "submitter" in roles and not unit
        with self.database.session() as session, session.begin():
            unit_id = (
                _unit_id(session, unit or "Unit removed later")
                if (unit or unitless_submitter)
                else None
            )
            user_row = create_user(
                session,
                username,
                PASSWORD,
                roles,
                unit_id,
                display_name,
                caller=self.operator,
            )
            if unitless_submitter:
                user_row.unit_id = None
            enrolment = enrol_totp(
                session, username, caller=self.operator, keyring=keyring
            )
        user = WebUser(username, enrolment.secret)
        with self.database.session() as session, session.begin():
            confirm_totp(
                session,
                username,
                user.code(self.clock),
                caller=self.operator,
                keyring=keyring,
                clock=self.clock,
            )
        return user


def _unit_id(session: Session, name: str) -> int:
    unit_id = session.scalar(select(Unit.id).where(Unit.name == name))
    if unit_id is None:
        unit = Unit(name=name)
        session.add(unit)
        session.flush()
        unit_id = unit.id
    return unit_id


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form of a page."""
    found = CSRF_INPUT.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, user: WebUser, clock: SteppingClock) -> None:
    """Sign ``user`` in through the sign-in form and check the session cookie."""
    token = csrf_of(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": token,
            "username": user.username,
            "password": user.password,
            "code": user.code(clock),
        },
    )
    assert response.status_code == 303, response.text
    assert client.cookies.get("scut_session")
