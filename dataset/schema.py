"""The data set's schema and the one validation that synthetic and user CSV files both pass.

File formats are those of docs/contracts.md ("Data set"): a header row, feature columns, then the
0/1 label column; numbers only, `.` decimal point; an empty field is a missing value. CSV files
are read by `model_code.csv_table`, the reader the training job itself uses, so synth refuses
exactly what training would refuse, with the same message.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model_code.csv_table import Table, TableError, binary_labels, check_column_names, column_indexes, read_table
from model_code.number_syntax import is_finite_number, is_json_integer

MIN_ROWS = 100  # fewer rows cannot give a meaningful 80/20 split and validation AUC
MAX_ROWS = 1_000_000  # synthetic rows: the generator holds them all in memory (the `synthetic_rows` maximum)
SCHEMA_FILE = "schema.json"
TRAIN_FILE = "train.csv"
VALIDATION_FILE = "validation.csv"


class DatasetError(ValueError):
    """A data file or schema is unusable; the message names the file, row and column."""


@dataclass(frozen=True)
class FeatureSpec:
    """One numeric feature: its name, plausible range and meaning."""

    name: str
    min: float
    max: float
    description: str = ""
    type: str = "float"

    def to_json(self) -> dict[str, Any]:
        """The feature as it appears in `schema.json`."""
        return {"name": self.name, "type": self.type, "min": self.min, "max": self.max, "description": self.description}


@dataclass(frozen=True)
class Schema:
    """Feature columns in order, and the label column's name."""

    label: str
    features: tuple[FeatureSpec, ...]

    @property
    def feature_names(self) -> list[str]:
        """Feature names in column order."""
        return [f.name for f in self.features]

    @property
    def columns(self) -> list[str]:
        """The CSV header: features, then the label."""
        return [*self.feature_names, self.label]

    def to_json(self) -> dict[str, Any]:
        """The schema as the `schema.json` object."""
        return {"label": self.label, "features": [f.to_json() for f in self.features]}

    @classmethod
    def from_json(cls, data: Any, source: str = "schema") -> Schema:
        """Parse and validate a `schema.json` object."""
        if not isinstance(data, dict):
            raise DatasetError(f"{source}: must be a JSON object with `label` and `features`")
        label = data.get("label")
        features = data.get("features")
        if not isinstance(label, str) or not label:
            raise DatasetError(f"{source}: `label` must be a non-empty string")
        if not isinstance(features, list) or not features:
            raise DatasetError(f"{source}: `features` must be a non-empty list")
        specs = []
        for index, item in enumerate(features):
            where = f"{source}: features[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
                raise DatasetError(f"{where} must be an object with a non-empty `name`")
            low, high = item.get("min"), item.get("max")
            if not is_finite_number(low) or not is_finite_number(high) or low > high:
                raise DatasetError(f"{where} ({item['name']}): `min` and `max` must be numbers with min <= max")
            specs.append(
                FeatureSpec(
                    name=item["name"],
                    min=float(low),
                    max=float(high),
                    description=str(item.get("description", "")),
                    type=str(item.get("type", "float")),
                )
            )
        schema = cls(label=label, features=tuple(specs))
        _check_column_names(schema.columns, source)
        return schema


def load_schema(path: str | Path) -> Schema:
    """Read and validate a `schema.json` file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: schema file not found") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:
        raise DatasetError(f"{path}: not valid UTF-8 JSON ({exc})") from None
    return Schema.from_json(data, source=str(path))


def write_schema(schema: Schema, path: str | Path) -> Path:
    """Write `schema.json` with stable formatting, so equal schemas give equal bytes."""
    path = Path(path)
    try:
        path.write_text(json.dumps(schema.to_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path


def read_csv(path: str | Path) -> Table:
    """Parse a numeric CSV with a header row; errors name the file, the line and the column."""
    try:
        return read_table(Path(path), str(path))
    except TableError as exc:
        raise DatasetError(str(exc)) from None


def check_seed(seed: int) -> None:
    """A generator or shuffle seed must be a whole number >= 0 (numpy refuses negative seeds)."""
    if not is_json_integer(seed) or seed < 0:
        raise DatasetError(f"seed must be a whole number >= 0, got {seed!r}")


def output_directory(path: str | Path) -> Path:
    """Create the directory a data set is written to; a file or an unwritable place in the way is an error."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DatasetError(f"{out}: exists and is not a directory; the data set is written into a directory") from None
    except OSError as exc:
        raise DatasetError(f"{out}: cannot create the directory ({exc.strerror or exc})") from None
    return out


def write_csv(path: Path, columns: Sequence[str], lines: Sequence[str]) -> None:
    """Write a header row (names quoted where CSV needs it) and ready-made data lines, LF-terminated."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(columns)
    try:
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(header.getvalue())
            handle.writelines(line + "\n" for line in lines)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be written ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class LabeledData:
    """Features in schema order and 0/1 labels of one validated CSV file."""

    features: np.ndarray
    labels: np.ndarray
    table: Table


def validate_labeled_csv(path: str | Path, schema: Schema, min_rows: int = 1) -> LabeledData:
    """Check a CSV against a schema (columns, numbers, 0/1 label, row count) and return its data."""
    table = read_csv(path)
    return _validate_table(table, schema, str(path), min_rows)


def _validate_table(table: Table, schema: Schema, source: str, min_rows: int) -> LabeledData:
    try:
        features = column_indexes(table, schema.columns, source)[:-1]
        labels = binary_labels(table, schema.label, source)
    except TableError as exc:
        raise DatasetError(str(exc)) from None
    if table.n_rows < min_rows:
        raise DatasetError(f"{source}: {table.n_rows} data rows, at least {min_rows} are needed")
    return LabeledData(features=table.values[:, features], labels=labels, table=table)


def _check_column_names(names: Sequence[str], source: str) -> None:
    try:
        check_column_names(names, source)
    except TableError as exc:
        raise DatasetError(str(exc)) from None
