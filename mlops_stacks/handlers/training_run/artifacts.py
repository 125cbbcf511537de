"""The model artifact of a finished job: is it there, and the two files the registry needs out of it."""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from mlops_core.aws import is_not_found, split_s3_uri
from mlops_stacks.handlers.training_run.errors import TrainingRunError
from mlops_stacks.handlers.training_run.properties import EVALUATION_FILE
from monitoring.baseline import BASELINE_FILE, Baseline, BaselineError, baseline_from_bytes

# Both are a few kB; the cap protects the Lambda's memory from a malformed artifact.
MAX_REGISTRY_FILE_BYTES = 8 * 1024 * 1024


def _bucket_and_key(uri: str) -> tuple[str, str]:
    try:
        return split_s3_uri(uri)
    except ValueError as err:
        raise TrainingRunError(str(err)) from None


def artifact_exists(s3: Any, uri: str) -> bool:
    """Tell whether the model artifact is in S3 (HeadObject)."""
    bucket, key = _bucket_and_key(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if is_not_found(err):
            return False
        code = err.response.get("Error", {}).get("Code")
        if code in {"403", "AccessDenied"}:
            raise TrainingRunError(
                f"cannot read {uri}: access denied (the handler needs s3:GetObject on the object and "
                "s3:ListBucket on the bucket)"
            ) from err
        raise
    return True


@dataclass(frozen=True)
class RegistryFiles:
    """evaluation.json and baseline.json as found in model.tar.gz, byte for byte; `source` names the archive."""

    evaluation: bytes
    baseline: bytes
    source: str = "model.tar.gz"

    def evaluation_json(self) -> dict[str, Any]:
        """Parse evaluation.json (docs/contracts.md)."""
        return _parse_object(self.evaluation, EVALUATION_FILE)

    def baseline_json(self) -> Baseline:
        """Parse baseline.json and check it against docs/contracts.md, as the drift job will read it.

        Registering a baseline the drift job cannot use would fail hours later, far from the cause;
        here it fails the deploy with the feature and field that are wrong.
        """
        try:
            return baseline_from_bytes(self.baseline, f"{BASELINE_FILE} of {self.source}")
        except BaselineError as err:
            raise TrainingRunError(
                f"{err}; train.py must write the drift baseline as docs/contracts.md describes"
            ) from None


def _parse_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TrainingRunError(f"{name} in model.tar.gz is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise TrainingRunError(f"{name} in model.tar.gz must hold a JSON object, got {type(value).__name__}")
    return value


def registry_files_from_tar(stream: Any, source: str) -> RegistryFiles:
    """Stream a model.tar.gz once and keep only the two registry files (the model is never buffered)."""
    wanted = {EVALUATION_FILE, BASELINE_FILE}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                if name not in wanted or not member.isfile():
                    continue
                if member.size > MAX_REGISTRY_FILE_BYTES:
                    raise TrainingRunError(
                        f"{name} in {source} is {member.size} bytes; more than "
                        f"{MAX_REGISTRY_FILE_BYTES} is not a plausible evaluation or baseline"
                    )
                content = archive.extractfile(member)
                found[name] = content.read() if content else b""
                if len(found) == len(wanted):
                    break
    except (tarfile.TarError, EOFError, OSError) as err:
        raise TrainingRunError(f"{source} is not a readable tar.gz archive: {err}") from None
    missing = sorted(wanted - set(found))
    if missing:
        raise TrainingRunError(
            f"{source} has no {' or '.join(missing)} at its root; train.py must write them to the model "
            "directory (docs/contracts.md, Training)"
        )
    return RegistryFiles(evaluation=found[EVALUATION_FILE], baseline=found[BASELINE_FILE], source=source)


def read_registry_files(s3: Any, model_data_url: str) -> RegistryFiles:
    """evaluation.json and baseline.json out of the model artifact in S3."""
    bucket, key = _bucket_and_key(model_data_url)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        return registry_files_from_tar(body, model_data_url)
    finally:
        body.close()


def publish_registry_files(s3: Any, evaluation_uri: str, baseline_uri: str, files: RegistryFiles) -> None:
    """Copy both files next to the registry, where the model package's metrics point."""
    for uri, data in ((evaluation_uri, files.evaluation), (baseline_uri, files.baseline)):
        bucket, key = _bucket_and_key(uri)
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")
