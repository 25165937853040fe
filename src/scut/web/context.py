"""The state shared by every request handler of the application."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from scut.db.session import Database
from scut.security.clock import Clock
from scut.settings import Settings
from scut.web.config import WebSettings
from scut.web.i18n import Renderer


@dataclass(frozen=True, slots=True)
class WebContext:
    """The settings, database, clock and templates of one application."""

    settings: Settings
    web: WebSettings
    database: Database
    # The time that sessions and sign-in read, which tests set.
    clock: Clock
    renderer: Renderer


def context_of(request: Request) -> WebContext:
    """Return the context that create_app stored on the application."""
    context: WebContext = request.app.state.scut
    return context
