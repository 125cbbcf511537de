"""The `data`, `train` and `serve` verbs: the data set, local training, the local endpoint."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from mlops_cli.arguments import EXIT_NO, EXIT_OK, fail, whole_number
from mlops_cli.signals import stop_on_sigterm


def register(subparsers: Any) -> None:
    """Add the verbs to the `mlops` parser."""
    # These import only the standard library, so `mlops --help` stays fast.
    from local.runtime_front import DEFAULT_ENDPOINT_NAME
    from mlops_core.settings import MAX_SEED, Settings

    defaults = Settings()
    data = subparsers.add_parser(
        "data",
        help="write the synthetic data set (train.csv, validation.csv, schema.json)",
        description="Writes the synthetic data set into a directory. Exit status: 0 written, 2 bad arguments "
        "or a place that cannot be written (one line on stderr).",
    )
    data.add_argument("--out", required=True, type=Path, help="directory to write into")
    data.add_argument(
        "--rows",
        type=whole_number(1),  # the data set's own limits are checked by `write_dataset`
        default=defaults.synthetic_rows,
        help=f"rows in total, split 80/20 (default {defaults.synthetic_rows})",
    )
    data.add_argument(
        "--seed",
        type=whole_number(0, MAX_SEED),
        default=defaults.data_seed,
        help=f"generator seed, 0 to {MAX_SEED} (default {defaults.data_seed})",
    )
    data.add_argument("--drift", action="store_true", help="shift the drifting features (for drift demos)")
    data.set_defaults(run=run_data)

    train = subparsers.add_parser(
        "train",
        help="run model_code/train.py as SageMaker would; writes model.tar.gz",
        description="Trains on this machine as a SageMaker training job would, writes model.tar.gz and prints the "
        "validation metrics and the quality gate's verdict (`min_validation_auc` of ./cdk.json). Exit status: "
        "0 trained (and, with --gate, approved); 1 the training job failed, or --gate and the model is below the "
        "gate; 2 bad arguments or --data/--out unusable (one line on stderr).",
    )
    train.add_argument("--local", action="store_true", help="train on this machine (the only mode of this verb)")
    train.add_argument("--data", required=True, type=Path, help="directory with train.csv, validation.csv, schema.json")
    train.add_argument("--out", required=True, type=Path, help="directory for model.tar.gz")
    train.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="hyperparameter over the `hyperparameters` setting of ./cdk.json (repeatable)",
    )
    train.add_argument("--gate", action="store_true", help="exit 1 when the model is below the quality gate")
    train.set_defaults(run=run_train)

    serve = subparsers.add_parser("serve", help="serve a model.tar.gz on 127.0.0.1 like a SageMaker endpoint")
    serve.add_argument("--local", action="store_true", help="serve on this machine (the only mode of this verb)")
    serve.add_argument("--model", required=True, type=Path, help="model.tar.gz from `mlops train`")
    serve.add_argument("--port", type=_port, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    serve.add_argument("--capture-dir", type=Path, help="write captured requests here, in the S3 layout")
    serve.add_argument(
        "--endpoint-name", default=DEFAULT_ENDPOINT_NAME, help="name in the runtime route and capture paths"
    )
    serve.add_argument(
        "--log-file", type=Path, help="where the model container's output goes (default: a file in the temp dir)"
    )
    serve.set_defaults(run=run_serve)


def _port(text: str) -> int:
    """A TCP port number for argparse: 0-65535, else one line saying so."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 65535, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535 (0 picks a free one), got {port}")
    return port


def run_data(args: argparse.Namespace) -> int:
    """Write the synthetic data set."""
    from dataset import DRIFTED_FEATURES, DatasetError, write_dataset

    try:
        files = write_dataset(args.out, rows=args.rows, seed=args.seed, drift=args.drift)
    except DatasetError as exc:
        return fail("data", exc)
    print(f"wrote {files.train} ({files.n_train} rows), {files.validation} ({files.n_validation} rows), {files.schema}")
    if args.drift:
        print(f"drifted features: {', '.join(DRIFTED_FEATURES)}")
    return 0


