"""The training run's pure logic: CloudFormation flags, reading model.tar.gz, registry text, the quality gate."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import unicodedata

import pytest
from botocore.exceptions import ClientError

from mlops_core.aws import is_not_found
from mlops_core.quality_gate import APPROVED, REJECTED, quality_gate, validation_auc
from mlops_stacks.handlers.training_run.artifacts import MAX_REGISTRY_FILE_BYTES, RegistryFiles, registry_files_from_tar
from mlops_stacks.handlers.training_run.errors import PropertyError, TrainingRunError, truncate_utf8
from mlops_stacks.handlers.training_run.properties import flag_property
from mlops_stacks.handlers.training_run.versions import (
    VersionRequest,
    description_text,
    metadata_value,
    model_package_request,
    registration_key,
)

JOB = "churn-3f2a9c1d4e5b"
ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "MLOPS_CAPTURE_PERCENT": "100", "MLOPS_MODEL_ID": JOB}


def distribution(name: str, edges: list[float], shares: list[float], bounds: list[float]) -> dict[str, object]:
    """One binned distribution of baseline.json (docs/contracts.md)."""
    return {
        "name": name,
        "edges": edges,
        "shares": shares,
        "mean": 0.4,
        "std": 0.2,
        "min": 0.0,
        "max": 1.0,
        "range": bounds,
    }


BASELINE = {
    "version": 1,
    "n_rows": 16000,
    "features": [distribution("tenure_months", [3.0, 12.0, 30.0], [0.2, 0.3, 0.3, 0.2], [0.0, 72.0])],
    "score": distribution("prediction_score", [0.2, 0.5], [0.5, 0.3, 0.2], [0.0, 1.0]),
}
BASELINE_BYTES = json.dumps(BASELINE).encode()


# --- CloudFormation flags --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "retain"), [("true", True), ("True", True), ("false", False), ("FALSE", False), ("", False), (None, False)]
)
def test_retain_versions_reads_cloudformations_boolean_strings(text: str | None, retain: bool) -> None:
    assert flag_property({"RetainVersions": text}, "RetainVersions", default=False) is retain


def test_a_flag_that_is_neither_true_nor_false_is_named_in_the_error() -> None:
    with pytest.raises(PropertyError, match="`RetainVersions` must be 'true' or 'false', got 'yes'"):
        flag_property({"RetainVersions": "yes"}, "RetainVersions", default=False)


# --- model.tar.gz ----------------------------------------------------------------------------------


class ReadOnlyStream:
    """Only `read`, like an HTTP body: proves the archive is read front to back, never sought."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._buffer.read(size)


def tar_bytes(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["w:gz", "w"])
def test_registry_files_are_streamed_out_of_the_archive_whatever_its_compression(mode: str) -> None:
    data = tar_bytes(
        {
            "./model.ubj": b"\x7b" * 200_000,
            "./evaluation.json": b'{"validation": {"auc": 0.9}}',
            "./baseline.json": BASELINE_BYTES,
        },
        mode,
    )

    files = registry_files_from_tar(ReadOnlyStream(data), "s3://b/model.tar.gz")

    assert files.evaluation_json() == {"validation": {"auc": 0.9}}
    assert files.baseline == BASELINE_BYTES
    baseline = files.baseline_json()
    assert (baseline.n_rows, baseline.feature_names, baseline.score.name) == (
        16000,
        ["tenure_months"],
        "prediction_score",
    )


def _with_feature(**changes: object) -> dict[str, object]:
    """The valid baseline with its one feature changed."""
    feature = distribution("tenure_months", [3.0, 12.0, 30.0], [0.2, 0.3, 0.3, 0.2], [0.0, 72.0])
    return {**BASELINE, "features": [{**feature, **changes}]}


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({}, "baseline `version` must be 1, got None"),
        ({**BASELINE, "score": None}, "baseline score must be an object"),
        ({**BASELINE, "features": []}, "baseline `features` must be a non-empty list"),
        (_with_feature(shares=[0.2, 0.3, 0.3, 0.3]), r"features\[0\] \(tenure_months\): `shares` must be non-negative"),
        (
            _with_feature(edges=[3.0, 30.0, 12.0]),
            r"features\[0\] \(tenure_months\): `edges` must be strictly ascending",
        ),
        (_with_feature(std=None), r"features\[0\] \(tenure_months\): `std` must be a finite number"),
    ],
)
def test_a_baseline_the_drift_job_could_not_use_fails_naming_the_field_and_the_archive(
    document: dict[str, object], named: str
) -> None:
    data = tar_bytes(
        {"evaluation.json": b'{"validation": {"auc": 0.9}}', "baseline.json": json.dumps(document).encode()}
    )
    files = registry_files_from_tar(ReadOnlyStream(data), "s3://b/models/job/output/model.tar.gz")

    with pytest.raises(TrainingRunError, match=named) as failure:
        files.baseline_json()

    assert "(in baseline.json of s3://b/models/job/output/model.tar.gz)" in str(failure.value)
    assert "docs/contracts.md" in str(failure.value)


