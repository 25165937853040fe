"""Ingest throughput against its floor, and peak memory against file count.

For each picture set the same run measures:

- the floor: reading each file once, MD5 + SHA-1 + SHA-256 of its bytes,
  then draft decode and PDQ, in one process;
- the full ingest: ``IngestJob`` with one worker process into a fresh SQLite
  database, with blob store, thumbnails, metadata and batched writes, in a
  child process of its own.

The ingest rate is the steady rate of its one worker (files finished
after the first, over the time since the first), so it is the rate per
analysis core; the start-up of the worker pool and the main process's CPU
time are reported beside it. Memory is measured by ingesting folders of
tiny files of growing count and reading each run's peak resident set size.

Run: ``make bench`` or ``.venv/bin/python bench/ingest_bench.py --help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))

from corpus import write_set  # noqa: E402
from scut.hashing.digests import digest_bytes  # noqa: E402
from scut.hashing.pdq import pdq_of_image  # noqa: E402
from scut.ingest.images import _decode_small, _displayed  # noqa: E402

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
SHARED_CAMERA = HERE.parent.parent / "shared" / "data" / "camera"


@dataclass
class SetResult:
    """Measurements of one picture set."""

    name: str
    files: int
    megabytes: float
    floor_digest_seconds: float
    floor_seconds: float
    floor_files_per_second: float
    ingest_files_per_second: float
    ingest_megabytes_per_second: float
    ratio_to_floor: float
    ingest_wall_seconds: float
    startup_seconds: float
    main_cpu_seconds: float
    peak_rss_main_mb: float
    peak_rss_worker_mb: float


def measure_floor(paths: list[Path]) -> tuple[float, float]:
    """Return CPU seconds of digests alone, and of digests plus decode and PDQ."""
    started = time.process_time()
    for path in paths:
        digest_bytes(path.read_bytes())
    digests_only = time.process_time() - started

    started = time.process_time()
    for path in paths:
        data = path.read_bytes()
        digest_bytes(data)
        image, _width, _height, _format = _decode_small(data)
        pdq_of_image(_displayed(image))
    return digests_only, time.process_time() - started


def run_ingest(folder: Path, label: str, workers: int) -> dict[str, float]:
    """Ingest ``folder`` in a child process into a fresh data directory."""
    data_dir = WORK / f"data-{label}"
    shutil.rmtree(data_dir, ignore_errors=True)
    command = [sys.executable, str(HERE / "run_ingest.py")]
    command += [str(folder), str(data_dir), str(workers), label]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


def linked_folder(name: str, paths: list[Path]) -> Path:
    """Hard-link ``paths`` into one folder, so the set is ingested as it is."""
    folder = WORK / f"source-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for index, path in enumerate(paths):
        try:
            os.link(path, folder / f"{index:05d}{path.suffix}")
        except OSError:
            shutil.copyfile(path, folder / f"{index:05d}{path.suffix}")
    return folder


def measure_set(name: str, paths: list[Path]) -> SetResult:
    """Measure the floor and a one-worker ingest of one set of pictures."""
    megabytes = sum(path.stat().st_size for path in paths) / 1e6
    digest_seconds, floor_seconds = measure_floor(paths)
    ingest = run_ingest(linked_folder(name, paths), name, workers=1)
    if ingest["files"] != len(paths):
        raise RuntimeError(f"{name}: recorded {ingest['files']} of {len(paths)} files")
    rate = ingest["steady_files_per_second"]
    floor_rate = len(paths) / floor_seconds
    return SetResult(
        name=name,
        files=len(paths),
        megabytes=round(megabytes, 1),
        floor_digest_seconds=round(digest_seconds, 3),
        floor_seconds=round(floor_seconds, 3),
        floor_files_per_second=round(floor_rate, 1),
        ingest_files_per_second=rate,
        ingest_megabytes_per_second=round(rate * megabytes / len(paths), 1),
        ratio_to_floor=round(floor_rate / rate, 2),
        ingest_wall_seconds=ingest["wall_seconds"],
        startup_seconds=ingest["startup_seconds"],
        main_cpu_seconds=ingest["main_cpu_seconds"],
        peak_rss_main_mb=ingest["peak_rss_main_mb"],
        peak_rss_worker_mb=ingest["peak_rss_worker_mb"],
    )


def tiny_files(folder: Path, count: int) -> Path:
    """Write ``count`` distinct 24x24 PNGs into ``folder`` (kept between runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    existing = len(list(folder.iterdir()))
    for index in range(existing, count):
        image = Image.new("RGB", (24, 24), (index % 256, (index // 256) % 256, 90))
        image.putpixel((index % 24, (index // 24) % 24), (255, 255, 255))
        output = io.BytesIO()
        image.save(output, format="PNG")
        (folder / f"t{index:06d}.png").write_bytes(output.getvalue())
    return folder


def measure_memory(count: int) -> dict[str, float]:
    """Ingest ``count`` tiny files with two workers; return time and peak RSS."""
    folder = tiny_files(WORK / f"tiny-{count}", count)
    result = run_ingest(folder, f"tiny-{count}", workers=2)
    result["files_requested"] = count
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count-12mp", type=int, default=40, help="12 MP JPEGs")
    parser.add_argument("--count-2mp", type=int, default=150, help="2 MP JPEGs")
    parser.add_argument(
        "--memory-files",
        type=int,
        nargs="*",
        default=[2000, 20000],
        help="file counts of the memory runs",
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "ingest.json")
    arguments = parser.parse_args()

    sets = {
        "12mp": write_set(WORK / "pictures-12mp", "12mp", arguments.count_12mp),
        "2mp": write_set(WORK / "pictures-2mp", "2mp", arguments.count_2mp),
        "camera": sorted(path for path in SHARED_CAMERA.rglob("*") if path.is_file()),
    }
    results = [asdict(measure_set(name, paths)) for name, paths in sets.items()]
    for row in results:
        print(json.dumps(row))
    memory = [measure_memory(count) for count in arguments.memory_files]
    for row in memory:
        print(json.dumps(row))
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": _cpu_name(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "sets": results,
        "memory": memory,
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2))
    print(f"written to {arguments.output}")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
