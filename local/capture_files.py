"""The model container's stdout as a durable log, and the capture files made from it (docs/contracts.md).

In the cloud the container's stdout goes to a CloudWatch Logs stream, and the capture Lambda turns
its capture lines into JSONL objects some time later. Locally the container's stdout is a spool
file (`<capture-dir>/.spool/<endpoint>-<run>.log`), appended to by the handler before it answers,
so an answered row is on disk even if every process is killed the moment after. A reader thread
follows the file and writes capture batches with the same `monitoring.capture` functions as the
Lambda, under `<capture-dir>/capture/<endpoint>/YYYY/MM/DD/HH/<batch-id>.jsonl`; each file appears
atomically, about a twentieth of a second after the last answer (at the latest a second later,
under steady traffic). `<spool>.state` records how far the spool has been turned into files.

The endpoint holds an exclusive lock on its spool while any of its processes live. A spool left
unlocked by a run that was killed is finished by `recover_spools` (the next `mlops serve` on the
same capture directory calls it): its batch ids derive from the spool's name and offsets, so a
batch written twice overwrites itself and nothing is captured twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitoring.capture import (
    CAPTURE_MARKER,
    MalformedCaptureLine,
    capture_objects,
    parse_capture_line,
    write_capture_objects,
)

SPOOL_DIR = ".spool"
MAX_PENDING_RECORDS = 5_000  # write a batch at this size even while traffic continues (~50 ms of work)
IDLE_WRITE_S = 0.05  # write once the spool has been quiet this long
FLUSH_INTERVAL_S = 1.0  # and at the latest this long after the batch's first record
POLL_S = 0.01
CAPTURE_NICE = 10


class CaptureError(RuntimeError):
    """Capture files cannot be written; the message names the directory and the reason."""


def check_capture_dir(capture_dir: Path) -> None:
    """Fail now, with the reason, if capture files cannot be written under `capture_dir`."""
    try:
        (capture_dir / SPOOL_DIR).mkdir(parents=True, exist_ok=True)
        probe = capture_dir / SPOOL_DIR / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CaptureError(f"cannot write capture files under {capture_dir}: {exc.strerror or exc}") from None


class CaptureBatcher:
    """Collects capture records from log lines and writes them as batch files."""

    def __init__(self, capture_dir: Path | None, endpoint_name: str, log: Callable[[str], None]) -> None:
        self.capture_dir = capture_dir
        self.endpoint_name = endpoint_name
        self.records_written = 0
        self.malformed_lines = 0
        self._log = log
        self._pending: list[dict[str, Any]] = []
        self._pending_since = 0.0

    @property
    def pending(self) -> int:
        """Records read but not written yet."""
        return len(self._pending)

    @property
    def pending_age_s(self) -> float:
        """Seconds since the oldest pending record arrived (0 when none is pending)."""
        return time.monotonic() - self._pending_since if self._pending else 0.0

    def offer(self, line: str) -> bool:
        """Take the line if it is a capture line (True); a malformed one is counted and logged."""
        if CAPTURE_MARKER not in line:
            return False
        try:
            record = parse_capture_line(line)
        except MalformedCaptureLine as exc:
            self.malformed_lines += 1
            self._log(f"skipped a malformed capture line: {exc}")
            return True
        if record is not None and self.capture_dir is not None:
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.append(record)
        return True

    def write(self, batch_id: str) -> int:
        """Write the pending records as one batch (one file per hour); returns how many. Raises OSError."""
        if not self._pending or self.capture_dir is None:
            return 0
        objects = capture_objects(self._pending, self.endpoint_name, batch_id)
        write_capture_objects(objects, self.capture_dir)
        written, self._pending = len(self._pending), []
        self.records_written += written
        return written


def _state_path(spool: Path) -> Path:
    return spool.with_name(spool.name + ".state")


def _save_state(spool: Path, endpoint_name: str, offset: int) -> None:
    state = _state_path(spool)
    temporary = state.with_name(f".{state.name}.tmp")
    temporary.write_text(json.dumps({"endpoint": endpoint_name, "offset": offset}))
    os.replace(temporary, state)


class CaptureSpool:
    """The spool of one running endpoint: the write end for the container, a reader thread for the files."""

    def __init__(
        self, directory: Path, capture_dir: Path | None, endpoint_name: str, log: Callable[[str], None]
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        run = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}-{os.urandom(3).hex()}"
        self.path = directory / f"{endpoint_name}-{run}.log"
        self.batcher = CaptureBatcher(capture_dir, endpoint_name, log)
        self.last_error: Exception | None = None
        self._log = log
        self._durable = capture_dir is not None
        # O_APPEND: the container's processes all write at the end; the lock lives as long as any of them.
        self.write_fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        fcntl.flock(self.write_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._read_fd = os.open(self.path, os.O_RDONLY)
        if self._durable:
            _save_state(self.path, endpoint_name, 0)
        self._committed = 0  # spool offset up to which every capture line is in a file
        self._consumed = 0  # spool offset up to which lines have been read
        self._cond = threading.Condition()
        self._flush_requested = 0
        self._flush_done = 0
        self._stopping = False
        self._closed = False
        self._thread = threading.Thread(target=self._follow, name="capture-spool", daemon=True)
        self._thread.start()

    def flush(self, timeout_s: float = 10.0) -> int:
        """Write every capture line the container has written so far; returns the records written in total."""
        with self._cond:
            if not self._thread.is_alive():
                return self.batcher.records_written
            self._flush_requested += 1
            ticket = self._flush_requested
            if not self._cond.wait_for(lambda: self._flush_done >= ticket, timeout_s):
                raise CaptureError(f"capture was not flushed within {timeout_s} s")
        if self.last_error is not None:
            raise CaptureError(f"writing capture files failed: {self.last_error}")
        return self.batcher.records_written

    def close(self) -> None:
        """Once the container has exited: write what is left, then remove the spool if it is all in files (once)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._stopping = True
        self._thread.join(timeout=30)
        os.close(self._read_fd)
        complete = self.last_error is None and self._committed == self._consumed == os.fstat(self.write_fd).st_size
        if complete or not self._durable:
            with contextlib.suppress(FileNotFoundError):
                _state_path(self.path).unlink()
            self.path.unlink(missing_ok=True)
        os.close(self.write_fd)  # releases the lock: a spool left behind is for recover_spools

    def _follow(self) -> None:
        """Read the spool as it grows; hand lines to the batcher; write batches when due."""
        if sys.platform.startswith("linux"):
            # Parsing capture lines is the capture Lambda's work in the cloud, not the endpoint's: on
            # Linux a thread has its own nice value, so this one yields the CPU to the model server.
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CAPTURE_NICE)
        buffer = b""
        last_data = time.monotonic()
        while True:
            # Take the flush ticket before reading: reaching the end afterwards proves that every
            # byte written before the ticket was requested has been read.
            with self._cond:
                requested, stopping = self._flush_requested, self._stopping
            chunk = os.read(self._read_fd, 1 << 16)
            if chunk:
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._consumed += len(line) + 1
                    self._handle_safely(line.decode("utf-8", "replace"))
                if self.batcher.pending >= MAX_PENDING_RECORDS or self.batcher.pending_age_s >= FLUSH_INTERVAL_S:
                    self._write_batch()
                last_data = time.monotonic()
                continue
            due = self.batcher.pending_age_s >= FLUSH_INTERVAL_S or time.monotonic() - last_data >= IDLE_WRITE_S
            if requested > self._flush_done or stopping or due:
                self._write_batch()
            with self._cond:
                self._flush_done = max(self._flush_done, requested)
                self._cond.notify_all()
            if stopping:
                if buffer:
                    self._log(f"capture spool ended inside a line; {len(buffer)} bytes skipped")
                return
            time.sleep(POLL_S)

    def _handle_safely(self, line: str) -> None:
        # The reader must keep up whatever a line holds.
        try:
            if not self.batcher.offer(line):
                self._log(line)
        except Exception as exc:
            self._log(f"capture reader: {type(exc).__name__}: {exc}")

    def _write_batch(self) -> None:
        if self._consumed == self._committed:
            return
        try:
            self.batcher.write(f"{self.path.stem}-{self._committed:012d}")
            if self._durable:
                _save_state(self.path, self.batcher.endpoint_name, self._consumed)
        except (OSError, ValueError) as exc:
            # The records stay pending and in the spool: a later batch, or recover_spools, writes them.
            if self.last_error is None:
                self._log(f"writing capture files failed: {exc}")
            self.last_error = exc
            return
        self._committed = self._consumed
        self.last_error = None