def test_a_baseline_that_is_not_json_is_reported_with_its_name() -> None:
    files = RegistryFiles(evaluation=b"{}", baseline=b"{version: 1", source="s3://b/m.tar.gz")

    with pytest.raises(TrainingRunError, match=r"baseline baseline\.json of s3://b/m\.tar\.gz is not valid JSON"):
        files.baseline_json()


def test_an_archive_without_the_baseline_names_what_is_missing() -> None:
    data = tar_bytes({"model.ubj": b"0", "evaluation.json": b"{}"})

    with pytest.raises(TrainingRunError, match=r"s3://b/m.tar.gz has no baseline.json at its root"):
        registry_files_from_tar(ReadOnlyStream(data), "s3://b/m.tar.gz")


def test_an_implausibly_large_evaluation_is_refused_before_it_is_read() -> None:
    data = tar_bytes({"evaluation.json": b" " * (MAX_REGISTRY_FILE_BYTES + 1), "baseline.json": b"{}"})

    with pytest.raises(TrainingRunError, match="is not a plausible evaluation or baseline"):
        registry_files_from_tar(ReadOnlyStream(data), "s3://b/m.tar.gz")


def test_something_that_is_not_an_archive_is_reported_as_such() -> None:
    with pytest.raises(TrainingRunError, match=r"is not a readable tar\.gz archive"):
        registry_files_from_tar(ReadOnlyStream(gzip.compress(b"not a tar file" * 100)), "s3://b/m.tar.gz")


def test_an_evaluation_that_is_not_json_is_reported_with_its_name() -> None:
    files = RegistryFiles(evaluation=b"{auc: 0.9", baseline=b"{}")

    with pytest.raises(TrainingRunError, match=r"evaluation\.json in model\.tar\.gz is not valid JSON"):
        files.evaluation_json()


# --- registry --------------------------------------------------------------------------------------


def test_the_registration_key_identifies_job_environment_and_gate() -> None:
    key = registration_key(JOB, ENVIRONMENT, 0.75)

    assert key == registration_key(JOB, dict(reversed(ENVIRONMENT.items())), 0.75)
    assert len(key) == 64
    assert key != registration_key("churn-77aa00bb11cc", ENVIRONMENT, 0.75)
    assert key != registration_key(JOB, ENVIRONMENT | {"MLOPS_CAPTURE_PERCENT": "10"}, 0.75)
    assert key != registration_key(JOB, ENVIRONMENT, 0.8)


def _in_metadata_alphabet(value: str) -> bool:
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in value)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("validation AUC 0.9120 >= 0.7500", "validation AUC 0.9120 at least 0.7500"),
        ("validation AUC 0.7100 < 0.7500 (quality gate)", "validation AUC 0.7100 below 0.7500 quality gate"),
        ("evaluation.json has no numeric validation.auc", "evaluation.json has no numeric validation.auc"),
        ("tabs\tand; semicolons, commas & quotes'", "tabs and semicolons commas quotes"),
    ],
)
def test_a_gate_reason_is_rewritten_into_the_metadata_alphabet(reason: str, expected: str) -> None:
    value = metadata_value(reason)

    assert value == expected
    assert _in_metadata_alphabet(value)


def test_metadata_values_stay_within_256_characters() -> None:
    assert len(metadata_value("a" * 400)) == 256


