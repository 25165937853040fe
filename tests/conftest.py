"""Shared fixtures: real SQLite files, real PostgreSQL databases, real files.

Tests that take the ``database`` fixture run twice, once on a SQLite file
and once on a fresh PostgreSQL database. PostgreSQL is reached at
``SCUT_TEST_POSTGRES_URL`` (default: the local server as user postgres);
a test fails, rather than skips, when it is not running.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from scut.db.session import Database
from scut.settings import Settings

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(
    os.environ.get("SCUT_SHARED_DATA", REPOSITORY.parent / "shared" / "data")
).resolve()
POSTGRES_URL = os.environ.get(
    "SCUT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def private_config_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point XDG_CONFIG_HOME at a folder of the test's own.

    Scut creates its master key and the audit signing key under
    ``$XDG_CONFIG_HOME/scut`` when none is configured. Without this, tests
    would write keys into the real ``~/.config/scut`` of the account that
    runs them.
    The folder lies outside ``tmp_path``, because tests use ``tmp_path`` as
    a data directory and Scut rejects a master key kept inside that.
    """
    folder = tmp_path_factory.mktemp("config-home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only corpus of benign test files beside the repository."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"test corpus not found at {SHARED_DATA}; set SCUT_SHARED_DATA")
    return SHARED_DATA


def _admin_connection() -> psycopg.Connection:
    url = make_url(POSTGRES_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """Create an empty PostgreSQL database for one test and drop it after."""
    name = f"scut_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = _admin_connection()
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield (
        make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    )
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for each backend Scut supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scut.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings with a fresh data directory, two workers and the test database."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        workers=2,
        fsync_blobs=False,
    )


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    """A migrated database on the backend under test."""
    db = Database(settings)
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings on a SQLite file only, for tests that do not touch storage rules."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'scut.db'}",
        workers=2,
        fsync_blobs=False,
    )
