"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from scut.db.models import Base
from scut.db.session import Database


def test_migrations_match_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_upgrade_twice_is_harmless(database: Database) -> None:
    database.upgrade()

    tables = set(inspect(database.engine).get_table_names())
    assert {"media", "occurrences", "ingest_errors", "alembic_version"} <= tables


def test_sqlite_uses_wal_and_full_sync(sqlite_settings: object) -> None:
    database = Database(sqlite_settings)  # type: ignore[arg-type]
    database.upgrade()

    with database.engine.connect() as connection:
        journal = connection.execute(text("PRAGMA journal_mode")).scalar()
        synchronous = connection.execute(text("PRAGMA synchronous")).scalar()
    database.dispose()
    assert journal == "wal"
    assert synchronous == 2  # FULL
