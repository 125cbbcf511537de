"""Why a training run failed, in one message: the job's own reason from its log, or the error caught.

The XGBoost image's trainer overwrites the job's failure file, so SageMaker's FailureReason never
carries train.py's reason; train.py also prints it as a marked line (`model_code.failure_reason`),
which `log_streams.job_log_tail` finds. Without it, SageMaker's FailureReason and the last log
lines say what there is to say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_core.naming import TRAINING_LOG_GROUP
from mlops_stacks.handlers.state_errors import cause_text
from mlops_stacks.handlers.training_run.errors import truncate_utf8
from mlops_stacks.handlers.training_run.jobs import describe_job
from mlops_stacks.handlers.training_run.log_streams import job_log_tail, sagemaker_reason

# train.py's own reason is at most 1024 characters (model_code.failure_reason); SageMaker's reason
# and the log lines are cut so that the message fits a CloudFormation signal and an e-mail subject.
MAX_REASON_BYTES = 1024
MAX_FAILURE_REASON_BYTES = 600
MAX_LOG_LINES_BYTES = 420
FAILED_STATUSES = frozenset({"Failed", "Stopped"})
TRAINING_FAILED = "TrainingFailed"


def failure_message(job: Mapping[str, Any], logs: Any, log_group: str = TRAINING_LOG_GROUP) -> str:
    """Why the described job failed or stopped, naming the job and where its log is."""
    name, status, secondary = job["TrainingJobName"], job["TrainingJobStatus"], job.get("SecondaryStatus", "")
    tail = job_log_tail(logs, log_group, name)
    if tail.reason:
        why = truncate_utf8(tail.reason, MAX_REASON_BYTES)
    else:
        why = truncate_utf8(sagemaker_reason(job), MAX_FAILURE_REASON_BYTES)
        last = tail.last_lines()
        if last:
            why += "; last log lines: " + truncate_utf8(" | ".join(last), MAX_LOG_LINES_BYTES)
        elif tail.error:
            why += f" ({tail.error})"
    if secondary == "MaxRuntimeExceeded":
        limit = job.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        why += f" (it ran longer than MaxRuntimeInSeconds={limit}: raise training_max_runtime_minutes)"
    stream = tail.stream or f"{name}/*"
    return f"training job {name} {status} ({secondary}): {why}. See the log group {log_group}, stream {stream}."


def explain_failure(sagemaker: Any, logs: Any, job_name: str, error: Mapping[str, Any]) -> dict[str, str]:
    """The caught error, as `{Error, Cause}`: the job's failure when it failed, else the error's own message."""
    job = describe_job(sagemaker, job_name) if job_name else None
    if job is not None and job["TrainingJobStatus"] in FAILED_STATUSES:
        return {"Error": TRAINING_FAILED, "Cause": failure_message(job, logs)}
    message = cause_text(error.get("Cause")) or "no cause given"
    return {"Error": str(error.get("Error") or "Error"), "Cause": f"training run of job {job_name}: {message}"}
