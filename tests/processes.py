"""Watching process trees from /proc, so a test can check that everything a command started has ended."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path


def interruptible() -> None:
    """`preexec_fn` for a child a test stops with SIGINT: Ctrl-C's default, whatever the runner inherited.

    A shell without job control starts background commands with SIGINT ignored, children inherit
    that, and Python then installs no KeyboardInterrupt handler: the test would wait in vain.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc's children lists."""
    found: set[int] = set()
    stack = [pid]
    while stack:
        parent = stack.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                ids = [int(x) for x in children.read_text().split()]
            except OSError:
                continue
            for child in ids:
                if child not in found:
                    found.add(child)
                    stack.append(child)
    return found


def cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return None


def is_running(pid: int, command: str) -> bool:
    """The same process still exists and is not a zombie (pids are not reused within seconds)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z" and cmdline(pid) == command


def snapshot(pid: int) -> dict[int, str]:
    """The processes below `pid` now, with their command lines."""
    return {child: command for child in descendants(pid) if (command := cmdline(child))}


def still_running(processes: dict[int, str], within_s: float = 0.0) -> dict[int, str]:
    """Those of `processes` that still run after waiting up to `within_s` for them to end."""
    deadline = time.monotonic() + within_s
    while True:
        left = {pid: command for pid, command in processes.items() if is_running(pid, command)}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


class ProcessTree:
    """Samples the process tree below a running process, so a test can check that all of it ended."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.seen: dict[int, str] = {}
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while self.process.poll() is None:
            # The latest command line wins: one read between a child's fork and its exec shows the
            # parent's command, and kept, it would hide the child's real one for good.
            self.seen.update(snapshot(self.process.pid))
            time.sleep(0.05)

    def leftovers(self) -> dict[int, str]:
        """Processes seen during the run that still exist after it."""
        self._thread.join(timeout=5)
        return still_running(self.seen)


def session_members(session: int) -> set[int]:
    """Live processes (zombies excluded) whose session id is `session`."""
    members = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            members.add(int(stat.parent.name))
    return members


def sessions_ended(sessions: set[int], within_s: float) -> set[int]:
    """The processes still alive in any of `sessions` after waiting up to `within_s` for them to end."""
    deadline = time.monotonic() + within_s
    while True:
        left = set().union(*(session_members(session) for session in sessions)) if sessions else set()
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)
