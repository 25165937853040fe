"""Time-based one-time passwords (TOTP, RFC 6238): enrolment and verification.

A user's secret is stored sealed with the keyring (scut.storage.keys).
Codes have 6 digits and a 30-second time step. A code is accepted for
the current step and one step either side, to allow for clock drift,
and only once: the last accepted step is stored, and a code for that
step or an earlier one is rejected.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any, cast

import pyotp
from sqlalchemy import CursorResult, or_, update
from sqlalchemy.orm import Session

from scut.db.models import User
from scut.errors import ScutError
from scut.security.clock import Clock
from scut.storage.keys import Keyring, open_text, seal_text

log = logging.getLogger(__name__)

ISSUER = "Scut"
DIGITS = 6
STEP_SECONDS = 30
# Steps accepted before and after the current one.
WINDOW_STEPS = 1
# 160 bits, the secret length RFC 4226 recommends; 32 base32 characters.
SECRET_BYTES = 20


class TotpError(ScutError):
    """Raised when a TOTP enrolment cannot be started or confirmed."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A new TOTP secret, shown to the user once, and its provisioning URI."""

    secret: str
    # otpauth://totp/... for an authenticator app, usually as a QR code.
    uri: str


def new_secret() -> str:
    """Return a random base32 secret of SECRET_BYTES bytes, without padding."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def provisioning_uri(secret: str, username: str) -> str:
    """Return the otpauth:// URI that adds ``secret`` to an authenticator app."""
    return _totp(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def begin_enrolment(user: User, keyring: Keyring) -> Enrolment:
    """Give ``user`` a new, unconfirmed secret, replacing any previous one.

    Until a first code confirms it, the user cannot sign in with it.
    """
    secret = new_secret()
    user.totp_secret_sealed = seal_text(keyring, secret)
    user.totp_confirmed = False
    user.totp_last_step = None
    return Enrolment(secret=secret, uri=provisioning_uri(secret, user.username))


def confirm_enrolment(
    session: Session, user: User, code: str, keyring: Keyring, clock: Clock
) -> None:
    """Confirm the user's pending secret with a first code from their app.

    Raises TotpError when no enrolment was started, when the secret is
    already confirmed, or when the code does not match.
    """
    if user.totp_secret_sealed is None:
        raise TotpError(
            f"no TOTP enrolment was started for {user.username}; "
            "start one with `scut users enroll-totp`"
        )
    if user.totp_confirmed:
        raise TotpError(
            f"the TOTP secret of {user.username} is already confirmed; "
            "start a new enrolment to replace it"
        )
    step = matching_step(_secret(user, keyring), code, clock.now())
    if step is None or not claim_step(session, user, step):
        raise TotpError(
            "the code does not match the new secret; check the authenticator's "
            "clock and enter the code it shows now"
        )
    user.totp_confirmed = True
    log.info("TOTP enrolment of user %d confirmed", user.id)


def verify_code(
    session: Session, user: User, code: str, keyring: Keyring, clock: Clock
) -> bool:
    """Return whether ``code`` is a valid, unused code of the user's secret.

    On success the code's time step is stored through ``session``, so the
    same code, or one of an earlier step, is rejected afterwards. A user
    without a confirmed secret has no valid code.
    """
    if not user.totp_confirmed or user.totp_secret_sealed is None:
        return False
    step = matching_step(_secret(user, keyring), code, clock.now())
    if step is None:
        return False
    if not claim_step(session, user, step):
        log.warning("TOTP code of user %d used again (step %d)", user.id, step)
        return False
    return True


def matching_step(secret: str, code: str, at: dt.datetime) -> int | None:
    """Return the time step near ``at`` whose code is ``code``, or None.

    Spaces in ``code`` are ignored. Every step of the window is compared,
    in constant time, so the time taken does not depend on which matched.
    """
    cleaned = code.replace(" ", "")
    if len(cleaned) != DIGITS or not cleaned.isascii() or not cleaned.isdigit():
        return None
    totp = _totp(secret)
    current = totp.timecode(at)
    found: int | None = None
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected.encode(), cleaned.encode()) and found is None:
            found = step
    return found


def claim_step(session: Session, user: User, step: int) -> bool:
    """Store ``step`` as the user's last accepted step if it is later than it.

    One conditional UPDATE, so of two sign-ins racing with the same code
    only one succeeds. Returns False when the step was already used.
    """
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(User)
            .where(User.id == user.id)
            .where(or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ),
    )
    claimed = result.rowcount == 1
    if claimed:
        user.totp_last_step = step
    return claimed


def _secret(user: User, keyring: Keyring) -> str:
    assert user.totp_secret_sealed is not None
    return open_text(keyring, user.totp_secret_sealed)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
