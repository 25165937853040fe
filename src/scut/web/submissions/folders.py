"""The uploads folder: one private folder per ingest job, removed after a crash.

Each runner (one per application) has an instance name, and its job
folders are ``<instance>-<job id>``. While it runs, it holds an exclusive
lock (flock) on ``<instance>.lock`` in the uploads folder. The kernel
drops the lock when the process ends, however it ends, so at start-up a
runner removes the folders of every instance whose lock it can take:
those of a server that crashed or was killed.
NOTE: flock is local to one machine on most network file systems, so
servers on several machines must not share one uploads folder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_INSTANCE = re.compile(r"[0-9a-f]{16}")
_LOCK_SUFFIX = ".lock"


def remove_folder(folder: Path) -> None:
    """Remove a job's folder and everything in it; a failure is logged."""
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        return
    except OSError as error:
        log.error("could not remove the job folder %s: %s", folder, error)


def remove_stale_folders(root: Path) -> list[Path]:
    """Remove the job folders of instances that hold no lock; return them.

    Entries not named as this module names them are left in place and
    logged, since something else put them there.
    """
    live: set[str] = set()
    stale_locks: list[Path] = []
    for entry in sorted(root.iterdir()):
        # A lock file still being created has a leading dot.
        instance = entry.name.removesuffix(_LOCK_SUFFIX).removeprefix(".")
        if entry.name.endswith(_LOCK_SUFFIX) and _INSTANCE.fullmatch(instance):
            if _lock_is_held(entry):
                live.add(instance)
            else:
                stale_locks.append(entry)
    removed: list[Path] = []
    for entry in sorted(root.iterdir()):
        if entry.name.endswith(_LOCK_SUFFIX):
            continue
        instance = entry.name.split("-", 1)[0]
        if not _INSTANCE.fullmatch(instance) or "-" not in entry.name:
            log.warning(
                "unexpected entry %s in the uploads folder; left in place", entry
            )
            continue
        if instance in live:
            continue
        if entry.is_dir() and not entry.is_symlink():
            remove_folder(entry)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    for lock in stale_locks:
        lock.unlink(missing_ok=True)
    return removed


def _lock_is_held(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False


def take_instance_lock(root: Path, instance: str) -> IO[bytes]:
    """Create and lock ``<instance>.lock``, locked before it gets its name.

    A runner starting at the same moment would otherwise find the file
    unlocked and remove it as stale.
    """
    staging = root / f".{instance}{_LOCK_SUFFIX}"
    handle = open(staging, "xb")  # noqa: SIM115 - held open while the runner runs
    os.chmod(staging, 0o600)
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.rename(staging, root / f"{instance}{_LOCK_SUFFIX}")
    return handle


def release_instance_lock(root: Path, instance: str, handle: IO[bytes]) -> None:
    """Remove the lock file of ``instance`` and release its lock."""
    (root / f"{instance}{_LOCK_SUFFIX}").unlink(missing_ok=True)
    handle.close()
