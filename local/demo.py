"""`mlops demo`: the whole pipeline on one machine, with the code that runs in the cloud (DESIGN §8).

Seven steps, each a function below, run in order by `run_demo`:

1. synthesize every stack with the pinned CDK CLI (cdk-nag runs inside synth);
2. generate the data, train in the SageMaker-shaped tree, apply the quality gate;
3. on moto's server (127.0.0.1, started and stopped here): bucket, data, training-job record,
   artifact upload and registration through the TrainingRun's own `registration` functions,
   the alert topic with a queue subscribed to it, and the CloudWatch alarms built from the rules;
4. the endpoint stack's resources on moto, then the approved package's artifact served by the
   local endpoint, and three phases of traffic through boto3's `sagemaker-runtime` client:
   normal, drifted and a bad client whose malformed requests must come back as 4xx;
5. drift per phase over the captured records (the drift job's baseline lookup, DuckDB engine);
6. the alarm rules evaluated per phase on what was measured, metrics put to CloudWatch and one
   SNS notification per alarm that fires, read back from the subscribed queue;
7. `report.html` (figures embedded) plus `summary.json` and `requests.csv`.

The moto server and the endpoint's child process are stopped in `finally`, on Ctrl-C as well.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_stacks.settings import Settings
from monitoring import metrics as m

if TYPE_CHECKING:
    import numpy as np
    from rich.console import Console

    from local.serving import LocalEndpoint
    from local.training import TrainingResult
    from mlops_stacks.handlers.quality_gate import GateDecision
    from monitoring.alarm_rules import AlarmRule
    from monitoring.baseline import Baseline
    from monitoring.drift_query import TimeWindow, WindowCounts

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKDIR_MARKER = ".mlops-demo"
# Every demo client talks to moto in this region; the account is whatever moto's STS reports.
DEMO_REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "demo", "aws_secret_access_key": "demo"}
PHASES = ("normal", "drifted", "bad-client")
PHASE_TITLES = {"normal": "normal", "drifted": "drifted", "bad-client": "bad client"}
BATCH_ROWS = 100  # rows of a batch request; single-row requests make up the rest of the mix
SINGLE_ROW_SHARE = 50  # one row in this many goes out as a single-row request
MALFORMED_SHARE = 0.15  # malformed requests per well-formed one in the bad-client phase
CSV_TYPE = "text/csv"
JSON_TYPE = "application/json"
MIN_ROWS, MAX_ROWS = 1000, 1_000_000  # the `synthetic_rows` setting's range
SYNTH_TIMEOUT_S = 600.0
INTERRUPTED = 130  # the exit code of a process stopped by SIGINT, as shells report it
NOTIFICATION_WAIT_S = 10.0

STEPS: tuple[tuple[str, str], ...] = (
    ("synth", "Synthesize every stack (pinned CDK CLI, cdk-nag)"),
    ("train", "Train in the SageMaker-shaped tree, quality gate"),
    ("register", "Register the model version (moto)"),
    ("traffic", "Serve locally; normal, drifted, bad-client traffic"),
    ("drift", "Drift per phase over the captured records"),
    ("alarms", "Alarm rules, CloudWatch metrics, SNS notifications"),
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


@dataclass(frozen=True)
class DemoOptions:
    """What the user chose on the command line."""

    workdir: Path
    rows: int | None = None
    skip_synth: bool = False


# --- results of the steps -----------------------------------------------------------------------


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
    synthesized_job_name: str | None = None  # the TrainingRun's JobName in the synthesized registry stack
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
    timings: list[StepTiming] = field(default_factory=list)

    @property
    def report_path(self) -> Path:
        """Where the HTML report goes."""
        return self.workdir / "report.html"

    @property
    def fired(self) -> list[AlarmEvaluation]:
        """The evaluations that put an alarm into ALARM (one notification each)."""
        return [a for a in self.alarms if a.notified]


# --- workdir ------------------------------------------------------------------------------------


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


def load_settings() -> Settings:
    """The settings `cdk synth` reads: cdk.json's context."""
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return Settings.from_context(context)


# --- step 1: synth ------------------------------------------------------------------------------


def synthesize_stacks(out_dir: Path, log_path: Path) -> list[StackSummary]:
    """Run `cdk synth` with the pinned CLI (validation and cdk-nag on) and summarize each template."""
    cdk = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        raise DemoError(f"the pinned CDK CLI is missing ({cdk}): run `make install` (npm ci) or pass --skip-synth")
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "true",
        "CDK_CLI_TELEMETRY": "false",
        "CDK_VALIDATION": "true",
    }
    command = [str(cdk), "synth", "--quiet", "-o", str(out_dir)]
    code, output = run_process_group(command, cwd=REPO_ROOT, env=env, timeout_s=SYNTH_TIMEOUT_S)
    log_path.write_text(output, encoding="utf-8")
    if code != 0:
        tail = "\n".join(output.strip().splitlines()[-25:])
        raise DemoError(f"cdk synth exited with code {code} (full output in {log_path}):\n{tail}")
    return summarize_assembly(out_dir)


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


def synthesized_job_name(out_dir: Path) -> str | None:
    """The JobName of the TrainingRun in the synthesized templates (what `make deploy` would start)."""
    for template_file in sorted(out_dir.glob("*.template.json")):
        for resource in json.loads(template_file.read_text()).get("Resources", {}).values():
            if resource.get("Type") == "Custom::TrainingRun":
                name = resource.get("Properties", {}).get("JobName")
                return name if isinstance(name, str) else None
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


# --- step 2: data, training, quality gate -------------------------------------------------------


