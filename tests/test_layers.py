"""The house stays layered: no import cycles in src/canaria, and no package imports a higher layer.

The graph is built with `ast` from every import statement, module level and inside functions alike (a
function-level import is still a dependency, only a later one). `if TYPE_CHECKING:` imports count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Low → high. A package may import itself and packages of a strictly lower layer, never a sibling of the same
# layer nor anything above. `canaria` (the root package, only `__version__`) counts as the lowest layer.
LAYERS: list[set[str]] = [
    {"canaria", "canaria.errors"},
    {"canaria.foundation", "canaria.i18n"},
    {"canaria.config"},
    {"canaria.analysis", "canaria.demo"},
    {"canaria.state", "canaria.simulate"},
    {"canaria.gateway"},
    {"canaria.platforms"},
    {"canaria.metrics"},
    {"canaria.controller"},
    {"canaria.notify", "canaria.observability"},
    {"canaria.report"},
    {"canaria.views"},
    {"canaria.web"},
    {"canaria.runtime"},
    {"canaria.cli"},
]
ENTRY_POINTS = {"canaria.__main__"}  # `python -m canaria`: above everything, imported by nobody


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SRC / "canaria").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> set[str]:
    """Every canaria module this one imports (`from a.b import c` is a.b.c when c is a module, else a.b)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("canaria"):
                continue
            for alias in node.names:
                target = _resolve(f"{base}.{alias.name}") or _resolve(base)
                if target and target != module:
                    found.add(target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name) if alias.name.startswith("canaria") else None
                if target and target != module:
                    found.add(target)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _layer(package: str) -> int:
    for index, layer in enumerate(LAYERS):
        if package in layer:
            return index
    raise AssertionError(f"{package} is in no layer: add it to LAYERS in tests/test_layers.py (and the README)")


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(GRAPH[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def test_the_graph_sees_the_packages() -> None:
    """A guard against a test that cannot fail: the walk finds the modules and their real imports."""
    assert len(MODULES) > 100
    assert "canaria.controller.machine" in GRAPH["canaria.runtime.app"]
    assert "canaria.state.store" in GRAPH["canaria.controller.machine"]


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_every_package_has_a_layer() -> None:
    for module in MODULES:
        if module not in ENTRY_POINTS:
            _layer(_package(module))


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if m not in ENTRY_POINTS))
def test_no_import_of_a_higher_layer(module: str) -> None:
    mine = _package(module)
    for target in sorted(GRAPH[module]):
        theirs = _package(target)
        if theirs == mine:
            continue
        assert target not in ENTRY_POINTS, f"{module} imports the entry point {target}"
        assert _layer(theirs) < _layer(mine), (
            f"{module} imports {target}: {theirs} is not below {mine} (layers: tests/test_layers.py)")


def test_cli_common_is_only_for_the_cli() -> None:
    users = sorted(m for m, targets in GRAPH.items() if "canaria.cli.common" in targets)
    assert users and all(m.startswith("canaria.cli.") for m in users), users


def test_domain_packages_keep_no_command_line_code() -> None:
    """Commands live in canaria.cli; notify/report/web/... never import typer."""
    offenders = []
    for module, path in MODULES.items():
        if module.startswith("canaria.cli") or module in ENTRY_POINTS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "typer" or n.startswith("typer.") for n in names):
                offenders.append(module)
    assert offenders == []


def test_a_cycle_and_an_upward_import_would_be_caught() -> None:
    """The checks themselves: a made-up edge from the store to the CLI is both an upward import and a cycle."""
    GRAPH["canaria.state.store"].add("canaria.cli.main")
    try:
        assert any("canaria.state.store" in c for c in _cycles())
        assert _layer("canaria.cli") > _layer("canaria.state")
    finally:
        GRAPH["canaria.state.store"].discard("canaria.cli.main")
