"""The drift baseline (`baseline.json`, docs/contracts.md): load it and check it before use.

The training run writes it; the drift job and `mlops drift` read it. A bad baseline fails here
with a message naming the feature and the field, not later as a wrong statistic. Pure stdlib.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tarfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from model_code.number_syntax import is_finite_number, is_json_integer

BASELINE_VERSION = 1
BASELINE_FILE = "baseline.json"
# Shares are stored rounded by some writers; a sum this close to 1 is still a distribution.
SHARE_SUM_TOLERANCE = 1e-6
# A baseline is a few hundred numbers per feature; a file this large is something else.
MAX_BASELINE_BYTES = 64 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class BaselineError(ValueError):
    """The baseline is unusable; the message names the feature and the field."""


@dataclass(frozen=True)
class BinnedDistribution:
    """One feature (or the score) of the baseline: K interior edges and K+1 bin shares.

    Bin 0 holds `v <= edges[0]`, bin j holds `edges[j-1] < v <= edges[j]`, bin K holds
    `v > edges[-1]`. `range` is the plausible (lo, hi); either side may be None (unbounded).
    """

    name: str
    edges: tuple[float, ...]
    shares: tuple[float, ...]
    mean: float
    std: float
    min: float
    max: float
    range: tuple[float | None, float | None]

    @property
    def cdf_at_edges(self) -> list[float]:
        """Baseline share of values `<= edges[k]` for every edge."""
        cumulative, total = [], 0.0
        for share in self.shares[:-1]:
            total += share
            cumulative.append(total)
        return cumulative


@dataclass(frozen=True)
class Baseline:
    """The whole baseline: features in schema order (the order of `x` in capture records) and the score."""

    version: int
    n_rows: int
    features: tuple[BinnedDistribution, ...]
    score: BinnedDistribution
    # The ids the model's captured records carry (`model_id`): the training job's name, which
    # train.py records, and for a local archive the id `mlops serve` gives it. Empty: unknown.
    model_ids: tuple[str, ...] = ()

    @property
    def feature_names(self) -> list[str]:
        """Feature names in schema order."""
        return [f.name for f in self.features]


def parse_baseline(document: Mapping[str, Any]) -> Baseline:
    """Validate a decoded `baseline.json` and return it typed."""
    if not isinstance(document, Mapping):
        raise BaselineError("baseline must be a JSON object")
    if document.get("version") != BASELINE_VERSION:
        raise BaselineError(f"baseline `version` must be {BASELINE_VERSION}, got {document.get('version')!r}")
    n_rows = document.get("n_rows")
    if not is_json_integer(n_rows) or n_rows < 1:
        raise BaselineError(f"baseline `n_rows` must be a positive whole number, got {n_rows!r}")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise BaselineError("baseline `features` must be a non-empty list")
    parsed = tuple(_distribution(item, f"features[{index}]") for index, item in enumerate(features))
    names = [f.name for f in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BaselineError(f"baseline feature names must be unique; repeated: {', '.join(duplicates)}")
    if "score" not in document:
        raise BaselineError("baseline lacks `score` (the prediction score's distribution)")
    model_id = document.get("model_id")
    if model_id is not None and (not isinstance(model_id, str) or not model_id):
        raise BaselineError(f"baseline `model_id` must be a non-empty string or absent, got {model_id!r}")
    model_ids = (model_id,) if model_id else ()
    return Baseline(BASELINE_VERSION, n_rows, parsed, _distribution(document["score"], "score"), model_ids)


def _distribution(item: Any, where: str) -> BinnedDistribution:
    if not isinstance(item, Mapping):
        raise BaselineError(f"baseline {where} must be an object")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise BaselineError(f"baseline {where} needs a non-empty string `name`")
    where = f"{where} ({name})"
    edges = _numbers(item.get("edges"), where, "edges")
    shares = _numbers(item.get("shares"), where, "shares")
    if any(b <= a for a, b in pairwise(edges)):
        raise BaselineError(f"baseline {where}: `edges` must be strictly ascending")
    if len(shares) != len(edges) + 1:
        raise BaselineError(
            f"baseline {where}: `shares` needs len(edges)+1 = {len(edges) + 1} entries, got {len(shares)}"
        )
    if any(s < 0 for s in shares) or abs(sum(shares) - 1.0) > SHARE_SUM_TOLERANCE:
        raise BaselineError(f"baseline {where}: `shares` must be non-negative and sum to 1, sum is {sum(shares)!r}")
    stats = {key: _number(item.get(key), where, key) for key in ("mean", "std", "min", "max")}
    if stats["std"] < 0:
        raise BaselineError(f"baseline {where}: `std` must not be negative")
    bounds = item.get("range")
    if not isinstance(bounds, Sequence) or isinstance(bounds, str) or len(bounds) != 2:
        raise BaselineError(f"baseline {where}: `range` must be [lo, hi]")
    lo = None if bounds[0] is None else _number(bounds[0], where, "range[0]")
    hi = None if bounds[1] is None else _number(bounds[1], where, "range[1]")
    if lo is not None and hi is not None and lo > hi:
        raise BaselineError(f"baseline {where}: `range` has lo {lo} > hi {hi}")
    return BinnedDistribution(name, tuple(edges), tuple(shares), range=(lo, hi), **stats)


def _number(value: Any, where: str, key: str) -> float:
    if not is_finite_number(value):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise BaselineError(f"baseline {where}: `{key}` must be a finite number, got {shown}")
    return float(value)


def _numbers(values: Any, where: str, key: str) -> list[float]:
    if not isinstance(values, list):
        raise BaselineError(f"baseline {where}: `{key}` must be a list of numbers")
    return [_number(v, where, key) for v in values]


def load_baseline(path: Path) -> Baseline:
    """Read a baseline from `baseline.json`, or from the `baseline.json` inside a `model.tar.gz`.

    What the file is follows from its content, not its name: gzip or tar bytes are an archive,
    anything else must be the JSON. A truncated or corrupt archive is called that, not bad JSON.
    """
    if path.is_dir():
        raise BaselineError(f"{path} is a directory; pass baseline.json or model.tar.gz")
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_GZIP_MAGIC))
    except FileNotFoundError:
        raise BaselineError(f"baseline file not found: {path}") from None
    except OSError as exc:
        raise BaselineError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if head == _GZIP_MAGIC or _is_tar(path):
        return _baseline_from_archive(path, "r:gz" if head == _GZIP_MAGIC else "r:")
    if path.stat().st_size > MAX_BASELINE_BYTES:
        raise BaselineError(f"{path} is over {MAX_BASELINE_BYTES} bytes, far more than any baseline")
    return baseline_from_bytes(path.read_bytes(), str(path))


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _baseline_from_archive(path: Path, mode: str) -> Baseline:
    """The baseline.json at the root of a model archive, and the model's local id."""
    try:
        with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
            try:
                member = archive.getmember(BASELINE_FILE)
            except KeyError:
                raise BaselineError(f"{path} is an archive without {BASELINE_FILE} at its root") from None
            if member.size > MAX_BASELINE_BYTES:
                raise BaselineError(f"{BASELINE_FILE} in {path} is over {MAX_BASELINE_BYTES} bytes")
            reader = archive.extractfile(member)
            if reader is None:
                raise BaselineError(f"{BASELINE_FILE} in {path} is not a regular file")
            body = reader.read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())  # tarfile's messages span lines
        raise BaselineError(f"{path} is not a readable model.tar.gz ({reason})") from None
    baseline = baseline_from_bytes(body, f"{BASELINE_FILE} in {path}")
    return dataclasses.replace(baseline, model_ids=(*baseline.model_ids, local_model_id(path.read_bytes())))


def local_model_id(archive: bytes) -> str:
    """The model id `mlops serve` gives a model.tar.gz: `local-` and its content hash (local/serving.py)."""
    return f"local-{hashlib.sha256(archive).hexdigest()[:12]}"


def baseline_from_bytes(body: bytes, source: str) -> Baseline:
    """Parse baseline JSON bytes (as read from a file or S3); `source` names it in errors."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, an int of 4300+ digits, deep nesting
        raise BaselineError(f"baseline {source} is not valid JSON: {type(exc).__name__}: {exc}") from None
    try:
        return parse_baseline(document)
    except BaselineError as exc:
        raise BaselineError(f"{exc} (in {source})") from None
