"""SageMaker script-mode training entry point for the XGBoost framework container (Python 3.10).

Reads the `train` and `validation` channels (CSV with a header row; `schema.json` rides in the
train channel), trains a binary classifier with early stopping on the validation AUC and writes
into SM_MODEL_DIR exactly the four files of docs/contracts.md: `model.ubj`, `schema.json`,
`baseline.json` (drift baseline on the training data) and `evaluation.json`. It prints one line
per validation metric (`validation:auc=0.912345;`) for the job's MetricDefinitions
(model_code/metric_definitions.py). Bad data writes a one-line reason to the failure file, which
SageMaker reports as the job's FailureReason, and exits non-zero.

Only numpy, xgboost and the standard library: `model_code/` ships alone into the container.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

try:  # the project's tests and tools import this file as `model_code.train`
    from model_code.csv_table import TableError, binary_labels, check_column_names, column_indexes, read_table
    from model_code.failure_reason import one_line, reason_line
    from model_code.number_syntax import is_finite_number, parse_number, parse_whole_number
except ImportError:  # the container pip-installs the sourcedir's files as top-level modules
    from csv_table import TableError, binary_labels, check_column_names, column_indexes, read_table  # type: ignore[no-redef]
    from failure_reason import one_line, reason_line  # type: ignore[no-redef]
    from number_syntax import is_finite_number, parse_number, parse_whole_number  # type: ignore[no-redef]

BASELINE_BINS = 20
LABEL_THRESHOLD = 0.5
MIN_TRAIN_ROWS = 20
SCORE_NAME = "prediction_score"
PROGRESS_EVERY = 25  # rounds between xgboost's own progress lines in the log
MAX_DEPTH = 63  # far beyond any useful tree, and within what xgboost accepts
MAX_INT32 = 2**31 - 1  # xgboost reads these parameters as C ints


class DataError(Exception):
    """The input cannot be trained on; the message is the job's one-line failure reason."""


class _ArgumentParser(argparse.ArgumentParser):
    """Reports a bad hyperparameter as a DataError instead of exiting, so it reaches the failure file."""

    def error(self, message: str) -> Any:  # argparse's signature promises NoReturn
        raise DataError(f"bad hyperparameter: {message}")


