"""The area's state on the application: upload limits and the ingest job runner.

The router's lifespan starts them with the application, which removes
the job folders that a stopped server left, and stops the runner when the
application stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scut.errors import ConfigurationError
from scut.web.context import WebContext
from scut.web.submissions.jobs import JobRunner
from scut.web.submissions.settings import UploadSettings

log = logging.getLogger(__name__)

STATE_ATTRIBUTE = "submissions"
_STARTING = threading.Lock()


@dataclass(frozen=True, slots=True)
class AreaState:
    """The upload limits and the job runner of one application."""

    uploads: UploadSettings
    runner: JobRunner


def area_state(request: Request) -> AreaState:
    """Return the state of the request's application, starting it if needed.

    The lifespan starts it with the application. An application served
    without its lifespan (a test client outside a with block, say) gets
    it on first use, with a runner that is never stopped.
    """
    state: AreaState | None = getattr(request.app.state, STATE_ATTRIBUTE, None)
    if state is not None:
        return state
    with _STARTING:
        state = getattr(request.app.state, STATE_ATTRIBUTE, None)
        if state is None:
            log.warning(
                "the submissions area starts without the application's lifespan"
            )
            state = start_area(request.app.state.scut)
            setattr(request.app.state, STATE_ATTRIBUTE, state)
    return state


def start_area(context: WebContext) -> AreaState:
    """Read the upload limits and start a job runner.

    Raises ConfigurationError when a SCUT_WEB_UPLOAD_* variable is invalid.
    """
    try:
        uploads = UploadSettings()
    except ValidationError as error:
        raise ConfigurationError(
            f"invalid SCUT_WEB_UPLOAD_* setting: {error}"
        ) from None
    runner = JobRunner(
        context.database,
        context.settings,
        context.clock,
        finished_kept=uploads.finished_jobs_kept,
    )
    runner.start()
    return AreaState(uploads, runner)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the area with the application and stop its job runner after."""
    state = await run_in_threadpool(start_area, app.state.scut)
    setattr(app.state, STATE_ATTRIBUTE, state)
    try:
        yield
    finally:
        await run_in_threadpool(state.runner.stop)
