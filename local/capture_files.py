"""Capture lines of the local model server to JSONL files in the S3 layout (docs/contracts.md).

Lines are parsed by `monitoring.capture.parse_capture_line`, the function the cloud's capture
Lambda uses, and written by `capture_objects` / `write_capture_objects` in batches, each file
appearing atomically under `<capture_dir>/capture/<endpoint>/YYYY/MM/DD/HH/<batch-id>.jsonl`.
"""

from __future__ import annotations

import os
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


class CaptureBatcher:
    """Collects capture records from log lines and writes them as batch files on demand."""

    def __init__(self, capture_dir: Path | None, endpoint_name: str, log: Callable[[str], None]) -> None:
        self.capture_dir = capture_dir
        self.endpoint_name = endpoint_name
        self.records_written = 0
        self.malformed_lines = 0
        self.last_error: Exception | None = None
        self._log = log
        self._pending: list[dict[str, Any]] = []
        self._pending_since = 0.0
        self._batches = 0

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

    def write(self) -> int:
        """Write the pending records as one batch (one file per hour); returns how many."""
        if not self._pending or self.capture_dir is None:
            return 0
        records, self._pending = self._pending, []
        self._batches += 1
        batch_id = f"local-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}-{self._batches:06d}"
        try:
            write_capture_objects(capture_objects(records, self.endpoint_name, batch_id), self.capture_dir)
        except (OSError, ValueError) as exc:
            self.last_error = exc
            self._log(f"writing capture files failed: {exc}")
            return 0
        self.records_written += len(records)
        return len(records)
