"""The one typed, validated settings object of the project.

Values come from `cdk.json` context (typed JSON) and `-c key=value` (strings); every stack, the
Lambda code (through environment variables), the local mode and the tests read them from here.
A bad value raises `SettingError` naming the setting and what is allowed, so `cdk synth` fails.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_core.naming import BUCKET_PREFIXES
from model_code.number_syntax import is_finite_number, is_json_number, parse_number, parse_whole_number

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# Serverless inference memory sizes (ProductionVariantServerlessConfig.MemorySizeInMB).
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
# The first deploy waits for the training run on a CloudFormation wait condition, which waits at most
# 12 hours (AWS::CloudFormation::WaitCondition Timeout); the run needs time besides the job's own.
WAIT_CONDITION_HOURS = 12
RUN_OVERHEAD_MINUTES = 30
MAX_TRAINING_RUNTIME_MINUTES = WAIT_CONDITION_HOURS * 60 - 2 * RUN_OVERHEAD_MINUTES
APPROVAL_MODES = ("automatic", "manual")
# The latency alarm needs this many breaching periods in a row; the other guard alarms need one
# (monitoring/alarm_rules.py). A bake must last as long as the longest of them can take to fire.
LATENCY_EVALUATION_PERIODS = 2
MAX_BAKE_MINUTES = 240
# numpy's generators take seeds from 0; 2**32 - 1 keeps a seed a plain 32-bit number.
MAX_SEED = 2**32 - 1

DEFAULT_HYPERPARAMETERS: dict[str, str] = {
    "max_depth": "4",
    "eta": "0.1",
    "num_round": "300",
    "early_stopping_rounds": "20",
    "subsample": "0.9",
    "colsample_bytree": "0.9",
    "min_child_weight": "1",
}


class SettingError(ValueError):
    """A setting has a value that is not allowed; the message names the setting."""


def _doc(text: str, **kwargs: Any) -> Any:
    return field(metadata={"doc": text}, **kwargs)


@dataclass(frozen=True)
class Settings:
    """Every knob of the pipeline, with its default. See the README's settings table."""

    project_name: str = _doc(
        "Prefix of every resource name: 3-20 lowercase letters, digits and hyphens.", default="mlops-showcase"
    )
    cost_center: str = _doc("Value of the `cost-center` tag on every resource.", default="ml-platform")
    serverless_memory_size: int = _doc("Serverless endpoint memory in MB: 1024 to 6144 in steps of 1024.", default=2048)
    serverless_max_concurrency: int = _doc("Serverless endpoint max concurrent invocations (1-200).", default=1)
    serverless_provisioned_concurrency: int = _doc(
        "Warm instances kept ready (0 = off, else 1..max concurrency).", default=0
    )
    data_capture_sampling_percentage: int = _doc(
        "Share of requests whose rows are captured for drift (0-100).", default=100
    )
    latency_threshold_ms: int = _doc("Alarm when average ModelLatency exceeds this many milliseconds.", default=5000)
    error_rate_threshold_percent: float = _doc(
        "Alarm when the 4XX or 5XX error rate exceeds this percentage.", default=5.0
    )
    cold_start_threshold_ms: int = _doc(
        "Alarm when the maximum ModelSetupTime (cold start) exceeds this.", default=20000
    )
    alarm_period_minutes: int = _doc("Period of the endpoint alarms in minutes (1, 5, 10, 15, 30, 60).", default=5)
    alert_email: str | None = _doc(
        "E-mail address subscribed to the alert topic; unset = no subscription.", default=None
    )
    training_instance_type: str = _doc("Instance type of the SageMaker training job (ml.*).", default="ml.m5.large")
    training_max_runtime_minutes: int = _doc(
        f"Hard stop of the training job (1-{MAX_TRAINING_RUNTIME_MINUTES}): a deploy waits for its training run.",
        default=30,
    )
    hyperparameters: dict[str, str] = field(
        default_factory=lambda: dict(DEFAULT_HYPERPARAMETERS),
        metadata={"doc": "XGBoost hyperparameters (JSON object); merged over the defaults."},
    )
    retrain_token: str = _doc(
        "Any short text; changing it starts a new training job with unchanged inputs (e.g. after a capacity failure).",
        default="",
    )
    min_validation_auc: float = _doc(
        "Quality gate: a model with a lower validation AUC is registered as Rejected.", default=0.75
    )
    approval_mode: str = _doc(
        "`automatic`: a version that passes the gate is Approved; `manual`: PendingManualApproval until a "
        "person approves it (`mlops approve N`, the console or the AWS CLI).",
        default="automatic",
    )
    approval_wait_hours: int = _doc(
        "Manual mode: how long a deploy waits for a person to approve its version (1-11).", default=4
    )
    retrain_schedule: str = _doc(
        "EventBridge schedule expression that retrains on the labelled data; empty = no schedule.", default=""
    )
    retrain_on_new_data: bool = _doc(
        "Retrain when `<labelled_data_prefix>/_ready` is written to the data bucket.", default=True
    )
    labelled_data_prefix: str = _doc(
        "Key prefix of fresh labelled data in the data bucket (`train/` and `validation/` CSVs under it).",
        default="labelled",
    )
    retrain_on_drift: bool = _doc(
        "Retrain on the labelled data when the drift alarm fires (off: drift brings no new labels).", default=False
    )
    bake_minutes: int = _doc(
        "Minutes a new version serves, watched by the guard alarms, before the rollout counts as passed.",
        default=15,
    )
    data_path: str | None = _doc(
        "Your own CSV (header row, numeric features, 0/1 label); unset = synthetic data.", default=None
    )
    label_column: str = _doc("Name of the label column in the data.", default="churned")
    synthetic_rows: int = _doc(
        "Rows of synthetic data to generate when `data_path` is unset (1000-1000000).", default=20000
    )
    data_seed: int = _doc(
        f"Seed of the synthetic data generator and the train/validation split (0-{MAX_SEED}).", default=42
    )
    drift_psi_warn: float = _doc("PSI at or above which a feature's drift status is `warn`.", default=0.1)
    drift_psi_alert: float = _doc("PSI at or above which a feature's drift status is `alert`.", default=0.2)
    drift_mean_shift_sd: float = _doc(
        "Mean shift, in baseline sd, that is `warn` alone and `alert` with PSI at or above the warn level.",
        default=0.25,
    )
    drift_min_rows: int = _doc("Fewest captured rows in a window for drift to be computed.", default=200)
    drift_schedule: str = _doc("EventBridge schedule expression of the drift job.", default="rate(1 hour)")
    drift_window_hours: int = _doc("Hours of captured traffic that one drift run looks at (1-168).", default=24)
    log_retention_days: int = _doc("Retention of every log group we create (a CloudWatch Logs value).", default=30)
    capture_retention_days: int = _doc(
        "Days after which captured requests and drift query results expire in S3.", default=90
    )
    removal_policy: str = _doc(
        "`destroy` removes data on `cdk destroy`; `retain` keeps buckets and the registry.", default="destroy"
    )
    github_repository: str | None = _doc(
        "`owner/repo` whose workflows may deploy; unset = no GitHub OIDC stack.", default=None
    )
    github_oidc_provider_arn: str | None = _doc(
        "ARN of an existing GitHub OIDC provider to reuse instead of creating one.", default=None
    )
    monthly_budget_usd: float | None = _doc(
        "Monthly AWS Budgets limit on the project's cost tag; unset = no budget.", default=None
    )

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Settings:
        """Build settings from CDK context; unknown keys that look like ours are an error."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in context and context[f.name] is not None:
                values[f.name] = _coerce(f.name, f.type, context[f.name])
        if "hyperparameters" in values:
            values["hyperparameters"] = {**DEFAULT_HYPERPARAMETERS, **values["hyperparameters"]}
        return cls(**values)

    @property
    def latency_threshold_us(self) -> int:
        """ModelLatency is published in microseconds."""
        return self.latency_threshold_ms * 1000

    @property
    def cold_start_threshold_us(self) -> int:
        """ModelSetupTime is published in microseconds."""
        return self.cold_start_threshold_ms * 1000

    @property
    def error_rate_threshold(self) -> float:
        """The error metrics are 1/0 per request, so their Average is a fraction."""
        return self.error_rate_threshold_percent / 100.0

    def name(self, suffix: str) -> str:
        """A resource name under the project's prefix."""
        return f"{self.project_name}-{suffix}"

    @property
    def drift_interval_minutes(self) -> int:
        """Minutes between drift runs (a day for cron schedules), capped at CloudWatch's 1-day period."""
        match = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", self.drift_schedule)
        if match is None:
            return 24 * 60
        minutes = int(match[1]) * {"minute": 1, "hour": 60, "day": 24 * 60}[match[2]]
        return min(minutes, 24 * 60)

    @property
    def guard_window_minutes(self) -> int:
        """The longest time a guard alarm (latency, error rates, cold start) can take to go to ALARM."""
        return self.alarm_period_minutes * LATENCY_EVALUATION_PERIODS

    @property
    def training_wait_minutes(self) -> int:
        """How long a deploy waits for its training run: the job, the approval in manual mode, the rest."""
        approval = self.approval_wait_hours * 60 if self.approval_mode == "manual" else 0
        return self.training_max_runtime_minutes + approval + RUN_OVERHEAD_MINUTES

    @property
    def model_package_group_name(self) -> str:
        """The registry's Model Package Group."""
        return self.name("models")

    @property
    def endpoint_name(self) -> str:
        """The serverless endpoint's stable name (its log group and alarms follow from it)."""
        return self.name("endpoint")