def _number(text: str) -> float:
    try:
        return parse_number(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _whole_number(text: str) -> int:
    try:
        return parse_whole_number(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_hyperparameters(argv: Sequence[str]) -> argparse.Namespace:
    """Hyperparameters as the container passes them: `--name value` pairs, values already JSON-decoded.

    Numbers follow model_code/number_syntax.py, as the data does: `1_0` is no eta of 10.
    """
    parser = _ArgumentParser(prog="train.py", add_help=False)
    parser.add_argument("--max_depth", type=_whole_number, default=4)
    parser.add_argument("--eta", type=_number, default=0.1)
    parser.add_argument("--num_round", type=_whole_number, default=300)
    parser.add_argument("--early_stopping_rounds", type=_whole_number, default=20)
    parser.add_argument("--subsample", type=_number, default=0.9)
    parser.add_argument("--colsample_bytree", type=_number, default=0.9)
    parser.add_argument("--min_child_weight", type=_number, default=1.0)
    parser.add_argument("--gamma", type=_number, default=0.0)
    parser.add_argument("--lambda", dest="reg_lambda", type=_number, default=1.0)
    parser.add_argument("--alpha", dest="reg_alpha", type=_number, default=0.0)
    parser.add_argument("--max_bin", type=_whole_number, default=256)
    parser.add_argument("--scale_pos_weight", type=_number, default=1.0)
    parser.add_argument("--seed", type=_whole_number, default=0)
    args = parser.parse_args(list(argv))
    checks = [
        (1 <= args.max_depth <= MAX_DEPTH, f"max_depth must be from 1 to {MAX_DEPTH}"),
        (0.0 < args.eta <= 1.0, "eta must be in (0, 1]"),
        (args.num_round >= 1, "num_round must be >= 1"),
        (args.early_stopping_rounds >= 0, "early_stopping_rounds must be >= 0 (0 turns it off)"),
        (0.0 < args.subsample <= 1.0, "subsample must be in (0, 1]"),
        (0.0 < args.colsample_bytree <= 1.0, "colsample_bytree must be in (0, 1]"),
        (args.min_child_weight >= 0.0, "min_child_weight must be >= 0"),
        (args.gamma >= 0.0, "gamma must be >= 0"),
        (args.reg_lambda >= 0.0, "lambda must be >= 0"),
        (args.reg_alpha >= 0.0, "alpha must be >= 0"),
        (2 <= args.max_bin <= MAX_INT32, f"max_bin must be from 2 to {MAX_INT32}"),
        (args.num_round <= MAX_INT32, f"num_round must be at most {MAX_INT32}"),
        (args.scale_pos_weight > 0.0, "scale_pos_weight must be > 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise DataError(f"bad hyperparameter: {message}")
    return args


def hyperparameter_record(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed hyperparameters under the names they are passed as (`lambda`, not `reg_lambda`)."""
    renamed = {"reg_lambda": "lambda", "reg_alpha": "alpha"}
    return {renamed.get(key, key): value for key, value in sorted(vars(args).items())}


@dataclass(frozen=True)
class JobPaths:
    """Where the container puts the channels, and where the job must write its results."""

    train: Path
    validation: Path
    model_dir: Path
    output_data_dir: Path
    failure_file: Path

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> JobPaths:
        """Paths from the SM_* variables, with the container's /opt/ml defaults."""
        output_data = Path(env.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"))
        output_dir = Path(env["SM_OUTPUT_DIR"]) if env.get("SM_OUTPUT_DIR") else output_data.parent
        return cls(
            train=Path(env.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")),
            validation=Path(env.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")),
            model_dir=Path(env.get("SM_MODEL_DIR", "/opt/ml/model")),
            output_data_dir=output_data,
            failure_file=output_dir / "failure",
        )


@dataclass(frozen=True)
class Schema:
    """The parts of schema.json that training needs."""

    label: str
    features: list[str]
    ranges: list[tuple[float, float]]
    raw: dict[str, Any]


def read_schema(train_dir: Path) -> Schema:
    """schema.json from the train channel, held to the rules `dataset.Schema.from_json` checks at synth."""
    path = train_dir / "schema.json"
    if not path.is_file():
        raise DataError(f"schema.json not found in the train channel ({train_dir})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise DataError(f"schema.json is malformed: not UTF-8 JSON ({exc})") from None
    label = raw.get("label") if isinstance(raw, dict) else None
    items = raw.get("features") if isinstance(raw, dict) else None
    if not isinstance(label, str) or not label or not isinstance(items, list) or not items:
        raise DataError("schema.json is malformed: it needs a `label` string and a non-empty `features` list")
    features, ranges = [], []
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        low, high = (item.get("min"), item.get("max")) if isinstance(item, dict) else (None, None)
        if not isinstance(name, str) or not is_finite_number(low) or not is_finite_number(high) or low > high:
            raise DataError(
                f"schema.json is malformed: features[{index}] needs a `name` and finite numbers `min` <= `max`"
            )
        features.append(name)
        ranges.append((float(low), float(high)))
    try:
        check_column_names([*features, label], "schema.json")
    except TableError as exc:
        raise DataError(str(exc)) from None
    return Schema(label=label, features=features, ranges=ranges, raw=raw)


def read_channel(directory: Path, channel: str, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """Every *.csv in a channel, concatenated: features in schema order and 0/1 labels."""
    files = sorted(directory.rglob("*.csv")) if directory.is_dir() else []
    if not files:
        raise DataError(f"channel '{channel}' holds no .csv file ({directory})")
    parts = [read_csv_file(path, schema) for path in files]
    features = np.concatenate([x for x, _ in parts])
    labels = np.concatenate([y for _, y in parts])
    if labels.size == 0:
        raise DataError(f"channel '{channel}' has no data rows ({', '.join(p.name for p in files)})")
    return features, labels


def read_csv_file(path: Path, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """One CSV of a channel (model_code/csv_table.py): features in schema order and 0/1 labels."""
    try:
        table = read_table(path, path.name)
        features = column_indexes(table, [*schema.features, schema.label], path.name)[:-1]
        labels = binary_labels(table, schema.label, path.name)
    except TableError as exc:
        raise DataError(str(exc)) from None
    return table.values[:, features], labels


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve via the rank-sum (Mann-Whitney U) statistic, ties averaged."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise DataError("validation labels hold only one class; AUC is undefined")
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    starts = np.concatenate(([0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1))
    ends = np.concatenate((starts[1:], [ordered.size]))
    ranks = np.empty(ordered.size)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)  # 1-based average rank of each tie group
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def classification_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUC, accuracy, log loss and F1 (at LABEL_THRESHOLD) of scores against 0/1 labels."""
    labels = np.asarray(labels).astype(np.int8)
    clipped = np.clip(np.asarray(scores, dtype=np.float64), 1e-15, 1.0 - 1e-15)
    predicted = (scores >= LABEL_THRESHOLD).astype(np.int8)
    true_pos = int(((predicted == 1) & (labels == 1)).sum())
    false_pos = int(((predicted == 1) & (labels == 0)).sum())
    false_neg = int(((predicted == 0) & (labels == 1)).sum())
    denominator = 2 * true_pos + false_pos + false_neg
    return {
        "auc": roc_auc(labels, scores),
        "accuracy": float((predicted == labels).mean()),
        "log_loss": float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1.0 - clipped))),
        "f1": float(2 * true_pos / denominator) if denominator else 0.0,
    }


def distribution_baseline(name: str, values: np.ndarray, value_range: tuple[float, float]) -> dict[str, Any]:
    """Quantile bin edges (about BASELINE_BINS bins), bin shares and moments of the present values.

    Bin 0 is v <= e1, bin j is e_j < v <= e_{j+1}, the last bin v > eK (docs/contracts.md).
    Edges at or above the maximum are dropped: they would only make an always-empty last bin.
    """
    present = values[~np.isnan(values)]
    if present.size == 0:
        raise DataError(f"feature '{name}' has no values in the training data")
    quantiles = np.quantile(present, np.linspace(0.0, 1.0, BASELINE_BINS + 1)[1:-1])
    edges = np.unique(quantiles)
    edges = edges[edges < present.max()]
    if edges.size == 0:
        edges = np.array([present.max()])
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=edges.size + 1)
    return {
        "name": name,
        "edges": edges.tolist(),
        "shares": (counts / present.size).tolist(),
        "mean": float(present.mean()),
        "std": float(present.std()),
        "min": float(present.min()),
        "max": float(present.max()),
        "range": [float(value_range[0]), float(value_range[1])],
    }


def train(args: argparse.Namespace, paths: JobPaths, num_threads: int, model_id: str | None = None) -> dict[str, Any]:
    """Train, evaluate and write the model directory; returns evaluation.json's content.

    `model_id` (the training job's name) goes into baseline.json: the serving container stamps
    the same id on every capture record, so drift can tell whose rows it is looking at.
    """
    schema = read_schema(paths.train)
    x_train, y_train = read_channel(paths.train, "train", schema)
    x_val, y_val = read_channel(paths.validation, "validation", schema)
    if y_train.size < MIN_TRAIN_ROWS:
        raise DataError(f"channel 'train' has {y_train.size} rows, at least {MIN_TRAIN_ROWS} are needed")
    for channel, labels in (("train", y_train), ("validation", y_val)):
        if np.unique(labels).size < 2:
            raise DataError(f"channel '{channel}' has only label {int(labels[0])}; both 0 and 1 are needed")

    params = {
        "objective": "binary:logistic",
        "eval_metric": ["logloss", "auc"],  # the last one drives early stopping
        "tree_method": "hist",
        "max_depth": args.max_depth,
        "eta": args.eta,
        "subsample": args.subsample,
        "colsample_bytree": args.colsample_bytree,
        "min_child_weight": args.min_child_weight,
        "gamma": args.gamma,
        "lambda": args.reg_lambda,
        "alpha": args.reg_alpha,
        "max_bin": args.max_bin,
        "scale_pos_weight": args.scale_pos_weight,
        "seed": args.seed,
        "nthread": num_threads,
    }
    dtrain = xgb.DMatrix(x_train, label=y_train, feature_names=schema.features)
    dval = xgb.DMatrix(x_val, label=y_val, feature_names=schema.features)
    history: dict[str, Any] = {}
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=args.num_round,
        evals=[(dtrain, "train"), (dval, "validation")],
        early_stopping_rounds=args.early_stopping_rounds or None,
        evals_result=history,
        verbose_eval=PROGRESS_EVERY,
    )
    best_iteration = booster.best_iteration if args.early_stopping_rounds else args.num_round - 1
    # Keep only the trees up to the best round, so every consumer of model.ubj predicts with it.
    booster = booster[: best_iteration + 1]

    val_scores = booster.inplace_predict(x_val)
    train_scores = booster.inplace_predict(x_train)
    metrics = classification_metrics(y_val, val_scores)
    evaluation = {
        "validation": metrics,
        "best_iteration": int(best_iteration),
        "n_train": int(y_train.size),
        "n_validation": int(y_val.size),
        "hyperparameters": hyperparameter_record(args),
    }
    baseline = {
        "version": 1,
        **({"model_id": model_id} if model_id else {}),
        "n_rows": int(y_train.size),
        "features": [
            distribution_baseline(name, x_train[:, i], schema.ranges[i]) for i, name in enumerate(schema.features)
        ],
        "score": distribution_baseline(SCORE_NAME, train_scores.astype(np.float64), (0.0, 1.0)),
    }

    paths.model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(paths.model_dir / "model.ubj"))
    _write_json(paths.model_dir / "schema.json", schema.raw)
    _write_json(paths.model_dir / "baseline.json", baseline)
    _write_json(paths.model_dir / "evaluation.json", evaluation)
    paths.output_data_dir.mkdir(parents=True, exist_ok=True)
    _write_json(paths.output_data_dir / "eval_history.json", history)

    for name, key in (("auc", "auc"), ("accuracy", "accuracy"), ("logloss", "log_loss"), ("f1", "f1")):
        print(f"validation:{name}={metrics[key]:.6f};", flush=True)
    print(f"best_iteration={best_iteration}; n_train={y_train.size}; n_validation={y_val.size}", flush=True)
    return evaluation


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _report_failure(path: Path, reason: str) -> None:
    """The reason in the failure file and as the marked log line (model_code/failure_reason.py).

    The failure file is what a plain container reports; the XGBoost image's trainer overwrites it,
    so the marked line is what reaches the user there.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(one_line(reason) + "\n", encoding="utf-8")
    print(reason_line(reason), file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the job; on failure write the reason to the failure file and return 1."""
    env = os.environ if env is None else env
    paths = JobPaths.from_environment(env)
    try:
        args = parse_hyperparameters(sys.argv[1:] if argv is None else argv)
        threads = int(env.get("SM_NUM_CPUS") or os.cpu_count() or 1)
        train(args, paths, threads, model_id=env.get("TRAINING_JOB_NAME"))
    except DataError as exc:
        _report_failure(paths.failure_file, str(exc))
        return 1
    except Exception as exc:  # the job must always leave a reason behind
        traceback.print_exc()
        _report_failure(paths.failure_file, f"{type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
