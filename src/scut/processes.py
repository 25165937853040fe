"""Whether a process still runs, for cleaning up after killed ingests."""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Return whether ``pid`` runs on this machine; a zombie counts as ended.

    A killed worker stays a zombie until its new parent reaps it, and some
    container init processes never do, so signal 0 alone would call it alive.
    """
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust the signal
    state = status.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")
