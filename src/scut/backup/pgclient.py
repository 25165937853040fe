"""The PostgreSQL client tools of a backup and a restore: pg_dump and pg_restore.

Both run with the archive on a pipe, so the plaintext dump never lies in a
file: pg_dump writes the custom-format archive to its standard output,
which the backup seals as it reads, and pg_restore reads the unsealed
archive from its standard input. A thread reads each tool's standard
error, so a tool that writes many warnings never stalls on a full pipe.

NOTE: pg_restore's ``--jobs`` option needs a regular file, so a restore
from a pipe loads one table after the other.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from typing import IO, BinaryIO

from psycopg.conninfo import make_conninfo
from sqlalchemy import URL

from scut.backup.manifest import CHUNK, BackupError

log = logging.getLogger(__name__)

# The first bytes of every pg_dump archive of the custom format.
ARCHIVE_MAGIC = b"PGDMP"
# Lines of a tool's standard error kept for the message of a failure.
MAX_STDERR_LINES = 50
# Lines quoted in the message of a failure.
QUOTED_LINES = 5
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


class _StderrReader(threading.Thread):
    """Thread that keeps the last lines of a tool's standard error."""

    def __init__(self, stream: IO[bytes], name: str) -> None:
        super().__init__(name=f"{name}-stderr", daemon=True)
        self.stream = stream
        self.lines: deque[str] = deque(maxlen=MAX_STDERR_LINES)
        # pg_dump and pg_restore start each error line with "<tool>: error:".
        self.error_seen = False

    def run(self) -> None:
        with self.stream:
            for raw in self.stream:
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self.lines.append(line)
                    self.error_seen = self.error_seen or ": error:" in line

    def quoted(self) -> str:
        """Return the last lines, joined, for an error message."""
        return " ".join(list(self.lines)[-QUOTED_LINES:]) or "no message"


def pg_tool(name: str) -> tuple[str, int]:
    """Find a PostgreSQL client tool on PATH; return its path and major version."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH; install the PostgreSQL client tools "
            "(Debian: postgresql-client) of the server's major version or later"
        )
    try:
        output = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise BackupError(f"cannot run {path} --version: {error}") from error
    matched = _VERSION.search(output)
    if matched is None:
        raise BackupError(f"cannot read the version of {path} from {output.strip()!r}")
    return path, int(matched.group(1))


def conninfo(url: URL) -> str:
    """Return a libpq connection string for a URL, without its password."""
    parameters: dict[str, str] = {}
    for key, value in url.query.items():
        parameters[key] = value if isinstance(value, str) else value[-1]
    if url.host:
        parameters["host"] = url.host
    if url.port:
        parameters["port"] = str(url.port)
    if url.username:
        parameters["user"] = url.username
    if url.database:
        parameters["dbname"] = url.database
    return make_conninfo("", **parameters)


def safe_url(url: URL) -> str:
    """Return a URL as text with its password hidden, for messages and logs."""
    return url.render_as_string(hide_password=True)


def dump_into(command: list[str], url: URL, write: Callable[[bytes], object]) -> None:
    """Run pg_dump and pass every chunk of its standard output to ``write``.

    Raises BackupError when pg_dump exits with a non-zero status, writes an
    error line, or writes something other than a custom-format archive.
    Warnings are logged. When ``write`` raises, pg_dump is killed.
    """
    process, stderr = _start(command, url, "pg_dump", stdout=subprocess.PIPE)
    assert process.stdout is not None
    try:
        head = process.stdout.read(len(ARCHIVE_MAGIC))
        write(head)
        while chunk := process.stdout.read(CHUNK):
            write(chunk)
        status = process.wait()
    except BaseException:
        _stop(process)
        raise
    finally:
        process.stdout.close()
        stderr.join()
    _check_exit("pg_dump", status, stderr, url)
    if not head.startswith(ARCHIVE_MAGIC):
        raise BackupError(
            f"pg_dump exited with status 0 on {safe_url(url)}, but its output is not "
            f"a custom-format archive (it starts with {head!r}, not {ARCHIVE_MAGIC!r})"
        )


def restore_from(command: list[str], url: URL, source: BinaryIO) -> None:
    """Run pg_restore with everything read from ``source`` on its standard input.

    Raises BackupError when pg_restore exits with a non-zero status or
    writes an error line. When reading ``source`` raises, pg_restore is
    killed before it can commit.
    """
    process, stderr = _start(
        command, url, "pg_restore", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    assert process.stdin is not None
    try:
        try:
            while chunk := source.read(CHUNK):
                process.stdin.write(chunk)
            process.stdin.close()
        except BrokenPipeError:
            # pg_restore stopped reading, and its exit status and standard
            # error explain the failure.
            log.debug("pg_restore closed its standard input before the end")
        status = process.wait()
    except BaseException:
        _stop(process)
        raise
    finally:
        _close_quietly(process.stdin)
        stderr.join()
    _check_exit("pg_restore", status, stderr, url)


def _start(
    command: list[str],
    url: URL,
    name: str,
    *,
    stdin: int | None = None,
    stdout: int | None = None,
) -> tuple[subprocess.Popen[bytes], _StderrReader]:
    environment = dict(os.environ)
    if url.password:
        # In the environment, the password stays out of the process list.
        environment["PGPASSWORD"] = str(url.password)
    log.info("Running %s on %s", name, safe_url(url))
    try:
        process = subprocess.Popen(
            command,
            env=environment,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
        )
    except OSError as error:
        raise BackupError(f"cannot run {command[0]}: {error}") from error
    assert process.stderr is not None
    stderr = _StderrReader(process.stderr, name)
    stderr.start()
    return process, stderr


def _check_exit(name: str, status: int, stderr: _StderrReader, url: URL) -> None:
    if status != 0 or stderr.error_seen:
        raise BackupError(
            f"{name} failed with exit status {status} on {safe_url(url)}: "
            f"{stderr.quoted()}"
        )
    for line in stderr.lines:
        log.warning("%s on %s: %s", name, safe_url(url), line)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def _close_quietly(stream: IO[bytes]) -> None:
    # The buffered bytes cannot reach a tool that has exited, but close()
    # closes the pipe all the same.
    with contextlib.suppress(BrokenPipeError):
        stream.close()
