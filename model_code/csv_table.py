"""The data set's CSV files (docs/contracts.md, "Data set"), read one way by training and by synth.

`train.py` reads its channels with it inside the container, and `dataset/` checks the user's
CSV with it at synth time, so a file that passes `cdk synth` trains, and one that fails training
would have failed synth with the same message. CSV is read as CSV (RFC 4180: quoted fields,
doubled quotes, CRLF or LF); the header names its columns, each once. A cell is a number in
`number_syntax` notation or empty (a missing value); blanks around a cell are ignored. XGBoost
holds values as 32-bit floats, so a number beyond float32's range is refused here, naming its
place, instead of failing inside XGBoost. Every error names the file, the line and the column.

Only numpy and the standard library: this module ships in the sourcedir.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

try:  # the project imports this file as `model_code.csv_table`
    from model_code.number_syntax import NUMBER, number_problem
except ImportError:  # the container pip-installs the sourcedir's files as top-level modules
    from number_syntax import NUMBER, number_problem  # type: ignore[no-redef]

BLANKS = " \t"
_NUMBER_CHARACTERS = re.compile(r"[0-9eE.+-]*")
FLOAT32_MAX = float(np.finfo(np.float32).max)


class TableError(ValueError):
    """A CSV file is unusable; the message names the file, the line and the column."""


@dataclass(frozen=True)
class Table:
    """A parsed data file: its header, the cells as text and as numbers (NaN = missing)."""

    header: list[str]
    cells: list[list[str]]  # without quotes and surrounding blanks; "" is a missing value
    values: np.ndarray
    lines: list[int]  # the line each row starts on (the header is on line 1)

    @property
    def n_rows(self) -> int:
        """Number of data rows (the header excluded)."""
        return len(self.cells)


def read_table(path: Path, source: str) -> Table:
    """Parse a numeric CSV with a header row; `source` names the file in errors."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TableError(f"{source}: file not found") from None
    except OSError as exc:
        raise TableError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TableError(f"{source} line {line}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:  # Python 3.10's csv refuses it, 3.11's reads it: refuse it the same way in both
        line = text[: text.index("\x00")].count("\n") + 1
        raise TableError(f"{source} line {line}: holds a NUL character")
    rows, lines = _records(text, source)
    while rows and _blank(rows[-1]):
        rows.pop()
        lines.pop()
    if not rows:
        raise TableError(f"{source}: empty file, expected a header row and data rows")
    if _blank(rows[0]):
        raise TableError(f"{source} line 1: the header row is empty")
    header = [name.strip(BLANKS) for name in rows[0]]
    check_column_names(header, source)
    cells = []
    for row, line in zip(rows[1:], lines[1:], strict=True):
        if len(row) != len(header):
            if _blank(row):
                raise TableError(f"{source} line {line}: empty line inside the data")
            raise TableError(f"{source} line {line}: {len(row)} fields, the header has {len(header)}")
        cells.append([cell.strip(BLANKS) for cell in row])
    values = _numbers(cells, header, lines[1:], source)
    return Table(header=header, cells=cells, values=values, lines=lines[1:])


def check_column_names(names: Sequence[str], source: str) -> None:
    """Column names must be non-empty, unique and free of control characters."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name:
            raise TableError(f"{source}: column {position} has an empty name")
        if any(ord(char) < 32 or ord(char) == 127 for char in name):
            raise TableError(f"{source}: column {position} name {name!r} holds a control character")
        if name in seen:
            raise TableError(f"{source}: column {name!r} appears twice (columns {seen[name]} and {position})")
        seen[name] = position


def column_indexes(table: Table, names: Sequence[str], source: str) -> list[int]:
    """Where each of `names` is in the header; an error lists every missing one."""
    index = {name: i for i, name in enumerate(table.header)}
    missing = [name for name in names if name not in index]
    if missing:
        raise TableError(f"{source}: missing column(s) {', '.join(repr(m) for m in missing)}")
    return [index[name] for name in names]


def binary_labels(table: Table, label: str, source: str) -> np.ndarray:
    """The label column as 0/1 int8; any other value (or a missing one) is an error naming its line."""
    (column,) = column_indexes(table, [label], source)
    values = table.values[:, column]
    bad = np.flatnonzero((values != 0.0) & (values != 1.0))
    if bad.size:
        row = int(bad[0])
        raise TableError(
            f"{source} line {table.lines[row]}: label {label!r} must be 0 or 1, got {table.cells[row][column]!r}"
        )
    return values.astype(np.int8)


def _records(text: str, source: str) -> tuple[list[list[str]], list[int]]:
    """The CSV records of `text` and the line each starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 1
    try:
        for row in reader:
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise TableError(f"{source} line {start}: not valid CSV ({exc})") from None
    return rows, lines


def _blank(row: list[str]) -> bool:
    return len(row) <= 1 and not "".join(row).strip(BLANKS)


def _numbers(cells: list[list[str]], header: list[str], lines: list[int], source: str) -> np.ndarray:
    """Cells to float64 (empty = NaN); the first cell that is not a number is an error naming its place."""
    if not cells:
        return np.empty((0, len(header)))
    flat = [cell for row in cells for cell in row]
    nan = float("nan")
    try:
        if _NUMBER_CHARACTERS.fullmatch("".join(flat)) is None:
            raise ValueError("a character no number has")
        # On these characters Python's float() takes exactly the texts NUMBER matches.
        values = np.array([float(cell) if cell else nan for cell in flat], dtype=np.float64)
    except ValueError:
        bad = next(k for k, cell in enumerate(flat) if cell and NUMBER.fullmatch(cell) is None)
        problem = number_problem(flat[bad]) or ""
        if flat[bad].lstrip("+-").lower() == "nan":
            problem += "; leave the field empty for a missing value"
        _fail(source, lines, header, bad, problem)
    with np.errstate(over="ignore"):
        too_large = np.flatnonzero(np.isinf(values.astype(np.float32)))
    if too_large.size:
        bad = int(too_large[0])
        problem = number_problem(flat[bad]) or (
            f"{flat[bad]!r} is too large for XGBoost, which holds values as 32-bit floats "
            f"(magnitude at most {FLOAT32_MAX:.7g})"
        )
        _fail(source, lines, header, bad, problem)
    return values.reshape(len(cells), len(header))


def _fail(source: str, lines: list[int], header: list[str], position: int, problem: str) -> NoReturn:
    row, column = divmod(position, len(header))
    raise TableError(f"{source} line {lines[row]}, column {header[column]!r}: {problem}")
