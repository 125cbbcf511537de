"""Step 4: the endpoint stack's resources on moto, the approved artifact served locally, and the phases sent.

Requests go through boto3's unmodified `sagemaker-runtime` client, one at a time (max concurrency 1).
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.demo.emulator import DEMO_REGION, DUMMY_CREDENTIALS, AwsEmulator
from local.demo.request_plan import JSON_TYPE, MALFORMED_SHARE, phase_features, plan_phase, traffic_sizes
from local.demo.results import (
    PHASE_TITLES,
    PHASES,
    DemoResult,
    PhaseTraffic,
    PlannedRequest,
    Registration,
    RequestOutcome,
)
from local.demo.steps import DemoError
from mlops_core.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from local.serving import LocalEndpoint
    from mlops_stacks.handlers.rollout.serving import ServingSpec


def serving_spec(settings: Settings, registration: Registration) -> ServingSpec:
    """How the deployment pipeline serves a version here: the settings' capacity, the execution role on moto."""
    from mlops_stacks.handlers.rollout.serving import ServingSpec

    return ServingSpec.from_settings(settings, registration.role_arn)


def deploy_endpoint(aws: AwsEmulator, settings: Settings, registration: Registration, workdir: Path) -> Path:
    """The deployment pipeline's first run on moto: plan (create), the version's model and config, the endpoint.

    The rollout core is the deployment Lambda's (`rollout.plan_rollout`, `create_model_and_config`);
    the endpoint stack holds no model, config or endpoint. The drift step then finds the baseline
    from the endpoint, as the drift Lambda does.
    """
    from mlops_stacks.handlers.rollout import CREATE, create_model_and_config, plan_rollout

    sagemaker = aws.client("sagemaker")
    spec = serving_spec(settings, registration)
    plan = plan_rollout(sagemaker, registration.group, spec)
    if plan.action != CREATE:
        raise DemoError(f"the first rollout should create endpoint {spec.endpoint}, but the plan is: {plan.reason}")
    config = create_model_and_config(sagemaker, spec, plan.target_arn, plan.target_version)
    sagemaker.create_endpoint(EndpointName=spec.endpoint, EndpointConfigName=config)
    return fetch_artifact(aws, plan.target_arn, workdir / "endpoint" / "model.tar.gz")


def fetch_artifact(aws: AwsEmulator, package_arn: str, target: Path) -> Path:
    """Download the model package's artifact, as the serving container does when it starts."""
    from mlops_core.aws import split_s3_uri

    package = aws.client("sagemaker").describe_model_package(ModelPackageName=package_arn)
    container = package["InferenceSpecification"]["Containers"][0]
    target.parent.mkdir(parents=True, exist_ok=True)
    aws.client("s3").download_file(*split_s3_uri(container["ModelDataUrl"]), str(target))
    return target


def runtime_client(endpoint_url: str) -> Any:
    """The unmodified boto3 `sagemaker-runtime` client pointed at the local endpoint (no retries).

    One attempt in total: botocore's `max_attempts` counts retries, so 1 would send a timed-out
    request twice and capture it twice.
    """
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint_url,
        region_name=DEMO_REGION,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
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
    aws: AwsEmulator,
    settings: Settings,
    registration: Registration,
    result: DemoResult,
    console: Console,
    endpoints: contextlib.ExitStack,
) -> LocalEndpoint:
    """Deploy on moto, serve the approved artifact locally and send the three phases of traffic.

    The endpoint keeps serving after this step (`endpoints` stops it): the retrain phase updates it
    blue/green, and version 1 serves until version 2 has started.
    """
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
    endpoint, setup_time_us = start_endpoint(
        endpoints, model_tar, settings, environment, result, workdir / "logs" / "endpoint.log"
    )
    # What a serverless cold start reports as ModelSetupTime: until the model answers /ping.
    result.setup_time_us = setup_time_us
    result.endpoint_url = endpoint.url
    send_traffic(endpoint, runtime_client(endpoint.url), settings.endpoint_name, plans, result, console)
    return endpoint


def start_endpoint(
    endpoints: contextlib.ExitStack,
    model_tar: Path,
    settings: Settings,
    environment: Mapping[str, str],
    result: DemoResult,
    log_path: Path,
) -> tuple[LocalEndpoint, float]:
    """Start a local endpoint on the package's own environment (sourcedir from disk); stopped by `endpoints`.

    Returns it and the microseconds until it answered /ping.
    """
    from local.serving import LocalEndpoint

    log = endpoints.enter_context(log_path.open("w", encoding="utf-8"))
    log_lock = threading.Lock()

    def log_line(line: str) -> None:
        with log_lock:
            log.write(line + "\n")

    endpoint = LocalEndpoint(
        model_tar,
        capture_dir=result.workdir,
        endpoint_name=settings.endpoint_name,
        environment=environment,
        submit_dir=result.trained.sourcedir if result.trained is not None else None,
        log=log_line,
    )
    started = time.perf_counter()
    # start() stops the child itself when Ctrl-C arrives while it waits for /ping.
    endpoints.enter_context(endpoint)
    return endpoint, (time.perf_counter() - started) * 1e6


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
