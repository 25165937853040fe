"""Error responses: pages in the visitor's language for browsers, JSON for the API.

No response shows a stack trace or an internal message. A server error
is logged with its traceback, and the response states only that it
happened. A denied service call is recorded in the audit log
after its transaction has rolled back.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import Request

from scut.errors import ConfigurationError, ScutError
from scut.security.access import AccessDenied, record_denial
from scut.security.caller import Caller
from scut.web.callers import SESSION_LOCKED, SignInRequired
from scut.web.context import context_of
from scut.web.i18n import N_
from scut.web.rendering import render_page
from scut.web.security import (
    API_PREFIX,
    SESSION_COOKIE,
    CsrfRejected,
    apply_security_headers,
    delete_cookie,
)

log = logging.getLogger(__name__)

TITLES = {
    400: N_("The request is not valid"),
    403: N_("Access denied"),
    404: N_("Page not found"),
    405: N_("This action is not possible here"),
    500: N_("Something went wrong"),
}
EXPLANATIONS = {
    400: N_("Check what you entered and try again."),
    403: N_("Your roles or unit do not allow this page or action."),
    404: N_("There is no page at this address."),
    405: N_("Go back and use the page's own buttons and links."),
    500: N_(
        "The server could not complete the request. The error was recorded. "
        "If it happens again, tell an administrator the time it happened."
    ),
}
CSRF_EXPLANATION = N_(
    "The form has expired or did not come from Scut. Reload the page and try again."
)
OTHER_TITLE = N_("The request could not be handled")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers of every error a request can end in."""
    app.add_exception_handler(SignInRequired, _sign_in_required)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfRejected, _csrf_rejected)  # type: ignore[arg-type]
    app.add_exception_handler(AccessDenied, _access_denied)  # type: ignore[arg-type]
    app.add_exception_handler(ScutError, _scut_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(
        RequestValidationError,
        _invalid_request,  # type: ignore[arg-type]
    )
    app.add_exception_handler(Exception, _server_error)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def error_page(
    request: Request, status_code: int, explanation: str | None = None
) -> Response:
    """Render the error page of ``status_code`` in the request's language."""
    return render_page(
        request,
        "error.html",
        status_code=status_code,
        code=status_code,
        title=TITLES.get(status_code, OTHER_TITLE),
        explanation=explanation or EXPLANATIONS.get(status_code),
    )


def _sign_in_required(request: Request, error: SignInRequired) -> Response:
    locked = error.reason == SESSION_LOCKED
    if locked:
        # The session stays: its user unlocks it and returns to the page.
        from scut.web.admin.unlock import unlock_target

        target = unlock_target(request)
    else:
        target = "/sign-in"
        if error.reason:
            target += f"?reason={quote(error.reason)}"
    response: Response
    if request.headers.get("hx-request") == "true":
        # HTMX would put a redirected page inside the current one.
        response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if locked:
        return response
    delete_cookie(
        response,
        request,
        SESSION_COOKIE,
        plain_http_loopback=context_of(request).web.plain_http_loopback,
    )
    return response


def _csrf_rejected(request: Request, _: CsrfRejected) -> Response:
    return error_page(request, 403, CSRF_EXPLANATION)


def _access_denied(request: Request, denied: AccessDenied) -> Response:
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is not None:
        record_denial(context_of(request).database, caller, denied)
    if _is_api(request):
        return JSONResponse({"detail": str(denied)}, status_code=403)
    return error_page(request, 403)


def _scut_error(request: Request, error: ScutError) -> Response:
    if isinstance(error, ConfigurationError):
        log.error("configuration error on %s: %s", request.url.path, error)
        return _server_error(request, error)
    log.info("request to %s rejected: %s", request.url.path, error)
    if _is_api(request):
        return JSONResponse({"detail": str(error)}, status_code=400)
    return error_page(request, 400)


def _http_error(request: Request, error: HTTPException) -> Response:
    if _is_api(request):
        return JSONResponse(
            {"detail": error.detail},
            status_code=error.status_code,
            headers=error.headers,
        )
    page = error_page(request, error.status_code)
    # Headers such as Retry-After tell the browser when to come back.
    for name, value in (error.headers or {}).items():
        page.headers[name] = value
    return page


def _invalid_request(request: Request, error: RequestValidationError) -> Response:
    if _is_api(request):
        return JSONResponse(
            {"detail": jsonable_encoder(error.errors())}, status_code=422
        )
    return error_page(request, 400)


def _server_error(request: Request, error: Exception) -> Response:
    """Respond to an unexpected error with a page that shows nothing of it.

    Starlette runs this handler outside the other middleware, so the
    security headers are set here too.
    """
    log.error("server error on %s %s", request.method, request.url.path, exc_info=error)
    response: Response
    if _is_api(request):
        response = JSONResponse({"detail": "server error"}, status_code=500)
    else:
        try:
            response = error_page(request, 500)
        except Exception:  # noqa: BLE001 - the page itself failed, so send text
            log.exception("the error page of %s failed", request.url.path)
            response = Response("500", status_code=500, media_type="text/plain")
    apply_security_headers(response.headers, request.url.path)
    return response
