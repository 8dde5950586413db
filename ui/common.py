"""What every page shares: the scenario library, uploads, links and the page header.

The library holds every scenario a user can pick: the ready-made files in scenarios/,
their uploads and their designs, each as YAML text in the very schema the command line
reads. Levers a user turned are kept apart, as small per-scenario overrides.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from simulation.charts import scenario_colours
from simulation.levers import apply_levers
from simulation.scenario import Scenario, ScenarioError

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "scenarios"
#: Ready-made scenarios listed first, in this order; the rest alphabetically.
FEATURED = ["siloed", "aligned", "converged"]
MAX_UPLOAD_BYTES = 200_000
MAX_LINK_CHARS = 60_000

LIBRARY = "library"  # session key: scenario key -> Entry
SELECTION = "selection"  # session key: the scenario keys chosen for Compare
LEVERS = "levers"  # session key: scenario key -> {lever: value} the user changed


@dataclass(frozen=True)
class Entry:
    key: str
    label: str
    yaml: str  # normalised: Scenario.to_yaml()
    origin: str  # "ready-made", "upload", "design" or "link"

    @property
    def scenario(self) -> Scenario:
        return _parse(self.yaml)


@st.cache_data(show_spinner=False, max_entries=512)
def _parse(yaml_text: str) -> Scenario:
    return Scenario.from_yaml(yaml_text)


@st.cache_data(show_spinner=False, ttl="5m")  # edited files show up within minutes
def ready_made() -> dict[str, tuple[str, str]]:
    """Ready-made scenarios: file stem -> (name, normalised YAML). Broken files are skipped."""
    found: dict[str, tuple[str, str]] = {}
    paths = sorted(
        SCENARIO_DIR.glob("*.yaml"),
        key=lambda p: (FEATURED.index(p.stem) if p.stem in FEATURED else len(FEATURED), p.stem),
    )
    for path in paths:
        try:
            scenario = Scenario.from_file(path)
        except ScenarioError:
            continue  # the validate command reports it; the app offers the others
        found[path.stem] = (scenario.name, scenario.to_yaml())
    return found


def library() -> dict[str, Entry]:
    """The session's scenario library, seeded with the ready-made scenarios."""
    if LIBRARY not in st.session_state:
        st.session_state[LIBRARY] = {
            key: Entry(key, name, text, "ready-made") for key, (name, text) in ready_made().items()
        }
    return st.session_state[LIBRARY]


def add_to_library(scenario: Scenario, origin: str) -> str:
    """Store a user's scenario under a key derived from its name; returns the key."""
    lib = library()
    text = scenario.to_yaml()
    base = f"{origin}:{scenario.name}"
    key, n = base, 1
    while key in lib and lib[key].yaml != text:
        n += 1
        key = f"{base} ({n})"
    label = scenario.name if n == 1 else f"{scenario.name} ({n})"
    lib[key] = Entry(key, label, text, origin)
    return key


def selection() -> list[str]:
    if SELECTION not in st.session_state:
        st.session_state[SELECTION] = [k for k in FEATURED if k in library()]
    return st.session_state[SELECTION]


def lever_changes() -> dict[str, dict[str, Any]]:
    if LEVERS not in st.session_state:
        st.session_state[LEVERS] = {}
    return st.session_state[LEVERS]


def effective(key: str) -> Scenario:
    """The scenario of library entry ``key`` with the user's levers applied.

    Raises ScenarioError when the levers make an impossible organisation.
    """
    return _parse(effective_yaml(key))


def effective_yaml(key: str) -> str:
    """YAML of :func:`effective` (the cache key of its runs), computed once per change."""
    return _with_levers(
        library()[key].yaml, json.dumps(lever_changes().get(key, {}), sort_keys=True)
    )


@st.cache_data(show_spinner=False, max_entries=500)
def _with_levers(yaml_text: str, changes_json: str) -> str:
    # YAML dumping is slow in pure Python: do it once per scenario and set of levers.
    changes = json.loads(changes_json)
    return apply_levers(_parse(yaml_text), changes).to_yaml() if changes else yaml_text


