"""Render a page: language, CSRF token, navigation and the signed-in caller."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from scut.security.caller import Caller
from scut.web.context import context_of
from scut.web.i18n import LANGUAGE_COOKIE, N_, choose_language
from scut.web.labels import TEMPLATE_FUNCTIONS
from scut.web.navigation import NavigationItem, add_link, navigation_for
from scut.web.security import PRESESSION_COOKIE, csrf_key, csrf_token, set_cookie

add_link(NavigationItem(N_("Dashboard"), "/dashboard", order=0))


def language_of(request: Request) -> str:
    """Return the language the request's pages are shown in."""
    return choose_language(
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
        context_of(request).web.default_language,
    )


def render_page(
    request: Request, template: str, *, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """Render ``template`` as the response, in the request's language.

    Every template gets the CSRF token, the request path (where the
    language switch returns), and the signed-in caller with their
    navigation when the request has one.
    """
    context = context_of(request)
    language = language_of(request)
    caller: Caller | None = getattr(request.state, "caller", None)
    values.setdefault("caller", caller)
    values.setdefault("display_name", getattr(request.state, "display_name", ""))
    values.setdefault("navigation", navigation_for(caller) if caller else [])
    values.setdefault("now", context.clock.now())
    for name, function in TEMPLATE_FUNCTIONS.items():
        values.setdefault(name, function)
    key = csrf_key(request)
    html = context.renderer.render(
        template,
        language,
        {
            "csrf_token": csrf_token(key),
            "current_path": _path_with_query(request),
            **values,
        },
    )
    response = HTMLResponse(html, status_code=status_code)
    created = getattr(request.state, "new_presession", None)
    if created is not None:
        set_cookie(
            response,
            request,
            PRESESSION_COOKIE,
            created,
            plain_http_loopback=context.web.plain_http_loopback,
        )
    return response


def _path_with_query(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path
