"""Security headers on every response, cookies, and the CSRF check.

CSRF. Every form carries a token in the hidden field ``csrf_token`` and
every HTMX request sends it in the ``X-CSRF-Token`` header. The token is
an HMAC-SHA256 keyed with the session token, so it needs no storage and
changes with each sign-in. Before sign-in, the key is a random value in
the ``scut_presession`` cookie, which protects the sign-in and language
forms. A request that changes state (POST, PUT, PATCH, DELETE) without
the right token, or with an Origin header of another site, is rejected.
The API under ``/api`` is exempt: it authenticates by a bearer token
that browsers never send by themselves, and it never reads cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scut.errors import ScutError

log = logging.getLogger(__name__)

SESSION_COOKIE = "scut_session"
PRESESSION_COOKIE = "scut_presession"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
API_PREFIX = "/api/"
STATIC_PREFIX = "/static/"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class CsrfRejected(ScutError):
    """Raised when a request that changes state lacks the right CSRF token."""


def apply_security_headers(headers: MutableHeaders, path: str) -> None:
    """Set the security headers, and no-store on every response but static files.

    Pages name the signed-in user and show records, so none may be kept
    by the browser or a proxy. Static files hold no data and may be cached.
    """
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    if not path.startswith(STATIC_PREFIX):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"


class SecurityHeaders:
    """ASGI middleware that adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                apply_security_headers(MutableHeaders(scope=message), path)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(key: str) -> str:
    """Return the CSRF token of a session or pre-session ``key``."""
    return hmac.new(key.encode("utf-8"), b"scut csrf", hashlib.sha256).hexdigest()


def csrf_key(request: Request) -> str:
    """Return the key of the request's CSRF token, making a pre-session one if none.

    A new pre-session key is kept in ``request.state.new_presession`` for
    the page to set as a cookie.
    """
    key = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)
    if key:
        return key
    created: str | None = getattr(request.state, "new_presession", None)
    if created is None:
        created = secrets.token_urlsafe(32)
        request.state.new_presession = created
    return created


async def check_csrf(request: Request) -> AsyncIterator[None]:
    """Reject a state-changing page request without the right CSRF token.

    Raises CsrfRejected. Requests under ``/api/`` and safe methods pass.
    A form read here to find the token is closed when the request ends,
    so files it spooled to disk do not outlive it.
    """
    if request.method in SAFE_METHODS or request.url.path.startswith(API_PREFIX):
        yield
        return
    _check_origin(request)
    key = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    form = None
    try:
        if sent is None and _is_form(request):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not key or not sent or not hmac.compare_digest(sent, csrf_token(key)):
            log.warning(
                "CSRF token %s on %s %s from %s",
                "wrong" if sent else "missing",
                request.method,
                request.url.path,
                client_address(request),
            )
            raise CsrfRejected(f"missing or wrong CSRF token on {request.url.path}")
        yield
    finally:
        if form is not None:
            await form.close()


def _check_origin(request: Request) -> None:
    """Reject a request whose Origin header names another host than the request's.

    Browsers send ``Origin: null`` on form posts from pages whose
    Referrer-Policy is no-referrer, as every page here is. So "null"
    carries no information, and the CSRF token alone decides.
    """
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    host = request.headers.get("host", "")
    if urlsplit(origin).netloc != host:
        log.warning("request from origin %r to host %r rejected", origin, host)
        raise CsrfRejected(f"request to {request.url.path} from another site")


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").lower()
    return content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    )


def client_address(request: Request) -> str:
    """Return the client's IP address, or "unknown" when the server has none."""
    return request.client.host if request.client is not None else "unknown"


def cookies_secure(request: Request, plain_http_loopback: bool) -> bool:
    """Return whether cookies of this response need the Secure flag.

    Always, unless ``plain_http_loopback`` is on and the client is on a
    loopback address over plain HTTP.
    """
    if not plain_http_loopback or request.url.scheme != "http":
        return True
    try:
        return not ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return True


def set_cookie(
    response: Response,
    request: Request,
    name: str,
    value: str,
    *,
    plain_http_loopback: bool,
    max_age: int | None = None,
) -> None:
    """Set an HttpOnly, SameSite=Strict cookie, Secure as cookies_secure decides."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=cookies_secure(request, plain_http_loopback),
        httponly=True,
        samesite="strict",
    )


def delete_cookie(
    response: Response, request: Request, name: str, *, plain_http_loopback: bool
) -> None:
    """Remove a cookie set by set_cookie."""
    response.delete_cookie(
        name,
        path="/",
        secure=cookies_secure(request, plain_http_loopback),
        httponly=True,
        samesite="strict",
    )
