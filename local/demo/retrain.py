"""Step 7: the training pipeline on fresh labelled data, state by state, with the cloud's code.

1. Fresh labelled data from the drifted distribution goes under `<labelled_data_prefix>/train/` and
   `/validation/`, then the `_ready` marker, on moto's S3 with EventBridge notifications on; the
   new-data rule (`mlops_core.event_patterns`) on moto's EventBridge, with an SQS target, must
   deliver exactly that event: it is what starts the pipeline in the cloud.
2. The states of the training pipeline's success path (`mlops_core.pipeline_states`), in order:
   the job name the pipeline computes; training in the container environment (`local.training`) on
   the channels as SageMaker downloads them; registration behind the quality gate with the
   RegisterVersion Lambda's own code; in manual approval mode, the decision through the code path
   of `mlops approve` (`rollout.set_approval`); the notification through SNS.
3. SageMaker's state-change event for the new version (moto's SageMaker sends none, so
   `local.aws_events` builds it) must match the approval rule exactly when the version is
   Approved: that starts the deployment pipeline (step 8).

Before the new version exists, version 1 scores the fresh labelled validation set through its
endpoint: its AUC there is what retraining has to beat.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.demo.emulator import DEMO_REGION, AwsEmulator
from local.demo.registry import approval_reason, record_and_upload_job, registration_config, training_job
from local.demo.results import CANDIDATE_VERSION, DemoResult, ModelVersion, PipelineStep, Registration, RetrainResult
from local.demo.steps import DemoError
from mlops_core import pipeline_states as states
from mlops_core.quality_gate import APPROVED, REJECTED
from mlops_core.settings import Settings

# The fresh labelled data: the drifted distribution, a seed no traffic phase uses, half the original rows
# (a new batch of labels is smaller than the data set the first model learnt from), at least this many.
LABELLED_SEED_OFFSET = 10
MIN_LABELLED_ROWS = 1000
SCORING_BATCH_ROWS = 500
EVENT_WAIT_S = 10.0
TRAINING = "training"
DEPLOYMENT = "deployment"


class Trail:
    """Records the states the demo runs, by name, in the order it runs them (`DemoResult.pipeline_steps`)."""

    def __init__(self, result: DemoResult, pipeline: str) -> None:
        self.result = result
        self.pipeline = pipeline

    def ran(self, state: str, outcome: str) -> None:
        """The demo ran this state with this outcome."""
        self.result.pipeline_steps.append(PipelineStep(self.pipeline, state, outcome))

    def not_run(self, state: str, why: str) -> None:
        """A state on the cloud's path that has nothing to do here (the demo says why)."""
        self.result.pipeline_steps.append(PipelineStep(self.pipeline, state, why, ran=False))


def path_of(result: DemoResult, pipeline: str) -> tuple[str, ...]:
    """The state names the demo recorded for `pipeline`, in order."""
    return tuple(step.state for step in result.pipeline_steps if step.pipeline == pipeline)


