"""The package's shape: no import cycles, small modules, every op row complete.

The import graph is read from the source (every ``import`` statement, at module level, inside
functions and under ``TYPE_CHECKING`` alike), so a cycle hidden in a function-level import fails
here even though Python would tolerate it at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "microgradnet"
# One module may be longer: the op table, a flat list of rows.
MAX_LINES = 440
LONGER_ALLOWED = {"microgradnet.ops": 500}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                # `from . import ops` imports the module microgradnet.ops
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in known else target)
    return {m for m in found if m in known and m != name}


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    cycle = _find_cycle(_import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _find_cycle(graph) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_function_level_imports_count() -> None:
    graph = _import_graph()
    # the package shows a Value in Jupyter through viz, imported inside a function
    assert "microgradnet.viz" in graph["microgradnet"]


def test_the_engine_imports_no_drawing_or_networks() -> None:
    graph = _import_graph()
    assert not graph["microgradnet.ops"] - {"microgradnet._dual"}
    below_engine = {"microgradnet.ops", "microgradnet._dual", "microgradnet._graph",
                    "microgradnet._backward", "microgradnet._numbers", "microgradnet._functions",
                    "microgradnet._grad_mode", "microgradnet._backward_graph",
                    "microgradnet._value_extras"}  # fmt: skip
    assert graph["microgradnet.engine"] <= below_engine


@pytest.mark.parametrize("name", sorted(_modules()))
def test_modules_are_short(name: str) -> None:
    lines = len(_modules()[name].read_text(encoding="utf-8").splitlines())
    limit = LONGER_ALLOWED.get(name, MAX_LINES)
    assert lines <= limit, f"{name} has {lines} lines, more than {limit}: split it by job"
