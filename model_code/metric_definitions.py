"""The training job's MetricDefinitions: regexes over the metric lines that train.py prints.

train.py prints one line per metric, e.g. `validation:auc=0.912345;`. SageMaker applies each regex
to the job's log and publishes the first group as the metric (CreateTrainingJob
AlgorithmSpecification.MetricDefinitions, at most 40).
"""

from __future__ import annotations

# Names of the validation metrics, in the order train.py prints them.
VALIDATION_METRICS = ("auc", "accuracy", "logloss", "f1")

METRIC_DEFINITIONS: list[dict[str, str]] = [
    {"Name": f"validation:{name}", "Regex": rf"validation:{name}=([0-9]+\.[0-9]+);"} for name in VALIDATION_METRICS
]
