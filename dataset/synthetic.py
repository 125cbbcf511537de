"""A synthetic customer-churn data set: deterministic by seed, learnable, with an optional drift.

Each customer has 15 numeric features with realistic ranges; whether they churned follows a
non-linear rule (contract type, early tenure, support calls, inactivity, an interaction of price
and satisfaction) plus noise, so a tree model reaches a validation AUC near 0.85 and a model fed
shuffled labels stays near 0.5. `drift=True` shifts the observed values of the five features in
`DRIFTED_FEATURES` (newer, pricier, less engaged customers who call support more) and leaves the
other columns and the labels as they are: the demo's drifted traffic and the drift tests' input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataset.schema import (
    MAX_ROWS,
    MIN_ROWS,
    SCHEMA_FILE,
    TRAIN_FILE,
    VALIDATION_FILE,
    DatasetError,
    FeatureSpec,
    Schema,
    check_seed,
    output_directory,
    write_csv,
    write_schema,
)

LABEL = "churned"
TRAIN_SHARE = 0.8

# (spec, decimals written to CSV). Ranges are the plausible ranges drift uses for out-of-range shares.
_COLUMNS: tuple[tuple[FeatureSpec, int], ...] = (
    (FeatureSpec("tenure_months", 0.0, 72.0, "Months since the customer signed up."), 0),
    (FeatureSpec("contract_months", 1.0, 24.0, "Contract length: 1 (monthly), 12 or 24."), 0),
    (FeatureSpec("monthly_charges", 18.0, 130.0, "Current monthly bill in USD."), 2),
    (FeatureSpec("total_charges", 0.0, 9500.0, "Billed since sign-up in USD."), 2),
    (FeatureSpec("num_products", 1.0, 6.0, "Subscribed products and add-ons."), 0),
    (FeatureSpec("support_calls", 0.0, 20.0, "Support calls in the last 90 days."), 0),
    (FeatureSpec("late_payments", 0.0, 12.0, "Late payments in the last 12 months."), 0),
    (FeatureSpec("autopay", 0.0, 1.0, "1 when the bill is paid automatically."), 0),
    (FeatureSpec("data_usage_gb", 0.0, 300.0, "Mobile data used last month in GB."), 1),
    (FeatureSpec("avg_call_minutes", 0.0, 2000.0, "Average call minutes per month."), 1),
    (FeatureSpec("age", 18.0, 90.0, "Customer age in years."), 0),
    (FeatureSpec("days_since_last_login", 0.0, 365.0, "Days since the last app or web login."), 0),
    (FeatureSpec("satisfaction_score", 1.0, 10.0, "Last survey answer, 1-10; empty when never answered."), 0),
    (FeatureSpec("discount_percent", 0.0, 50.0, "Current discount on the bill in percent."), 0),
    (FeatureSpec("dependents", 0.0, 5.0, "People on the same account besides the holder."), 0),
)

FEATURES: tuple[FeatureSpec, ...] = tuple(spec for spec, _ in _COLUMNS)
FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FEATURES)
SCHEMA = Schema(label=LABEL, features=FEATURES)
DRIFTED_FEATURES: tuple[str, ...] = (
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "data_usage_gb",
    "days_since_last_login",
)
_DECIMALS = tuple(decimals for _, decimals in _COLUMNS)
_SATISFACTION_MISSING_SHARE = 0.03
_STRENGTH = 1.5  # scales the rule: a depth-4 model then reaches a validation AUC of about 0.87


@dataclass(frozen=True)
class SyntheticData:
    """Generated rows: features in `FEATURE_NAMES` order (NaN = missing) and 0/1 labels."""

    features: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class DatasetFiles:
    """Where a data set was written and how many rows each split holds."""

    train: Path
    validation: Path
    schema: Path
    n_train: int
    n_validation: int


def generate(rows: int, seed: int, drift: bool = False) -> SyntheticData:
    """Draw `rows` customers; the same (rows, seed, drift) always gives the same numbers."""
    if not 1 <= rows <= MAX_ROWS:
        raise DatasetError(f"rows must be between 1 and {MAX_ROWS}, got {rows}")
    check_seed(seed)
    rng = np.random.default_rng(seed)
    n = rows

    tenure = np.clip(rng.gamma(1.6, 16.0, n), 0, 72).round()
    long_tenure = tenure > 24
    contract = np.where(
        rng.random(n) < np.where(long_tenure, 0.3, 0.65), 1.0, np.where(rng.random(n) < 0.55, 12.0, 24.0)
    )
    products = 1.0 + rng.binomial(5, 0.3, n)
    monthly = np.clip(rng.normal(52.0, 20.0, n) + 7.0 * products, 18.0, 130.0).round(2)
    total = np.clip(tenure * monthly * rng.normal(1.0, 0.04, n), 0.0, 9500.0).round(2)
    support = np.clip(rng.poisson(1.2 + 0.8 * (monthly > 90)), 0, 20).astype(np.float64)
    late = np.clip(rng.poisson(0.6, n), 0, 12).astype(np.float64)
    autopay = (rng.random(n) < 0.55).astype(np.float64)
    usage = np.clip(rng.lognormal(3.0, 0.7, n), 0.0, 300.0).round(1)
    minutes = np.clip(rng.gamma(2.0, 150.0, n), 0.0, 2000.0).round(1)
    age = np.clip(rng.normal(45.0, 15.0, n), 18.0, 90.0).round()
    inactive = np.clip(rng.exponential(12.0, n), 0.0, 365.0).round()
    satisfaction = np.clip(8.0 - 0.6 * support + rng.normal(0.0, 1.5, n), 1.0, 10.0).round()
    discount = rng.choice(np.array([0.0, 5.0, 10.0, 15.0, 20.0, 30.0]), n, p=[0.45, 0.15, 0.15, 0.1, 0.1, 0.05])
    dependents = np.clip(rng.poisson(0.8, n), 0, 5).astype(np.float64)

    logit = _STRENGTH * (
        -1.2
        + 1.7 * (contract == 1.0)
        + 0.4 * (contract == 12.0)
        - 1.9 * (1.0 - np.exp(-tenure / 15.0))
        + 0.9 * np.log1p(support)
        + 0.02 * (monthly - 70.0)
        + 0.45 * late
        - 0.7 * autopay
        + 1.3 / (1.0 + np.exp(-(inactive - 30.0) / 6.0))
        - 0.3 * (satisfaction - 6.0)
        + 1.0 * ((monthly > 95.0) & (satisfaction < 5.0))
        - 0.03 * discount
        + rng.normal(0.0, 0.5, n)
    )
    labels = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
    # Survey answers are missing after the label is drawn: the model must cope with NaN.
    satisfaction = np.where(rng.random(n) < _SATISFACTION_MISSING_SHARE, np.nan, satisfaction)
    if drift:
        # Shift only the observed values of DRIFTED_FEATURES, after every other draw: the other
        # columns and the labels stay bit-identical to the undrifted data of the same seed.
        tenure = (tenure * 0.6).round()
        monthly = np.minimum(monthly + 12.0, 130.0).round(2)
        support = np.minimum(support + rng.poisson(1.0, n), 20.0)
        usage = np.minimum(usage * 1.4, 300.0).round(1)
        inactive = np.minimum(inactive * 1.8 + 3.0, 365.0).round()

    features = np.column_stack(
        [tenure, contract, monthly, total, products, support, late, autopay, usage, minutes, age, inactive,
         satisfaction, discount, dependents]
    )  # fmt: skip
    return SyntheticData(features=features, labels=labels)


def format_rows(features: np.ndarray) -> list[str]:
    """Feature rows as CSV lines (no label) with each column's fixed decimals; NaN as an empty field."""
    columns = []
    for column, decimals in zip(features.T, _DECIMALS, strict=True):
        pattern = f"{{:.{decimals}f}}"
        columns.append(["" if value != value else pattern.format(value) for value in column.tolist()])
    return [",".join(row) for row in zip(*columns, strict=True)]


def write_dataset(out_dir: str | Path, rows: int = 20000, seed: int = 42, drift: bool = False) -> DatasetFiles:
    """Write `train.csv`, `validation.csv` (80/20) and `schema.json`; byte-identical for equal inputs."""
    if rows < MIN_ROWS:
        raise DatasetError(f"rows must be at least {MIN_ROWS} for a train/validation split, got {rows}")
    data = generate(rows, seed, drift)
    out = output_directory(out_dir)
    lines = [f"{line},{label}" for line, label in zip(format_rows(data.features), data.labels.tolist(), strict=True)]
    n_train = int(rows * TRAIN_SHARE)
    train = out / TRAIN_FILE
    validation = out / VALIDATION_FILE
    write_csv(train, SCHEMA.columns, lines[:n_train])
    write_csv(validation, SCHEMA.columns, lines[n_train:])
    schema = write_schema(SCHEMA, out / SCHEMA_FILE)
    return DatasetFiles(train, validation, schema, n_train, rows - n_train)