@pytest.mark.parametrize("text", ["a" * 3000, "ü" * 3000, "列" * 3000, "😀" * 3000, "a" + "😀" * 3000])
def test_utf8_truncation_never_exceeds_the_byte_limit_nor_splits_a_character(text: str) -> None:
    cut = truncate_utf8(text, 1500)

    assert len(cut.encode()) <= 1500
    assert len(cut.encode()) > 1490
    assert cut.endswith("…")
    assert text.startswith(cut[:-1])


def test_utf8_truncation_leaves_short_text_alone() -> None:
    assert truncate_utf8("training job failed", 1500) == "training job failed"


def test_a_description_is_one_line_within_1024_characters() -> None:
    text = description_text("line one\nline two\t" + "z" * 2000)

    assert text.startswith("line one line two z")
    assert len(text) == 1024
    assert not any(unicodedata.category(c)[0] == "C" for c in text)


def test_the_model_package_request_carries_digests_of_the_files_it_points_to() -> None:
    evaluation = b'{"validation": {"auc": 0.8123}}'
    files = RegistryFiles(evaluation=evaluation, baseline=BASELINE_BYTES)
    decision = quality_gate(json.loads(evaluation), 0.75)
    version = VersionRequest(
        group="churn-models",
        job_name=JOB,
        image="141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.0-5",
        model_data_url=f"s3://bucket/models/{JOB}/output/model.tar.gz",
        serving_environment=ENVIRONMENT,
        min_validation_auc=0.75,
        evaluation_uri=f"s3://bucket/registry/{JOB}/evaluation.json",
        baseline_uri=f"s3://bucket/registry/{JOB}/baseline.json",
        decision=decision,
        status=decision.status,
        training_run="0a1b2c3d",
    )

    request = model_package_request(version, files, key="k")

    statistics = request["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentDigest"] == "sha256:" + hashlib.sha256(evaluation).hexdigest()
    baseline = request["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]
    assert baseline["ContentDigest"] == "sha256:" + hashlib.sha256(BASELINE_BYTES).hexdigest()
    assert request["ModelApprovalStatus"] == "Approved"
    assert request["CustomerMetadataProperties"]["validation_auc"] == "0.8123"
    assert request["ModelPackageDescription"] == f"Training job {JOB}: validation AUC 0.8123 >= 0.7500"
    assert request["CustomerMetadataProperties"]["training_run"] == "0a1b2c3d"


# --- quality gate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "evaluation",
    [
        {"validation": {"auc": True}},
        {"validation": {"auc": "0.9"}},
        {"validation": {"auc": None}},
        {"validation": 0.9},
        {"validation": ["auc", 0.9]},
        {"validation": None},
        {},
    ],
)
def test_an_evaluation_without_a_numeric_auc_is_rejected_not_crashed_on(evaluation: dict[str, object]) -> None:
    decision = quality_gate(evaluation, 0.5)

    assert (decision.status, decision.reason) == (REJECTED, "evaluation.json has no numeric validation.auc")
    assert validation_auc(evaluation) is None


@pytest.mark.parametrize(("auc", "status"), [(1, APPROVED), (0.75, APPROVED), (0.7499, REJECTED), (0, REJECTED)])
def test_the_gate_compares_any_numeric_auc_with_the_threshold(auc: float, status: str) -> None:
    evaluation = {"validation": {"auc": auc}}

    assert quality_gate(evaluation, 0.75).status == status
    assert validation_auc(evaluation) == float(auc)


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


@pytest.mark.parametrize(
    ("code", "message", "missing"),
    [
        ("ResourceNotFound", "Training job x does not exist.", True),
        ("ValidationException", "Requested resource not found.", True),
        ("ValidationException", "Could not find training job 'arn:…'.", True),
        ("ValidationException", "Model package arn:… does not exist.", True),
        ("404", "Not Found", True),
        ("ResourceNotFoundException", "The specified log group does not exist.", True),
        (
            "ValidationException",
            "The request was rejected because the training job is in status Stopped.",
            False,
        ),
        ("ThrottlingException", "Rate exceeded", False),
        ("AccessDeniedException", "not authorized to perform sagemaker:DescribeTrainingJob", False),
    ],
)
def test_not_found_is_told_apart_from_other_errors(code: str, message: str, missing: bool) -> None:
    assert is_not_found(_client_error(code, message)) is missing
