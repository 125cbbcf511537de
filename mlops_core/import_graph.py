"""The project's imports, read from its source (AST): what the Lambda bundle holds and what the layer test checks.

Only absolute imports count (the project writes no relative ones), at any depth: an import inside a
function runs as surely as one at the top, only later. Imports under `if TYPE_CHECKING:` never run;
they are kept apart, so that the bundle leaves them out while the layer test still reads them as a
dependency. A module of the project is a file under the project root inside a package (a directory
with `__init__.py`); everything else is the standard library or a third-party package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, order=True)
class Import:
    """One imported module, fully qualified (`monitoring.capture`, `boto3`, `botocore.config`)."""

    module: str
    type_checking: bool = False  # under `if TYPE_CHECKING:`: read by type checkers, never run

    @property
    def top_level(self) -> str:
        """The distribution-level name (`botocore` of `botocore.config`)."""
        return self.module.partition(".")[0]


def module_file(module: str, root: Path = PROJECT_ROOT) -> Path | None:
    """The file of a project module (`a.b` is a/b.py or a/b/__init__.py), None when it is not the project's."""
    parts = module.split(".")
    if not (root / parts[0] / "__init__.py").is_file():
        return None
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path, root: Path = PROJECT_ROOT) -> str:
    """The dotted name of a project file (a/b/__init__.py is `a.b`)."""
    return ".".join(path.resolve().relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def package_modules(package: str, root: Path = PROJECT_ROOT) -> list[str]:
    """Every module of a package, subpackages included, sorted."""
    directory = root.joinpath(*package.split("."))
    return sorted(module_name(path, root) for path in directory.rglob("*.py") if "__pycache__" not in path.parts)


def imports_of(path: Path, root: Path = PROJECT_ROOT) -> list[Import]:
    """The modules a file imports, sorted; `from a import b` names `a.b` when that is a module of the project."""
    collector = _ImportCollector()
    collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    found: set[Import] = set()
    for node, type_checking in collector.found:
        if isinstance(node, ast.Import):
            found.update(Import(alias.name, type_checking) for alias in node.names)
        elif node.level == 0 and node.module:
            found.add(Import(node.module, type_checking))
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if module_file(submodule, root) is not None:
                    found.add(Import(submodule, type_checking))
    return sorted(found)


class _ImportCollector(ast.NodeVisitor):
    """Every import statement of a tree, and whether it sits under `if TYPE_CHECKING:`."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []
        self._type_checking = False

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self._type_checking = self._type_checking, True
        for statement in node.body:
            self.visit(statement)
        self._type_checking = outer
        for statement in node.orelse:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self._type_checking))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self._type_checking))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def project_imports(
    module: str, root: Path = PROJECT_ROOT, *, type_checking: bool = True, parents: bool = True
) -> set[str]:
    """The project modules `module` imports; with `parents`, also the packages importing them runs (`a` for `a.b`)."""
    path = module_file(module, root)
    if path is None:
        raise ValueError(f"{module} is not a module of the project under {root}")
    names: set[str] = set()
    for item in imports_of(path, root):
        if item.type_checking and not type_checking:
            continue
        name = _longest_project_module(item.module, root)
        if name is not None:
            names.update(_with_parents(name, root) if parents else [name])
    return names


def import_closure(modules: Iterable[str], root: Path = PROJECT_ROOT) -> list[str]:
    """Every project module that importing `modules` runs (TYPE_CHECKING imports left out), sorted."""
    pending = {name for module in modules for name in _with_parents(module, root)}
    seen: set[str] = set()
    while pending:
        module = pending.pop()
        seen.add(module)
        pending |= project_imports(module, root, type_checking=False) - seen
    return sorted(seen)


def _longest_project_module(module: str, root: Path) -> str | None:
    """`a.b.c` itself when it is a module of the project, else its longest prefix that is (`a.b.CONSTANT`)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if module_file(name, root) is not None:
            return name
    return None


def _with_parents(module: str, root: Path) -> list[str]:
    """The module and the packages above it that have an `__init__.py` to run."""
    parts = module.split(".")
    names = [".".join(parts[:end]) for end in range(1, len(parts) + 1)]
    return [name for name in names if module_file(name, root) is not None]