def train_model(workdir: Path, settings: Settings, rows: int) -> TrainedModel:
    """Stage the data as the storage stack does, train locally under the cloud's job name, apply the gate."""
    from local.training import TrainingFailed, run_training
    from mlops_stacks.constructs.staging import SOURCEDIR_ARCHIVE, sourcedir, training_data
    from mlops_stacks.constructs.training_run import training_job_name
    from mlops_stacks.handlers.quality_gate import quality_gate

    # Synthetic data always: the demo's drifted traffic shifts features it knows.
    staged, data_hash, _ = training_data(None, settings.label_column, rows, settings.data_seed)
    data_dir = workdir / "data"
    data_dir.mkdir()
    for relative in ("train/train.csv", "train/schema.json", "validation/validation.csv"):
        shutil.copyfile(staged / relative, data_dir / Path(relative).name)
    code_dir, code_hash = sourcedir()
    job_name = training_job_name(settings, data_hash, code_hash)
    log_path = workdir / "logs" / "training.log"
    with log_path.open("w", encoding="utf-8") as log:
        try:
            result = run_training(
                data_dir,
                workdir / "model",
                settings.hyperparameters,
                job_name=job_name,
                echo=lambda line: log.write(line + "\n"),
            )
        except TrainingFailed as exc:
            raise DemoError(f"training job {job_name} failed: {exc.reason} (log: {log_path})") from None
    decision = quality_gate(result.evaluation, settings.min_validation_auc)
    if not decision.approved:
        raise DemoError(
            f"the quality gate rejected the model: {decision.reason}; in the cloud the deploy stops here "
            "and the endpoint keeps its previous model"
        )
    archive = code_dir / SOURCEDIR_ARCHIVE
    return TrainedModel(job_name, data_dir, staged, data_hash, archive, code_hash, result, decision)


# --- moto --------------------------------------------------------------------------------------


class AwsEmulator:
    """moto's server on 127.0.0.1 (a free port) and boto3 clients pointed at it; a context manager."""

    def __init__(self) -> None:
        self._server: Any = None
        self._clients: dict[str, Any] = {}
        self.endpoint_url = ""

    def __enter__(self) -> AwsEmulator:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise DemoError(
                "`mlops demo` needs moto's server: pip install 'moto[server]' (make install does)"
            ) from None
        # One line per request from werkzeug would drown the demo's own output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut the server down and release its port (idempotent)."""
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
        self._clients.clear()

    def client(self, service: str) -> Any:
        """A boto3 client of `service` on the emulator (created once), with dummy credentials."""
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=DEMO_REGION,
                config=Config(retries={"max_attempts": 2}),
                **DUMMY_CREDENTIALS,
            )
        return self._clients[service]


def resolve_pseudo_parameters(value: Any, account: str, region: str) -> str:
    """Evaluate a resolved CDK string (Fn::Join over Refs to AWS::AccountId/AWS::Region) for one account."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        pseudo = {"AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws"}
        if value["Ref"] in pseudo:
            return pseudo[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(resolve_pseudo_parameters(part, account, region) for part in parts)
    raise DemoError(f"cannot evaluate {value!r} outside CloudFormation")


def artifact_bucket_name(settings: Settings, account: str, region: str) -> str:
    """The artifact bucket's name in `account`/`region`, from the storage stack's own `bucket_name`."""
    from aws_cdk import App, Stack

    from mlops_stacks.storage import bucket_name

    stack = Stack(App(), "DemoNames")
    return resolve_pseudo_parameters(stack.resolve(bucket_name(settings, "data")), account, region)


def training_image(region: str) -> str:
    """The XGBoost framework image the TrainingRun names, for `region` (the stack maps it per region)."""
    from mlops_stacks.xgboost_image import _REGISTRIES, XGBOOST_FRAMEWORK_VERSION

    data = json.loads(_REGISTRIES.read_text())
    account = data["registries"].get(region)
    if account is None:
        raise DemoError(f"no XGBoost image registry is known for region {region}")
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{data['repository']}:{XGBOOST_FRAMEWORK_VERSION}"


def training_run_properties(
    settings: Settings, trained: TrainedModel, *, bucket: str, role_arn: str, region: str, code_uri: str
) -> dict[str, str]:
    """The TrainingRun custom resource's properties as CloudFormation would pass them, with local values."""
    from mlops_stacks.constructs.training_run import (
        DEADLINE_SECONDS,
        ENTRY_POINT,
        INFERENCE_PROGRAM,
        TRAINING_VOLUME_GB,
    )
    from mlops_stacks.storage import DATA_PREFIX, MODELS_PREFIX, REGISTRY_PREFIX
    from model_code.metric_definitions import METRIC_DEFINITIONS

    data_prefix = f"s3://{bucket}/{DATA_PREFIX}/{trained.data_hash[:16]}"
    hyperparameters = {
        **{key: json.dumps(value) for key, value in settings.hyperparameters.items()},
        "sagemaker_program": json.dumps(ENTRY_POINT),
        "sagemaker_submit_directory": json.dumps(code_uri),
        "sagemaker_region": json.dumps(region),
        "sagemaker_container_log_level": "20",
    }
    serving_environment = {
        "SAGEMAKER_PROGRAM": INFERENCE_PROGRAM,
        "SAGEMAKER_SUBMIT_DIRECTORY": code_uri,
        "SAGEMAKER_REGION": region,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": JSON_TYPE,
        "MLOPS_CAPTURE_PERCENT": str(settings.data_capture_sampling_percentage),
        "MLOPS_MODEL_ID": trained.job_name,
    }
    return {
        "JobName": trained.job_name,
        "RoleArn": role_arn,
        "TrainingImage": training_image(region),
        "InstanceType": settings.training_instance_type,
        "VolumeSizeGB": str(TRAINING_VOLUME_GB),
        "MaxRuntimeSeconds": str(settings.training_max_runtime_minutes * 60),
        "DeadlineSeconds": str(DEADLINE_SECONDS),
        "HyperParameters": json.dumps(hyperparameters),
        "MetricDefinitions": json.dumps(METRIC_DEFINITIONS),
        "TrainChannelUri": f"{data_prefix}/train/",
        "ValidationChannelUri": f"{data_prefix}/validation/",
        "OutputPath": f"s3://{bucket}/{MODELS_PREFIX}",
        "ModelPackageGroupName": settings.name("models"),
        "MinValidationAuc": str(settings.min_validation_auc),
        "ServingEnvironment": json.dumps(serving_environment),
        "ArtifactBucket": bucket,
        "ArtifactPrefix": REGISTRY_PREFIX,
        "Tags": json.dumps({"project": settings.project_name, "cost-center": settings.cost_center}, sort_keys=True),
    }


