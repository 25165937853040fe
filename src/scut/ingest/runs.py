"""The record of each ingest run, kept for the chain of custody."""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import os
import socket
from pathlib import Path

from scut.db.models import IngestRun
from scut.db.session import Database
from scut.ingest.sources import Source
from scut.ingest.summary import IngestSummary


def start_run(database: Database, exhibit_id: int, sources: list[Source]) -> int:
    """Record the start of a run over ``sources``; return its id."""
    described = {
        "paths": [_printable(source.path.resolve()) for source in sources],
        "operator": _operator(),
        "host": socket.gethostname(),
    }
    with database.session() as session, session.begin():
        run = IngestRun(exhibit_id=exhibit_id, sources=described)
        session.add(run)
        session.flush()
        return run.id


def finish_run(
    database: Database, run_id: int, status: str, summary: IngestSummary
) -> None:
    """Record how a run ended and its summary."""
    with database.session() as session, session.begin():
        run = session.get_one(IngestRun, run_id)
        run.status = status
        run.finished_at = dt.datetime.now(dt.UTC)
        run.summary = dataclasses.asdict(summary)


def _printable(path: Path) -> str:
    # Paths that are not valid UTF-8 keep their bytes visible as \xNN escapes.
    return (
        str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    )


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
