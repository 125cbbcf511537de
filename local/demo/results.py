"""What the demo's steps produce: one dataclass per result, gathered in `DemoResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.training import TrainingResult
    from mlops_core.quality_gate import GateDecision
    from mlops_core.settings import Settings
    from mlops_stacks.handlers.rollout import BakeVerdict, RolloutPlan
    from monitoring.alarm_rules import AlarmRule
    from monitoring.baseline import Baseline
    from monitoring.drift_query import TimeWindow, WindowCounts

PHASES = ("normal", "drifted", "bad-client")
# The bake is version 2's traffic in the retrain phase, drawn from the drifted distribution.
BAKE = "bake"
CANDIDATE_VERSION = 2  # the version the retrain phase trains, registers and rolls out
PHASE_TITLES = {"normal": "normal", "drifted": "drifted", "bad-client": "bad client", BAKE: "bake (v2)"}


@dataclass(frozen=True)
class StackSummary:
    """One synthesized stack: its resource count and what cdk-nag said."""

    name: str
    resources: int
    acknowledged_findings: int
    warnings: int

    @property
    def nag_status(self) -> str:
        """cdk-nag's verdict: a finding that is not acknowledged stops synth, so reaching here is a pass."""
        details = [f"{self.acknowledged_findings} acknowledged" if self.acknowledged_findings else "no findings"]
        if self.warnings:
            details.append(f"{self.warnings} warnings")
        return f"passed ({', '.join(details)})"


@dataclass(frozen=True)
class TrainedModel:
    """The local training job, its inputs and the quality gate's decision."""

    job_name: str
    run_id: str  # the training run's id, as `make deploy` computes it (mlops_core.naming.training_run_id)
    data_dir: Path
    staged_data: Path  # the data set as the storage stack stages it (train/, validation/)
    data_hash: str
    sourcedir: Path  # model_code as SageMaker's sourcedir.tar.gz, as the storage stack uploads it
    code_hash: str
    result: TrainingResult
    decision: GateDecision

    @property
    def evaluation(self) -> dict[str, Any]:
        """evaluation.json of the model."""
        return self.result.evaluation


@dataclass(frozen=True)
class Registration:
    """What step 3 created on moto."""

    endpoint_url: str
    account: str
    region: str
    bucket: str
    group: str
    role_arn: str
    code_uri: str  # the sourcedir in the bucket, as the storage stack uploads it
    package: dict[str, Any]
    model_data_url: str
    baseline_uri: str
    evaluation_uri: str
    topic_arn: str
    queue_url: str
    alarm_names: dict[str, str]  # rule id -> alarm name

    @property
    def package_arn(self) -> str:
        """ARN of the registered model package version."""
        return str(self.package["ModelPackageArn"])


@dataclass(frozen=True)
class PlannedRequest:
    """One request to send: its body and headers, and whether it is deliberately malformed."""

    kind: str
    content_type: str
    accept: str
    body: bytes
    rows: int
    malformed: bool = False


@dataclass(frozen=True)
class RequestOutcome:
    """What one request got back: the model's status (SageMaker's 4XX/5XX metrics count it) and latency."""

    phase: str
    kind: str
    content_type: str
    accept: str
    rows: int
    malformed: bool
    status: int
    latency_us: float
    message: str

    @property
    def client_error(self) -> bool:
        """A 4xx: what Invocation4XXErrors counts."""
        return 400 <= self.status < 500

    @property
    def server_error(self) -> bool:
        """A 5xx: what Invocation5XXErrors counts."""
        return self.status >= 500


@dataclass
class PhaseTraffic:
    """One phase of traffic: its time window (capture timestamps fall inside) and every request."""

    name: str
    started: datetime
    ended: datetime
    requests: list[RequestOutcome] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The phase's name for people."""
        return PHASE_TITLES[self.name]

    @property
    def window(self) -> TimeWindow:
        """[start, end) on the millisecond grid of the capture records' `ts`."""
        from monitoring.drift_query import TimeWindow

        return TimeWindow(_floor_ms(self.started), _floor_ms(self.ended) + timedelta(milliseconds=1))

    @property
    def rows(self) -> int:
        """Rows sent in well-formed requests."""
        return sum(r.rows for r in self.requests if not r.malformed)


