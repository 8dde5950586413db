"""docs/odd.md, the ODD description of the model, stays true to the code.

What the document cites is checked against the code it describes: every mechanism
module and every section of the parameter catalog has its place under "7 Submodels";
every dotted name in backticks is a parameter path of the catalog, and every default in
a parameter table is the catalog's; every bare name in backticks is something the code
defines (a KPI key, a catalog section or a parameter's leaf name, a daily series, a
structure). A renamed parameter, KPI or module, or a changed default, fails here until
the document follows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulation.catalog.kpis import KPIS, RUN_FIELDS
from simulation.catalog.levers import STRUCTURES
from simulation.catalog.parameters import PARAMETERS, Parameter
from simulation.model.org_model import DAILY_SERIES

ROOT = Path(__file__).resolve().parent.parent
ODD = ROOT / "docs" / "odd.md"
MECHANISMS = ROOT / "simulation" / "mechanisms"

#: A catalog path: dotted, ``[]`` for any item of a list, ``*`` for any key of a mapping.
DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\[\])?(\.([a-z_][a-z0-9_]*(\[\])?|\*))+$")
#: A bare name, as KPI keys, catalog sections and series are written.
BARE = re.compile(r"^[a-z_][a-z0-9_]*$")
#: A row of a parameter table: the path in backticks, then its default.
TABLE_ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+) \|", re.MULTILINE)

SEVEN_ELEMENTS = (
    "1 Purpose and patterns",
    "2 Entities, state variables and scales",
    "3 Process overview and scheduling",
    "4 Design concepts",
    "5 Initialisation",
    "6 Input data",
    "7 Submodels",
)
DESIGN_CONCEPTS = (
    "Basic principles",
    "Emergence",
    "Adaptation",
    "Objectives",
    "Learning",
    "Prediction",
    "Sensing",
    "Interaction",
    "Stochasticity",
    "Collectives",
    "Observation",
)


def odd_text() -> str:
    """The document as written."""
    return ODD.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text of the level-2 section ``heading``, up to the next level-2 heading."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def cited(text: str) -> list[str]:
    """Everything in single backticks; ``path: value`` counts as its path."""
    names = []
    for code in re.findall(r"`([^`\n]+)`", text):
        names.append(code.split(": ")[0] if ": " in code else code)
    return names


def catalog_paths() -> set[str]:
    """Every parameter path of the catalog."""
    return {p.path for p in PARAMETERS}


def known_bare_names() -> set[str]:
    """Bare names the code defines: KPI keys, catalog sections and leaf names, the
    daily series and the structures."""
    kpis = {k.key for k in KPIS} | set(RUN_FIELDS)
    sections = {p.mechanism for p in PARAMETERS}
    leaves = {re.split(r"[.\[]", p.path)[-1] for p in PARAMETERS} - {"*", "]"}
    leaves |= {p.path.rsplit(".", 1)[-1] for p in PARAMETERS}
    return kpis | sections | leaves | set(DAILY_SERIES) | set(STRUCTURES)


def shown(default: object) -> str:
    """A catalog default as the document's tables show it."""
    if default is None:
        return "(none)"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)


def mechanism_modules() -> list[str]:
    """The mechanism modules: every module of simulation/mechanisms but base.py."""
    return sorted(
        p.name for p in MECHANISMS.glob("*.py") if p.name not in ("__init__.py", "base.py")
    )


def missing_elements(text: str) -> list[str]:
    """The ODD elements and design concepts the document lacks."""
    missing = [h for h in SEVEN_ELEMENTS if f"\n## {h}\n" not in text]
    if "4 Design concepts" not in missing:
        concepts = section(text, "4 Design concepts")
        missing += [c for c in DESIGN_CONCEPTS if f"**{c}.**" not in concepts]
    return missing


