"""Where the demo works: its output directory (cleared only if a demo made it) and the settings it reads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from local.demo.steps import DemoError
from mlops_core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKDIR_MARKER = ".mlops-demo"


def prepare_workdir(workdir: Path) -> Path:
    """Create the workdir, or clear one that an earlier demo made (never a directory it did not make)."""
    workdir = workdir.resolve()
    if workdir.exists():
        if not workdir.is_dir():
            raise DemoError(f"--workdir {workdir} exists and is not a directory")
        if any(workdir.iterdir()) and not (workdir / WORKDIR_MARKER).is_file():
            raise DemoError(
                f"--workdir {workdir} is not empty and was not made by `mlops demo` (no {WORKDIR_MARKER} file): "
                "choose another directory or remove it"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / WORKDIR_MARKER).write_text("made by `mlops demo`; the next run clears this directory\n")
    (workdir / "logs").mkdir()
    return workdir


def load_settings(overrides: Mapping[str, str] | None = None) -> Settings:
    """The settings `cdk synth` reads: cdk.json's context, with `-c KEY=VALUE` over it; DemoError when one is bad."""
    from mlops_core.settings import SettingError

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    try:
        return Settings.from_context({**context, **(overrides or {})})
    except SettingError as exc:
        raise DemoError(str(exc)) from None
