"""Build asset directories at synth time, deterministically and without Docker.

Each builder publishes into a directory named after the content hash of its inputs, so two synths
of the same inputs produce byte-identical assets (and CDK asset hashes) and nothing piles up.
A directory is built under a private temporary name and renamed into place, so synths running in
parallel never see each other's half-built copies.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from mlops_core.import_graph import PROJECT_ROOT, import_closure, module_file, package_modules

_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}
SOURCEDIR_ARCHIVE = "sourcedir.tar.gz"


def source_files(root: Path, patterns: Iterable[str] = ("**/*",)) -> list[Path]:
    """Files under `root` matching `patterns`, sorted, without caches."""
    found: set[Path] = set()
    for pattern in patterns:
        for path in root.glob(pattern):
            rel = path.relative_to(root)
            if path.is_file() and not (_SKIP_DIRS & set(rel.parts)) and path.suffix not in _SKIP_SUFFIXES:
                found.add(path)
    return sorted(found)


def content_hash(files: Mapping[str, Path]) -> str:
    """SHA-256 over relative paths and contents: what a file set *is*, independent of where it lies."""
    digest = hashlib.sha256()
    for rel, path in sorted(files.items()):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _published(kind: str, digest: str, build: Callable[[Path], None]) -> Path:
    """The staging directory for one content hash, built by `build` once, atomically."""
    out = Path(tempfile.gettempdir()) / f"mlops-staging-{os.getuid()}" / f"{kind}-{digest[:16]}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        build(scratch)
        scratch.rename(out)
    except OSError:
        if not out.exists():  # not a parallel synth that published the same content first
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out


def _copy_files(files: Mapping[str, Path]) -> Callable[[Path], None]:
    def build(target: Path) -> None:
        for rel, path in files.items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / rel)

    return build


def lambda_bundle(entry_package: str) -> Path:
    """The directory asset shared by our Lambda handlers: every module that importing `entry_package` runs.

    The bundle follows the imports (`mlops_core.import_graph`), so a module a handler starts to
    import is bundled with it. None of them imports aws_cdk, numpy or duckdb (tests/test_layers.py),
    so the bundle needs no layer and no Docker bundling. Python modules only: no data files.
    """
    modules = import_closure(package_modules(entry_package, PROJECT_ROOT), PROJECT_ROOT)
    paths = [module_file(module, PROJECT_ROOT) for module in modules]
    files = {path.relative_to(PROJECT_ROOT).as_posix(): path for path in paths if path is not None}
    return _published("lambda", content_hash(files), _copy_files(files))


def sourcedir() -> tuple[Path, str]:
    """A directory holding `model_code/` as SageMaker's `sourcedir.tar.gz`, and the code's hash.

    Files sit at the archive root; entries are sorted with zeroed owners and times, and gzip
    carries no timestamp, so the same code always gives the same bytes.
    """
    root = PROJECT_ROOT / "model_code"
    files = {p.relative_to(root).as_posix(): p for p in source_files(root) if p.name != "ruff.toml"}
    digest = content_hash(files)

    def build(target: Path) -> None:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for rel, path in sorted(files.items()):
                info = tarfile.TarInfo(rel)
                info.size = path.stat().st_size
                info.mode = 0o644
                info.mtime = 0
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
        archive = (target / SOURCEDIR_ARCHIVE).open("wb")
        with archive, gzip.GzipFile(fileobj=archive, mode="wb", mtime=0, filename="") as gz:
            gz.write(raw.getvalue())

    return _published("sourcedir", digest, build), digest


def training_data(write_files: Callable[[Path], None]) -> tuple[Path, str, list[str]]:
    """The training data as SageMaker channels (`train/` with the schema, `validation/`).

    `write_files` writes `train.csv`, `validation.csv` and `schema.json` into the directory it is
    given (the `dataset` package does, for synthetic data or the user's CSV). Returns the
    directory, its content hash and the feature names in schema order.
    """
    with tempfile.TemporaryDirectory() as scratch:
        produced = Path(scratch) / "out"
        write_files(produced)
        files = {
            "train/train.csv": produced / "train.csv",
            "train/schema.json": produced / "schema.json",
            "validation/validation.csv": produced / "validation.csv",
        }
        digest = content_hash(files)
        out = _published("data", digest, _copy_files(files))
    schema = json.loads((out / "train" / "schema.json").read_text())
    return out, digest, [feature["name"] for feature in schema["features"]]
