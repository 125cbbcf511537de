"""Step 8: the deployment pipeline rolls version 2 out, state by state, with the deployment Lambda's own code.

- Prepare: `rollout.plan_rollout` and `create_model_and_config` on moto (the plan: update to v2).
- Update, blue/green as SageMaker updates an endpoint: version 2's endpoint starts and loads its
  model while version 1 keeps answering (requests go on meanwhile, and every one must succeed);
  once v2 answers /ping, traffic switches to it and v1 stops. v1's endpoint config stays, for a
  revert. Locally each version has its own front end, so the switch is where the runtime client
  sends its requests; the endpoint's name stays. moto 5.2.5 has no UpdateEndpoint, so the switch
  is recorded there as DeleteEndpoint + CreateEndpoint on the new config, which leaves the
  endpoint where UpdateEndpoint would: InService on the new config.
- Bake: drifted traffic to v2; the guard alarm rules (`monitoring.alarm_rules`) evaluated on it,
  their states set on moto (no request waited for v2's start, so the bake has no cold start);
  the verdict is `rollout.bake_verdict` on moto's DescribeAlarms, the same code as the Lambda's
  check. A failed bake reverts moto's endpoint to v1's config, rejects
  v2 and fails the step.
- Confirm (tidy), notify through SNS, and then the drift job's view: the bake traffic against
  v2's baseline (found from the endpoint, as the drift Lambda finds it) and, for comparison,
  against v1's; the drift alarm evaluated on the first.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from local.demo.alarms import endpoint_metric_data, evaluate_periods, format_metric
from local.demo.emulator import AwsEmulator
from local.demo.request_plan import plan_phase, traffic_sizes
from local.demo.results import BAKE, CANDIDATE_VERSION, PHASE_TITLES, DemoResult, PhaseDrift, RetrainResult
from local.demo.retrain import DEPLOYMENT, Trail, endpoint_auc, publish_and_read, signal_and_end
from local.demo.steps import DemoError
from local.demo.traffic import fetch_artifact, runtime_client, send_phase, serving_spec, start_endpoint
from mlops_core import pipeline_states as states
from mlops_core.settings import Settings
from monitoring.metrics import SAGEMAKER_NAMESPACE

if TYPE_CHECKING:
    from local.serving import LocalEndpoint
    from monitoring.baseline import Baseline

BAKE_SEED_OFFSET = 11  # the bake's rows: the drifted distribution, a seed nothing else uses
UPDATE_PROBE_PAUSE_S = 0.2  # a steady trickle: enough to show v1 answers, little load on v2 starting


def roll_out(
    aws: AwsEmulator, settings: Settings, result: DemoResult, v1: LocalEndpoint, endpoints: contextlib.ExitStack
) -> None:
    """The deployment pipeline's success path, then drift of the bake traffic against each version's baseline."""
    from dataset import generate
    from mlops_core.quality_gate import REJECTED
    from mlops_stacks.handlers.rollout import UPDATE, bake_verdict, create_model_and_config, plan_rollout, tidy
    from mlops_stacks.handlers.rollout.approval import set_approval
    from mlops_stacks.handlers.rollout.serving import describe_endpoint
    from monitoring.alarm_rules import alarm_rules, guard_alarm_names

    registration, retrained = result.registration, result.retrain
    assert registration is not None and retrained is not None
    sagemaker, cloudwatch = aws.client("sagemaker"), aws.client("cloudwatch")
    trail = Trail(result, DEPLOYMENT)
    trail.ran(
        states.APPLY_SETTINGS,
        f"bake: one period of drifted traffic (the cloud bakes {settings.bake_minutes} min under live traffic)",
    )
    spec = serving_spec(settings, registration)
    plan = retrained.plan = plan_rollout(sagemaker, registration.group, spec)
    if plan.action == UPDATE:
        create_model_and_config(sagemaker, spec, plan.target_arn, plan.target_version)
    trail.ran(states.PREPARE, plan.reason)
    if plan.action != UPDATE or plan.target_version != CANDIDATE_VERSION:
        raise DemoError(f"the rollout should update the endpoint to version {CANDIDATE_VERSION}: {plan.reason}")
    trail.ran(states.WHAT_TO_DO, f"{plan.action}: {plan.previous_config} → {plan.new_config}")

    # Update: v2 starts while v1 serves; moto records the switch (it has no UpdateEndpoint).
    model_tar = fetch_artifact(aws, plan.target_arn, result.workdir / "endpoint-v2" / "model.tar.gz")
    package = sagemaker.describe_model_package(ModelPackageName=plan.target_arn)
    environment = package["InferenceSpecification"]["Containers"][0]["Environment"]
    sagemaker.delete_endpoint(EndpointName=spec.endpoint)
    sagemaker.create_endpoint(EndpointName=spec.endpoint, EndpointConfigName=plan.new_config)
    retrained.kept_config = plan.previous_config
    trail.ran(states.UPDATE_ENDPOINT, f"endpoint {spec.endpoint} to {plan.new_config}; v2 starting while v1 serves")
    with _requests_meanwhile(v1, settings, retrained):
        v2, retrained.setup_time_us = start_endpoint(
            endpoints, model_tar, settings, environment, result, result.workdir / "logs" / "endpoint-v2.log"
        )
    failed = [r for r in retrained.update_requests if r.status != 200]
    if failed:
        raise DemoError(f"{len(failed)} of {len(retrained.update_requests)} requests failed while v2 started")
    v1.stop()  # traffic is on v2 from here; v1's config stays for a revert
    retrained.endpoint_url = v2.url
    trail.ran(
        states.WAIT_FOR_ENDPOINT,
        f"v2 answered /ping after {retrained.setup_time_us / 1e6:.1f} s; v1 answered all "
        f"{len(retrained.update_requests)} requests meanwhile; traffic switched to v2, v1 stopped",
    )
    endpoint = describe_endpoint(sagemaker, spec.endpoint) or {}
    status, config = endpoint.get("EndpointStatus"), endpoint.get("EndpointConfigName")
    trail.ran(states.DESCRIBE_ENDPOINT, f"{status} on {config}")
    if status != "InService" or config != plan.new_config:
        raise DemoError(f"endpoint {spec.endpoint} is {status} on {config}, not InService on {plan.new_config}")
    trail.ran(states.ENDPOINT_READY, "InService on the new config → bake")

    # Bake: drifted traffic to v2, the guard alarms judged by the Lambda's own verdict.
    rows = traffic_sizes(result.rows, settings.drift_min_rows)["drifted"]
    features = generate(rows, settings.data_seed + BAKE_SEED_OFFSET, drift=True).features
    client = runtime_client(v2.url)
    bake = retrained.bake = send_phase(
        v2, client, settings.endpoint_name, BAKE, plan_phase(features, settings.data_seed), lambda: None
    )
    trail.ran(states.BAKE, f"{len(bake.requests)} requests, {bake.rows:,} rows of drifted traffic to v2")
    guards = [rule for rule in alarm_rules(settings) if rule.guards_rollout]
    evaluations = evaluate_periods(guards, result, [*result.phases, bake], registration.alarm_names)
    retrained.bake_alarms = [e for e in evaluations if e.phase == BAKE]
    cloudwatch.put_metric_data(Namespace=SAGEMAKER_NAMESPACE, MetricData=endpoint_metric_data(settings, result, bake))
    for evaluation in retrained.bake_alarms:
        cloudwatch.set_alarm_state(
            AlarmName=evaluation.alarm_name,
            StateValue=evaluation.state,
            StateReason=f"bake of version {plan.target_version}: "
            f"{format_metric(evaluation.rule.metric_name, evaluation.value)}",
        )
    verdict = retrained.verdict = bake_verdict(
        cloudwatch,
        sagemaker,
        alarm_names=guard_alarm_names(settings),
        since=datetime.fromisoformat(plan.started_at),
        version_arn=plan.target_arn,
    )
    trail.ran(states.CHECK_GUARD_ALARMS, verdict.reason)
    if not verdict.passed:
        # The way back, as the pipeline takes it: the previous config, then the version rejected.
        trail.ran(states.BAKE_PASSED, "failed → revert")
        sagemaker.delete_endpoint(EndpointName=spec.endpoint)
        sagemaker.create_endpoint(EndpointName=spec.endpoint, EndpointConfigName=plan.previous_config)
        trail.ran(states.REVERT_ENDPOINT, f"endpoint {spec.endpoint} back to {plan.previous_config}")
        set_approval(sagemaker, registration.group, plan.target_version, REJECTED, verdict.reason)
        trail.ran(states.REJECT_VERSION, f"version {plan.target_version} {REJECTED}: {verdict.reason}")
        raise DemoError(
            f"{verdict.reason}; on moto the endpoint is back on {plan.previous_config} and version 2 is rejected "
            "(the local version 1 stopped at the switch, so the demo ends here)"
        )
    trail.ran(states.BAKE_PASSED, "passed → confirm")
    deleted = tidy(sagemaker, spec, keep={plan.new_config, plan.previous_config})
    trail.ran(
        states.CONFIRM_RUN,
        f"started by the approval event (no training run to confirm); kept {plan.previous_config} for a revert"
        + (f", deleted {', '.join(deleted)}" if deleted else ""),
    )
    trail.ran(states.CONFIRMED, "passed")
    trail.ran(states.CHANGED, f"{plan.action} → notify")
    text = publish_and_read(
        aws,
        registration,
        f"{settings.project_name}: version {plan.target_version} deployed",
        f"{settings.project_name}: endpoint {spec.endpoint} now serves version {plan.target_version} ({plan.reason}).",
    )
    retrained.deployed_notices.append(text)
    trail.ran(states.NOTIFY_DEPLOYED, f"SNS → SQS: {text}")
    signal_and_end(trail, states.DEPLOYED, f"endpoint {spec.endpoint} serves version {plan.target_version}")

    drift_after(aws, settings, result, retrained)
    v2_auc = endpoint_auc(
        client, settings.endpoint_name, result.workdir / "labelled" / "validation.csv", settings.label_column
    )
    version = retrained.versions[CANDIDATE_VERSION]
    retrained.versions[CANDIDATE_VERSION] = replace(version, fresh_auc=v2_auc)


def drift_after(aws: AwsEmulator, settings: Settings, result: DemoResult, retrained: RetrainResult) -> None:
    """The bake traffic against the served version's baseline (the drift job's lookup) and against v1's."""
    from mlops_core.model_registry import served_model_package
    from monitoring.alarm_rules import alarm_rules, drift_alarm_name
    from monitoring.drift_report import METRICS_PER_CALL, metric_data
    from monitoring.drift_run import find_baseline_uri, read_baseline
    from monitoring.metrics import DRIFT_NAMESPACE

    registration, bake = result.registration, retrained.bake
    assert registration is not None and bake is not None and result.baseline is not None
    sagemaker, s3, cloudwatch = aws.client("sagemaker"), aws.client("s3"), aws.client("cloudwatch")
    config = sagemaker.describe_endpoint(EndpointName=settings.endpoint_name)["EndpointConfigName"]
    served = sagemaker.describe_model_package(ModelPackageName=served_model_package(sagemaker, config))
    retrained.serving_version = int(served["ModelPackageVersion"])
    v2_baseline = read_baseline(s3, find_baseline_uri(sagemaker, settings.endpoint_name))
    served_ids = v2_baseline.model_ids
    for number, baseline in ((1, result.baseline), (CANDIDATE_VERSION, v2_baseline)):
        retrained.drift[number] = _bake_drift(settings, result, baseline, served_ids)
    report = retrained.drift[CANDIDATE_VERSION].report
    for start in range(0, len(metrics := metric_data(report, bake.ended)), METRICS_PER_CALL):
        cloudwatch.put_metric_data(Namespace=DRIFT_NAMESPACE, MetricData=metrics[start : start + METRICS_PER_CALL])
    (drift_rule,) = [rule for rule in alarm_rules(settings) if rule.namespace == DRIFT_NAMESPACE]
    evaluation = evaluate_periods([drift_rule], result, [*result.phases, bake], registration.alarm_names)[-1]
    name = drift_alarm_name(settings)
    cloudwatch.set_alarm_state(
        AlarmName=name,
        StateValue=evaluation.state,
        StateReason=f"{PHASE_TITLES[BAKE]} against version {retrained.serving_version}'s baseline: "
        f"{format_metric(drift_rule.metric_name, evaluation.value)}",
    )
    retrained.drift_alarm_after = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def _bake_drift(settings: Settings, result: DemoResult, baseline: Baseline, model_ids: tuple[str, ...]) -> PhaseDrift:
    """The bake window's drift against `baseline`, counting the rows of the model that served them."""
    from monitoring.drift_report import build_report
    from monitoring.drift_stats import DriftThresholds
    from monitoring.tools.drift_engine_local import capture_files, window_counts

    assert result.retrain is not None and result.retrain.bake is not None
    window = result.retrain.bake.window
    capture_root = result.workdir / "capture" / settings.endpoint_name
    counts = window_counts(baseline, capture_files(capture_root, window), window, model_ids)
    report = build_report(
        baseline, counts, DriftThresholds.from_settings(settings), endpoint=settings.endpoint_name, window=window
    )
    return PhaseDrift(BAKE, report, counts)


