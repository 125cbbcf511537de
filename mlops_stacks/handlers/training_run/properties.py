"""Names and properties the registry clean-up reads: job-name syntax, the registry's files, CloudFormation flags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mlops_stacks.handlers.training_run.errors import PropertyError

# CreateTrainingJob.TrainingJobName (API service model).
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# Files of model.tar.gz that the registry needs (docs/contracts.md, "Training"); the other is BASELINE_FILE.
EVALUATION_FILE = "evaluation.json"


def physical_resource_id(group_name: str) -> str:
    """Name the clean-up resource stably, one per model package group.

    A physical ID that changed on an update would make CloudFormation delete the old resource,
    and its Delete removes every version of the group.
    """
    return f"{group_name}-training-run"


def flag_property(raw: Mapping[str, Any], name: str, *, default: bool) -> bool:
    """Read an optional "true"/"false" property (CloudFormation passes booleans as strings)."""
    value = raw.get(name)
    if value is None or value == "":
        return default
    text = str(value).strip().lower()
    if text not in {"true", "false"}:
        raise PropertyError(f"resource property `{name}` must be 'true' or 'false', got {value!r}")
    return text == "true"