def recover_spools(capture_dir: Path, log: Callable[[str], None]) -> int:
    """Turn the spools that killed runs left under `capture_dir` into capture files; returns the records."""
    recovered = 0
    for spool in sorted((capture_dir / SPOOL_DIR).glob("*.log")):
        fd = os.open(spool, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log(f"capture spool {spool.name} is still held by a running endpoint; left to it")
                continue
            state_path = _state_path(spool)
            try:
                state = json.loads(state_path.read_text())
                endpoint, offset = str(state["endpoint"]), int(state["offset"])
            except (OSError, ValueError, KeyError, TypeError):
                log(f"capture spool {spool} has no readable state; left in place")
                continue
            os.lseek(fd, offset, os.SEEK_SET)
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read()
            complete, _, partial = data.rpartition(b"\n")
            batcher = CaptureBatcher(capture_dir, endpoint, log)
            for line in complete.split(b"\n") if complete else []:
                batcher.offer(line.decode("utf-8", "replace"))
            if partial:
                log(f"capture spool {spool.name} ends inside a line (a write cut short); {len(partial)} bytes skipped")
            recovered += batcher.write(f"{spool.stem}-{offset:012d}")
            state_path.unlink()
            spool.unlink()
        finally:
            os.close(fd)
    if recovered:
        log(f"recovered {recovered} capture records that a stopped run had not written to files yet")
    return recovered
