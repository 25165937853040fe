"""The application factory: pages, API, static files, security and errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

import scut
from scut.db.session import Database
from scut.security.audit import install_auto_anchor
from scut.security.clock import Clock, SystemClock
from scut.settings import Settings
from scut.web import admin, api, maps, media, pages, records, submissions
from scut.web.config import WebSettings
from scut.web.context import WebContext
from scut.web.errors import install_error_handlers
from scut.web.i18n import Renderer
from scut.web.security import SecurityHeaders, check_csrf

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
# The areas of the pages, each with its pages, API, templates and catalog.
AREAS = (submissions, media, records, admin, maps)


def create_app(
    settings: Settings,
    *,
    web: WebSettings | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the web application on the database of ``settings``.

    The database is migrated here, before the first request. ``web``
    defaults to the ``SCUT_WEB_*`` environment variables and ``clock`` to
    the system clock, and tests pass their own.
    """
    web_settings = web or WebSettings()
    database = Database(settings)
    database.upgrade()
    install_auto_anchor(database, settings)
    context = WebContext(
        settings=settings,
        web=web_settings,
        database=database,
        clock=clock or SystemClock(),
        renderer=Renderer(web_settings.time_zone),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        database.dispose()
        log.info("web application stopped")

    app = FastAPI(
        title="Scut",
        version=getattr(scut, "__version__", "0"),
        description="Victim-identification database: the JSON API.",
        openapi_url="/api/openapi.json",
        # The interactive documentation pages load scripts from a CDN.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(check_csrf)],
    )
    app.state.scut = context
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    for area in AREAS:
        app.include_router(area.router)
        app.include_router(area.api_router)
    install_error_handlers(app)
    log.info("web application ready on %s", database.engine.url.get_backend_name())
    return app
