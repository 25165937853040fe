"""The record of each ingest run, kept for the chain of custody."""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import os
import socket

from sqlalchemy import select
from sqlalchemy.orm import Session

from scut.db.models import IngestRun
from scut.db.session import Database
from scut.ingest.sources import Source, printable
from scut.ingest.summary import IngestSummary
from scut.processes import process_alive


def start_run(database: Database, exhibit_id: int, sources: list[Source]) -> int:
    """Record the start of a run over ``sources``; return its id."""
    host = socket.gethostname()
    described = {
        "paths": [printable(str(source.path.resolve())) for source in sources],
        "operator": _operator(),
        "host": host,
        "pid": os.getpid(),
    }
    with database.session() as session, session.begin():
        _close_abandoned_runs(session, exhibit_id, host)
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


def _close_abandoned_runs(session: Session, exhibit_id: int, host: str) -> None:
    # A run still marked running whose process on this host is gone was
    # killed; runs on other hosts may be alive and are left as they are.
    running = session.scalars(
        select(IngestRun).where(
            IngestRun.exhibit_id == exhibit_id, IngestRun.status == "running"
        )
    )
    for run in running:
        pid = run.sources.get("pid")
        if run.sources.get("host") != host or not isinstance(pid, int):
            continue
        if not process_alive(pid):
            run.status = "interrupted"
            run.finished_at = dt.datetime.now(dt.UTC)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
