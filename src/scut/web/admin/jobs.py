"""Hash set imports running in the background, which the page polls for progress.

An import of a large set reads for minutes, longer than a request should
last. The upload is received by the request, then a thread of the server
process imports it, and the page polls the job's state every second.
Jobs live in the memory of one application, so a restarted server loses
them. The import itself either committed or did not, as the importer
guarantees. Only one import runs at a time, because two imports into a
SQLite database would wait on each other's write lock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from scut.errors import ScutError
from scut.hashsets.importer import ImportProgress, ImportReport
from scut.security.clock import Clock

log = logging.getLogger(__name__)

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
# Finished jobs are forgotten this long after they end.
KEEP_FINISHED = dt.timedelta(hours=1)

# The import: takes the progress callback, returns the report.
ImportWork = Callable[[ImportProgress], ImportReport]


@dataclass(frozen=True, slots=True)
class ImportJob:
    """The state of one import, as a snapshot for the page."""

    id: str
    owner_id: int | None
    set_name: str
    file_name: str
    started_at: dt.datetime
    state: str = RUNNING
    bytes_read: int = 0
    total_bytes: int = 0
    report: ImportReport | None = None
    # The ScutError message of a failed import, or "" for an unexpected error.
    error: str = ""
    # The name of the ScutError class, for the page to explain it.
    error_type: str = ""
    finished_at: dt.datetime | None = None

    @property
    def running(self) -> bool:
        """Whether the import has not ended yet."""
        return self.state == RUNNING


class ImportJobs:
    """The import jobs of one application, each read only by the user who started it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()

    def start(
        self,
        work: ImportWork,
        *,
        owner_id: int | None,
        set_name: str,
        file_name: str,
        total_bytes: int,
        cleanup: Callable[[], None],
        temporary_path: str = "",
    ) -> ImportJob | None:
        """Run ``work`` in a new thread and return its job, or None while one runs.

        ``cleanup`` runs when the work ends, whatever the outcome, and also
        when no job is started. Error messages that name ``temporary_path``,
        the private copy of the upload, name ``file_name`` instead.
        """
        with self._lock:
            self._forget_finished()
            if any(job.running for job in self._jobs.values()):
                cleanup()
                return None
            job = ImportJob(
                id=secrets.token_urlsafe(16),
                owner_id=owner_id,
                set_name=set_name,
                file_name=file_name,
                started_at=self._clock.now(),
                total_bytes=total_bytes,
            )
            self._jobs[job.id] = job
        thread = threading.Thread(
            target=self._run,
            args=(job.id, work, cleanup, (temporary_path, file_name)),
            name=f"hash-set-import-{job.id[:8]}",
            daemon=True,
        )
        thread.start()
        log.info("hash set import %s of %s started", job.id[:8], set_name)
        return job

    def get(self, job_id: str, owner_id: int | None) -> ImportJob | None:
        """Return the job ``job_id`` if ``owner_id`` started it, else None."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.owner_id != owner_id:
            return None
        return job

    def running(self) -> ImportJob | None:
        """Return the import that is running, if any."""
        with self._lock:
            return next((job for job in self._jobs.values() if job.running), None)

    def _run(
        self,
        job_id: str,
        work: ImportWork,
        cleanup: Callable[[], None],
        renamed: tuple[str, str],
    ) -> None:
        try:
            report = work(lambda done, total: self._update(job_id, done, total))
        except ScutError as error:
            log.info("hash set import %s failed: %s", job_id[:8], error)
            message = str(error)
            if renamed[0]:
                message = message.replace(*renamed)
            self._finish(job_id, FAILED, error=message, kind=type(error).__name__)
        except Exception:
            log.exception("hash set import %s failed unexpectedly", job_id[:8])
            self._finish(job_id, FAILED, error="", kind="")
        else:
            self._finish(job_id, SUCCEEDED, report=report)
        finally:
            cleanup()

    def _update(self, job_id: str, done: int, total: int) -> None:
        with self._lock:
            job = self._jobs[job_id]
            self._jobs[job_id] = dataclasses.replace(
                job, bytes_read=done, total_bytes=total or job.total_bytes
            )

    def _finish(
        self,
        job_id: str,
        state: str,
        *,
        report: ImportReport | None = None,
        error: str = "",
        kind: str = "",
    ) -> None:
        with self._lock:
            job = self._jobs[job_id]
            self._jobs[job_id] = dataclasses.replace(
                job,
                state=state,
                report=report,
                error=error,
                error_type=kind,
                bytes_read=job.total_bytes if report is not None else job.bytes_read,
                finished_at=self._clock.now(),
            )

    def _forget_finished(self) -> None:
        cutoff = self._clock.now() - KEEP_FINISHED
        for job_id, job in list(self._jobs.items()):
            if job.finished_at is not None and job.finished_at < cutoff:
                del self._jobs[job_id]


_CREATE_LOCK = threading.Lock()


def import_jobs(request: Request, clock: Clock) -> ImportJobs:
    """Return the import jobs of the request's application, created on first use."""
    state = request.app.state
    with _CREATE_LOCK:
        jobs: ImportJobs | None = getattr(state, "scut_hash_set_imports", None)
        if jobs is None:
            jobs = ImportJobs(clock)
            state.scut_hash_set_imports = jobs
    return jobs
