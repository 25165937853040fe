"""The ingest job: enumerate, analyse in a process pool, record, summarise.

The main process walks the sources and opens archives; worker processes
read, hash, store and decode each file; the main process writes their
results in batches. Paths already recorded for the exhibit are skipped, so
running the same job again, after a crash or a kill, finishes it without
recording anything twice.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Protocol

from scut.db.session import Database
from scut.errors import ArchiveError
from scut.ingest.analyse import (
    Analyser,
    FileResult,
    FileTask,
    analyse_in_worker,
    init_worker,
)
from scut.ingest.archives import (
    ArchiveEvent,
    ArchiveReader,
    ExpansionBudget,
    Member,
    RejectedMember,
)
from scut.ingest.records import (
    Origin,
    Recorder,
    prepare_exhibit,
    recorded_paths,
    unfinished_archives,
)
from scut.ingest.runs import finish_run, start_run
from scut.ingest.sources import (
    SkippedEntry,
    count_files,
    plan_sources,
    printable,
    walk_sources,
)
from scut.ingest.summary import NOTE_STAGES, IngestSummary, summarise_exhibit
from scut.matching.index import IndexStore
from scut.settings import Settings
from scut.storage import open_blob_store

log = logging.getLogger(__name__)

# Tasks handed to the pool ahead of the workers, per worker.
QUEUE_DEPTH_PER_WORKER = 4


class ProgressListener(Protocol):
    """Receiver of progress reports; the CLI draws them as a progress bar."""

    def discovered(self, count: int) -> None:
        """Add ``count`` files to the number expected."""

    def finished_file(self, size: int, failed: bool) -> None:
        """Count one file as analysed (or skipped, with size 0)."""


class _Silent:
    def discovered(self, count: int) -> None:
        pass

    def finished_file(self, size: int, failed: bool) -> None:
        pass


@dataclass
class _Expansion:
    """An archive being read, and how many of its members are still in flight."""

    path: str
    events: Iterator[Member | RejectedMember]
    budget: ExpansionBudget
    depth: int
    in_flight: int = 0
    exhausted: bool = False


@dataclass
class RunCounters:
    """Counts of this run's own work, beside the exhibit totals."""

    analysed: int = 0
    recorded: int = 0
    skipped: int = 0
    bytes_read: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)


