"""Helpers of the administration pages: field errors, role tests, safe return paths."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from scut.security.access import MATRIX
from scut.security.caller import Caller
from scut.settings import Settings
from scut.storage.keys import Keyring, create_default_keyring, load_keyring

# Bounds of free-text fields, above any valid value, so that a huge field
# is rejected before it reaches a service or the password hash.
MAX_NAME = 200
MAX_TEXT = 500
MAX_PASSWORD = 1024
MAX_CODE = 20


@dataclass(frozen=True, slots=True)
class FieldError:
    """Why a form field was rejected: a catalog message, and the service's words.

    ``explanation`` is a message marked with N_ and translated by the page;
    ``detail`` is the ScutError message, in English, or empty.
    """

    explanation: str
    detail: str = ""


FieldErrors = dict[str, FieldError]


def may(caller: Caller, operation: str) -> bool:
    """Return whether the caller's roles allow ``operation``, to choose what to show.

    The service call checks the caller again, with its target.
    """
    return bool(caller.roles & MATRIX[operation].roles)


def is_htmx(request: Request) -> bool:
    """Return whether HTMX sent the request, which then expects a fragment."""
    return request.headers.get("hx-request") == "true"


def local_path(path: str, default: str = "/dashboard") -> str:
    """Return ``path`` if it is a path on this site, else ``default``.

    Rejects absolute and scheme-relative URLs (``//host``), backslashes,
    which some browsers read as slashes, and control characters, so that a
    return address cannot lead off the site.
    """
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    if len(path) > 2000 or any(not char.isprintable() for char in path):
        return default
    return path


def keyring_for(settings: Settings) -> Keyring:
    """Return the master keyring that seals TOTP secrets, creating it on first use.

    The command line does the same, so the first enrolment of a fresh
    installation works from either. Raises KeyringError for a configured
    key that cannot be read.
    """
    return load_keyring(settings) or create_default_keyring(settings)
