"""The one number syntax of the project's inputs: finite float64 in plain ASCII decimal notation.

Python's `float()` and `int()` also take `1_000`, Arabic-Indic or full-width digits, `inf`,
`nan` and surrounding whitespace; a data file, a setting or a command-line number means none of
them. Training data (`csv_table`), the synth-time check of the user's CSV (`dataset/`), the
settings (`mlops_core.settings`) and the `mlops` verbs' numeric arguments all go through this
module, so they accept the same texts; decoded JSON values are told apart here too.

Standard library only: this module ships in the sourcedir.
"""

from __future__ import annotations

import math
import re

# An optional sign, digits with at most one '.', an optional exponent; ASCII digits only.
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")  # 18 digits: every such text is an exact int64
_NOT_FINITE = ("inf", "infinity")


def number_problem(text: str) -> str | None:
    """Why `text` is not a finite float64 in plain decimal notation, or None when it is one."""
    if NUMBER.fullmatch(text) is None:
        spelled = text.strip().lstrip("+-").lower()
        if spelled in _NOT_FINITE:
            return f"{text!r} is not finite"
        if spelled != "nan" and _python_reads_as_number(text):
            return f"{text!r} is not a plain decimal number (ASCII digits, one '.', optional sign and exponent)"
        return f"{text!r} is not a number"
    if not math.isfinite(float(text)):
        return f"{text!r} is too large for a 64-bit float"
    return None


def parse_number(text: str) -> float:
    """`text` as a finite float64; ValueError saying what is wrong otherwise."""
    problem = number_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return float(text)


def parse_whole_number(text: str) -> int:
    """`text` as an int written with ASCII digits and an optional sign; ValueError otherwise."""
    if WHOLE_NUMBER.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not a whole number (ASCII digits, optional sign, at most 18 digits)")
    return int(text)


def is_json_number(value: object) -> bool:
    """A decoded JSON number: an int or a float, finite or not (`true` decodes to a bool, which is no number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_json_integer(value: object) -> bool:
    """A decoded JSON whole number (an int, not a bool): a count, an index, a version, a seed."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: object) -> bool:
    """A decoded JSON number that is finite as a float64 (`true` is no number; nor is an int beyond 1e308)."""
    if not is_json_number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _python_reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