def setting_names() -> list[str]:
    """The names of all settings, in declaration order."""
    return [f.name for f in dataclasses.fields(Settings)]


def setting_docs() -> list[tuple[str, Any, str]]:
    """(name, default, description) of every setting, for the README table."""
    rows = []
    for f in dataclasses.fields(Settings):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        rows.append((f.name, default, f.metadata["doc"]))
    return rows


def _coerce(name: str, type_name: Any, raw: Any) -> Any:
    kind = str(type_name)
    try:
        if kind == "bool":
            return _flag(raw)
        if kind.startswith("dict"):
            value = json.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(value, dict):
                raise ValueError("not an object")
            return {str(k): str(v) for k, v in value.items()}
        if isinstance(raw, str):
            raw = raw.strip()
            if raw == "" and "None" in kind:
                return None
        if kind.startswith(("int", "float")):
            return _number(raw, whole=kind.startswith("int"))
        return str(raw)
    except (TypeError, ValueError, json.JSONDecodeError) as exc:
        raise SettingError(f"setting `{name}` must be of type {kind}, got {raw!r} ({exc})") from None


def _flag(raw: Any) -> bool:
    """A JSON boolean, or the text `true` / `false` (`-c key=value` passes text)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise ValueError("not true or false")


def _number(raw: Any, *, whole: bool) -> int | float:
    """A finite JSON number, or text in the data files' syntax (model_code.number_syntax); whole when `whole`."""
    if isinstance(raw, str):
        return parse_whole_number(raw) if whole else parse_number(raw)
    if not is_json_number(raw):
        raise ValueError("not a number")
    if whole:
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError("not a whole number")
        return int(raw)
    if not is_finite_number(raw):
        raise ValueError("not a finite number")
    return float(raw)


