"""Run one ingest in this process and print its timings and peak memory as JSON.

Used by ingest_bench.py in a child process, so that each measurement has a
process of its own. Worker processes are children of the multiprocessing
forkserver, not of this process, so their peak RSS is sampled from /proc
(VmHWM of every descendant) while the job runs.

Usage: run_ingest.py FOLDER DATA_DIR WORKERS LABEL
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from scut.db.session import Database
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.settings import Settings


class Timestamps:
    """Progress listener that keeps the time each file finished."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def discovered(self, count: int) -> None:
        pass

    def finished_file(self, size: int, failed: bool) -> None:
        self.times.append(time.perf_counter())


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in children:
                found.append(int(child))
                pending.append(int(child))
    return found


def _peak_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class WorkerMemory(threading.Thread):
    """Samples the highest VmHWM among this process's descendants."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            for pid in _descendants(os.getpid()):
                self.peak_kb = max(self.peak_kb, _peak_kb(pid))


def main() -> None:
    folder, data_dir, workers, label = sys.argv[1:5]
    settings = Settings(data_dir=Path(data_dir), workers=int(workers))
    database = Database(settings)
    database.upgrade()
    listener = Timestamps()
    sampler = WorkerMemory()
    sampler.start()

    cpu_before = time.process_time()
    started = time.perf_counter()
    origin = Origin(case="BENCH", exhibit=label, unit="Bench")
    summary = IngestJob(database, settings, [Path(folder)], origin).run(listener)
    wall = time.perf_counter() - started
    main_cpu = time.process_time() - cpu_before
    sampler.stop.set()
    sampler.join()

    times = listener.times
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else 0.0
    result = {
        "files": summary.files,
        "errors": summary.errors,
        "wall_seconds": round(wall, 3),
        "startup_seconds": round(times[0] - started, 3) if times else None,
        "steady_files_per_second": round(steady, 2),
        "main_cpu_seconds": round(main_cpu, 3),
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so it
        # would report the bench parent's peak when that was larger.
        "peak_rss_main_mb": round(_peak_kb(os.getpid()) / 1024, 1),
        "peak_rss_worker_mb": round(sampler.peak_kb / 1024, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
