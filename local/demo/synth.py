"""Step 1: synthesize every stack with the pinned CDK CLI, in a child process group, and summarize them.

The CLI runs the CDK app (and with it aws_cdk and jsii) in its own processes: the demo itself
never imports aws_cdk.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from local.demo.results import StackSummary
from local.demo.steps import DemoError
from local.demo.workdir import REPO_ROOT
from mlops_core.naming import TRAINING_RUN_OUTPUT

SYNTH_TIMEOUT_S = 600.0


def synthesize_stacks(out_dir: Path, log_path: Path, context: Mapping[str, str] | None = None) -> list[StackSummary]:
    """Run `cdk synth` with the pinned CLI (validation, cdk-nag, `context` as `-c`) and summarize each template."""
    cdk = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        raise DemoError(f"the pinned CDK CLI is missing ({cdk}): run `make install` (npm ci) or pass --skip-synth")
    env = {
        **os.environ,
        "CDK_DISABLE_VERSION_CHECK": "true",
        "CDK_CLI_TELEMETRY": "false",
        "CDK_VALIDATION": "true",
    }
    command = [str(cdk), "synth", "--quiet", "-o", str(out_dir)]
    for key, value in (context or {}).items():
        command += ["-c", f"{key}={value}"]
    code, output = run_process_group(command, cwd=REPO_ROOT, env=env, timeout_s=SYNTH_TIMEOUT_S)
    log_path.write_text(output, encoding="utf-8")
    if code != 0:
        tail = "\n".join(output.strip().splitlines()[-25:])
        raise DemoError(f"cdk synth exited with code {code} (full output in {log_path}):\n{tail}")
    return summarize_assembly(out_dir)


def node_end_of_life_notice(output: str) -> str | None:
    """The end-of-life banner jsii printed about this machine's Node, as one line, if the synth printed one."""
    for line in output.splitlines():
        if "is end-of-life" in line:
            # jsii frames the banner in `!!` and, under the CDK CLI, prints each line as a bytes repr.
            text = line.strip().removeprefix("b'").removesuffix("'").replace("\\n", "").strip("! ")
            return f"{text} (CDK supports Node 22 and 24)"
    return None


def summarize_assembly(out_dir: Path) -> list[StackSummary]:
    """Resource counts and cdk-nag acknowledgments of every stack in a cloud assembly, in manifest order."""
    manifest = json.loads((out_dir / "manifest.json").read_text())
    stacks = []
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = json.loads((out_dir / artifact["properties"]["templateFile"]).read_text())
        acknowledged = warnings = 0
        metadata_file = out_dir / f"{name}.metadata.json"
        entries = json.loads(metadata_file.read_text()) if metadata_file.is_file() else artifact.get("metadata", {})
        for items in entries.values():
            for item in items:
                if item.get("type") == "aws:cdk:acknowledged-rules":
                    acknowledged += len(item.get("data") or {})
                elif item.get("type") == "aws:cdk:warning":
                    warnings += 1
        stacks.append(StackSummary(name, len(template.get("Resources", {})), acknowledged, warnings))
    if not stacks:
        raise DemoError(f"cdk synth wrote no stack templates into {out_dir}")
    return stacks


def synthesized_training_run(out_dir: Path) -> str | None:
    """The id of the training run the synthesized registry stack starts (what `make deploy` would train).

    The job's own name is made by the pipeline from its execution ARN at deploy time; the run id
    is the hash of what shapes the model (`mlops_core.naming.training_run_id`), known at synth.
    """
    for template_file in sorted(out_dir.glob("*.template.json")):
        output = json.loads(template_file.read_text()).get("Outputs", {}).get(TRAINING_RUN_OUTPUT, {})
        if isinstance(output.get("Value"), str):
            return str(output["Value"])
    return None


def run_process_group(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float
) -> tuple[int, str]:
    """Run a command in its own process group and return (exit code, output).

    The CDK CLI starts node, which starts the Python app: on Ctrl-C or a timeout the whole group
    is stopped, so no grandchild outlives the demo.
    """
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        raise DemoError(f"{command[0]} did not finish within {timeout_s:.0f} s") from None
    except BaseException:
        _stop_group(process)
        raise
    return process.returncode, output


def _stop_group(process: subprocess.Popen[str]) -> None:
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue
