"""The package reads as the pipeline: no stage imports a later one, and no module cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "atlas"
# The stages in the order data flows; the top-level modules (drop, cli, recipe, the library
# API) and the demo tools sit on top of them all. ``errors`` is shared by every stage.
ORDER = [
    "errors",
    "extract",
    "geography",
    "counting",
    "linkage",
    "disclosure",
    "siting",
    "render",
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Every atlas module this one imports, at the top, in functions or for type checking."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    tree = ast.parse(path.read_text())
    if name == "atlas":
        # the root package's module __getattr__ loads the library API on first use, after
        # ``atlas`` has finished importing: it cannot take part in an import-time cycle
        tree.body = [
            n
            for n in tree.body
            if not (isinstance(n, ast.FunctionDef) and n.name == "__getattr__")
        ]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    modules = _modules()
    return {t for t in found if t in modules and t != name}


def _rank(module: str) -> int:
    parts = module.split(".")
    return ORDER.index(parts[1]) if len(parts) > 1 and parts[1] in ORDER else len(ORDER)


GRAPH = {name: _imports(name, path) for name, path in _modules().items()}


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _rank(m) < len(ORDER)))
def test_no_stage_imports_a_later_one(module):
    later = sorted(t for t in GRAPH[module] if _rank(t) > _rank(module))
    assert not later, f"{module} imports a later stage: {later}"


def test_no_import_cycles():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_every_package_says_what_it_owns():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"{init} has no docstring saying what it owns"
