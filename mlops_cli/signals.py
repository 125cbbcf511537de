"""Signal handling shared by the long-running verbs (`serve`, `demo`)."""

from __future__ import annotations

import signal
from types import FrameType


def raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    """A signal handler that stops the main thread as Ctrl-C does, so `finally` blocks clean up."""
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """Make SIGTERM (`kill`, a process manager) stop the verb as cleanly as Ctrl-C."""
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
