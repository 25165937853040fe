"""Fixtures of the web tests: users with TOTP, a test client, a live server, Chromium.

The server runs in a thread of the test process on a free loopback port,
on the test's own database (SQLite and PostgreSQL through the
``database`` fixture), with a clock the test can move forward.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from scut.db.session import Database
from scut.settings import Settings
from scut.web.app import create_app
from scut.web.config import WebSettings
from web.helpers import SteppingClock, Users

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def clock() -> SteppingClock:
    """A clock that the test moves forward and the application reads."""
    return SteppingClock()


@pytest.fixture
def users(database: Database, settings: Settings, clock: SteppingClock) -> Users:
    """A maker of users with confirmed TOTP on the test database."""
    return Users(database, settings, clock)


@pytest.fixture
def app(database: Database, settings: Settings, clock: SteppingClock) -> FastAPI:
    """The application on the test database, allowing plain HTTP on loopback."""
    return create_app(settings, web=WebSettings(plain_http_loopback=True), clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that talks HTTPS to the application, so Secure cookies flow."""
    with TestClient(
        app, base_url="https://testserver", follow_redirects=False
    ) as test_client:
        yield test_client


# -- the live server and the browser ------------------------------------------------


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """Serve the application on a free loopback port and yield its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", ws="none", http="h11", lifespan="on"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(
        target=running.run, kwargs={"sockets": [listener]}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not running.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test web server did not start within 15 s")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=15)
    listener.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole test session (Debian's package).

    Fails, not skips, when Chromium is missing, so that a machine without
    it cannot pass the browser tests.
    """
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(scripts/ensure-chromium does it as root)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    """The folder for screenshots: SCUT_TEST_ARTEFACTS, else the test's tmp_path."""
    configured = os.environ.get("SCUT_TEST_ARTEFACTS", "").strip()
    folder = Path(configured) if configured else tmp_path / "artefacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
