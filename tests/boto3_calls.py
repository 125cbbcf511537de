"""Which boto3 operations a Lambda handler can call, found from its code (AST), not from a list.

From the handler function, follow every call to a function or method defined in the project's
packages (by name: a method call `x.name()` follows every project function called `name`, which
over-approximates and so never misses one), and every read of a property (`clients.sagemaker`
follows the properties called `sagemaker`, where a client is made on first use); collect the
services of `boto3.client("<service>")` (or of a loop over service names) and every attribute
call or `get_paginator("<operation>")` whose name is an operation of one of those services. A new
boto3 call in a handler, or in anything it calls, shows up here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mlops_stacks", "mlops_core", "monitoring", "model_code")


@dataclass
class _Module:
    name: str
    functions: dict[str, list[ast.AST]] = field(default_factory=lambda: defaultdict(list))
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # local name -> (module, name)
    properties: set[str] = field(default_factory=set)  # methods read as attributes (@property, @cached_property)


@cache
def _modules() -> dict[str, _Module]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            module = _Module(name)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    module.functions[node.name].append(node)
                    if any(_decorator_name(d) in {"property", "cached_property"} for d in node.decorator_list):
                        module.properties.add(node.name)
                elif isinstance(node, ast.ImportFrom) and node.module:
                    for alias in node.names:
                        module.imports[alias.asname or alias.name] = (node.module, alias.name)
            modules[name] = module
    return modules


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


@cache
def _functions_named(name: str) -> tuple[tuple[str, ast.AST], ...]:
    return tuple((module.name, node) for module in _modules().values() for node in module.functions.get(name, []))


@cache
def _properties_named(name: str) -> tuple[tuple[str, ast.AST], ...]:
    return tuple(
        (module.name, node)
        for module in _modules().values()
        if name in module.properties
        for node in module.functions[name]
    )


def _definitions(module_name: str, name: str) -> list[tuple[str, ast.AST]]:
    """The function `name` of a module, followed through the module's imports when it only re-exports it."""
    modules = _modules()
    module = modules[module_name]
    if name in module.functions:
        return [(module_name, node) for node in module.functions[name]]
    source, original = module.imports.get(name, ("", ""))
    return _definitions(source, original) if source in modules else []


@cache
def _operations(service: str) -> dict[str, str]:
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(operation): operation for operation in model.operation_names}


@dataclass(frozen=True)
class Boto3Calls:
    """The services a handler makes clients for and the operations it can call on them."""

    services: frozenset[str]
    operations: frozenset[tuple[str, str]]  # (service, operation name as in botocore)


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _loop_literals(function: ast.AST) -> dict[str, set[str]]:
    """Names that a loop or a comprehension in `function` binds to string literals: `for name in ("a", "b")`."""
    bound: dict[str, set[str]] = defaultdict(set)
    for node in ast.walk(function):
        looped = isinstance(node, ast.comprehension | ast.For) and isinstance(node.target, ast.Name)
        if looped and isinstance(node.iter, ast.Tuple | ast.List):
            bound[node.target.id].update(v for item in node.iter.elts if (v := _literal(item)) is not None)
    return bound


def _services(call: ast.Call, function: ast.AST) -> set[str]:
    """The services of a `client(...)` call: a literal, or a name a loop binds to literals."""
    argument = call.args[0]
    if (service := _literal(argument)) is not None:
        return {service}
    return _loop_literals(function).get(argument.id, set()) if isinstance(argument, ast.Name) else set()


def boto3_calls(handler: str) -> Boto3Calls:
    """The boto3 calls reachable from `handler` ("package.module.function", as Lambda's Handler names it)."""
    module_name, _, function = handler.rpartition(".")
    modules = _modules()
    queue = _definitions(module_name, function)
    seen: set[int] = set()
    services: set[str] = set()
    names: set[str] = set()
    while queue:
        module_name, node = queue.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        module = modules[module_name]
        for read in (n for n in ast.walk(node) if isinstance(n, ast.Attribute)):
            queue.extend(_properties_named(read.attr))
        for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
            target = call.func
            if isinstance(target, ast.Attribute):
                names.add(target.attr)
                if target.attr == "client" and call.args:
                    services.update(_services(call, node))
                if target.attr == "get_paginator" and call.args and (operation := _literal(call.args[0])):
                    names.add(operation)
                queue.extend(_functions_named(target.attr))
            elif isinstance(target, ast.Name):
                if target.id in module.functions:
                    queue.extend((module_name, n) for n in module.functions[target.id])
                elif target.id in module.imports and module.imports[target.id][0] in modules:
                    queue.extend(_definitions(*module.imports[target.id]))
    operations = {
        (service, _operations(service)[name]) for service in services for name in names if name in _operations(service)
    }
    return Boto3Calls(frozenset(services), frozenset(operations))
