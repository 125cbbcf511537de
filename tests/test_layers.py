"""One direction of dependency: each layer imports only the layers below it, and no package imports in a cycle.

Low to high (README, Layout):

| layer | may import of ours | third-party, at run time |
|---|---|---|
| model_code | nothing | (the container's: numpy, xgboost) |
| dataset | model_code | numpy |
| mlops_core | model_code | none: the standard library only |
| monitoring (the drift domain) | mlops_core, model_code | none: it runs in Lambda |
| monitoring.tools | monitoring, mlops_core, dataset, model_code | any (numpy, DuckDB, rich, matplotlib) |
| mlops_stacks.handlers | monitoring, mlops_core, model_code | boto3 and botocore, which the Lambda runtime has |
| mlops_stacks | its handlers, monitoring, mlops_core, dataset, model_code | any (aws_cdk) |
| local | all of the above | any but aws_cdk (the demo runs the CDK CLI instead) |
| mlops_cli | everything | any |

Imports are read from the source (`mlops_core.import_graph`), function-level ones included; an
import under `if TYPE_CHECKING:` counts for the direction, not for what runs. The third-party rule
holds for everything a module's imports run, not only for its own lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlops_core.import_graph import (
    PROJECT_ROOT,
    import_closure,
    imports_of,
    module_file,
    package_modules,
    project_imports,
)

# Highest first; a module belongs to the layer with the longest name that is its own or a prefix of it.
LAYERS = (
    "mlops_cli",
    "local",
    "mlops_stacks",
    "mlops_stacks.handlers",
    "monitoring.tools",
    "monitoring",
    "mlops_core",
    "dataset",
    "model_code",
)
ALLOWED: dict[str, set[str]] = {
    "model_code": set(),
    "dataset": {"model_code"},
    "mlops_core": {"model_code"},
    "monitoring": {"mlops_core", "model_code"},
    "monitoring.tools": {"monitoring", "mlops_core", "dataset", "model_code"},
    "mlops_stacks.handlers": {"monitoring", "mlops_core", "model_code"},
    "mlops_stacks": {"mlops_stacks.handlers", "monitoring", "mlops_core", "dataset", "model_code"},
    "local": set(LAYERS) - {"mlops_cli", "local"},
    "mlops_cli": set(LAYERS) - {"mlops_cli"},
}
# Third-party packages a layer's imports may run; None: any.
THIRD_PARTY: dict[str, set[str] | None] = {
    "mlops_core": set(),
    "monitoring": set(),
    "mlops_stacks.handlers": {"boto3", "botocore"},
}
NEVER: dict[str, set[str]] = {"local": {"aws_cdk", "jsii", "constructs", "cdk_nag"}}
# The container runs model_code's files as top-level modules: train.py falls back to `import csv_table`.
_SOURCEDIR_MODULES = {path.stem for path in (PROJECT_ROOT / "model_code").glob("*.py")}


def layer_of(module: str) -> str:
    """The layer a project module belongs to."""
    owners = [layer for layer in LAYERS if module == layer or module.startswith(f"{layer}.")]
    if not owners:
        raise LookupError(f"{module} is in no layer: add its package to LAYERS and ALLOWED")
    return max(owners, key=len)


def layered_modules(root: Path = PROJECT_ROOT) -> list[str]:
    """Every module of the layered packages (tests, bench and app.py stand outside)."""
    tops = sorted({layer.partition(".")[0] for layer in LAYERS} & {p.parent.name for p in root.glob("*/__init__.py")})
    return [module for top in tops for module in package_modules(top, root)]


def wrong_directions(root: Path = PROJECT_ROOT) -> list[str]:
    """Every import of a layer that is not below it."""
    return sorted(
        f"{module} imports {imported}"
        for module in layered_modules(root)
        for imported in project_imports(module, root, parents=False)
        if layer_of(imported) not in ALLOWED[layer_of(module)] | {layer_of(module)}
    )


def wrong_third_party(root: Path = PROJECT_ROOT) -> list[str]:
    """Every third-party package that importing a module runs although its layer may not use it."""
    wrong = []
    for module in layered_modules(root):
        layer = layer_of(module)
        if layer not in THIRD_PARTY and layer not in NEVER:
            continue
        allowed, never = THIRD_PARTY.get(layer), NEVER.get(layer, set())
        for package, importers in sorted(_third_party_imports(module, root).items()):
            if package in never or (allowed is not None and package not in allowed):
                wrong.append(f"importing {module} imports {package} (in {', '.join(sorted(importers))})")
    return wrong


def _third_party_imports(module: str, root: Path) -> dict[str, set[str]]:
    """Third-party package → the project modules that import it, over everything importing `module` runs."""
    found: dict[str, set[str]] = {}
    for name in import_closure([module], root):
        for item in imports_of(module_file(name, root) or Path(), root):
            top = item.top_level
            if item.type_checking or module_file(top, root) is not None or top in _SOURCEDIR_MODULES:
                continue
            if top not in sys.stdlib_module_names:
                found.setdefault(top, set()).add(name)
    return found


def package_graph(root: Path = PROJECT_ROOT) -> dict[str, set[str]]:
    """Layer → the other layers its modules import."""
    graph: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for module in layered_modules(root):
        for imported in project_imports(module, root, parents=False):
            if layer_of(imported) != layer_of(module):
                graph[layer_of(module)].add(layer_of(imported))
    return graph


def test_every_package_of_the_project_has_a_layer() -> None:
    packages = {path.parent.name for path in PROJECT_ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == {layer.partition(".")[0] for layer in LAYERS}
    assert all(layer_of(module) in ALLOWED for module in layered_modules())


def test_the_readme_lists_the_layers_lowest_first() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    listed = [line.split()[0] for line in layout.splitlines() if line[:1].isalpha() and line.split()[0].endswith("/")]
    layers = [f"{layer.replace('.', '/')}/" for layer in reversed(LAYERS)]
    assert [entry for entry in listed if entry in layers] == layers


def test_every_layer_imports_only_the_layers_below_it() -> None:
    assert wrong_directions() == []


def test_what_the_core_the_drift_domain_and_the_handlers_import_runs_without_numpy_or_aws_cdk() -> None:
    assert wrong_third_party() == []


def test_no_package_imports_itself_through_others() -> None:
    graph = package_graph()
    in_cycles = []
    for start in LAYERS:
        reachable, pending = set(), list(graph[start])
        while pending:
            node = pending.pop()
            if node not in reachable:
                reachable.add(node)
                pending.extend(graph[node])
        if start in reachable:
            in_cycles.append(start)
    assert in_cycles == []
    # The order is strict: every layer stands on the ones it imports, and on nothing above it.
    assert graph["model_code"] == set()
    assert "monitoring.tools" not in graph["monitoring"] and "mlops_stacks" not in graph["monitoring"]


def test_a_lower_layer_importing_a_higher_one_is_caught(tmp_path: Path) -> None:
    # The rules read files: a small project with the two mistakes the layering forbids.
    for package in ("mlops_core", "monitoring", "monitoring/tools"):
        (tmp_path / package).mkdir(parents=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "mlops_core" / "settings.py").write_text(
        "def load():\n    from monitoring.tools.report import render\n"
    )
    (tmp_path / "monitoring" / "tools" / "report.py").write_text("import rich\n\nshow = rich.print\n")
    (tmp_path / "monitoring" / "capture.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import numpy\n"
    )

    assert wrong_directions(tmp_path) == ["mlops_core.settings imports monitoring.tools.report"]
    # settings runs report.py, which imports rich; a TYPE_CHECKING import runs nothing.
    assert wrong_third_party(tmp_path) == ["importing mlops_core.settings imports rich (in monitoring.tools.report)"]
