"""Ingest jobs of uploads: a queue run by one thread of the server, one job at a time.

Each job ingests the files of one upload through the declared ingest
service, under the caller who sent them, and removes its folder when it
ends, succeeded or failed. Jobs live in the server's memory: after a
restart their progress is gone, and what they recorded stays in the
database.

Job folders, and their removal after a crash, are in
``scut.web.submissions.folders``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy.exc import SQLAlchemyError

from scut.db.session import Database
from scut.errors import ScutError
from scut.ingest.records import Origin
from scut.ingest.service import ingest
from scut.ingest.summary import NOTE_STAGES, IngestSummary
from scut.security.access import CENTRE, AccessDenied, record_denial
from scut.security.caller import Caller
from scut.security.clock import Clock
from scut.settings import Settings
from scut.web.submissions.folders import (
    release_instance_lock,
    remove_folder,
    remove_stale_folders,
    take_instance_lock,
)
from scut.web.submissions.uploads import RejectedFile

log = logging.getLogger(__name__)

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
# Stages shown while a job runs: before the first file (the exhibit is
# prepared), while files are analysed, and while the last results, the
# index and the summary are written.
PREPARING = "preparing"
ANALYSING = "analysing"
RECORDING = "recording"

FILES_FOLDER = "files"
# Seconds the server waits at shutdown for a running job to end. After
# that it stops anyway, and the next start removes the job's folder.
SHUTDOWN_WAIT_SECONDS = 60
# The failure shown for a job that an unexpected error stopped. The error
# itself is logged.
SERVER_ERROR = "the ingest stopped on a server error, which was logged"


@dataclass(slots=True)
class Job:
    """One upload waiting for, or going through, the ingest."""

    id: str
    folder: Path
    origin: Origin
    caller: Caller
    created_at: dt.datetime
    files_received: int
    bytes_received: int
    rejected: list[RejectedFile] = field(default_factory=list)
    status: str = QUEUED
    analysing: bool = False
    # Files found so far (archive members as they are opened), analysed
    # files, and files that failed.
    seen: int = 0
    done: int = 0
    errors: int = 0
    summary: IngestSummary | None = None
    # The ScutError message of a failed job, in English.
    failure: str = ""
    denied: bool = False
    finished_at: dt.datetime | None = None

    @property
    def source(self) -> Path:
        """Return the folder whose content is the exhibit."""
        return self.folder / FILES_FOLDER


@dataclass(frozen=True, slots=True)
class JobView:
    """A job's state at one moment, for pages and the API."""

    id: str
    status: str
    stage: str
    case: str
    exhibit: str
    unit: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    files_received: int
    bytes_received: int
    rejected: tuple[RejectedFile, ...]
    seen: int
    done: int
    errors: int
    # Jobs that run before this one, when queued.
    ahead: int
    submission_id: int | None
    failure: str
    denied: bool
    # Files that failed in the ingest, as the summary lists them (path,
    # stage and reason), its notes left out.
    listed_errors: tuple[dict[str, str], ...]

    @property
    def ended(self) -> bool:
        """Return whether the job succeeded or failed."""
        return self.status in (SUCCEEDED, FAILED)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """The end of a job's ingest: its summary, or the reason it failed."""

    summary: IngestSummary | None = None
    failure: str = ""
    denied: bool = False


class _JobProgress:
    """Counts a job's files as the ingest reports them."""

    def __init__(self, lock: threading.Lock, job: Job) -> None:
        self.lock = lock
        self.job = job

    def discovered(self, count: int) -> None:
        with self.lock:
            self.job.seen += count

    def finished_file(self, size: int, failed: bool) -> None:
        with self.lock:
            self.job.done += 1
            self.job.errors += int(failed)


