"""The botocore model's constraints that botocore itself leaves to the service.

botocore's `ParamValidator` checks required members, types and minimums before a request is
sent; maximum lengths and sizes, patterns and enums it leaves to AWS, and moto checks few of
them. This walks a request along its input shape and reports each value that breaks one, in
the words AWS's own validation errors use.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import regex
from botocore.model import Shape

from model_code.number_syntax import is_json_number

_MAX_SHOWN = 60
# Java spells the supplementary planes as a surrogate-pair range; Python strings have no surrogates.
_JAVA_SUPPLEMENTARY = r"\uD800\uDC00-\uDBFF\uDFFF"


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


@functools.cache
def compiled_pattern(pattern: str) -> regex.Pattern[str]:
    r"""Compile a botocore `pattern` (Java syntax: `\\p{L}`, `\\z`, surrogate ranges) for Python."""
    translated = pattern.replace(_JAVA_SUPPLEMENTARY, r"\U00010000-\U0010FFFF").replace(r"\z", r"\Z")
    return regex.compile(translated, regex.V0)


def shape_problems(value: Any, shape: Shape | None, path: str = "") -> list[str]:
    """Every constraint of `shape` (and of the shapes inside it) that `value` breaks."""
    if shape is None:
        return []
    check = _CHECKS.get(shape.type_name)
    return check(value, shape, path) if check else []


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _string(value: Any, shape: Shape, path: str) -> list[str]:
    if not isinstance(value, str):
        return []
    problems = []
    if shape.enum and value not in shape.enum:
        problems.append(
            f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
        )
    limit = shape.metadata.get("max")
    if limit is not None and len(value) > limit:
        problems.append(
            f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {limit}"
        )
    pattern = shape.metadata.get("pattern")
    if pattern and not compiled_pattern(pattern).fullmatch(value):
        problems.append(
            f"Value '{_shown(value)}' at '{path}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern}"
        )
    return problems


def _blob(value: Any, shape: Shape, path: str) -> list[str]:
    limit = shape.metadata.get("max")
    size = (
        len(value.encode()) if isinstance(value, str) else len(value) if isinstance(value, bytes | bytearray) else None
    )
    if limit is None or size is None or size <= limit:
        return []
    return [f"Value at '{path}' failed to satisfy constraint: Member must have length less than or equal to {limit}"]


def _number(value: Any, shape: Shape, path: str) -> list[str]:
    limit = shape.metadata.get("max")
    if limit is None or not is_json_number(value) or value <= limit:
        return []
    return [f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value at most {limit}"]


def _count(count: int, shape: Shape, path: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and count > high:
        return [f"Value at '{path}' failed to satisfy constraint: Member must have length less than or equal to {high}"]
    if shape.type_name == "map" and low is not None and count < low:
        # botocore checks list minimums itself, but not map minimums.
        return [
            f"Value at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {low}"
        ]
    return []


def _structure(value: Any, shape: Shape, path: str) -> list[str]:
    if not isinstance(value, Mapping):
        return []
    members = shape.members
    return [
        problem
        for name, item in value.items()
        if name in members
        for problem in shape_problems(item, members[name], _at(path, name))
    ]


def _list(value: Any, shape: Shape, path: str) -> list[str]:
    if not isinstance(value, list | tuple):
        return []
    problems = _count(len(value), shape, path)
    for index, item in enumerate(value):
        problems += shape_problems(item, shape.member, f"{path}.{index + 1}")
    return problems


def _map(value: Any, shape: Shape, path: str) -> list[str]:
    if not isinstance(value, Mapping):
        return []
    problems = _count(len(value), shape, path)
    for key, item in value.items():
        problems += shape_problems(key, shape.key, f"{path}.key")
        problems += shape_problems(item, shape.value, f"{path}.{key}")
    return problems


_CHECKS = {
    "string": _string,
    "blob": _blob,
    "integer": _number,
    "long": _number,
    "double": _number,
    "float": _number,
    "structure": _structure,
    "list": _list,
    "map": _map,
}
