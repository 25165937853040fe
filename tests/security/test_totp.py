"""TOTP enrolment and codes, checked against pyotp at controlled times."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from sqlalchemy import select

from scut.db.models import User
from scut.db.session import Database
from scut.security.clock import FixedClock
from scut.security.totp import (
    TotpError,
    begin_enrolment,
    confirm_enrolment,
    matching_step,
    new_secret,
    provisioning_uri,
    verify_code,
)
from scut.storage.keys import Keyring, key_id_of, open_text

START = dt.datetime(2026, 3, 2, 9, 0, 10, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=30)


@pytest.fixture
def keyring() -> Keyring:
    key = secrets.token_bytes(32)
    return Keyring(key_id_of(key), {key_id_of(key): key})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def _code(secret: str, at: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def _add_user(database: Database) -> None:
    with database.session() as session, session.begin():
        session.add(User(username="ana", password_hash="$argon2id$placeholder"))


def _enrol(database: Database, keyring: Keyring) -> str:
    """Add a user with a pending secret and return the secret."""
    _add_user(database)
    with database.session() as session, session.begin():
        user = session.scalars(select(User)).one()
        return begin_enrolment(user, keyring).secret


def _confirm(database: Database, keyring: Keyring, clock: FixedClock) -> str:
    """Add a user with a confirmed secret and return the secret."""
    secret = _enrol(database, keyring)
    with database.session() as session, session.begin():
        user = session.scalars(select(User)).one()
        confirm_enrolment(session, user, _code(secret, clock.now()), keyring, clock)
    return secret


def _verify(database: Database, keyring: Keyring, clock: FixedClock, code: str) -> bool:
    with database.session() as session, session.begin():
        user = session.scalars(select(User)).one()
        return verify_code(session, user, code, keyring, clock)


def test_new_secret_is_160_random_bits() -> None:
    first = new_secret()

    assert len(first) == 32
    assert len(base64.b32decode(first)) == 20
    assert first != new_secret()


def test_provisioning_uri_names_issuer_and_user() -> None:
    secret = new_secret()
    uri = urlparse(provisioning_uri(secret, "ana.popescu"))
    query = parse_qs(uri.query)

    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    assert uri.path == "/Scut:ana.popescu"
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Scut"]


def test_code_accepted_within_one_step() -> None:
    secret = new_secret()
    step = pyotp.TOTP(secret).timecode(START)

    assert matching_step(secret, _code(secret, START), START) == step
    assert matching_step(secret, _code(secret, START - STEP), START) == step - 1
    assert matching_step(secret, _code(secret, START + STEP), START) == step + 1


def test_code_rejected_two_steps_away() -> None:
    secret = new_secret()
    for offset in (-2, 2, -10):
        code = _code(secret, START + offset * STEP)
        if code in {_code(secret, START + near * STEP) for near in (-1, 0, 1)}:
            continue  # the same six digits can recur; nothing to test then
        assert matching_step(secret, code, START) is None, offset


def test_code_format_checked() -> None:
    secret = new_secret()
    code = _code(secret, START)

    assert matching_step(secret, f"{code[:3]} {code[3:]}", START) is not None
    assert matching_step(secret, code[:5], START) is None
    assert matching_step(secret, code + "0", START) is None
    assert matching_step(secret, "", START) is None
    assert matching_step(secret, "١٢٣٤٥٦", START) is None


def test_secret_stored_sealed(database: Database, keyring: Keyring) -> None:
    secret = _enrol(database, keyring)

    with database.session() as session:
        user = session.scalars(select(User)).one()
    assert user.totp_secret_sealed is not None
    assert secret not in user.totp_secret_sealed
    assert open_text(keyring, user.totp_secret_sealed) == secret
    assert not user.totp_confirmed


def test_confirm_needs_matching_code(
    database: Database, keyring: Keyring, clock: FixedClock
) -> None:
    secret = _enrol(database, keyring)
    other = new_secret()

    with database.session() as session, session.begin():
        user = session.scalars(select(User)).one()
        with pytest.raises(TotpError, match="does not match"):
            confirm_enrolment(session, user, _code(other, START), keyring, clock)
        confirm_enrolment(session, user, _code(secret, START), keyring, clock)

    with database.session() as session:
        user = session.scalars(select(User)).one()
    assert user.totp_confirmed
    assert user.totp_last_step == pyotp.TOTP(secret).timecode(START)


def test_confirm_without_enrolment_rejected(
    database: Database, keyring: Keyring, clock: FixedClock
) -> None:
    _add_user(database)
    with database.session() as session:
        user = session.scalars(select(User)).one()
        with pytest.raises(TotpError, match="no TOTP enrolment was started"):
            confirm_enrolment(session, user, "123456", keyring, clock)


def test_confirm_twice_rejected(
    database: Database, keyring: Keyring, clock: FixedClock
) -> None:
    secret = _confirm(database, keyring, clock)
    clock.advance(STEP)

    with database.session() as session:
        user = session.scalars(select(User)).one()
        with pytest.raises(TotpError, match="already confirmed"):
            confirm_enrolment(session, user, _code(secret, clock.now()), keyring, clock)


def test_confirming_code_cannot_be_used_again(
    database: Database, keyring: Keyring, clock: FixedClock
) -> None:
    secret = _confirm(database, keyring, clock)

    assert not _verify(database, keyring, clock, _code(secret, START))


def test_code_accepted_once(
    database: Database, keyring: Keyring, clock: FixedClock
) -> None:
    secret = _confirm(database, keyring, clock)
    clock.advance(STEP)
    code = _code(secret, clock.now())

    assert _verify(database, keyring, clock, code)
    assert not _verify(database, keyring, clock, code)
    with database.session() as session:
        user = session.scalars(select(User)).one()
    assert user.totp_last_step == pyotp.TOTP(secret).timecode(clock.now())


def test_earlier_step_rejected_after_later_one(
    database: Database, keyring: Keyring, clock: FixedClock
) -> None:
    secret = _confirm(database, keyring, clock)
    clock.advance(3 * STEP)
    earlier = _code(secret, clock.now() - STEP)
    later = _code(secret, clock.now() + STEP)

    # The app's clock runs ahead: the code of the next step is accepted ...
    assert _verify(database, keyring, clock, later)
    # ... and the previous step's code, though inside the window, is a replay.
    assert not _verify(database, keyring, clock, earlier)
    assert not _verify(database, keyring, clock, _code(secret, clock.now()))


def test_window_at_controlled_times(
    database: Database, keyring: Keyring, clock: FixedClock
) -> None:
    secret = _confirm(database, keyring, clock)
    clock.advance(10 * STEP)

    # A code from 30 s ago is still accepted (one step behind).
    assert _verify(database, keyring, clock, _code(secret, clock.now() - STEP))
    clock.advance(4 * STEP)
    stale = _code(secret, clock.now() - 2 * STEP)
    near = {_code(secret, clock.now() + offset * STEP) for offset in (-1, 0, 1)}
    if stale not in near:
        assert not _verify(database, keyring, clock, stale)
    assert _verify(database, keyring, clock, _code(secret, clock.now()))


def test_unconfirmed_secret_has_no_valid_code(
    database: Database, keyring: Keyring, clock: FixedClock
) -> None:
    secret = _enrol(database, keyring)

    assert not _verify(database, keyring, clock, _code(secret, clock.now()))


def test_new_enrolment_replaces_secret(
    database: Database, keyring: Keyring, clock: FixedClock
) -> None:
    old = _confirm(database, keyring, clock)
    with database.session() as session, session.begin():
        user = session.scalars(select(User)).one()
        new = begin_enrolment(user, keyring).secret
    clock.advance(STEP)

    assert new != old
    assert not _verify(database, keyring, clock, _code(old, clock.now()))
    with database.session() as session:
        user = session.scalars(select(User)).one()
    assert not user.totp_confirmed
    assert user.totp_last_step is None