@dataclass(frozen=True)
class PhaseDrift:
    """The drift report of one phase and the counts it was computed from (for the overlays)."""

    phase: str
    report: dict[str, Any]
    counts: WindowCounts

    @property
    def alerted_features(self) -> list[str]:
        """Features (not the score) whose drift status is `alert`."""
        return [f["name"] for f in self.report.get("features") or [] if f["status"] == "alert"]


@dataclass(frozen=True)
class AlarmEvaluation:
    """One alarm rule over one phase (one evaluation period)."""

    phase: str
    rule: AlarmRule
    alarm_name: str
    datapoints: int
    value: float | None
    breached: bool
    state: str  # ALARM or OK, after `evaluation_periods` consecutive periods
    notified: bool  # the state changed to ALARM: CloudWatch notifies the topic


@dataclass(frozen=True)
class Notification:
    """A notification as delivered through SNS to the subscribed queue."""

    subject: str
    alarm_name: str
    phase: str
    new_state: str
    reason: str


@dataclass(frozen=True)
class PipelineStep:
    """One state of a pipeline's success path as the demo ran it (`ran` False: the cloud's Choice skips it here)."""

    pipeline: str  # "training" or "deployment"
    state: str  # the state's name (mlops_core.pipeline_states)
    outcome: str
    ran: bool = True


@dataclass(frozen=True)
class ModelVersion:
    """One registered version as the retrain phase compares them."""

    version: int
    job_name: str
    package_arn: str
    model_id: str  # what its capture records carry
    training_rows: int
    validation_auc: float
    fresh_auc: float | None = None  # AUC on the fresh labelled validation set, scored by its endpoint


@dataclass
class RetrainResult:
    """What the retrain phase did: the trigger, version 2, the rollout, the bake and drift after it."""

    labelled_keys: list[str] = field(default_factory=list)
    new_data_matched: int = 0  # events the new-data rule delivered to its queue
    approval_matched: dict[str, int] = field(default_factory=dict)  # approval status -> events matched
    versions: dict[int, ModelVersion] = field(default_factory=dict)
    status: str = ""  # version 2's approval status after the training pipeline
    plan: RolloutPlan | None = None
    update_requests: list[RequestOutcome] = field(default_factory=list)  # sent to v1 while v2 started
    setup_time_us: float | None = None  # v2's start until /ping
    kept_config: str = ""  # v1's endpoint config, kept for a revert
    bake: PhaseTraffic | None = None
    bake_alarms: list[AlarmEvaluation] = field(default_factory=list)
    verdict: BakeVerdict | None = None
    deployed_notices: list[str] = field(default_factory=list)
    drift: dict[int, PhaseDrift] = field(default_factory=dict)  # baseline version -> bake traffic's drift
    drift_alarm_after: str = ""
    serving_version: int = 0
    endpoint_url: str | None = None


@dataclass(frozen=True)
class StepTiming:
    """How long a step took and its one-line outcome."""

    number: int
    key: str
    title: str
    seconds: float
    outcome: str


@dataclass
class DemoResult:
    """Everything the demo measured, for the report and the summary."""

    workdir: Path
    settings: Settings
    rows: int
    started: datetime
    stacks: list[StackSummary] | None = None
    synthesized_training_run: str | None = None  # the training run id in the synthesized registry stack
    trained: TrainedModel | None = None
    registration: Registration | None = None
    setup_time_us: float | None = None
    endpoint_url: str | None = None
    phases: list[PhaseTraffic] = field(default_factory=list)
    baseline: Baseline | None = None
    drift: dict[str, PhaseDrift] = field(default_factory=dict)
    alarms: list[AlarmEvaluation] = field(default_factory=list)
    metric_datapoints: int = 0
    published: int = 0
    notifications: list[Notification] = field(default_factory=list)
    pipeline_steps: list[PipelineStep] = field(default_factory=list)
    retrain: RetrainResult | None = None
    timings: list[StepTiming] = field(default_factory=list)

    @property
    def report_path(self) -> Path:
        """Where the HTML report goes."""
        return self.workdir / "report.html"

    @property
    def fired(self) -> list[AlarmEvaluation]:
        """The evaluations that put an alarm into ALARM (one notification each)."""
        return [a for a in self.alarms if a.notified]


def _floor_ms(when: datetime) -> datetime:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)