class IngestJob:
    """One ``scut ingest`` run over a set of sources into one exhibit."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        sources: list[Path],
        origin: Origin,
    ) -> None:
        self.database = database
        self.settings = settings
        self.sources = plan_sources(sources)
        self.origin = origin
        self.progress: ProgressListener = _Silent()
        self.exhibit_id: int | None = None
        # The main process writes only temporary spool files of archive
        # members; blobs are synced per batch by the recorder.
        self.store = open_blob_store(settings)
        self.counters = RunCounters()
        self.expansions: dict[str, _Expansion] = {}
        self.pending_work: deque[Iterator[FileTask | SkippedEntry]] = deque()

    def prepare(self) -> int:
        """Find or create the exhibit; return its id.

        Raises ConfigurationError when the exhibit belongs to another unit.
        Calling it before run() lets a caller report that before any work.
        """
        if self.exhibit_id is None:
            self.exhibit_id = prepare_exhibit(self.database, self.origin)
        return self.exhibit_id

    def run(self, progress: ProgressListener | None = None) -> IngestSummary:
        """Run the job to the end and return the exhibit's summary."""
        if progress is not None:
            self.progress = progress
        self.store.remove_stale_temporaries()
        exhibit_id = self.prepare()
        run_id = start_run(self.database, exhibit_id, self.sources)
        self.index_store = IndexStore(self.database, self.settings)
        index = self.index_store.open()
        self.recorder = Recorder(
            self.database,
            exhibit_id,
            self.settings.write_batch_size,
            store=self.store if self.settings.fsync_blobs else None,
            settings=self.settings,
            index=index,
            thumbnails=self.store,
            digests=self.index_store.digests,
        )
        self.done = recorded_paths(self.database, exhibit_id)
        status = "failed"
        try:
            self._plan_work(exhibit_id)
            self._process()
            status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            self.recorder.flush()
            self._update_index()
            summary = summarise_exhibit(self.database, exhibit_id, self.counters)
            finish_run(self.database, run_id, status, summary)
            # A worker of a killed run may still have been exiting, in disk
            # sleep, when this run started; its temporary files go now.
            self.store.remove_stale_temporaries()
        return summary

    def _update_index(self) -> None:
        # The next run finds this run's media; a failure here only costs
        # that run a longer catch-up, so it must not hide the ingest's own.
        try:
            self.index_store.catch_up()
            self.index_store.save()
        except (OSError, RuntimeError) as error:
            log.warning("Could not save the PDQ index: %s", error)

    def _plan_work(self, exhibit_id: int) -> None:
        self.progress.discovered(count_files(self.sources))
        unfinished, archive_paths = unfinished_archives(self.database, exhibit_id)
        for path, sha256, mime_type in unfinished:
            depth = sum(1 for other in archive_paths if path.startswith(f"{other}/"))
            budget = ExpansionBudget(self.settings)
            self._start_expansion(path, sha256, mime_type, depth + 1, budget)
        self.pending_work.append(walk_sources(self.sources))

    def _process(self) -> None:
        workers = self.settings.worker_count
        limit = workers * QUEUE_DEPTH_PER_WORKER
        in_flight: dict[Future[FileResult], FileTask] = {}
        executor = self._new_executor(workers)
        try:
            while True:
                try:
                    self._fill(executor, in_flight, limit)
                    if not in_flight:
                        break
                    self._collect(in_flight)
                except BrokenProcessPool:
                    executor.shutdown(wait=False, cancel_futures=True)
                    suspects = list(in_flight.values())
                    in_flight.clear()
                    executor = self._new_executor(workers)
                    self._retry_one_by_one(suspects)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    def _collect(self, in_flight: dict[Future[FileResult], FileTask]) -> None:
        finished, _ = wait(in_flight, timeout=1.0, return_when=FIRST_COMPLETED)
        for future in finished:
            # A task leaves in_flight only once its result is handled, so a
            # broken pool leaves every unhandled task there for the retry.
            result = future.result()
            self._handle(in_flight.pop(future), result)

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        # Spawned workers are children of this process, so each can watch
        # its parent and exit when this process is killed.
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=init_worker,
            initargs=(self.settings, os.getpid()),
        )

    def _fill(
        self,
        executor: ProcessPoolExecutor,
        in_flight: dict[Future[FileResult], FileTask],
        limit: int,
    ) -> None:
        while len(in_flight) < limit:
            task = self._next_task()
            if task is None:
                return
            try:
                future = executor.submit(analyse_in_worker, task)
            except BrokenProcessPool:
                # Keep the task for the one-by-one retry with a placeholder.
                in_flight[Future()] = task
                raise
            in_flight[future] = task

    def _next_task(self) -> FileTask | None:
        while self.pending_work:
            try:
                item = next(self.pending_work[0])
            except StopIteration:
                self.pending_work.popleft()
                continue
            task = self._accept(item)
            if task is not None:
                return task
        return None

    def _accept(self, item: FileTask | SkippedEntry) -> FileTask | None:
        if isinstance(item, SkippedEntry):
            # Recorded again on a resumed run too; the database keeps one row.
            if item.stage in NOTE_STAGES:
                self.recorder.add_error(item.path, item.stage, item.reason)
            else:
                self._record_failure(item.path, item.stage, item.reason)
            return None
        conflict = self._conflict(item)
        if conflict is not None:
            self._record_failure(item.path, "conflict", conflict)
            return None
        if item.path in self.done:
            self.counters.skipped += 1
            if item.owned and item.source_path is not None:
                item.source_path.unlink(missing_ok=True)
            self._member_finished(item)
            self.progress.finished_file(0, False)
            return None
        return item

    def _record_failure(self, path: str, stage: str, reason: str) -> None:
        # For a path that produced no result: one error row, one failed step.
        self.recorder.add_error(path, stage, reason)
        self.counters.failed += 1
        self.progress.finished_file(0, True)

    def _conflict(self, task: FileTask) -> str | None:
        # A file on disk at a path this exhibit already contains, with another
        # size or time is another file (a second card ingested into the same
        # exhibit, say); skipping it by path would lose it silently.
        recorded = self.done.get(task.path)
        if recorded is None or task.source_path is None or task.container:
            return None
        try:
            size = task.source_path.stat().st_size
        except OSError:
            return None
        recorded_size, recorded_time = recorded
        same_time = (
            recorded_time is None
            or task.modified_at is None
            or abs(recorded_time - task.modified_at.timestamp()) < 1
        )
        if size == recorded_size and same_time:
            return None
        return (
            "a file of another size or modification time is already recorded "
            f"at this path in the exhibit ({recorded_size} bytes, this one "
            f"{size}); this one was not ingested. If it is another file, ingest "
            "its source as another exhibit."
        )

    def _handle(self, task: FileTask, result: FileResult) -> None:
        self.counters.analysed += 1
        self.counters.bytes_read += result.size
        if result.digests is not None:
            self.counters.recorded += 1
        failed = any(stage not in NOTE_STAGES for stage, _ in result.failures)
        self.counters.failed += int(failed)
        self.recorder.add_result(result)
        self.progress.finished_file(result.size, failed)
        crashed = any(stage == "crash" for stage, _ in result.failures)
        is_archive = result.kind == "archive" or result.embedded_archive is not None
        if is_archive and result.digests is not None and not crashed:
            self._expand(task, result)
        self._member_finished(task)

    def _retry_one_by_one(self, suspects: list[FileTask]) -> None:
        # One worker died and took every in-flight task with it; running the
        # suspects alone finds the file that kills a worker.
        for task in suspects:
            executor = self._new_executor(1)
            try:
                result = executor.submit(analyse_in_worker, task).result()
            except BrokenProcessPool:
                log.error("Analysis of %s stopped its worker process", task.path)
                result = Analyser(self.settings).hash_only(task)
                reason = "decoding crashed its worker process; recorded undecoded"
                result.failures.append(("crash", reason))
            finally:
                executor.shutdown(wait=True)
            self._handle(task, result)

    def _expand(self, task: FileTask, result: FileResult) -> None:
        assert result.digests is not None
        depth = task.depth + 1
        if depth > self.settings.archive_max_depth:
            self.recorder.add_error(
                task.path,
                "depth",
                f"archive nested {depth} deep; not opened "
                f"(SCUT_ARCHIVE_MAX_DEPTH is {self.settings.archive_max_depth})",
            )
            self.recorder.complete_archive(task.path)
            return
        container = self.expansions.get(task.container or "")
        budget = container.budget if container else ExpansionBudget(self.settings)
        mime_type = result.embedded_archive or result.mime_type
        self._start_expansion(
            task.path, result.digests.sha256, mime_type, depth, budget
        )

    def _start_expansion(
        self,
        path: str,
        sha256: str,
        mime_type: str,
        depth: int,
        budget: ExpansionBudget,
    ) -> None:
        events = self._archive_events(sha256, mime_type, budget)
        expansion = _Expansion(path, events, budget, depth)
        self.expansions[path] = expansion
        self.pending_work.append(self._member_tasks(expansion))

    def _archive_events(
        self, sha256: str, mime_type: str, budget: ExpansionBudget
    ) -> Iterator[ArchiveEvent]:
        # The stored archive's plaintext stays readable until its last member
        # is read, or the generator is closed.
        reader = ArchiveReader(self.settings, self.store, budget)
        with self.store.original_file(sha256) as path:
            yield from reader.members(path, mime_type)

    def _member_tasks(self, expansion: _Expansion) -> Iterator[FileTask | SkippedEntry]:
        seen: dict[str, int] = {}
        try:
            for event in expansion.events:
                # Rejected members are counted too: each ends as one step of
                # the progress bar.
                self.progress.discovered(1)
                member_path = f"{expansion.path}/{printable(event.name)}"
                copies = seen[member_path] = seen.get(member_path, 0) + 1
                if copies > 1:
                    # Two members with one name are both evidence; the second
                    # gets a marked path instead of being dropped as recorded.
                    member_path = f"{member_path} (duplicate name {copies})"
                    yield SkippedEntry(
                        member_path,
                        "note",
                        f"the archive has {copies} members named {event.name!r}",
                    )
                if isinstance(event, RejectedMember):
                    yield SkippedEntry(member_path, "archive", event.reason)
                    continue
                expansion.in_flight += 1
                yield FileTask(
                    path=member_path,
                    source_path=event.spool_path,
                    data=event.data,
                    owned=event.spool_path is not None,
                    modified_at=event.modified_at,
                    depth=expansion.depth,
                    container=expansion.path,
                    spool_key=event.spool_key,
                )
        except ArchiveError as error:
            log.info("Archive %s: %s", expansion.path, error.reason)
            self.progress.discovered(1)
            yield SkippedEntry(expansion.path, "archive", error.reason)
        except Exception as error:  # noqa: BLE001 (a reader fault ends one archive only)
            log.exception("Reading archive %s failed", expansion.path)
            reason = f"reading failed: {type(error).__name__}: {error}"
            self.progress.discovered(1)
            yield SkippedEntry(expansion.path, "archive", reason[:500])
        expansion.exhausted = True
        self._complete_if_done(expansion)

    def _member_finished(self, task: FileTask) -> None:
        expansion = self.expansions.get(task.container or "")
        if expansion is None:
            return
        expansion.in_flight -= 1
        self._complete_if_done(expansion)

    def _complete_if_done(self, expansion: _Expansion) -> None:
        if expansion.exhausted and expansion.in_flight == 0:
            self.recorder.complete_archive(expansion.path)
            del self.expansions[expansion.path]