@contextlib.contextmanager
def _requests_meanwhile(v1: LocalEndpoint, settings: Settings, retrained: RetrainResult) -> Iterator[None]:
    """Single-row requests to v1 for as long as the block runs (v2 starting): a blue/green update loses none."""
    from local.demo.request_plan import phase_features
    from local.demo.traffic import invoke

    requests = plan_phase(phase_features("drifted", 200, settings.data_seed + BAKE_SEED_OFFSET), settings.data_seed)
    singles = [r for r in requests if r.rows == 1] or requests[:1]
    client = runtime_client(v1.url)
    done = threading.Event()
    errors: list[Exception] = []

    def send() -> None:
        turn = 0
        while not done.is_set():
            try:
                outcome = invoke(client, settings.endpoint_name, "update", singles[turn % len(singles)])
            except Exception as exc:  # told after the block: a request lost during the update fails the step
                errors.append(exc)
                return
            retrained.update_requests.append(outcome)
            turn += 1
            time.sleep(UPDATE_PROBE_PAUSE_S)

    sender = threading.Thread(target=send, name="requests-during-update", daemon=True)
    sender.start()
    try:
        yield
    finally:
        done.set()
        sender.join(timeout=30)
    if errors:
        raise DemoError(f"a request to version 1 failed while version 2 started: {errors[0]}")