def missing_submodels(text: str) -> list[str]:
    """Mechanism modules and catalog sections not named under "7 Submodels"."""
    submodels = section(text, "7 Submodels")
    names = set(cited(submodels))
    modules = [m for m in mechanism_modules() if f"simulation/mechanisms/{m}" not in submodels]
    sections = sorted({p.mechanism for p in PARAMETERS} - names)
    return modules + [f"`{s}`" for s in sections]


def unknown_paths(text: str) -> list[str]:
    """Dotted names cited that are no parameter path of the catalog."""
    paths = catalog_paths()
    return sorted({c for c in cited(text) if DOTTED.match(c) and c not in paths})


def unknown_names(text: str) -> list[str]:
    """Bare names cited that the code does not define."""
    known = known_bare_names()
    return sorted({c for c in cited(text) if BARE.match(c) and c not in known})


def wrong_defaults(text: str) -> list[str]:
    """Parameter-table rows whose default is not the catalog's."""
    by_path: dict[str, Parameter] = {p.path: p for p in PARAMETERS}
    return [
        f"{path}: {default} (catalog: {shown(by_path[path].default)})"
        for path, default in TABLE_ROW.findall(text)
        if path in by_path and default.strip() != shown(by_path[path].default)
    ]


def test_the_document_has_the_seven_elements_of_odd_and_every_design_concept():
    assert not missing_elements(odd_text()), f"docs/odd.md lacks: {missing_elements(odd_text())}"


def test_every_mechanism_module_and_catalog_section_is_named_under_submodels():
    missing = missing_submodels(odd_text())
    assert not missing, f"not named under '7 Submodels' in docs/odd.md: {missing}"


def test_no_code_span_runs_over_a_line_end():
    """Citations are read line by line: a span broken over two lines would be misread."""
    odd = [n for n, line in enumerate(odd_text().splitlines(), 1) if line.count("`") % 2]
    assert not odd, f"docs/odd.md lines with an unclosed backtick: {odd}"


def test_every_dotted_name_cited_is_a_parameter_path_of_the_catalog():
    unknown = unknown_paths(odd_text())
    assert not unknown, f"docs/odd.md cites parameters the catalog does not have: {unknown}"


def test_every_bare_name_cited_is_a_kpi_or_a_name_the_code_defines():
    unknown = unknown_names(odd_text())
    assert not unknown, (
        "docs/odd.md cites names that are no KPI key (simulation/catalog/kpis.py), catalog "
        f"section or parameter, daily series or structure: {unknown}"
    )


def test_every_default_in_a_parameter_table_is_the_catalogs():
    rows = [path for path, _ in TABLE_ROW.findall(odd_text()) if path in catalog_paths()]
    assert len(rows) > 50, "docs/odd.md should tabulate the parameters of each submodel"
    wrong = wrong_defaults(odd_text())
    assert not wrong, f"defaults in docs/odd.md differ from the catalog: {wrong}"


@pytest.mark.parametrize(
    ("before", "after", "check", "caught"),
    [
        (
            "`mechanisms.rework.detection`",
            "`mechanisms.rework.detect`",
            unknown_paths,
            "mechanisms.rework.detect",
        ),
        ("`flow_efficiency`", "`flow_efficency`", unknown_names, "flow_efficency"),
        (
            "| `mechanisms.rework.detection` | 0.7 |",
            "| `mechanisms.rework.detection` | 0.9 |",
            wrong_defaults,
            "mechanisms.rework.detection: 0.9 (catalog: 0.7)",
        ),
        (
            "`simulation/mechanisms/defects.py`",
            "the defects module",
            missing_submodels,
            "defects.py",
        ),
        ("(catalog section `defects`)", "(catalog section)", missing_submodels, "`defects`"),
        ("**Sensing.**", "Sensing.", missing_elements, "Sensing"),
    ],
)
def test_the_checks_catch_a_document_that_drifts_from_the_code(before, after, check, caught):
    """Each check fails on the document with one citation made wrong (so its passing
    on the real one means something)."""
    text = odd_text()
    assert before in text and not check(text)
    assert caught in check(text.replace(before, after))
