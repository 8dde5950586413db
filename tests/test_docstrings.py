"""Every public class and function has a docstring (the project's style rule).

Public: a name not starting with ``_``, at module level or a method of a public class,
in simulation/ (recursively), ui/*.py, converge_app/*.py, app.py and setup.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(
    [
        *(ROOT / "simulation").rglob("*.py"),
        *(ROOT / "ui").glob("*.py"),
        *(ROOT / "converge_app").glob("*.py"),
        ROOT / "app.py",
        ROOT / "setup.py",
    ]
)

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def undocumented(source: str) -> list[str]:
    """Public classes and functions of ``source`` without a docstring, as
    ``line: qualified name`` (methods of private classes are not public)."""
    missing: list[str] = []

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if not isinstance(node, Definition) or node.name.startswith("_"):
                continue
            name = prefix + node.name
            if ast.get_docstring(node) is None:
                missing.append(f"{node.lineno}: {name}")
            if isinstance(node, ast.ClassDef):
                walk(node.body, name + ".")

    walk(ast.parse(source).body, "")
    return missing


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_public_names_have_docstrings(path: Path) -> None:
    missing = undocumented(path.read_text(encoding="utf-8"))
    assert not missing, f"{path.relative_to(ROOT)}: no docstring: " + ", ".join(missing)


def test_the_checker_finds_a_missing_docstring() -> None:
    source = '''
def documented():
    """Yes."""

def bare():
    pass

def _private():
    pass

class Thing:
    """A thing."""

    def method(self):
        pass

    def _helper(self):
        pass

class _Hidden:
    def method(self):
        pass
'''
    assert undocumented(source) == ["5: bare", "14: Thing.method"]


def test_the_files_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"app.py", "simulation/cli.py", "simulation/model/org_model.py"} <= names
    assert any(n.startswith("ui/") for n in names)
