"""Streaming the members of a 7z archive out of py7zr's push-style extraction."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import py7zr
import py7zr.io

from scut.errors import ArchiveError
from scut.ingest.members import ArchiveEvent, Member, MemberSink, safe_member_name


class SevenZipPump:
    """Runs py7zr's push-style extraction in a thread and yields its members.

    py7zr writes each member through a factory-made writer; the writer
    passes finished members through a small queue, so at most a few
    members are held at once and the generator can stop extraction early.
    """

    _DONE = object()

    def __init__(
        self,
        make_sink: Callable[[str, int | None], MemberSink],
        tmp_dir: Path,
        archive: py7zr.SevenZipFile,
        targets: list[str],
        archive_size: int,
    ) -> None:
        self.make_sink = make_sink
        self.tmp_dir = tmp_dir
        self.archive = archive
        self.targets = targets
        self.archive_size = archive_size
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.stopped = threading.Event()

    def events(self) -> Iterator[ArchiveEvent]:
        worker = threading.Thread(target=self._extract, name="7z-extract", daemon=True)
        worker.start()
        try:
            while True:
                item = self.queue.get()
                if item is self._DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.stopped.set()
            _drain(self.queue)
            worker.join()
            # The worker may have queued one more member between the first
            # drain and seeing the stop.
            _drain(self.queue)

    def _extract(self) -> None:
        # py7zr checks each member name against the destination folder and
        # follows symbolic links there. Without a destination it checks the
        # current folder, where a link named like a member's folder fails the
        # whole archive. The factory's writers keep every byte, so nothing is
        # written to the destination.
        destination = Path(os.path.abspath(self.tmp_dir))
        factory = _SinkFactory(self, destination.as_posix())
        try:
            try:
                self.archive.extract(
                    path=destination, targets=self.targets, factory=factory
                )
                factory.flush_pending()
            finally:
                # A member cut short by an error or a stop is never handed on.
                factory.discard_pending()
        except ArchiveError as error:
            self._put(error)
        except _Stopped:
            pass
        except Exception as error:  # noqa: BLE001 (py7zr raises many kinds)
            self._put(
                ArchiveError(f"7z extraction failed: {type(error).__name__}: {error}")
            )
        self._put(self._DONE)

    def _put(self, item: Any) -> None:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        if item is not self._DONE and not isinstance(item, BaseException):
            if isinstance(item, Member) and item.spool_path is not None:
                item.spool_path.unlink(missing_ok=True)
            raise _Stopped


class _Stopped(Exception):
    pass


class _SinkFactory(py7zr.io.WriterFactory):
    def __init__(self, pump: SevenZipPump, destination: str) -> None:
        self.pump = pump
        self.prefix = destination.rstrip("/") + "/"
        self.pending: _SevenZipWriter | None = None

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        self.flush_pending()
        # py7zr 1.1 passes the destination joined with the member name.
        name = safe_member_name(filename.removeprefix(self.prefix))
        sink = self.pump.make_sink(name, self.pump.archive_size)
        self.pending = _SevenZipWriter(sink, self)
        return self.pending

    def flush_pending(self) -> None:
        # py7zr may not call close() on every writer, so a member is handed
        # on when the next one starts or extraction ends.
        if self.pending is not None and not self.pending.handed_on:
            self.pending.hand_on()

    def discard_pending(self) -> None:
        """Delete the spool of a member that was started but not handed on."""
        if self.pending is not None and not self.pending.handed_on:
            self.pending.handed_on = True
            self.pending.sink.discard()
        self.pending = None


class _SevenZipWriter(py7zr.io.Py7zIO):
    def __init__(self, sink: MemberSink, factory: _SinkFactory) -> None:
        self.sink = sink
        self.factory = factory
        self.handed_on = False

    def write(self, s: bytes | bytearray) -> int:
        if self.factory.pump.stopped.is_set():
            raise _Stopped
        self.sink.write(bytes(s))
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self.sink.size

    def close(self) -> None:
        if not self.handed_on:
            self.hand_on()

    def hand_on(self) -> None:
        self.handed_on = True
        self.factory.pump._put(self.sink.finish(None))


def _drain(items: queue.Queue[Any]) -> None:
    while True:
        try:
            item = items.get_nowait()
        except queue.Empty:
            return
        if isinstance(item, Member) and item.spool_path is not None:
            item.spool_path.unlink(missing_ok=True)
