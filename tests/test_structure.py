"""The shape of the three packages: small modules and classes that say what they are for.

Read from the source (each module's AST), for every module of ``app`` (``app/cli`` too),
``components`` (``components/core`` too) and ``data_adapters``: no module over 600 lines,
no class over 400, and a docstring whose first line is one sentence saying what the module
is for.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("app", "components", "data_adapters")
#: Longest module and class (lines, docstrings and comments included).
MODULE_MAX_LINES, CLASS_MAX_LINES = 600, 400
MODULES = {
    str(path.relative_to(ROOT)): path
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
}


def test_every_package_is_read():
    assert {name.split("/")[0] for name in MODULES} == set(PACKAGES)
    assert "components/core/fields.py" in MODULES and "app/cli/parser.py" in MODULES


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_classes_stay_small(name):
    source = MODULES[name].read_text(encoding="utf-8")
    lines = len(source.splitlines())
    assert lines <= MODULE_MAX_LINES, f"{name}: {lines} lines (at most {MODULE_MAX_LINES})"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = node.end_lineno - first + 1
            assert length <= CLASS_MAX_LINES, (
                f"{name}.{node.name}: {length} lines (at most {CLASS_MAX_LINES})"
            )


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_says_what_it_is_for_in_its_first_line(name):
    doc = ast.get_docstring(ast.parse(MODULES[name].read_text(encoding="utf-8")))
    assert doc, f"{name} has no docstring"
    lines = doc.splitlines()
    # one summary sentence on the first line, then a blank line (or nothing)
    assert lines[0].strip().endswith("."), f"{name}: {lines[0]!r} is not a whole sentence"
    assert len(lines) == 1 or not lines[1].strip(), f"{name}: the summary runs on"