def _fail(name: str, allowed: str, value: Any) -> None:
    raise SettingError(f"setting `{name}` must be {allowed}, got {value!r}")


def _in_range(s: Settings, name: str, low: float, high: float) -> None:
    value = getattr(s, name)
    if not low <= value <= high:
        _fail(name, f"between {low} and {high}", value)


_PREFIX = re.compile(r"[a-z0-9_-]+(/[a-z0-9_-]+)*")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SCHEDULE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$")


def _validate(s: Settings) -> None:
    # Bucket names `<project>-data-<account>-<region>` must stay within S3's 63 characters.
    if not re.fullmatch(r"[a-z][a-z0-9-]{1,18}[a-z0-9]", s.project_name):
        _fail(
            "project_name",
            "3-20 lowercase letters, digits or hyphens, starting with a letter",
            s.project_name,
        )
    if s.serverless_memory_size not in SERVERLESS_MEMORY_SIZES:
        _fail("serverless_memory_size", "one of 1024..6144 in steps of 1024", s.serverless_memory_size)
    _in_range(s, "serverless_max_concurrency", 1, 200)
    _in_range(s, "serverless_provisioned_concurrency", 0, s.serverless_max_concurrency)
    _in_range(s, "data_capture_sampling_percentage", 0, 100)
    _in_range(s, "latency_threshold_ms", 1, 60_000)
    _in_range(s, "error_rate_threshold_percent", 0.01, 100)
    _in_range(s, "cold_start_threshold_ms", 1, 180_000)
    if s.alarm_period_minutes not in (1, 5, 10, 15, 30, 60):
        _fail("alarm_period_minutes", "one of 1, 5, 10, 15, 30, 60", s.alarm_period_minutes)
    if s.alert_email is not None and not _EMAIL.match(s.alert_email):
        _fail("alert_email", "an e-mail address", s.alert_email)
    if not re.fullmatch(r"ml\.[a-z0-9]+\.[a-z0-9]+", s.training_instance_type):
        _fail("training_instance_type", "an instance type such as ml.m5.large", s.training_instance_type)
    _in_range(s, "training_max_runtime_minutes", 1, MAX_TRAINING_RUNTIME_MINUTES)
    for key, value in s.hyperparameters.items():
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", key) or len(value) > 256:
            _fail(
                "hyperparameters",
                "an object of snake_case names to values of at most 256 characters",
                {key: value},
            )
    if not re.fullmatch(r"[A-Za-z0-9._-]{0,64}", s.retrain_token):
        _fail("retrain_token", "at most 64 letters, digits, dots, hyphens or underscores", s.retrain_token)
    _in_range(s, "min_validation_auc", 0.5, 1.0)
    _validate_loop(s)
    # The data reader's rule for a column name (model_code/csv_table.py), which quoting makes free.
    if not s.label_column or any(ord(char) < 32 or ord(char) == 127 for char in s.label_column):
        _fail("label_column", "a column name: not empty, no control characters", s.label_column)
    _in_range(s, "synthetic_rows", 1000, 1_000_000)
    _in_range(s, "data_seed", 0, MAX_SEED)
    if s.data_path is not None and not s.data_path:
        _fail("data_path", "the path of a CSV file", s.data_path)
    _in_range(s, "drift_psi_warn", 0.0, 10.0)
    _in_range(s, "drift_psi_alert", s.drift_psi_warn, 10.0)
    _in_range(s, "drift_mean_shift_sd", 0.01, 100.0)
    _in_range(s, "drift_min_rows", 1, 10_000_000)
    if not _SCHEDULE.match(s.drift_schedule):
        _fail("drift_schedule", "rate(N minutes|hours|days) or cron(...)", s.drift_schedule)
    _in_range(s, "drift_window_hours", 1, 168)
    if s.log_retention_days not in LOG_RETENTION_DAYS:
        _fail("log_retention_days", f"one of {', '.join(map(str, LOG_RETENTION_DAYS))}", s.log_retention_days)
    _in_range(s, "capture_retention_days", 1, 3650)
    if s.removal_policy not in ("destroy", "retain"):
        _fail("removal_policy", "`destroy` or `retain`", s.removal_policy)
    if s.github_repository is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", s.github_repository):
        _fail("github_repository", "owner/repo", s.github_repository)
    if s.github_oidc_provider_arn is not None and not s.github_oidc_provider_arn.startswith("arn:"):
        _fail("github_oidc_provider_arn", "an IAM OIDC provider ARN", s.github_oidc_provider_arn)
    if s.monthly_budget_usd is not None:
        _in_range(s, "monthly_budget_usd", 1, 1_000_000)