def colours_for(names: list[str], structures: list[str]) -> dict[str, str]:
    return scenario_colours(names, structures)


# --------------------------------------------------------------------------- uploads


def read_upload(name: str, data: bytes) -> Scenario:
    """An uploaded scenario file, validated; ScenarioError with one line otherwise."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(
            "",
            f"the file is {len(data) / 1000:.0f} kB; the limit is {MAX_UPLOAD_BYTES / 1000:.0f} kB",
            name,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("", "not a text file (it is not UTF-8)", name) from None
    return Scenario.from_yaml(text, source=name)


# --------------------------------------------------------------------------- links


def pack(value: Any) -> str:
    """JSON-able value -> short URL-safe text (zlib + base64url)."""
    raw = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 9)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(text: str) -> Any:
    """Inverse of :func:`pack`; ValueError for anything that is not one of ours."""
    if len(text) > MAX_LINK_CHARS:
        raise ValueError("the link is too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return json.loads(zlib.decompress(raw, bufsize=MAX_UPLOAD_BYTES))
    except (binascii.Error, zlib.error, json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("the link is damaged or incomplete") from None


# --------------------------------------------------------------------------- layout


def page_header(title: str, explanation: str) -> None:
    st.title(title, anchor=False)
    st.markdown(f'<p class="cv-lede">{explanation}</p>', unsafe_allow_html=True)


def scenario_chip(name: str, colour: str, detail: str = "") -> str:
    """HTML for a scenario name with its colour swatch (the legend of every chart)."""
    extra = f'<span class="cv-chip-detail">{_escape(detail)}</span>' if detail else ""
    return (
        f'<span class="cv-chip"><span class="cv-swatch" style="background:{colour}">'
        f"</span>{_escape(name)}{extra}</span>"
    )


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


CSS = """
<style>
.cv-lede { font-size: 1.08rem; color: #4a5563; margin-top: -0.6rem; margin-bottom: 1.2rem; }
.cv-chip { display: inline-flex; align-items: center; gap: .45rem; font-weight: 600;
           font-size: 1.05rem; margin-right: 1.4rem; }
.cv-chip-detail { font-weight: 400; color: #6b7280; font-size: .9rem; }
.cv-swatch { width: .95rem; height: .95rem; border-radius: .2rem; display: inline-block; }
.cv-summary p { font-size: 1.02rem; line-height: 1.55; }
.cv-big { font-size: 3.1rem; font-weight: 700; line-height: 1.05; }
.cv-big-label { font-size: 1.15rem; color: #4a5563; text-transform: uppercase;
                letter-spacing: .04em; }
.cv-side-title { font-size: 1.9rem; font-weight: 700; margin: .2rem 0 .6rem 0; }
.cv-day { font-size: 1.6rem; font-weight: 600; color: #374151; }
.cv-headline { font-size: 1.45rem; line-height: 1.4; margin: .2rem 0 .8rem 0; color: #1f2937; }
[data-testid="stMetricValue"] { font-size: 1.65rem; }
</style>
"""


#: Widget keys whose values outlive a visit to another page. Streamlit forgets the
#: state of widgets a run does not draw; writing it back keeps the user's choices.
KEPT_PREFIXES = (
    "cmp_select",
    "cmp_reps",
    "cmp_seed",
    "cmp_target",
    "cmp_flow_view",
    "lv|",
    "ws_pick",
    "ws_seed",
    "ws_days",
    "ws_speed",
    # Transition (not its tables: a data editor's state cannot be written back)
    "tr_base",
    "tr_name",
    "tr_horizon",
    "tr_cm",
    "tr_pdca_on",
    "tr_every",
    "tr_settle",
    "tr_target",
    "tr_compare",
    "tr_reps",
    "tr_seed",
    # Results
    "rs_pick",
    "rs_path",
    "rs_kpi",
    "rs_x",
    "rs_colour",
    "rs_f|",
)


def keep_widget_state() -> None:
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith(KEPT_PREFIXES):
            st.session_state[key] = st.session_state[key]


def inject_css() -> None:
    st.markdown(CSS, unsafe_allow_html=True)
