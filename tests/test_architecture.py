"""The import rule: a layer imports at run time only from the layers below it.

Layers, low to high (docs/architecture.md draws them):

    0 catalog, errors, limits,     what everything may use; the version
      version
    1 inputs                       scenarios, experiments, levers: what users hand in
    2 engine                       event list, work, units, people, forming units
    3 mechanisms                   one module per mechanism
    4 model                        OrgModel wires engine and mechanisms; records
    5 analysis                     records -> KPIs, statistics, comparisons
    6 running                      runs, replicates, sweeps, executors, outputs
    7 presentation                 charts and tables for people
    8 cli (and the package's public names); ui/ and app.py sit above everything

Imports inside ``if TYPE_CHECKING:`` are for annotations only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simulation"

LAYERS = {
    "catalog": 0,
    "errors": 0,
    "limits": 0,
    "version": 0,
    "inputs": 1,
    "engine": 2,
    "mechanisms": 3,
    "model": 4,
    "analysis": 5,
    "running": 6,
    "presentation": 7,
    "cli": 8,
    "__main__": 8,
    "__init__": 8,
}
TOP = max(LAYERS.values())


def layer_of(module: str) -> int:
    """The layer of a dotted module name inside ``simulation``."""
    parts = module.split(".")
    assert parts[0] == "simulation"
    if len(parts) == 1:
        return TOP  # the package's public names import from every layer
    return LAYERS[parts[1]]


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 2:
        parts = parts[:-1]
    return ".".join(parts)


def is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def runtime_imports(tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names) of every import that runs, wherever it sits."""
    found: list[tuple[int, str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if is_type_checking_block(node):
            for child in node.orelse:  # the else branch does run
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def target_layer(module: str, names: list[str]) -> int:
    """The layer an import reaches: ``from simulation import x`` is x's layer."""
    if module != "simulation":
        return layer_of(module)
    if not names:  # a bare `import simulation`, for its __version__
        return 0
    return max(0 if name == "__version__" else LAYERS.get(name, TOP) for name in names)


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_imports_only_from_layers_below_its_own(path: Path) -> None:
    own = module_name(path)
    own_layer = layer_of(own)
    own_package = own.split(".")[:2]
    wrong = []
    for line, module, names in runtime_imports(ast.parse(path.read_text())):
        if module.split(".")[0] == "streamlit":
            wrong.append(f"line {line}: simulation/ never imports streamlit")
        if module.split(".")[0] in {"ui", "app", "converge_app"}:
            wrong.append(f"line {line}: {module} is the app, above every layer")
        if module.split(".")[0] != "simulation":
            continue
        if module.split(".")[:2] == own_package and own_layer != TOP:
            continue  # within one subpackage
        if target_layer(module, names) >= own_layer and own_layer != TOP:
            wrong.append(f"line {line}: {module} is layer {target_layer(module, names)}")
    assert not wrong, f"{own} (layer {own_layer}) imports upwards or sideways: {wrong}"


@pytest.mark.parametrize(
    "path", [*SOURCES, *sorted((ROOT / "ui").glob("*.py")), ROOT / "app.py"], ids=str
)
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    private = [
        f"line {line}: {module}.{name}"
        for line, module, names in runtime_imports(ast.parse(path.read_text()))
        for name in names
        if module.split(".")[0] in {"simulation", "ui"} and name.startswith("_")
        if name != "__version__"
    ]
    assert not private, f"{path.name} reaches into private names: {private}"


def test_every_subpackage_of_simulation_has_a_layer() -> None:
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert packages | modules <= set(LAYERS), (packages | modules) - set(LAYERS)


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The rule itself can fail: an engine module that imports running is caught."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "from simulation.running.runs import run_scenario\n"
        "if TYPE_CHECKING:\n    from simulation.model.org_model import OrgModel\n"
    )
    reached = [target_layer(m, n) for _, m, n in runtime_imports(tree) if m != "typing"]
    assert reached == [LAYERS["running"]]