def _validate_loop(s: Settings) -> None:
    """The retraining loop: approval, triggers, labelled data and the bake."""
    if s.approval_mode not in APPROVAL_MODES:
        _fail("approval_mode", "`automatic` or `manual`", s.approval_mode)
    _in_range(s, "approval_wait_hours", 1, WAIT_CONDITION_HOURS - 1)
    if s.training_wait_minutes > WAIT_CONDITION_HOURS * 60:
        raise SettingError(
            f"settings `training_max_runtime_minutes` ({s.training_max_runtime_minutes}) and "
            f"`approval_wait_hours` ({s.approval_wait_hours}) plus {RUN_OVERHEAD_MINUTES} minutes must fit "
            f"the {WAIT_CONDITION_HOURS} hours a deploy can wait for its training run in manual approval mode"
        )
    if s.retrain_schedule and not _SCHEDULE.match(s.retrain_schedule):
        _fail("retrain_schedule", "empty, rate(N minutes|hours|days) or cron(...)", s.retrain_schedule)
    taken = set(BUCKET_PREFIXES)
    prefix = s.labelled_data_prefix
    if len(prefix) > 100 or not _PREFIX.fullmatch(prefix) or prefix.partition("/")[0] in taken:
        _fail(
            "labelled_data_prefix",
            f"1-100 of a-z 0-9 _ - and inner /, outside the bucket's own prefixes ({', '.join(sorted(taken))})",
            prefix,
        )
    if not s.guard_window_minutes <= s.bake_minutes <= MAX_BAKE_MINUTES:
        _fail(
            "bake_minutes",
            f"at least the latency alarm's window (alarm_period_minutes x {LATENCY_EVALUATION_PERIODS} = "
            f"{s.guard_window_minutes}) and at most {MAX_BAKE_MINUTES}",
            s.bake_minutes,
        )
