"""The training data: a synthetic churn data set or the user's own CSV, in the contract's layout."""

from dataset.schema import (
    MAX_ROWS,
    MIN_ROWS,
    DatasetError,
    FeatureSpec,
    LabeledData,
    Schema,
    load_schema,
    validate_labeled_csv,
    write_schema,
)
from dataset.synthetic import (
    DRIFTED_FEATURES,
    FEATURE_NAMES,
    FEATURES,
    LABEL,
    SCHEMA,
    DatasetFiles,
    SyntheticData,
    format_rows,
    generate,
    write_dataset,
)
from dataset.user_data import prepare_user_csv

__all__ = [
    "DRIFTED_FEATURES",
    "FEATURES",
    "FEATURE_NAMES",
    "LABEL",
    "MAX_ROWS",
    "MIN_ROWS",
    "SCHEMA",
    "DatasetError",
    "DatasetFiles",
    "FeatureSpec",
    "LabeledData",
    "Schema",
    "SyntheticData",
    "format_rows",
    "generate",
    "load_schema",
    "prepare_user_csv",
    "validate_labeled_csv",
    "write_dataset",
    "write_schema",
]
