"""The training job's own failure reason, as one marked line in its log.

The XGBoost image's trainer overwrites `/opt/ml/output/failure` with its own
`ExecuteUserScriptError: Command "..."` when the script exits non-zero (sagemaker_containers
`_trainer.train`), so the job's FailureReason never carries the script's reason. train.py therefore
also prints the reason as one line that starts with `MARKER`; the container ships its output to the
job's CloudWatch log stream, where the training pipeline's ExplainFailure Lambda finds it, and the local mode
finds it in the trainer's output.

Standard library only: this module ships in the sourcedir and in the Lambda bundle.
"""

from __future__ import annotations

from collections.abc import Iterable

MARKER = "MLOPS_FAILURE_REASON "
MAX_REASON_CHARS = 1024  # what DescribeTrainingJob's FailureReason keeps (botocore FailureReason max)


def one_line(reason: str) -> str:
    """The reason on one line (whitespace runs collapsed), cut to MAX_REASON_CHARS."""
    return " ".join(reason.split())[:MAX_REASON_CHARS]


def reason_line(reason: str) -> str:
    """The marked log line for `reason`, without a newline."""
    return MARKER + one_line(reason)


def find_reason(lines: Iterable[str]) -> str | None:
    """The reason of the last marked line among `lines` (log prefixes before the marker allowed)."""
    found = None
    for line in lines:
        position = line.find(MARKER)
        if position >= 0:
            found = one_line(line[position + len(MARKER) :]) or found
    return found
