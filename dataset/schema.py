"""The data set's schema and the one validation that synthetic and user CSV files both pass.

File formats are those of docs/contracts.md ("Data set"): a header row, feature columns, then the
0/1 label column; numbers only, `.` decimal point, no quoting; an empty field is a missing value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MIN_ROWS = 100  # fewer rows cannot give a meaningful 80/20 split and validation AUC
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
            if not _is_number(low) or not _is_number(high) or low > high:
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
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    return Schema.from_json(data, source=str(path))


def write_schema(schema: Schema, path: str | Path) -> Path:
    """Write `schema.json` with stable formatting, so equal schemas give equal bytes."""
    path = Path(path)
    path.write_text(json.dumps(schema.to_json(), indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class CsvTable:
    """A parsed CSV file: its header, the cells as text and as numbers (NaN = missing)."""

    header: list[str]
    cells: list[list[str]]
    values: np.ndarray

    @property
    def n_rows(self) -> int:
        """Number of data rows (the header excluded)."""
        return len(self.cells)


def read_csv(path: str | Path) -> CsvTable:
    """Parse a numeric CSV with a header row; errors name the line and the column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DatasetError(f"{path}: empty file, expected a header row and data rows")
    header = [name.strip() for name in lines[0].lstrip("\ufeff").split(",")]
    _check_column_names(header, str(path))
    cells = []
    for number, line in enumerate(lines[1:], start=2):
        row = line.split(",")
        if len(row) != len(header):
            if not line.strip():
                raise DatasetError(f"{path} line {number}: empty line inside the data")
            raise DatasetError(f"{path} line {number}: {len(row)} fields, the header has {len(header)}")
        cells.append([cell.strip() for cell in row])
    return CsvTable(header=header, cells=cells, values=_to_numbers(cells, header, str(path)))


@dataclass(frozen=True)
class LabeledData:
    """Features in schema order and 0/1 labels of one validated CSV file."""

    features: np.ndarray
    labels: np.ndarray
    table: CsvTable


def validate_labeled_csv(path: str | Path, schema: Schema, min_rows: int = 1) -> LabeledData:
    """Check a CSV against a schema (columns, numbers, 0/1 label, row count) and return its data."""
    table = read_csv(path)
    return _validate_table(table, schema, str(path), min_rows)


def _validate_table(table: CsvTable, schema: Schema, source: str, min_rows: int) -> LabeledData:
    missing = [name for name in schema.columns if name not in table.header]
    if missing:
        raise DatasetError(f"{source}: missing column(s) {', '.join(repr(m) for m in missing)}")
    index = {name: i for i, name in enumerate(table.header)}
    labels = table.values[:, index[schema.label]] if table.n_rows else np.empty(0)
    bad = np.flatnonzero(~np.isin(labels, (0.0, 1.0)))
    if bad.size:
        row = int(bad[0])
        value = table.cells[row][index[schema.label]]
        raise DatasetError(f"{source} line {row + 2}: label {schema.label!r} must be 0 or 1, got {value!r}")
    if table.n_rows < min_rows:
        raise DatasetError(f"{source}: {table.n_rows} data rows, at least {min_rows} are needed")
    features = table.values[:, [index[name] for name in schema.feature_names]]
    return LabeledData(features=features, labels=labels.astype(np.int8), table=table)


def _to_numbers(cells: list[list[str]], header: Sequence[str], source: str) -> np.ndarray:
    """Cells to float64 (empty = NaN); on a bad cell, name its line and column."""
    if not cells:
        return np.empty((0, len(header)))
    try:
        values = np.array([[cell or "nan" for cell in row] for row in cells], dtype=np.float64)
    except ValueError:
        values = None
    if values is None or np.isinf(values).any():
        for number, row in enumerate(cells, start=2):
            for column, cell in zip(header, row, strict=True):
                try:
                    number_value = float(cell) if cell else 0.0
                except ValueError:
                    raise DatasetError(f"{source} line {number}, column {column!r}: {cell!r} is not a number") from None
                if np.isinf(number_value):
                    raise DatasetError(f"{source} line {number}, column {column!r}: {cell!r} is not finite")
    assert values is not None
    return values


def _check_column_names(names: Sequence[str], source: str) -> None:
    seen = set()
    for position, name in enumerate(names, start=1):
        if not name:
            raise DatasetError(f"{source}: column {position} has an empty name")
        if name in seen:
            raise DatasetError(f"{source}: column {name!r} appears twice")
        if '"' in name or "'" in name:
            raise DatasetError(f"{source}: column name {name!r} is quoted; write names without quotes")
        seen.add(name)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