def parse_hyperparameters(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` strings to a dict; a pair without `=` is an error naming it."""
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--hp expects KEY=VALUE, got {pair!r}")
        result[key.strip()] = value.strip()
    return result


def run_train(args: argparse.Namespace) -> int:
    """Train locally, print the job's metrics and the quality gate's verdict."""
    if not args.local:
        return fail("train", "only --local is supported here; the cloud job runs on `make deploy`")
    from local.container_env import ContainerEnvMissing
    from local.training import TrainingFailed, run_training
    from mlops_cli.cloud_verbs import settings_from_cdk_json
    from mlops_core.quality_gate import quality_gate
    from mlops_core.settings import SettingError

    try:
        overrides = parse_hyperparameters(args.hp)
        settings = settings_from_cdk_json(Path.cwd() / "cdk.json")
        _check_training_paths(args.data, args.out)
    except (SettingError, ValueError) as exc:
        return fail("train", exc)
    try:
        result = run_training(args.data, args.out, {**settings.hyperparameters, **overrides}, echo=print)
    except ContainerEnvMissing as exc:
        return fail("train", exc)
    except TrainingFailed as exc:
        print(f"mlops train: {exc}", file=sys.stderr)
        return EXIT_NO
    except OSError as exc:
        return fail("train", f"{exc.filename or args.out}: {exc.strerror or exc}")
    for name, value in sorted(result.metrics.items()):
        print(f"{name} = {value:.4f}")
    print(f"wrote {result.model_tar}")
    decision = quality_gate(result.evaluation, settings.min_validation_auc)
    print(f"quality gate: {decision.status.lower()}: {decision.reason}")
    if args.gate and not decision.approved:
        print(f"mlops train: the model is below the quality gate ({decision.reason})", file=sys.stderr)
        return EXIT_NO
    return EXIT_OK


def _check_training_paths(data: Path, out: Path) -> None:
    """The data set must be where --data says, and --out must be a directory (or not exist yet)."""
    from dataset.schema import SCHEMA_FILE, TRAIN_FILE, VALIDATION_FILE

    if not data.is_dir():
        raise ValueError(f"--data {data} is not a directory; write a data set with `mlops data --out {data}`")
    missing = [name for name in (TRAIN_FILE, VALIDATION_FILE, SCHEMA_FILE) if not (data / name).is_file()]
    if missing:
        raise ValueError(f"--data {data} has no {', '.join(missing)}; write a data set with `mlops data --out DIR`")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")


def run_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM, then stop the server and write the last capture batch."""
    if not args.local:
        print(
            "mlops serve: only --local is supported here; the cloud endpoint comes from `make deploy`", file=sys.stderr
        )
        return 2
    import tempfile
    import threading

    from local.serving import LocalEndpoint, LocalEndpointError

    stop_on_sigterm()
    lock = threading.Lock()
    log_file: TextIO | None = None

    def log(line: str) -> None:
        # The container's own output (pip, gunicorn, a failing handler's traceback), as CloudWatch keeps it.
        with lock:
            if log_file is not None:
                log_file.write(line + "\n")
                log_file.flush()

    try:
        endpoint = LocalEndpoint(
            args.model, port=args.port, capture_dir=args.capture_dir, endpoint_name=args.endpoint_name, log=log
        )
    except LocalEndpointError as exc:  # the constructor checks only the name
        print(f"mlops serve: --endpoint-name: {exc}", file=sys.stderr)
        return 2
    log_path = args.log_file or Path(tempfile.gettempdir()) / f"mlops-serve-{args.endpoint_name}-{os.getpid()}.log"
    try:
        log_file = log_path.open("a", encoding="utf-8")
    except OSError as exc:
        print(f"mlops serve: cannot write the log file {log_path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    # Start inside the try: Ctrl-C or SIGTERM while the server loads is a clean stop, not a traceback.
    started = False
    try:
        endpoint.start()
        started = True
        print(f"serving {args.model} at {endpoint.url}: GET /ping, POST /invocations, ", end="")
        print(f"POST /endpoints/{args.endpoint_name}/invocations; Ctrl-C stops", flush=True)
        print(f"model container log: {log_path}", flush=True)
        code = endpoint.wait()
        print(f"mlops serve: the model server exited with code {code}; its log: {log_path}", file=sys.stderr)
        return 1
    except LocalEndpointError as exc:
        where = f" (the model container's log: {log_path})" if log_file.tell() else ""
        print(f"mlops serve: {exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        endpoint.stop()
        log_file.close()
        if log_path.stat().st_size == 0 and args.log_file is None:
            log_path.unlink()
        if started and args.capture_dir is not None:
            print(f"captured {endpoint.captured_records} records under {args.capture_dir}")
