"""Turn a user's own CSV into the project's data set: validated, split 80/20, schema derived."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dataset.schema import (
    MIN_ROWS,
    SCHEMA_FILE,
    TRAIN_FILE,
    VALIDATION_FILE,
    DatasetError,
    FeatureSpec,
    Schema,
    _validate_table,
    check_seed,
    output_directory,
    read_csv,
    write_csv,
    write_schema,
)
from dataset.synthetic import TRAIN_SHARE, DatasetFiles


def prepare_user_csv(path: str | Path, label_column: str, out_dir: str | Path, seed: int = 42) -> DatasetFiles:
    """Validate `path`, shuffle it by `seed` and write train/validation CSVs and a derived schema.

    Every column other than `label_column` is a feature; the schema's min/max are the observed
    ranges. Cell text is copied as written (no re-formatting), so no precision is lost.
    """
    source = Path(path)
    check_seed(seed)
    table = read_csv(source)
    if label_column not in table.header:
        raise DatasetError(f"{source}: label column {label_column!r} not found; columns are {', '.join(table.header)}")
    feature_names = [name for name in table.header if name != label_column]
    if not feature_names:
        raise DatasetError(f"{source}: no feature columns besides the label {label_column!r}")
    specs = []
    for name in feature_names:
        column = table.values[:, table.header.index(name)]
        present = column[~np.isnan(column)]
        if present.size == 0:
            raise DatasetError(f"{source}: column {name!r} has no values")
        specs.append(FeatureSpec(name, float(present.min()), float(present.max()), f"From {source.name}."))
    schema = Schema(label=label_column, features=tuple(specs))
    data = _validate_table(table, schema, str(source), MIN_ROWS)
    if np.unique(data.labels).size < 2:
        raise DatasetError(f"{source}: label {label_column!r} has only the value {int(data.labels[0])}; need 0s and 1s")

    out = output_directory(out_dir)
    order = np.random.default_rng(seed).permutation(table.n_rows)
    feature_index = [table.header.index(name) for name in feature_names]
    lines = [
        ",".join([*(table.cells[row][i] for i in feature_index), str(int(data.labels[row]))]) for row in order.tolist()
    ]
    n_train = int(table.n_rows * TRAIN_SHARE)
    train, validation = out / TRAIN_FILE, out / VALIDATION_FILE
    write_csv(train, schema.columns, lines[:n_train])
    write_csv(validation, schema.columns, lines[n_train:])
    schema_path = write_schema(schema, out / SCHEMA_FILE)
    return DatasetFiles(train, validation, schema_path, n_train, table.n_rows - n_train)