def write_labelled_data(directory: Path, settings: Settings, rows: int) -> Path:
    """Fresh labelled rows from the drifted distribution: train.csv, validation.csv and schema.json."""
    import dataset

    rows = max(rows // 2, MIN_LABELLED_ROWS)
    dataset.write_dataset(directory, rows=rows, seed=settings.data_seed + LABELLED_SEED_OFFSET, drift=True)
    return directory


def watch_rules(aws: AwsEmulator, settings: Settings, bucket: str) -> dict[str, str]:
    """The new-data and approval rules on moto's EventBridge, each delivering to a queue; the bucket's events on.

    moto's rules deliver to SQS (not to Step Functions), so a queue stands in for each pipeline.
    Returns rule name -> queue URL.
    """
    from mlops_core.event_patterns import approval_decided, new_labelled_data

    s3, events, sqs = aws.client("s3"), aws.client("events"), aws.client("sqs")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    patterns = {
        settings.name("new-data"): new_labelled_data(bucket, settings.labelled_data_prefix),
        settings.name("approval"): approval_decided(settings.model_package_group_name),
    }
    queues = {}
    for name, pattern in patterns.items():
        url = sqs.create_queue(QueueName=f"{name}-runs")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": "pipeline", "Arn": arn}])
        queues[name] = url
    return queues


def matched_events(sqs: Any, queue_url: str, expected: int, wait_s: float = EVENT_WAIT_S) -> list[dict[str, Any]]:
    """The events a rule delivered to its queue (received and deleted): until `expected` arrived and it is empty."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait_s
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        for message in messages:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and (len(events) >= expected or time.monotonic() > deadline):
            return events
        if not messages:
            time.sleep(0.05)


def publish_and_read(aws: AwsEmulator, registration: Registration, subject: str, text: str) -> str:
    """Publish a pipeline notification to the alert topic and read it back from the queue subscribed to it."""
    sns, sqs = aws.client("sns"), aws.client("sqs")
    message_id = sns.publish(TopicArn=registration.topic_arn, Subject=subject[:100], Message=text)["MessageId"]
    deadline = time.monotonic() + EVENT_WAIT_S
    while time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=registration.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in answer.get("Messages", []):
            sqs.delete_message(QueueUrl=registration.queue_url, ReceiptHandle=message["ReceiptHandle"])
            envelope = json.loads(message["Body"])
            if envelope.get("MessageId") == message_id:
                return str(envelope["Message"])
        time.sleep(0.05)
    raise DemoError(f"the notification {subject!r} did not arrive through SNS in {EVENT_WAIT_S:g} s")


def endpoint_auc(client: Any, endpoint_name: str, labelled_csv: Path, label_column: str) -> float:
    """AUC of an endpoint's scores on a labelled CSV, sent in CSV batches through the sagemaker-runtime client."""
    import numpy as np

    from model_code.train import roc_auc

    header, *lines = labelled_csv.read_text(encoding="utf-8").splitlines()
    label_index = header.split(",").index(label_column)
    labels, rows = [], []
    for line in lines:
        values = line.split(",")
        labels.append(int(values.pop(label_index)))
        rows.append(",".join(values))
    scores: list[float] = []
    for start in range(0, len(rows), SCORING_BATCH_ROWS):
        body = "".join(row + "\n" for row in rows[start : start + SCORING_BATCH_ROWS])
        response = client.invoke_endpoint(
            EndpointName=endpoint_name, Body=body.encode(), ContentType="text/csv", Accept="application/json"
        )
        scores.extend(p["score"] for p in json.loads(response["Body"].read())["predictions"])
    return roc_auc(np.array(labels), np.array(scores))


def start_by_new_data(
    aws: AwsEmulator, settings: Settings, registration: Registration, labelled: Path, retrained: RetrainResult
) -> dict[str, str]:
    """Upload the CSVs under the prefix, then the marker; the new-data rule must deliver the marker's event only.

    Returns the rules' queues (rule name -> URL).
    """
    from mlops_core.event_patterns import ready_marker_key

    s3 = aws.client("s3")
    queues = watch_rules(aws, settings, registration.bucket)
    prefix = settings.labelled_data_prefix
    for channel, name in (("train", "train.csv"), ("train", "schema.json"), ("validation", "validation.csv")):
        key = f"{prefix}/{channel}/{name}"
        s3.upload_file(str(labelled / name), registration.bucket, key)
        retrained.labelled_keys.append(key)
    marker = ready_marker_key(prefix)
    s3.put_object(Bucket=registration.bucket, Key=marker, Body=b"")
    retrained.labelled_keys.append(marker)
    started = matched_events(aws.client("sqs"), queues[settings.name("new-data")], expected=1)
    retrained.new_data_matched = len(started)
    keys = [event.get("detail", {}).get("object", {}).get("key") for event in started]
    if keys != [marker]:
        raise DemoError(f"the new-data rule should deliver one event for {marker}, it delivered keys {keys}")
    return queues


def retrain(aws: AwsEmulator, settings: Settings, result: DemoResult, v1_url: str) -> RetrainResult:
    """Trigger, then the training pipeline's states in order; version 2 ends Approved (or the step fails)."""
    from local.demo.traffic import runtime_client
    from local.training import TrainingFailed, run_training
    from mlops_core import naming
    from mlops_core.quality_gate import PENDING_MANUAL_APPROVAL
    from mlops_stacks.handlers.rollout import set_approval
    from mlops_stacks.handlers.training_run.registration import register_job_model

    registration, trained = result.registration, result.trained
    assert registration is not None and trained is not None
    retrained = result.retrain = RetrainResult()
    sagemaker, s3 = aws.client("sagemaker"), aws.client("s3")
    evaluation = trained.evaluation
    labelled = write_labelled_data(result.workdir / "labelled", settings, result.rows)
    v1_auc = endpoint_auc(
        runtime_client(v1_url), settings.endpoint_name, labelled / "validation.csv", settings.label_column
    )
    retrained.versions[1] = ModelVersion(
        1,
        trained.job_name,
        registration.package_arn,
        trained.job_name,
        int(evaluation.get("n_train") or 0),
        float(evaluation["validation"]["auc"]),
        v1_auc,
    )

    queues = start_by_new_data(aws, settings, registration, labelled, retrained)

    trail = Trail(result, TRAINING)
    run_name = f"new-data-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    execution_arn = (
        f"arn:aws:states:{DEMO_REGION}:{registration.account}:execution:{settings.name(TRAINING)}:{run_name}"
    )
    job_name = naming.pipeline_job_name(settings.project_name, execution_arn)
    trail.ran(states.APPLY_SETTINGS, f"run {run_name}: job name {job_name} (MD5 of the execution ARN)")

    # Train: the channels as SageMaker's File mode downloads them, then the image's trainer.
    channels = result.workdir / "labelled-channels"
    channels.mkdir()
    for key in retrained.labelled_keys[:-1]:
        s3.download_file(registration.bucket, key, str(channels / Path(key).name))
    log_path = result.workdir / "logs" / "training-v2.log"
    with log_path.open("w", encoding="utf-8") as log:
        try:
            trained_v2 = run_training(
                channels,
                result.workdir / "model-v2",
                settings.hyperparameters,
                job_name=job_name,
                submit_dir=trained.sourcedir,
                echo=lambda line: log.write(line + "\n"),
            )
        except TrainingFailed as exc:
            raise DemoError(f"training job {job_name} failed: {exc.reason} (log: {log_path})") from None
    request = training_job(
        settings,
        job_name,
        bucket=registration.bucket,
        role_arn=registration.role_arn,
        region=DEMO_REGION,
        code_uri=registration.code_uri,
        data_prefix=settings.labelled_data_prefix,
    )
    record_and_upload_job(aws, request, trained_v2.model_tar)
    v2_evaluation = trained_v2.evaluation
    trail.ran(
        states.TRAIN,
        f"job {job_name} on s3://{registration.bucket}/{settings.labelled_data_prefix}/: validation AUC "
        f"{v2_evaluation['validation']['auc']:.4f} on {v2_evaluation.get('n_validation')} rows",
    )

    config = registration_config(settings, registration.bucket, registration.code_uri)
    version = register_job_model(sagemaker, s3, config, job_name, training_run=run_name)
    if version.version != CANDIDATE_VERSION:
        raise DemoError(f"the retrained model was registered as version {version.version}, not {CANDIDATE_VERSION}")
    retrained.versions[CANDIDATE_VERSION] = ModelVersion(
        version.version,
        job_name,
        version.arn,
        job_name,
        int(v2_evaluation.get("n_train") or 0),
        float(v2_evaluation["validation"]["auc"]),
    )
    trail.ran(states.REGISTER, f"version {version.version}: {version.status} ({version.reason})")
    # SageMaker sends the state-change event on creation: the approval rule takes it only if Approved.
    _count_approval_events(aws, queues[settings.name("approval")], version.arn, retrained)

    if version.status == REJECTED:
        raise DemoError(f"the quality gate rejected version {version.version}: {version.reason}; version 1 serves on")
    if version.status == PENDING_MANUAL_APPROVAL:
        trail.ran(states.GATE_DECISION, f"{PENDING_MANUAL_APPROVAL} (approval_mode manual) → awaiting approval")
        text = publish_and_read(
            aws,
            registration,
            f"{settings.project_name}: version {version.version} awaits approval",
            f"{settings.project_name}: version {version.version} ({version.reason}) awaits approval: "
            f"`mlops approve {version.version}` or `mlops reject {version.version}`.",
        )
        trail.ran(states.NOTIFY_AWAITING_APPROVAL, f"SNS → SQS: {text}")
        trail.ran(states.DEPLOY_WAITING, "yes: the demo waits for the decision, as a deploy does")
        request = set_approval(sagemaker, config.group, version.version, APPROVED, approval_reason(version.version))
        trail.ran(states.WAIT_FOR_DECISION, f"a person decides: `mlops approve {version.version}` (UpdateModelPackage)")
        package = sagemaker.describe_model_package(ModelPackageName=request["ModelPackageArn"])
        trail.ran(states.READ_APPROVAL, f"{package['ModelApprovalStatus']}: {package.get('ApprovalDescription')}")
        if package["ModelApprovalStatus"] != APPROVED:
            raise DemoError(f"version {version.version} is {package['ModelApprovalStatus']} after its approval")
        trail.ran(states.DECIDED, f"{APPROVED} → notify")
        _count_approval_events(aws, queues[settings.name("approval")], version.arn, retrained)
    else:
        trail.ran(states.GATE_DECISION, f"{version.status} (approval_mode {settings.approval_mode}) → notify")
    retrained.status = APPROVED
    text = publish_and_read(
        aws,
        registration,
        f"{settings.project_name}: version {version.version} registered",
        f"{settings.project_name}: version {version.version} is {APPROVED} ({version.reason}); "
        "the deployment pipeline rolls it out.",
    )
    trail.ran(states.NOTIFY_REGISTERED, f"SNS → SQS: {text}")
    signal_and_end(trail, states.REGISTERED, f"version {version.version} {APPROVED}")
    if retrained.approval_matched.get(APPROVED) != 1:
        raise DemoError(
            f"the approval rule should start one deployment for version {version.version}, "
            f"it matched {retrained.approval_matched}"
        )
    return retrained


