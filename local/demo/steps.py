"""The demo's nine steps, how a step fails, and the tracker that runs and reports each one."""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from local.demo.results import DemoResult, StepTiming

if TYPE_CHECKING:
    from rich.console import Console

STEPS: tuple[tuple[str, str], ...] = (
    ("synth", "Synthesize every stack (pinned CDK CLI, cdk-nag)"),
    ("train", "Train in the SageMaker-shaped tree, quality gate"),
    ("register", "Register the model version (moto)"),
    ("traffic", "Serve locally; normal, drifted, bad-client traffic"),
    ("drift", "Drift per phase over the captured records"),
    ("alarms", "Alarm rules, CloudWatch metrics, SNS notifications"),
    ("retrain", "Training pipeline on fresh labelled data: version 2"),
    ("rollout", "Deployment pipeline: blue/green, bake, drift on version 2"),
    ("report", "Write the report"),
)


class DemoError(RuntimeError):
    """A step cannot go on; the message says what went wrong and what to do."""


class DemoStepFailed(RuntimeError):
    """A step failed; names the step, carries the cause."""

    def __init__(self, number: int, key: str, title: str, cause: BaseException) -> None:
        super().__init__(f"step {number}/{len(STEPS)} ({key}: {title}) failed: {cause}")
        self.number = number
        self.key = key
        self.title = title
        self.cause = cause


def step_number(key: str) -> int:
    """The 1-based position of the step `key`."""
    return next(i for i, (k, _) in enumerate(STEPS, start=1) if k == key)


class StepTracker:
    """Runs the steps one by one with a spinner and prints one clear line per step."""

    def __init__(self, console: Console, result: DemoResult) -> None:
        self.console = console
        self.result = result
        self.current: tuple[int, str, str] | None = None

    @contextlib.contextmanager
    def step(self, key: str, spinner: bool = True) -> Iterator[list[str]]:
        """Run one step; the caller appends its outcome line (and detail lines) to the yielded list."""
        number = step_number(key)
        title = dict(STEPS)[key]
        self.current = (number, key, title)
        lines: list[str] = []
        label = f"[{number}/{len(STEPS)}] {title}"
        started = time.perf_counter()
        try:
            if spinner:
                with self.console.status(f"{label} …"):
                    yield lines
            else:
                self.console.print(f"[bold]  {label} …[/bold]")
                yield lines
        except (KeyboardInterrupt, DemoStepFailed):
            raise
        except Exception as exc:
            seconds = time.perf_counter() - started
            self.console.print(f"[bold red]✗ {label}[/bold red] [dim]({seconds:.1f} s)[/dim]")
            _write_traceback(self.result.workdir)
            raise DemoStepFailed(number, key, title, exc) from exc
        seconds = time.perf_counter() - started
        outcome = lines[0] if lines else "done"
        self.result.timings.append(StepTiming(number, key, title, seconds, outcome))
        self.console.print(f"[bold green]✓[/bold green] [bold]{label}[/bold] [dim]({seconds:.1f} s)[/dim]")
        for line in lines:
            self.console.print(f"    {line}")
        self.current = None


def _write_traceback(workdir: Path) -> None:
    with contextlib.suppress(OSError):
        (workdir / "logs" / "demo-error.log").write_text(traceback.format_exc(), encoding="utf-8")
