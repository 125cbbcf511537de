"""How every `mlops` verb reads its arguments and ends: one exit status contract, one-line errors.

Exit statuses, the same for every verb (README, "Exit statuses"):
0  done, and all is well;
1  done, and the answer is "no": a check failed, drift found (`drift --fail-on`), a model below
   the quality gate (`train --gate`), a failed training job, resources left, an unhealthy system;
2  not done: bad usage or bad input (arguments, files, settings), said in one line on stderr.

Numbers on the command line follow the data files' syntax (model_code/number_syntax.py): plain
ASCII decimals, finite, within the range the option names; Python's own parsing would also take
`1_000`, other scripts' digits, `nan` and `inf`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from model_code.number_syntax import parse_number, parse_whole_number

T = TypeVar("T")

EXIT_OK = 0
EXIT_NO = 1
EXIT_BAD_INPUT = 2


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), not the usage block and the error."""

    def error(self, message: str) -> NoReturn:
        """Print `<prog>: error: <message>` and exit with EXIT_BAD_INPUT."""
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def fail(verb: str, message: object) -> int:
    """Print the one-line error of a verb and return EXIT_BAD_INPUT."""
    print(f"mlops {verb}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return EXIT_BAD_INPUT


def number(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a plain decimal number in [low, high] (or (low, high] with `low_open`)."""
    shown = f"{'more than' if low_open else 'at least'} {low:g} and at most {high:g}"

    def parse(text: str) -> float:
        value = _checked(parse_number, text)
        if value < low or (low_open and value == low) or value > high:
            raise argparse.ArgumentTypeError(f"must be {shown}, got {text!r}")
        return value

    return parse


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `low` (and at most `high`), written with ASCII digits."""
    shown = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(text: str) -> int:
        value = _checked(parse_whole_number, text)
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be a whole number {shown}, got {text!r}")
        return value

    return parse


def finite_number(text: str) -> float:
    """An argparse type: any finite number in plain decimal notation (the verb checks its range)."""
    return _checked(parse_number, text)


def plain_number(text: str) -> str:
    """An argparse type for a setting's override: checked for syntax here, for range by the setting."""
    _checked(parse_number, text)
    return text


def _checked(parse: Callable[[str], T], text: str) -> T:
    """`parse(text)`, its ValueError turned into the error argparse shows as it is."""
    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
