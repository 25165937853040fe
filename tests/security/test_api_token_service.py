"""Listing and revoking API tokens: one's own, or anyone's for an administrator."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select

from scut.db.models import ApiToken, AuditEvent
from scut.db.session import Database
from scut.security.access import AccessDenied
from scut.security.auth import (
    ApiTokenRejected,
    UserError,
    check_api_token,
    confirm_totp,
    create_user,
    enrol_totp,
    issue_api_token,
    list_api_tokens,
    revoke_api_token_by_id,
)
from scut.security.caller import Caller, local_operator
from scut.security.clock import FixedClock
from scut.settings import Settings
from scut.storage.keys import create_default_keyring, load_keyring

PASSWORD = "orchard lantern velvet 42"
OPERATOR = local_operator("tester")
START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


def _user(
    database: Database, settings: Settings, clock: FixedClock, name: str, role: str
) -> tuple[Caller, str]:
    """Create a user with confirmed TOTP; return its caller and its secret."""
    keyring = load_keyring(settings) or create_default_keyring(settings)
    with database.session() as session, session.begin():
        user = create_user(session, name, PASSWORD, [role], caller=OPERATOR)
        user_id = user.id
        secret = enrol_totp(session, name, caller=OPERATOR, keyring=keyring).secret
    clock.advance(dt.timedelta(seconds=30))
    with database.session() as session, session.begin():
        confirm_totp(
            session,
            name,
            pyotp.TOTP(secret).at(clock.now()),
            caller=OPERATOR,
            keyring=keyring,
            clock=clock,
        )
    return Caller(user=name, roles=frozenset({role}), user_id=user_id), secret


def _issue(
    database: Database,
    settings: Settings,
    clock: FixedClock,
    name: str,
    secret: str,
    label: str,
) -> str:
    clock.advance(dt.timedelta(seconds=30))
    with database.session() as session, session.begin():
        token: str = issue_api_token(
            session,
            name,
            PASSWORD,
            pyotp.TOTP(secret).at(clock.now()),
            label,
            7,
            "10.0.0.5",
            clock,
            settings=settings,
        )
    return token


def test_list_and_revoke_own_tokens(database: Database, settings: Settings) -> None:
    clock = FixedClock(START)
    ana, secret = _user(database, settings, clock, "ana", "analyst")
    first = _issue(database, settings, clock, "ana", secret, "first")
    _issue(database, settings, clock, "ana", secret, "second")

    with database.session() as session, session.begin():
        listed = list_api_tokens(session, caller=ana)
    assert [token.name for token in listed] == ["second", "first"]
    assert listed[0].expires_at == listed[0].created_at + dt.timedelta(days=7)
    assert listed[0].revoked_at is None

    with database.session() as session, session.begin():
        revoke_api_token_by_id(session, listed[1].id, caller=ana, clock=clock)
        revoke_api_token_by_id(session, listed[1].id, caller=ana, clock=clock)
    with database.session() as session, session.begin():
        again = list_api_tokens(session, caller=ana)
        with pytest.raises(ApiTokenRejected, match="revoked"):
            check_api_token(session, first, clock)
    assert again[1].revoked_at == START + dt.timedelta(seconds=90)
    with database.session() as session:
        revokes = session.scalars(
            select(AuditEvent.object_ids).where(AuditEvent.action == "tokens.revoke")
        ).all()
    assert revokes == [f'["{listed[1].id}"]'] * 2


def test_other_users_tokens_need_admin(database: Database, settings: Settings) -> None:
    clock = FixedClock(START)
    ana, secret = _user(database, settings, clock, "ana", "analyst")
    ion, _ = _user(database, settings, clock, "ion", "analyst")
    dana, _ = _user(database, settings, clock, "dana", "admin")
    _issue(database, settings, clock, "ana", secret, "reports")
    with database.session() as session:
        token_id = session.scalar(select(ApiToken.id))
    assert token_id is not None

    with database.session() as session, session.begin():
        assert list_api_tokens(session, caller=ion) == []
        with pytest.raises(AccessDenied, match="only their own API tokens"):
            list_api_tokens(session, "ana", caller=ion)
        with pytest.raises(AccessDenied, match="only their own API tokens"):
            revoke_api_token_by_id(session, token_id, caller=ion, clock=clock)
        with pytest.raises(ApiTokenRejected, match="no API token has the id 999"):
            revoke_api_token_by_id(session, 999, caller=ion, clock=clock)

    with database.session() as session, session.begin():
        assert [
            token.name for token in list_api_tokens(session, "ana", caller=dana)
        ] == ["reports"]
        revoke_api_token_by_id(session, token_id, caller=dana, clock=clock)
        token = session.get(ApiToken, token_id)
        assert token is not None
        assert token.revoked_at is not None
    assert ana.user_id is not None


def test_local_operator_names_the_user(database: Database, settings: Settings) -> None:
    clock = FixedClock(START)
    _user(database, settings, clock, "ana", "analyst")
    with database.session() as session, session.begin():
        with pytest.raises(UserError, match="has no account"):
            list_api_tokens(session, caller=OPERATOR)
        assert list_api_tokens(session, "ana", caller=OPERATOR) == []
        with pytest.raises(UserError, match="no user is named"):
            list_api_tokens(session, "nobody", caller=OPERATOR)
