"""Build asset directories and archives at synth time, deterministically and without Docker.

Each builder writes into a directory named after the content hash of its inputs, so two synths
of the same inputs produce byte-identical assets (and CDK asset hashes) and nothing piles up.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def source_files(root: Path, patterns: Iterable[str] = ("**/*",)) -> list[Path]:
    """Files under `root` matching `patterns`, sorted, without caches and lint config."""
    found: set[Path] = set()
    for pattern in patterns:
        for path in root.glob(pattern):
            rel = path.relative_to(root)
            if path.is_file() and not (_SKIP_DIRS & set(rel.parts)) and path.suffix not in _SKIP_SUFFIXES:
                found.add(path)
    return sorted(found)


def content_hash(root: Path, files: Iterable[Path]) -> str:
    """SHA-256 over relative paths and contents: what a file set *is*, independent of where it lies."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def staging_dir(kind: str, digest: str) -> Path:
    """A scratch directory for one asset, named by its content hash."""
    return Path(tempfile.gettempdir()) / "mlops-staging" / f"{kind}-{digest[:16]}"


# The pure-Python modules of `monitoring/` that the handlers import (no numpy, duckdb or rich).
LAMBDA_MONITORING_MODULES = ("__init__", "metrics", "capture", "baseline", "drift_stats", "drift_query", "drift_report")


def lambda_bundle() -> Path:
    """The directory asset shared by our Lambda handlers: the handlers plus the pure packages they call.

    Handlers import `monitoring` and `mlops_stacks.settings`; neither imports aws_cdk, numpy or
    duckdb at module level, so the bundle needs no layer and no Docker bundling.
    """
    files = source_files(
        PROJECT_ROOT, ("mlops_stacks/__init__.py", "mlops_stacks/settings.py", "mlops_stacks/handlers/*.py")
    )
    files += [PROJECT_ROOT / "monitoring" / f"{name}.py" for name in LAMBDA_MONITORING_MODULES]
    digest = content_hash(PROJECT_ROOT, files)
    out = staging_dir("lambda", digest)
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for path in files:
            target = tmp / path.relative_to(PROJECT_ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        tmp.rename(out)
    return out


def sourcedir_tarball() -> tuple[Path, str]:
    """`model_code/` as SageMaker's `sourcedir.tar.gz` (files at the archive root) and its hash.

    Entries are sorted with zeroed owners and times, and gzip carries no timestamp, so the same
    code always gives the same bytes.
    """
    root = PROJECT_ROOT / "model_code"
    files = [p for p in source_files(root) if p.name != "ruff.toml"]
    digest = content_hash(root, files)
    out = staging_dir("sourcedir", digest) / "sourcedir.tar.gz"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in files:
                info = tarfile.TarInfo(path.relative_to(root).as_posix())
                info.size = path.stat().st_size
                info.mode = 0o644
                info.mtime = 0
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
        tmp = out.with_suffix(".tmp")
        with tmp.open("wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="") as gz:
            gz.write(raw.getvalue())
        tmp.rename(out)
    return out, digest


def training_data(data_path: str | None, label_column: str, rows: int, seed: int) -> tuple[Path, str, list[str]]:
    """The training data as SageMaker channels (`train/` with the schema, `validation/`).

    Synthetic data when `data_path` is unset, else the user's CSV after the same validation.
    Returns the directory, its content hash and the feature names in schema order.
    """
    import json

    import dataset

    with tempfile.TemporaryDirectory() as scratch:
        produced = Path(scratch) / "out"
        if data_path is None:
            dataset.write_dataset(produced, rows=rows, seed=seed)
        else:
            dataset.prepare_user_csv(Path(data_path), label_column=label_column, out_dir=produced, seed=seed)
        layout = {
            "train/train.csv": produced / "train.csv",
            "train/schema.json": produced / "schema.json",
            "validation/validation.csv": produced / "validation.csv",
        }
        digest = hashlib.sha256()
        for rel, path in sorted(layout.items()):
            digest.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        out = staging_dir("data", digest.hexdigest())
        if not out.exists():
            tmp = out.with_suffix(".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            for rel, path in layout.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, tmp / rel)
            tmp.rename(out)
    schema = json.loads((out / "train" / "schema.json").read_text())
    return out, digest.hexdigest(), [feature["name"] for feature in schema["features"]]