# --- step 3: registry on moto -------------------------------------------------------------------


def register_model(aws: AwsEmulator, settings: Settings, trained: TrainedModel) -> Registration:
    """Storage, registry and alerting on moto; the version is registered by the TrainingRun's functions.

    The job record comes from CreateTrainingJob (moto completes it at once and writes nothing); the
    local job's model.tar.gz goes where SageMaker would upload it, `<OutputPath>/<job>/output/`.
    """
    from mlops_stacks.handlers.registration import (
        TrainingRunProperties,
        artifact_exists,
        is_approved,
        publish_registry_files,
        read_registry_files,
        register_model_version,
        split_s3_uri,
        start_training_job,
    )
    from mlops_stacks.storage import CODE_PREFIX, DATA_PREFIX

    s3, sagemaker, iam = aws.client("s3"), aws.client("sagemaker"), aws.client("iam")
    account = aws.client("sts").get_caller_identity()["Account"]
    bucket = artifact_bucket_name(settings, account, DEMO_REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for path in sorted(p for p in trained.staged_data.rglob("*") if p.is_file()):
        key = f"{DATA_PREFIX}/{trained.data_hash[:16]}/{path.relative_to(trained.staged_data).as_posix()}"
        s3.upload_file(str(path), bucket, key)
    role_arn = iam.create_role(
        RoleName=settings.name("sagemaker-execution"),
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    # The storage stack's key for the code: training reads it, the serving container downloads it.
    code_key = f"{CODE_PREFIX}/{trained.code_hash[:16]}/{trained.sourcedir.name}"
    s3.upload_file(str(trained.sourcedir), bucket, code_key)

    group = settings.name("models")
    sagemaker.create_model_package_group(
        ModelPackageGroupName=group,
        ModelPackageGroupDescription=f"Model versions of {settings.project_name}, gated on validation AUC",
    )
    raw = training_run_properties(
        settings, trained, bucket=bucket, role_arn=role_arn, region=DEMO_REGION, code_uri=f"s3://{bucket}/{code_key}"
    )
    props = TrainingRunProperties.from_resource_properties(raw)
    job, _ = start_training_job(sagemaker, props)
    model_data_url = job["ModelArtifacts"]["S3ModelArtifacts"]
    s3.upload_file(str(trained.result.model_tar), *split_s3_uri(model_data_url))
    if not artifact_exists(s3, model_data_url):
        raise DemoError(f"the artifact {model_data_url} is not in the bucket after its upload")
    # From here on, the TrainingRun's isComplete sequence once the job has completed.
    files = read_registry_files(s3, model_data_url)
    files.baseline_json()
    publish_registry_files(s3, props, files)
    package = register_model_version(
        sagemaker,
        props,
        model_data_url=model_data_url,
        files=files,
        decision=trained.decision,
        job_created=job["CreationTime"],
    )
    if not is_approved(package):
        raise DemoError(f"model package {package['ModelPackageArn']} is {package.get('ModelApprovalStatus')}")

    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic_arn = sns.create_topic(Name=settings.name("alerts"))["TopicArn"]
    queue_url = sqs.create_queue(QueueName=settings.name("alerts-inbox"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    alarm_names = create_alarms(aws.client("cloudwatch"), settings, topic_arn)
    return Registration(
        endpoint_url=aws.endpoint_url,
        account=account,
        region=DEMO_REGION,
        bucket=bucket,
        group=group,
        role_arn=role_arn,
        package=package,
        model_data_url=model_data_url,
        baseline_uri=props.baseline_uri,
        evaluation_uri=props.evaluation_uri,
        topic_arn=topic_arn,
        queue_url=queue_url,
        alarm_names=alarm_names,
    )


def rule_dimensions(rule: AlarmRule, endpoint_name: str) -> list[dict[str, str]]:
    """The dimensions the observability stack gives the rule's alarm."""
    from monitoring.alarm_rules import ENDPOINT_DIMENSIONS

    dimensions = [{"Name": m.DIM_ENDPOINT, "Value": endpoint_name}]
    if rule.dimensions == ENDPOINT_DIMENSIONS:
        dimensions.append({"Name": "VariantName", "Value": m.VARIANT_NAME})
    return dimensions


def create_alarms(cloudwatch: Any, settings: Settings, topic_arn: str) -> dict[str, str]:
    """One CloudWatch alarm per rule, shaped as the observability stack builds it (moto never evaluates them)."""
    from monitoring.alarm_rules import alarm_rules

    names = {}
    for rule in alarm_rules(settings):
        name = settings.name(rule.id)
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=rule.description,
            Namespace=rule.namespace,
            MetricName=rule.metric_name,
            Dimensions=rule_dimensions(rule, settings.endpoint_name),
            Statistic=rule.statistic,
            Period=rule.period_minutes * 60,
            EvaluationPeriods=rule.evaluation_periods,
            DatapointsToAlarm=rule.evaluation_periods,
            Threshold=rule.threshold,
            ComparisonOperator="GreaterThanOrEqualToThreshold" if rule.inclusive else "GreaterThanThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[topic_arn],
            OKActions=[topic_arn],
        )
        names[rule.id] = name
    return names


# --- step 4: serving and traffic ----------------------------------------------------------------


def deploy_endpoint(aws: AwsEmulator, settings: Settings, registration: Registration, workdir: Path) -> Path:
    """Create the endpoint stack's Model, EndpointConfig and Endpoint on moto; fetch the package's artifact.

    The drift step then finds the baseline from the endpoint, as the drift Lambda does.
    """
    from mlops_stacks.handlers.registration import split_s3_uri

    sagemaker = aws.client("sagemaker")
    model_name = settings.name("model")
    sagemaker.create_model(
        ModelName=model_name,
        PrimaryContainer={"ModelPackageName": registration.package_arn},
        ExecutionRoleArn=registration.role_arn,
    )
    config_name = settings.name("endpoint-config")
    serverless = {
        "MemorySizeInMB": settings.serverless_memory_size,
        "MaxConcurrency": settings.serverless_max_concurrency,
    }
    sagemaker.create_endpoint_config(
        EndpointConfigName=config_name,
        ProductionVariants=[{"VariantName": m.VARIANT_NAME, "ModelName": model_name, "ServerlessConfig": serverless}],
    )
    sagemaker.create_endpoint(EndpointName=settings.endpoint_name, EndpointConfigName=config_name)
    package = sagemaker.describe_model_package(ModelPackageName=registration.package_arn)
    container = package["InferenceSpecification"]["Containers"][0]
    target = workdir / "endpoint" / "model.tar.gz"
    target.parent.mkdir(parents=True)
    aws.client("s3").download_file(*split_s3_uri(container["ModelDataUrl"]), str(target))
    return target


def plan_phase(features: np.ndarray, seed: int, malformed_share: float = 0.0) -> list[PlannedRequest]:
    """A phase's requests in a shuffled order: single rows and batches, CSV and JSON, plus malformed ones.

    With `malformed_share`, that many malformed requests per well-formed one (at least one of each kind).
    """
    import numpy as np

    from dataset import format_rows

    lines = format_rows(features)
    singles = min(len(lines), max(10, len(lines) // SINGLE_ROW_SHARE))
    requests: list[PlannedRequest] = []
    for i in range(singles):
        body_format = CSV_TYPE if i % 2 == 0 else JSON_TYPE
        requests.append(_request("1 row", body_format, lines[i : i + 1], features[i : i + 1], by_name=True, turn=i))
    for turn, start in enumerate(range(singles, len(lines), BATCH_ROWS)):
        stop = start + BATCH_ROWS
        body_format = CSV_TYPE if turn % 2 == 0 else JSON_TYPE
        requests.append(_request("batch", body_format, lines[start:stop], features[start:stop], turn=turn))
    if malformed_share > 0:
        count = max(len(MALFORMED_KINDS), math.ceil(malformed_share * len(requests)))
        for k in range(count):
            requests.append(malformed_request(MALFORMED_KINDS[k % len(MALFORMED_KINDS)], lines[k % len(lines)]))
    order = np.random.default_rng(seed).permutation(len(requests))
    return [requests[i] for i in order]


def _request(
    kind: str, body_format: str, lines: list[str], features: np.ndarray, *, turn: int, by_name: bool = False
) -> PlannedRequest:
    from dataset import FEATURE_NAMES

    accept = JSON_TYPE if turn % 3 else CSV_TYPE
    if body_format == CSV_TYPE:
        body = "".join(line + "\n" for line in lines)
    else:
        rows = [[None if v != v else v for v in row] for row in features.tolist()]
        instances: list[Any] = [dict(zip(FEATURE_NAMES, row, strict=True)) for row in rows] if by_name else rows
        body = json.dumps({"instances": instances})
    return PlannedRequest(kind, body_format, accept, body.encode(), len(lines))


MALFORMED_KINDS = (
    "too few values",
    "not a number",
    "header row",
    "empty body",
    "JSON without instances",
    "NaN in JSON",
    "unsupported Content-Type",
    "unsupported Accept",
)


def malformed_request(kind: str, line: str) -> PlannedRequest:
    """A request a careless client sends; the serving contract answers each with a 4xx."""
    from dataset import FEATURE_NAMES

    rest = line.split(",", 1)[1]
    content_type, accept = CSV_TYPE, JSON_TYPE
    if kind == "too few values":
        body = rest
    elif kind == "not a number":
        body = "n/a," + rest
    elif kind == "header row":
        body = ",".join(FEATURE_NAMES) + "\n" + line
    elif kind == "empty body":
        body = ""
    elif kind == "JSON without instances":
        content_type, body = JSON_TYPE, json.dumps({"rows": [line]})
    elif kind == "NaN in JSON":
        content_type, body = JSON_TYPE, '{"instances": [[NaN' + ", 0" * (len(FEATURE_NAMES) - 1) + "]]}"
    elif kind == "unsupported Content-Type":
        content_type, body = "application/x-protobuf", line
    elif kind == "unsupported Accept":
        accept, body = "application/xml", line
    else:
        raise ValueError(f"unknown malformed request kind {kind!r}; known: {', '.join(MALFORMED_KINDS)}")
    return PlannedRequest(kind, content_type, accept, body.encode(), 1, malformed=True)


def runtime_client(endpoint_url: str) -> Any:
    """The unmodified boto3 `sagemaker-runtime` client pointed at the local endpoint (no retries)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint_url,
        region_name=DEMO_REGION,
        config=Config(retries={"max_attempts": 1}, read_timeout=30),
        **DUMMY_CREDENTIALS,
    )


def invoke(client: Any, endpoint_name: str, phase: str, request: PlannedRequest) -> RequestOutcome:
    """Send one request; a model error arrives as ModelError with the container's own status."""
    from botocore.exceptions import ClientError

    started = time.perf_counter()
    message = ""
    try:
        response = client.invoke_endpoint(
            EndpointName=endpoint_name, Body=request.body, ContentType=request.content_type, Accept=request.accept
        )
        body = response["Body"].read()
        status = 200
    except ClientError as err:
        status = int(err.response.get("OriginalStatusCode") or err.response["ResponseMetadata"]["HTTPStatusCode"])
        original = err.response.get("OriginalMessage") or err.response.get("Error", {}).get("Message", "")
        message = str(original).strip().splitlines()[0] if str(original).strip() else ""
        body = b""
    latency_us = (time.perf_counter() - started) * 1e6
    if status == 200:
        answered = _prediction_count(body, response.get("ContentType", ""))
        if answered != request.rows:
            raise DemoError(f"a {request.rows}-row {request.content_type} request got {answered} predictions back")
    return RequestOutcome(
        phase,
        request.kind,
        request.content_type,
        request.accept,
        request.rows,
        request.malformed,
        status,
        latency_us,
        message,
    )


def _prediction_count(body: bytes, content_type: str) -> int:
    if content_type.startswith(JSON_TYPE):
        return len(json.loads(body)["predictions"])
    return body.count(b"\n")


def phase_features(phase: str, rows: int, seed: int) -> np.ndarray:
    """Fresh synthetic rows for a phase: other seeds than training; drifted rows for `drifted`."""
    from dataset import generate

    offsets = {"normal": 1, "drifted": 2, "bad-client": 3}
    return generate(rows, seed + offsets[phase], drift=phase == "drifted").features


def traffic_sizes(rows: int, min_drift_rows: int) -> dict[str, int]:
    """Rows per phase: a quarter of the training rows (half for the bad client), enough for drift."""
    base = max(rows // 4, 2 * min_drift_rows)
    return {"normal": base, "drifted": base, "bad-client": max(base // 2, 2 * min_drift_rows)}


def send_phase(
    endpoint: LocalEndpoint,
    client: Any,
    endpoint_name: str,
    phase: str,
    requests: Sequence[PlannedRequest],
    advance: Callable[[], None],
) -> PhaseTraffic:
    """Send a phase's requests one after the other (max concurrency 1), then flush the capture."""
    traffic = PhaseTraffic(phase, datetime.now(UTC), datetime.now(UTC))
    for request in requests:
        traffic.requests.append(invoke(client, endpoint_name, phase, request))
        advance()
    endpoint.flush_capture()
    traffic.ended = datetime.now(UTC)
    check_phase(traffic)
    # Keep the next phase's first capture timestamp off this phase's last millisecond.
    time.sleep(0.003)
    return traffic


def check_phase(traffic: PhaseTraffic) -> None:
    """Well-formed requests must succeed and malformed ones must get a 4xx, never a 2xx or a 5xx."""
    failed = [r for r in traffic.requests if not r.malformed and r.status != 200]
    if failed:
        first = failed[0]
        raise DemoError(
            f"{len(failed)} well-formed requests of the {traffic.title} phase failed; the first, a {first.kind} "
            f"{first.content_type} request, got {first.status}: {first.message}"
        )
    wrong = [r for r in traffic.requests if r.malformed and not r.client_error]
    if wrong:
        first = wrong[0]
        raise DemoError(f"a malformed request ({first.kind}) got {first.status} instead of a 4xx: {first.message}")


def serve_and_send(
    aws: AwsEmulator, settings: Settings, registration: Registration, result: DemoResult, console: Console
) -> None:
    """Deploy on moto, serve the approved artifact locally and send the three phases of traffic."""
    from local.serving import LocalEndpoint

    workdir = result.workdir
    model_tar = deploy_endpoint(aws, settings, registration, workdir)
    environment = registration.package["InferenceSpecification"]["Containers"][0]["Environment"]
    sizes = traffic_sizes(result.rows, settings.drift_min_rows)
    plans = {
        phase: plan_phase(
            phase_features(phase, sizes[phase], settings.data_seed),
            settings.data_seed,
            malformed_share=MALFORMED_SHARE if phase == "bad-client" else 0.0,
        )
        for phase in PHASES
    }
    log_lock = threading.Lock()
    with (workdir / "logs" / "endpoint.log").open("w", encoding="utf-8") as log:

        def log_line(line: str) -> None:
            with log_lock:
                log.write(line + "\n")

        endpoint = LocalEndpoint(
            model_tar,
            capture_dir=workdir,
            endpoint_name=settings.endpoint_name,
            capture_percent=float(environment["MLOPS_CAPTURE_PERCENT"]),
            model_id=environment["MLOPS_MODEL_ID"],
            log=log_line,
        )
        started = time.perf_counter()
        try:
            # Not `with endpoint:` — Ctrl-C while it waits for /ping must stop the child too, and
            # a context manager whose __enter__ is interrupted never runs its __exit__.
            endpoint.start()
            # What a serverless cold start reports as ModelSetupTime: until the model answers /ping.
            result.setup_time_us = (time.perf_counter() - started) * 1e6
            result.endpoint_url = endpoint.url
            send_traffic(endpoint, runtime_client(endpoint.url), settings.endpoint_name, plans, result, console)
        finally:
            endpoint.stop()


def send_traffic(
    endpoint: LocalEndpoint,
    client: Any,
    endpoint_name: str,
    plans: Mapping[str, Sequence[PlannedRequest]],
    result: DemoResult,
    console: Console,
) -> None:
    """Send the phases in order with a progress bar per phase."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("    {task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        tasks = {phase: progress.add_task(PHASE_TITLES[phase], total=len(plans[phase])) for phase in plans}
        for phase, requests in plans.items():
            task = tasks[phase]
            advance = functools.partial(progress.advance, task)
            result.phases.append(send_phase(endpoint, client, endpoint_name, phase, requests, advance))


# --- step 5: drift ------------------------------------------------------------------------------


def compute_drift(aws: AwsEmulator, settings: Settings, result: DemoResult) -> None:
    """Drift of every phase's window: baseline found from the endpoint, as the drift Lambda does; DuckDB engine.

    The same steps as `run_local_drift`, keeping the bin counts for the report's overlays.
    """
    from mlops_stacks.handlers.drift_job import find_baseline_uri, read_baseline
    from monitoring.drift_engine_local import capture_files, window_counts
    from monitoring.drift_report import build_report
    from monitoring.drift_stats import DriftThresholds

    uri = find_baseline_uri(aws.client("sagemaker"), settings.endpoint_name)
    baseline = read_baseline(aws.client("s3"), uri)
    result.baseline = baseline
    thresholds = DriftThresholds.from_settings(settings)
    capture_root = result.workdir / "capture" / settings.endpoint_name
    if not capture_root.is_dir():
        raise DemoError(f"the endpoint captured nothing: {capture_root} does not exist")
    reports_dir = result.workdir / "drift"
    reports_dir.mkdir()
    for traffic in result.phases:
        window = traffic.window
        counts = window_counts(baseline, capture_files(capture_root, window), window)
        report = build_report(baseline, counts, thresholds, endpoint=settings.endpoint_name, window=window)
        (reports_dir / f"{traffic.name}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        result.drift[traffic.name] = PhaseDrift(traffic.name, report, counts)


# --- step 6: alarms -----------------------------------------------------------------------------


def measured_values(result: DemoResult, traffic: PhaseTraffic) -> dict[str, list[float]]:
    """Per metric, the data points the phase produced, in CloudWatch's units."""
    values: dict[str, list[float]] = {
        m.MODEL_LATENCY: [r.latency_us for r in traffic.requests],
        m.INVOCATION_4XX: [1.0 if r.client_error else 0.0 for r in traffic.requests],
        m.INVOCATION_5XX: [1.0 if r.server_error else 0.0 for r in traffic.requests],
        m.INVOCATIONS: [1.0 for _ in traffic.requests],
        m.MODEL_SETUP_TIME: [],
        m.MAX_PSI: [],
    }
    # The endpoint started right before the first phase: that phase carries its cold start.
    if traffic is result.phases[0] and result.setup_time_us is not None:
        values[m.MODEL_SETUP_TIME] = [result.setup_time_us]
    worst = (result.drift[traffic.name].report.get("worst") or {}) if traffic.name in result.drift else {}
    if worst.get("psi") is not None:
        values[m.MAX_PSI] = [float(worst["psi"])]
    return values


def evaluate_alarms(settings: Settings, result: DemoResult, alarm_names: Mapping[str, str]) -> list[AlarmEvaluation]:
    """Each rule over each phase as one period; ALARM after `evaluation_periods` breaching periods in a row."""
    from monitoring.alarm_rules import alarm_rules

    evaluations = []
    for rule in alarm_rules(settings):
        history: list[bool] = []
        state = "OK"
        for traffic in result.phases:
            values = measured_values(result, traffic)[rule.metric_name]
            breached = rule.breached_by(values)
            history.append(breached)
            recent = history[-rule.evaluation_periods :]
            new_state = "ALARM" if len(recent) == rule.evaluation_periods and all(recent) else "OK"
            evaluations.append(
                AlarmEvaluation(
                    traffic.name,
                    rule,
                    alarm_names[rule.id],
                    len(values),
                    rule.statistic_of(values),
                    breached,
                    new_state,
                    notified=new_state == "ALARM" and state != "ALARM",
                )
            )
            state = new_state
    return evaluations


def endpoint_metric_data(settings: Settings, result: DemoResult, traffic: PhaseTraffic) -> list[dict[str, Any]]:
    """The phase's endpoint metrics as CloudWatch statistic sets (what SageMaker would have published)."""
    dimensions = [
        {"Name": m.DIM_ENDPOINT, "Value": settings.endpoint_name},
        {"Name": "VariantName", "Value": m.VARIANT_NAME},
    ]
    units = {
        m.MODEL_LATENCY: "Microseconds",
        m.MODEL_SETUP_TIME: "Microseconds",
        m.INVOCATION_4XX: "None",
        m.INVOCATION_5XX: "None",
        m.INVOCATIONS: "None",
    }
    data = []
    for name, values in measured_values(result, traffic).items():
        if name not in units or not values:
            continue
        statistics = {
            "SampleCount": len(values),
            "Sum": math.fsum(values),
            "Minimum": min(values),
            "Maximum": max(values),
        }
        data.append(
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": traffic.started,
                "StatisticValues": statistics,
                "Unit": units[name],
            }
        )
    return data


def alarm_message(evaluation: AlarmEvaluation, result: DemoResult, region: str, account: str) -> dict[str, Any]:
    """A notification shaped like CloudWatch's alarm message (AlarmName, NewStateReason, Trigger, …)."""
    rule = evaluation.rule
    operator = "GreaterThanOrEqualToThreshold" if rule.inclusive else "GreaterThanThreshold"
    sign = ">=" if rule.inclusive else ">"
    reason = (
        f"Threshold Crossed: {rule.statistic} {rule.metric_name} of the {PHASE_TITLES[evaluation.phase]} phase "
        f"was {format_metric(rule.metric_name, evaluation.value)} ({evaluation.datapoints} datapoints), "
        f"{sign} the threshold {format_metric(rule.metric_name, rule.threshold)}."
    )
    if rule.metric_name == m.MAX_PSI:
        drift = result.drift[evaluation.phase]
        reason += f" Features in alert: {', '.join(drift.alerted_features) or 'none'}."
        if (drift.report.get("score") or {}).get("status") == "alert":
            reason += " The prediction score drifted too."
    return {
        "AlarmName": evaluation.alarm_name,
        "AlarmDescription": rule.description,
        "AWSAccountId": account,
        "NewStateValue": "ALARM",
        "NewStateReason": reason,
        "StateChangeTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "Region": region,
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": rule.metric_name,
            "Namespace": rule.namespace,
            "Statistic": rule.statistic.upper(),
            "Dimensions": [
                {"name": d["Name"], "value": d["Value"]} for d in rule_dimensions(rule, result.settings.endpoint_name)
            ],
            "Period": rule.period_minutes * 60,
            "EvaluationPeriods": rule.evaluation_periods,
            "ComparisonOperator": operator,
            "Threshold": rule.threshold,
            "TreatMissingData": "notBreaching",
        },
    }


def format_metric(metric_name: str, value: float | None) -> str:
    """A metric value in the unit people read it in (latency in ms, error rates in %)."""
    if value is None:
        return "no data"
    if metric_name in (m.MODEL_LATENCY, m.MODEL_SETUP_TIME):
        return f"{value / m.MICROSECONDS_PER_MS:,.1f} ms"
    if metric_name in (m.INVOCATION_4XX, m.INVOCATION_5XX):
        return f"{100 * value:.1f} %"
    if metric_name == m.MAX_PSI:
        return f"PSI {value:.3f}"
    return f"{value:g}"


def raise_alarms(aws: AwsEmulator, settings: Settings, result: DemoResult) -> None:
    """Evaluate the rules, put the metrics, set the alarm states, notify and read the notifications back."""
    from monitoring.drift_report import METRICS_PER_CALL, metric_data

    registration = result.registration
    assert registration is not None
    cloudwatch, sns = aws.client("cloudwatch"), aws.client("sns")
    result.alarms = evaluate_alarms(settings, result, registration.alarm_names)
    for traffic in result.phases:
        data = endpoint_metric_data(settings, result, traffic)
        cloudwatch.put_metric_data(Namespace=m.SAGEMAKER_NAMESPACE, MetricData=data)
        drift_data = metric_data(result.drift[traffic.name].report, traffic.ended)
        for start in range(0, len(drift_data), METRICS_PER_CALL):
            chunk = drift_data[start : start + METRICS_PER_CALL]
            cloudwatch.put_metric_data(Namespace=m.DRIFT_NAMESPACE, MetricData=chunk)
        result.metric_datapoints += len(data) + len(drift_data)
        for evaluation in (a for a in result.alarms if a.phase == traffic.name):
            cloudwatch.set_alarm_state(
                AlarmName=evaluation.alarm_name,
                StateValue=evaluation.state,
                StateReason=f"{PHASE_TITLES[traffic.name]} phase: "
                f"{format_metric(evaluation.rule.metric_name, evaluation.value)}",
            )
            if evaluation.notified:
                message = alarm_message(evaluation, result, registration.region, registration.account)
                sns.publish(
                    TopicArn=registration.topic_arn,
                    Subject=f'ALARM: "{evaluation.alarm_name}" in {registration.region}'[:100],
                    Message=json.dumps(message),
                    MessageAttributes={"phase": {"DataType": "String", "StringValue": traffic.name}},
                )
                result.published += 1
    result.notifications = read_notifications(aws.client("sqs"), registration.queue_url, result.published)


def read_notifications(sqs: Any, queue_url: str, expected: int) -> list[Notification]:
    """Receive (and delete) what SNS delivered to the queue: until `expected` arrived and the queue is empty."""
    notifications: list[Notification] = []
    deadline = time.monotonic() + NOTIFICATION_WAIT_S
    while True:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        for message in messages:
            envelope = json.loads(message["Body"])
            alarm = json.loads(envelope["Message"])
            phase = envelope.get("MessageAttributes", {}).get("phase", {}).get("Value", "")
            notifications.append(
                Notification(
                    envelope.get("Subject", ""),
                    alarm["AlarmName"],
                    phase,
                    alarm["NewStateValue"],
                    alarm["NewStateReason"],
                )
            )
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and (len(notifications) >= expected or time.monotonic() > deadline):
            return notifications
        if not messages:
            time.sleep(0.1)


# --- step 7: files ------------------------------------------------------------------------------


def write_requests_csv(result: DemoResult, path: Path) -> None:
    """Every request: phase, kind, formats, rows, status and latency."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phase", "kind", "content_type", "accept", "rows", "malformed", "status", "latency_us"])
        for traffic in result.phases:
            for r in traffic.requests:
                writer.writerow(
                    [r.phase, r.kind, r.content_type, r.accept, r.rows, r.malformed, r.status, f"{r.latency_us:.0f}"]
                )


def summary(result: DemoResult) -> dict[str, Any]:
    """The machine-readable outcome (summary.json)."""
    phases = {}
    for traffic in result.phases:
        drift = result.drift.get(traffic.name)
        phases[traffic.name] = {
            "requests": len(traffic.requests),
            "rows": traffic.rows,
            "malformed": sum(r.malformed for r in traffic.requests),
            "client_errors": sum(r.client_error for r in traffic.requests),
            "server_errors": sum(r.server_error for r in traffic.requests),
            "window": traffic.window.as_dict(),
            "drift_status": drift.report["status"] if drift else None,
            "drifted_features": drift.alerted_features if drift else [],
            "alarms_fired": [a.rule.id for a in result.fired if a.phase == traffic.name],
        }
    registration = result.registration
    return {
        "workdir": str(result.workdir),
        "rows": result.rows,
        "endpoint_name": result.settings.endpoint_name,
        "model_package_arn": registration.package_arn if registration else None,
        "job_name": result.trained.job_name if result.trained else None,
        "phases": phases,
        "notifications_published": result.published,
        "notifications_delivered": len(result.notifications),
        "moto_endpoint_url": registration.endpoint_url if registration else None,
        "local_endpoint_url": result.endpoint_url,
        "steps": [{"step": t.key, "seconds": round(t.seconds, 2), "outcome": t.outcome} for t in result.timings],
    }


# --- orchestration ------------------------------------------------------------------------------


class StepTracker:
    """Runs the steps one by one with a spinner and prints one clear line per step."""

    def __init__(self, console: Console, result: DemoResult) -> None:
        self.console = console
        self.result = result
        self.current: tuple[int, str, str] | None = None

    @contextlib.contextmanager
    def step(self, key: str, spinner: bool = True) -> Iterator[list[str]]:
        """Run one step; the caller appends its outcome line (and detail lines) to the yielded list."""
        number = next(i for i, (k, _) in enumerate(STEPS, start=1) if k == key)
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


def run_demo(options: DemoOptions, console: Console) -> DemoResult:
    """Run the seven steps; moto and the endpoint are stopped in `finally`, also on Ctrl-C."""
    from local import demo_report

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    settings = load_settings()
    rows = options.rows if options.rows is not None else settings.synthetic_rows
    if not MIN_ROWS <= rows <= MAX_ROWS:
        raise DemoError(f"--rows must be between {MIN_ROWS} and {MAX_ROWS}, got {rows}")
    workdir = prepare_workdir(options.workdir)
    result = DemoResult(workdir, settings, rows, datetime.now(UTC))
    tracker = StepTracker(console, result)
    console.print(f"[bold]mlops demo[/bold] into {workdir} ({rows:,} training rows, endpoint {settings.endpoint_name})")
    try:
        with tracker.step("synth") as out:
            if options.skip_synth:
                out.append("skipped (--skip-synth)")
            else:
                result.stacks = synthesize_stacks(workdir / "cdk.out", workdir / "logs" / "synth.log")
                result.synthesized_job_name = synthesized_job_name(workdir / "cdk.out")
                resources = sum(s.resources for s in result.stacks)
                out.append(f"{len(result.stacks)} stacks, {resources} resources, cdk-nag passed")
                out.extend(f"{s.name:<30} {s.resources:>4} resources  {s.nag_status}" for s in result.stacks)
        with tracker.step("train") as out:
            trained = result.trained = train_model(workdir, settings, rows)
            validation = trained.evaluation["validation"]
            out.append(f"AUC {validation['auc']:.4f}: {trained.decision.status} by the quality gate")
            out.append(f"job {trained.job_name}")
            out.append(
                f"accuracy {validation['accuracy']:.4f}, log loss {validation['log_loss']:.4f}, "
                f"F1 {validation['f1']:.4f}"
            )
        with AwsEmulator() as aws:
            with tracker.step("register") as out:
                registration = result.registration = register_model(aws, settings, trained)
                version = registration.package.get("ModelPackageVersion", "?")
                out.append(f"{registration.group} version {version}: {registration.package['ModelApprovalStatus']}")
                alarms = len(registration.alarm_names)
                out.append(f"moto at {aws.endpoint_url}: bucket, registry, topic, {alarms} alarms")
            with tracker.step("traffic", spinner=False) as out:
                serve_and_send(aws, settings, registration, result, console)
                out.append(f"{sum(len(p.requests) for p in result.phases)} requests with boto3 sagemaker-runtime")
                for p in result.phases:
                    errors = sum(r.client_error for r in p.requests)
                    out.append(f"{p.title:<11} {len(p.requests):>4} requests {p.rows:>7,} rows {errors:>3} 4xx")
            with tracker.step("drift") as out:
                compute_drift(aws, settings, result)
                out.append(", ".join(f"{PHASE_TITLES[n]} {d.report['status']}" for n, d in result.drift.items()))
                for name, drift in result.drift.items():
                    if drift.alerted_features:
                        out.append(f"in alert ({PHASE_TITLES[name]}): {', '.join(drift.alerted_features)}")
            with tracker.step("alarms") as out:
                raise_alarms(aws, settings, result)
                fired = ", ".join(f"{a.rule.id} ({PHASE_TITLES[a.phase]})" for a in result.fired) or "none"
                out.append(f"fired: {fired}")
                out.append(f"SNS → SQS: {len(result.notifications)} of {result.published} notifications delivered")
                out.append(f"CloudWatch: {result.metric_datapoints} metric data points")
        with tracker.step("report") as out:
            write_requests_csv(result, workdir / "requests.csv")
            demo_report.write_report(result, result.report_path)
            out.append(str(result.report_path))
    except KeyboardInterrupt:
        where = f" during step {tracker.current[0]}/{len(STEPS)} ({tracker.current[1]})" if tracker.current else ""
        console.print(f"[bold red]✗ interrupted{where}[/bold red]; stopped what the demo had started")
        raise
    (workdir / "summary.json").write_text(json.dumps(summary(result), indent=2) + "\n", encoding="utf-8")
    demo_report.print_summary(result, console)
    unmet = [check for check in demo_report.checks(result) if not check.passed]
    if unmet:
        # The report is written: it shows what happened. The run still fails, naming the step.
        first = unmet[0]
        number = next(i for i, (key, _) in enumerate(STEPS, start=1) if key == first.step)
        what = "; ".join(f"{c.what}: expected {c.expected}, observed {c.observed}" for c in unmet)
        raise DemoStepFailed(number, first.step, dict(STEPS)[first.step], DemoError(f"expectation not met: {what}"))
    return result


def run(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo and turn the outcome into an exit code: 0, 1 (a step failed), 2 (bad options), 130 (Ctrl-C)."""
    from rich.console import Console

    console = console or Console(highlight=False)
    try:
        run_demo(options, console)
    except DemoStepFailed as failure:
        console.print(f"[bold red]mlops demo: {failure}[/bold red]")
        console.print(f"logs: {options.workdir.resolve() / 'logs'}")
        return 1
    except DemoError as exc:
        console.print(f"[bold red]mlops demo: {exc}[/bold red]")
        return 2
    except KeyboardInterrupt:
        return INTERRUPTED
    return 0


def _floor_ms(when: datetime) -> datetime:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)
