"""Helpers shared by the model-code tests: a small data set, a model trained once per process."""

from __future__ import annotations

import atexit
import functools
import gzip
import io
import shutil
import tarfile
import tempfile
from pathlib import Path

import boto3
import numpy as np
from botocore.config import Config

from dataset import write_dataset
from local.container_env import LOCAL_REGION
from local.training import TrainingResult, run_training

SMALL_ROWS = 3000
SMALL_SEED = 7
# Fewer rounds than the defaults keep a training run near one second; the gate still passes.
FAST_HYPERPARAMETERS = {"max_depth": "4", "eta": "0.2", "num_round": "150", "early_stopping_rounds": "15"}


def scratch_dir(prefix: str) -> Path:
    """A temporary directory removed when the test process exits (for per-process caches)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def small_dataset() -> Path:
    """The synthetic data set used by the model tests (3000 rows), written once per process."""
    directory = scratch_dir("model-tests-data-")
    write_dataset(directory, rows=SMALL_ROWS, seed=SMALL_SEED)
    return directory


@functools.cache
def trained_model() -> TrainingResult:
    """One local training run on the small data set, shared by every model test in the process."""
    return run_training(small_dataset(), scratch_dir("model-tests-model-"), FAST_HYPERPARAMETERS)


@functools.cache
def extracted_model() -> Path:
    """The trained model.tar.gz extracted, as /opt/ml/model would hold it."""
    directory = scratch_dir("model-tests-extracted-")
    with tarfile.open(trained_model().model_tar) as archive:
        archive.extractall(directory, filter="data")
    return directory


def archive_bytes(members: dict[str, bytes]) -> bytes:
    """A model.tar.gz holding `members` at its root, the same bytes every time (gzip without a date)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return gzip.compress(raw.getvalue(), mtime=0)


def validation_features(rows: int | None = None) -> np.ndarray:
    """Feature rows of the small validation split (NaN = missing), in schema order."""
    lines = (small_dataset() / "validation.csv").read_text().splitlines()[1:]
    cells = [[cell or "nan" for cell in line.split(",")[:-1]] for line in lines]
    features = np.array(cells, dtype=np.float64)
    return features if rows is None else features[:rows]


def csv_body(features: np.ndarray) -> str:
    """Rows as a text/csv request body: no header, empty field for a missing value."""
    return "".join(",".join("" if v != v else repr(v) for v in row) + "\n" for row in features.tolist())


def xgboost_scores(features: np.ndarray) -> np.ndarray:
    """What xgboost itself predicts for the rows, through a DMatrix and a freshly loaded booster."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(extracted_model() / "model.ubj"))
    return booster.predict(xgb.DMatrix(features, missing=np.nan), validate_features=False)


def runtime_client(endpoint_url: str) -> object:
    """The unmodified boto3 sagemaker-runtime client pointed at a local endpoint (dummy credentials).

    One attempt per request (botocore's `max_attempts` counts retries): a retry would send a
    request twice, capture it twice and hide what the server answered.
    """
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}),
    )


def post(port: int, path: str, body: bytes | str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """One HTTP POST to 127.0.0.1:port; (status, headers with lower-case names, body)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def read_capture(capture_dir: Path, endpoint: str) -> list[dict]:
    """Every capture record written under `capture_dir` for `endpoint`."""
    import json

    files = sorted(capture_dir.glob(f"capture/{endpoint}/*/*/*/*/*.jsonl"))
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]
