"""The justification that personal data needs, asked for once per session.

Every service call that reads or changes personal data needs a case
reference or a reason (``Caller.justification``), which its audit event
records. The pages ask for it in a small form the first time a session
opens such a page, and keep it in the server's memory under the digest of
the session token. The browser keeps no copy it could change, and a new
sign-in starts without one. After a restart of the server, or on another
server process, the form is shown again.

The API takes the justification with every request, in the header
``X-Justification``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import Request

from scut.security.access import MATRIX, AccessDenied
from scut.security.auth import token_digest
from scut.security.caller import Caller
from scut.web.callers import PageCaller
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.rendering import render_page
from scut.web.security import SESSION_COOKIE

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PATH = "/justification"
# The command line accepts as much.
MAX_JUSTIFICATION = 2000
# Sessions whose justification one server process keeps. The oldest is
# dropped first, and its session is asked again.
CAPACITY = 10_000
API_HEADER = "X-Justification"
EMPTY = N_("Give a case reference or a reason.")
TOO_LONG = N_("Write at most %(maximum)s characters.")

JustificationField = Annotated[str, Form(max_length=MAX_JUSTIFICATION * 2)]
NextField = Annotated[str, Form(alias="next", max_length=2000)]


@dataclass(frozen=True, slots=True)
class _Entry:
    """A justification and the time it was given."""

    text: str
    given_at: dt.datetime


class JustificationStore:
    """Justifications by session token digest, dropped after the session's maximum.

    Thread-safe: request handlers run in a thread pool.
    """

    def __init__(self, lifetime: dt.timedelta, capacity: int = CAPACITY) -> None:
        self.lifetime = lifetime
        self.capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, now: dt.datetime) -> str | None:
        """Return the justification given in the session of ``token``, or None."""
        key = token_digest(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now - entry.given_at > self.lifetime:
                del self._entries[key]
                return None
            return entry.text

    def put(self, token: str, text: str, now: dt.datetime) -> None:
        """Keep ``text`` as the justification of the session of ``token``."""
        key = token_digest(token)
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = _Entry(text, now)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


_STORE_LOCK = threading.Lock()


def store_of(request: Request) -> JustificationStore:
    """Return the store of the request's application, creating it on first use."""
    state = request.app.state
    with _STORE_LOCK:
        store: JustificationStore | None = getattr(
            state, "records_justifications", None
        )
        if store is None:
            hours = context_of(request).settings.session_max_hours
            store = JustificationStore(dt.timedelta(hours=hours))
            state.records_justifications = store
    return store


def session_justification(request: Request) -> str | None:
    """Return the justification given in the request's session, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return store_of(request).get(token, context_of(request).clock.now())


def justified(request: Request, caller: Caller, operation: str) -> Caller | Response:
    """Return ``caller`` with the session's justification, or the way to give one.

    Pages that read or change personal data call this first and return
    the response when they get one: a redirect to the justification form,
    which comes back to the page afterwards. A caller whose roles do not
    allow ``operation`` is denied at once (AccessDenied), rather than asked
    for a justification the service would not take. The service checks
    the caller again with the justification.
    """
    rule = MATRIX[operation]
    if not caller.roles & rule.roles:
        raise AccessDenied(
            f"{caller.name} may not call {operation}: it needs one of the roles "
            f"{', '.join(sorted(rule.roles))}",
            operation,
        )
    text = session_justification(request)
    if text:
        return caller.with_justification(text)
    if request.headers.get("hx-request") == "true":
        # HTMX would put the redirected page inside the current one, so the
        # browser goes to the form, and back to the page the request came from.
        page = _page_of(request.headers.get("hx-current-url", ""))
        return Response(status_code=204, headers={"HX-Redirect": _form_path(page)})
    return RedirectResponse(_form_path(_path_with_query(request)), status_code=303)


@router.get(PATH, response_class=HTMLResponse)
def justification_form(
    request: Request,
    caller: PageCaller,
    next_path: Annotated[str, Query(alias="next", max_length=2000)] = "/persons",
) -> HTMLResponse:
    """Show the form for the reason why the analyst opens personal data."""
    del caller  # signed in is all the form needs
    return _form(request, next_path, session_justification(request) or "")


@router.post(PATH, response_model=None)
def give_justification(
    request: Request,
    caller: PageCaller,
    justification: JustificationField = "",
    next_path: NextField = "/persons",
) -> Response:
    """Keep the justification for the session and return to the page asked for."""
    text = " ".join(justification.split())
    if not text:
        return _form(request, next_path, text, error=EMPTY, status_code=400)
    if len(text) > MAX_JUSTIFICATION:
        return _form(request, next_path, text, error=TOO_LONG, status_code=400)
    token = request.cookies.get(SESSION_COOKIE, "")
    store_of(request).put(token, text, context_of(request).clock.now())
    log.info("%s gave a justification for this session", caller.name)
    return RedirectResponse(local_path(next_path), status_code=303)


def _form(
    request: Request,
    next_path: str,
    text: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        "records/justification.html",
        status_code=status_code,
        next_path=local_path(next_path),
        justification=text,
        error=error,
        maximum=MAX_JUSTIFICATION,
    )


def local_path(path: str) -> str:
    """Return ``path`` if it is a path on this site, else the person search.

    Rejects absolute and scheme-relative URLs, backslashes (which some
    browsers read as slashes) and control characters, so that the form
    cannot send the browser to another site.
    """
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/persons"
    if any(not char.isprintable() for char in path):
        return "/persons"
    return path


def _form_path(next_path: str) -> str:
    return f"{PATH}?next={quote(next_path, safe='')}"


def _page_of(url: str) -> str:
    """Return the path and query of a page's URL, "/persons" when it has none."""
    parts = urlsplit(url)
    if not parts.path:
        return "/persons"
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _path_with_query(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path
