"""The shape of ``data_adapters``: no import circle, and a registry that imports no adapter.

Read from the source (the AST of each module), not by importing it: a circle that only some
import orders trip over is found all the same. Two graphs are checked: the imports that run
when a module is imported, and every import statement, those inside functions too (the
registry's old circle, ``base`` -> ``adapters`` -> each adapter -> ``base``, went through an
import inside a function). Imports under ``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = "data_adapters"
ROOT = pathlib.Path(__file__).resolve().parents[2] / PACKAGE


def module_name(path: pathlib.Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


MODULES = {module_name(p): p for p in sorted(ROOT.glob("*.py"))}


def _runs_at_import(node: ast.stmt) -> list[ast.stmt]:
    """The statements of a module body that run when it is imported, nested ones included
    (``try``, ``if``), except those under ``if TYPE_CHECKING:``."""
    if isinstance(node, ast.If):
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name == "TYPE_CHECKING":
            return [s for child in node.orelse for s in _runs_at_import(child)]
        return [s for child in (*node.body, *node.orelse) for s in _runs_at_import(child)]
    if isinstance(node, ast.Try):
        children = [*node.body, *node.orelse, *node.finalbody]
        children += [s for handler in node.handlers for s in handler.body]
        return [s for child in children for s in _runs_at_import(child)]
    return [node]


def _everywhere(node: ast.stmt) -> list[ast.AST]:
    """Every node under a module statement, except the bodies of ``if TYPE_CHECKING:``."""
    return [n for s in _runs_at_import(node) for n in ast.walk(s)]


def imported_at_import(
    name: str, source: str, modules: set[str], anywhere: bool = False
) -> set[str]:
    """The modules of ``modules`` that module ``name`` imports at its top level (with
    ``anywhere``: in any statement, inside functions too)."""
    package = name if name == PACKAGE else name.rpartition(".")[0]
    found: set[str] = set()
    for stmt in ast.parse(source).body:
        for node in (_everywhere if anywhere else _runs_at_import)(stmt):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                # ``from .x import y``: y when it is a module, else x (``from . import
                # cache`` imports the module cache, not the package's other modules)
                submodules = [f"{base}.{alias.name}" for alias in node.names]
                targets = [m for m in submodules if m in modules]
                if len(targets) < len(submodules):
                    targets.append(base)
            else:
                continue
            found.update(t for t in targets if t in modules)
    found.discard(name)
    return found


def import_graph(anywhere: bool = False) -> dict[str, set[str]]:
    names = set(MODULES)
    return {
        name: imported_at_import(name, path.read_text(encoding="utf-8"), names, anywhere)
        for name, path in MODULES.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (``[a, b, ..., a]``), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


# -- the checker itself ---------------------------------------------------------------------
def test_the_cycle_finder_finds_a_circle_through_the_registry():
    # the circle this package had: base -> adapters -> local -> base
    graph = {"base": {"adapters"}, "adapters": {"local", "demo"}, "local": {"base"}, "demo": set()}
    assert find_cycle(graph) == ["adapters", "local", "base", "adapters"]
    graph["local"] = set()
    assert find_cycle(graph) is None


def test_top_level_imports_are_read_relative_to_the_package():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import cache\n"
        "from .errors import SourceError\n"
        "import data_adapters.contract\n"
        "try:\n    from .demo import DemoOceanAdapter\nexcept ImportError:\n    pass\n"
        "if TYPE_CHECKING:\n    from .http_store import MissingChunks\n"
        "def later():\n    from .netcdf import NetCDFAdapter\n"
    )
    modules = {f"{PACKAGE}.{m}" for m in ("cache", "errors", "contract", "demo", "http_store")}
    modules |= {f"{PACKAGE}.netcdf", PACKAGE}
    found = imported_at_import(f"{PACKAGE}.base", source, modules)
    expected = {"cache", "errors", "contract", "demo"}
    assert found == {f"{PACKAGE}.{m}" for m in expected}
    found = imported_at_import(f"{PACKAGE}.base", source, modules, anywhere=True)
    assert found == {f"{PACKAGE}.{m}" for m in (*expected, "netcdf")}
    # importing a name of the package (not a module) imports the package's __init__
    found = imported_at_import(f"{PACKAGE}.base", "from data_adapters import Catalog\n", modules)
    assert found == {PACKAGE}


# -- the package ----------------------------------------------------------------------------
@pytest.mark.parametrize("anywhere", [False, True], ids=["at-import", "anywhere"])
def test_no_import_circle_inside_data_adapters(anywhere):
    graph = import_graph(anywhere)
    assert graph[f"{PACKAGE}.registry"], "the graph was not read"
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_registry_imports_no_adapter_module():
    adapters = {"netcdf", "zarr_store", "opendap", "cmems", "demo"}
    graph = import_graph(anywhere=True)
    imported = {name.rpartition(".")[2] for name in graph[f"{PACKAGE}.registry"]}
    assert not imported & adapters