def signal_and_end(trail: Trail, final: str, outcome: str) -> None:
    """The end of a success path: CloudFormation waits on a run it started, the demo on its own."""
    trail.ran(states.SIGNAL_SUCCESS_CHOICE, "the demo waits on this run, as a deploy does")
    trail.not_run(states.SIGNAL_SUCCESS, "no CloudFormation wait condition here: the demo goes on")
    trail.ran(final, outcome)


def _count_approval_events(aws: AwsEmulator, queue_url: str, arn: str, retrained: RetrainResult) -> None:
    """Put the version's state-change event on EventBridge and count what the approval rule delivered, by status."""
    from local.aws_events import model_package_state_change

    package = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    status = package["ModelApprovalStatus"]
    answer = aws.client("events").put_events(Entries=[model_package_state_change(package)])
    if answer.get("FailedEntryCount"):
        raise DemoError(f"EventBridge refused the state-change event of {arn}: {answer['Entries']}")
    # A pending version must not start a deployment: wait briefly, expecting nothing.
    expected = 1 if status in (APPROVED, REJECTED) else 0
    delivered = matched_events(aws.client("sqs"), queue_url, expected, wait_s=EVENT_WAIT_S if expected else 0.5)
    retrained.approval_matched[status] = retrained.approval_matched.get(status, 0) + len(delivered)
