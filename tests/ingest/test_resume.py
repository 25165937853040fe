"""Kill an ingest with SIGKILL part-way, run it again, and check the records."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from scut.db.models import IngestRun, Media, Occurrence
from scut.db.session import Database
from scut.ingest.pipeline import IngestJob
from scut.ingest.records import Origin
from scut.settings import Settings
from scut.storage.blobs import FileBlobStore

LOOSE_FILES = 160
ZIPPED_FILES = 120


def _drawing(seed: int) -> bytes:
    generator = random.Random(seed)
    image = Image.new("RGB", (192, 144), (generator.randrange(256), 120, 200))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        left, top = generator.randrange(150), generator.randrange(100)
        colour = tuple(generator.randrange(256) for _ in range(3))
        draw.ellipse((left, top, left + 40, top + 30), fill=colour)
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=85)
    return output.getvalue()


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("evidence")
    for index in range(LOOSE_FILES):
        (folder / f"IMG_{index:04d}.jpg").write_bytes(_drawing(index))
    with zipfile.ZipFile(folder / "phone.zip", "w") as archive:
        for index in range(ZIPPED_FILES):
            archive.writestr(f"DCIM/P{index:04d}.jpg", _drawing(10_000 + index))
    return folder


def _occurrence_count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Occurrence)) or 0


def _start_ingest(evidence: Path, settings: Settings) -> subprocess.Popen[bytes]:
    environment = dict(os.environ)
    environment.update(
        SCUT_DATA_DIR=str(settings.data_dir),
        SCUT_DATABASE_URL=settings.database_url,
        SCUT_WORKERS="2",
        SCUT_WRITE_BATCH_SIZE="10",
        SCUT_FSYNC_BLOBS="false",
    )
    command = [sys.executable, "-m", "scut", "ingest", str(evidence)]
    command += ["--case", "K1", "--exhibit", "E1", "--unit", "Police", "--json"]
    return subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill_when_recorded(
    process: subprocess.Popen[bytes], database: Database, threshold: int
) -> int:
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline and process.poll() is None:
        count = _occurrence_count(database)
        if count >= threshold:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return count


@pytest.mark.parametrize("threshold", [1, 90, 200])
def test_kill_then_rerun_finishes_once(
    evidence: Path, settings: Settings, database: Database, threshold: int
) -> None:
    process = _start_ingest(evidence, settings)
    recorded_at_kill = _kill_when_recorded(process, database, threshold)
    total = LOOSE_FILES + 1 + ZIPPED_FILES  # the zip is a file of the exhibit too
    assert recorded_at_kill < total, "the ingest finished before it could be killed"

    origin = Origin(case="K1", exhibit="E1", unit="Police")
    summary = IngestJob(database, settings, [evidence], origin).run()

    assert summary.files == total
    with database.session() as session:
        paths = session.scalars(select(Occurrence.path)).all()
        media = set(session.scalars(select(Media.sha256)))
        statuses = session.scalars(
            select(IngestRun.status).order_by(IngestRun.id)
        ).all()
    assert len(paths) == len(set(paths)) == total
    assert "phone.zip/DCIM/P0119.jpg" in paths
    store = FileBlobStore(settings.data_dir / "blobs")
    assert set(store.iter_originals()) == media
    assert not os.listdir(settings.data_dir / "blobs" / "tmp")
    assert statuses[0] == "interrupted"
    assert statuses[-1] == "finished"


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(
                int(child) for child in (task / "children").read_text().split()
            )
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_exit_when_ingest_killed(
    evidence: Path, sqlite_settings: Settings
) -> None:
    database = Database(sqlite_settings)
    database.upgrade()
    process = _start_ingest(evidence, sqlite_settings)
    deadline = time.monotonic() + 60
    while _occurrence_count(database) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(process.pid)
    assert workers, "the ingest started no worker processes"

    process.kill()  # SIGKILL to the main process only, not its group
    process.wait(timeout=30)

    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if _alive(pid)]
    os.killpg(process.pid, signal.SIGKILL)
    database.dispose()
    assert survivors == []


def test_killed_worker_does_not_end_job(
    evidence: Path, sqlite_settings: Settings
) -> None:
    database = Database(sqlite_settings)
    database.upgrade()
    process = _start_ingest(evidence, sqlite_settings)
    deadline = time.monotonic() + 60
    while _occurrence_count(database) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = sorted(pid for pid in _children(process.pid) if _is_worker(pid))
    assert workers, "no worker process found"

    os.kill(workers[0], signal.SIGKILL)  # as the kernel does to a crashed decoder
    returncode = process.wait(timeout=180)

    total = _occurrence_count(database)
    database.dispose()
    assert returncode == 0
    assert total == LOOSE_FILES + 1 + ZIPPED_FILES


def _is_worker(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"spawn_main" in command
