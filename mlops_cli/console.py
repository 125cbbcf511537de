"""The rich console the verbs print their tables with."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

# Output that is not a terminal (a file, a pipe, a CI log) has no width to fit: rich would assume
# 80 columns and cut tables and wrap lines mid-word. This is wide enough for any report line.
UNBOUNDED_WIDTH = 1000


def output_console(**options: Any) -> Console:
    """A console as wide as the terminal, or unbounded when stdout is not one (unless COLUMNS says)."""
    from rich.console import Console

    console = Console(**options)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(width=UNBOUNDED_WIDTH, **options)
    return console