class JobRunner:
    """The queue of ingest jobs of one application, and the thread that runs it."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Clock,
        *,
        finished_kept: int,
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self.root = settings.data_dir / "uploads"
        self.instance = secrets.token_hex(8)
        self.finished_kept = finished_kept
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._lock_file: IO[bytes] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Remove stale job folders, take this instance's lock, start the thread."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self._lock_file = take_instance_lock(self.root, self.instance)
        for removed in remove_stale_folders(self.root):
            log.warning("removed %s, left by a server that stopped", removed)
        self._thread = threading.Thread(
            target=self._run_queue, name=f"ingest-jobs-{self.instance}", daemon=True
        )
        self._thread.start()
        log.info("ingest job runner %s started", self.instance)

    def stop(self) -> None:
        """Drop queued jobs, wait a while for the running one, release the lock."""
        dropped = self._drop_queued()
        for job in dropped:
            log.warning("ingest job %s dropped at shutdown before it ran", job.id)
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(SHUTDOWN_WAIT_SECONDS)
            if self._thread.is_alive():
                log.warning(
                    "an ingest job was still running at shutdown; its folder "
                    "is removed when the server starts again"
                )
                return
        if self._lock_file is not None:
            release_instance_lock(self.root, self.instance, self._lock_file)
            self._lock_file = None
        log.info("ingest job runner %s stopped", self.instance)

    def new_folder(self) -> Path:
        """Create a private folder for a new job, with its empty files folder."""
        job_id = secrets.token_urlsafe(16)
        folder = self.root / f"{self.instance}-{job_id}"
        os.mkdir(folder, 0o700)
        os.mkdir(folder / FILES_FOLDER, 0o700)
        return folder

    def job_id_of(self, folder: Path) -> str:
        """Return the job id that new_folder put in ``folder``'s name."""
        return folder.name.removeprefix(f"{self.instance}-")

    def submit(self, job: Job) -> None:
        """Queue ``job``; it runs after the jobs queued before it."""
        with self._lock:
            self._jobs[job.id] = job
        self._queue.put(job.id)
        log.info(
            "ingest job %s queued by %s: %d files, %d bytes",
            job.id,
            job.caller.user,
            job.files_received,
            job.bytes_received,
        )

    def view(self, job_id: str, caller: Caller) -> JobView | None:
        """Return the job's state, or None when it is unknown or not the caller's.

        A job is the caller's when they sent it. The centre's analysts and
        supervisors may follow every job.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not _may_follow(caller, job):
                return None
            return self._view(job)

    def _view(self, job: Job) -> JobView:
        ahead = 0
        if job.status == QUEUED:
            # The jobs are kept in the order they were queued.
            for other in self._jobs.values():
                if other is job:
                    break
                ahead += other.status in (QUEUED, RUNNING)
        summary = job.summary
        return JobView(
            id=job.id,
            status=job.status,
            stage=_stage(job),
            case=job.origin.case,
            exhibit=job.origin.exhibit,
            unit=job.origin.unit,
            created_at=job.created_at,
            finished_at=job.finished_at,
            files_received=job.files_received,
            bytes_received=job.bytes_received,
            rejected=tuple(job.rejected),
            seen=job.seen,
            done=job.done,
            errors=job.errors,
            ahead=ahead,
            submission_id=summary.submission if summary else None,
            failure=job.failure,
            denied=job.denied,
            listed_errors=tuple(
                error
                for error in (summary.listed_errors if summary else [])
                if error["stage"] not in NOTE_STAGES
            ),
        )

    def _run_queue(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.status != QUEUED:
                    continue
                job.status = RUNNING
            try:
                outcome = self._run(job)
            finally:
                # Before the job shows as ended, so that an ended job has
                # left nothing on disk.
                remove_folder(job.folder)
            self._finish(job, outcome)
            self._forget_old_jobs()

    def _run(self, job: Job) -> _Outcome:
        log.info("ingest job %s started", job.id)
        try:
            summary = ingest(
                self.database,
                self.settings,
                [job.source],
                job.origin,
                caller=job.caller,
                display=lambda: self._display(job),
            )
        except AccessDenied as denied:
            self._record_denial(job, denied)
            return _Outcome(failure=str(denied), denied=True)
        except ScutError as error:
            log.warning("ingest job %s failed: %s", job.id, error)
            return _Outcome(failure=str(error))
        except Exception:  # noqa: BLE001 - the thread must go on to the next job
            log.exception("ingest job %s failed", job.id)
            return _Outcome(failure=SERVER_ERROR)
        log.info(
            "ingest job %s finished: submission %d, %d files, %d errors",
            job.id,
            summary.submission,
            summary.files,
            summary.errors,
        )
        return _Outcome(summary=summary)

    @contextmanager
    def _display(self, job: Job) -> Iterator[_JobProgress]:
        with self._lock:
            job.analysing = True
        yield _JobProgress(self._lock, job)

    def _record_denial(self, job: Job, denied: AccessDenied) -> None:
        try:
            record_denial(self.database, job.caller, denied)
        except (ScutError, SQLAlchemyError) as error:
            log.error("could not record the denied ingest job %s: %s", job.id, error)

    def _finish(self, job: Job, outcome: _Outcome) -> None:
        with self._lock:
            job.summary = outcome.summary
            job.failure = outcome.failure
            job.denied = outcome.denied
            job.status = FAILED if outcome.failure else SUCCEEDED
            job.finished_at = self.clock.now()

    def _drop_queued(self) -> list[Job]:
        with self._lock:
            dropped = [job for job in self._jobs.values() if job.status == QUEUED]
            for job in dropped:
                job.status = FAILED
                job.failure = "the server stopped before the job ran"
                job.finished_at = self.clock.now()
        for job in dropped:
            remove_folder(job.folder)
        return dropped

    def _forget_old_jobs(self) -> None:
        with self._lock:
            ended = [
                job_id
                for job_id, job in self._jobs.items()
                if job.status in (SUCCEEDED, FAILED)
            ]
            for job_id in ended[: max(0, len(ended) - self.finished_kept)]:
                del self._jobs[job_id]


def _stage(job: Job) -> str:
    if job.status != RUNNING:
        return job.status
    if not job.analysing:
        return PREPARING
    if job.seen and job.done >= job.seen:
        return RECORDING
    return ANALYSING


def _may_follow(caller: Caller, job: Job) -> bool:
    if caller.roles & CENTRE:
        return True
    return caller.user_id is not None and caller.user_id == job.caller.user_id
