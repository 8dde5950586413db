"""What every page shares: the scenario library, uploads, links and the page header.

The library holds every scenario a user can pick: the ready-made files in scenarios/,
their uploads and their designs, each as YAML text in the very schema the command line
reads. Levers a user turned are kept apart, as small per-scenario overrides.

Light to import (scenarios and levers, no pandas, SciPy, Altair or model): the Compare
page picks and submits its runs through it while the server still loads those.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from simulation.errors import quote
from simulation.inputs.levers import apply_levers, changed_levers, coerce_lever
from simulation.inputs.safe_yaml import MAX_BYTES
from simulation.inputs.scenario import Scenario, ScenarioError

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "scenarios"
#: Ready-made scenarios listed first, in this order; the rest alphabetically.
FEATURED = ["siloed", "aligned", "converged"]
#: The one upload limit: the server refuses a larger file (server.maxUploadSize in
#: .streamlit/config.toml, which counts whole megabytes), the uploader says so and
#: refuses it in the browser (its max_upload_size), and read_upload checks it again.
#: It is the limit of every file Converge reads (simulation.inputs.safe_yaml.MAX_BYTES).
MAX_UPLOAD_BYTES = MAX_BYTES
MAX_UPLOAD_MB = MAX_UPLOAD_BYTES // (1024 * 1024)  # Streamlit's megabyte
MAX_LINK_CHARS = 60_000
#: A link's decoded content: no more than one upload's worth. zlib packs a megabyte of
#: zeros into a kilobyte, so the limit is on what comes out, not what goes in.
MAX_LINK_BYTES = MAX_UPLOAD_BYTES
#: Seeds a link may set: the largest whole number a browser's number input holds exactly.
MAX_LINK_SEED = 2**53 - 1
#: Characters of a link value quoted back in a message.
QUOTED_CHARS = 40

#: Where the Results page may read sweeps; the repository's results/ folder if unset.
RESULTS_ROOT_ENV = "CONVERGE_RESULTS_ROOT"

LIBRARY = "library"  # session key: scenario key -> Entry
SELECTION = "selection"  # session key: the scenario keys chosen for Compare
LEVERS = "levers"  # session key: scenario key -> {lever: value} the user changed


@dataclass(frozen=True)
class Entry:
    """A scenario of the session's library, stored as YAML text so the session holds no
    model objects and a parsed copy can be cached by its text.

    Args:
        key: Its key in the library (a file stem, or origin:name for the user's own).
        label: What pickers call it.
        yaml: The scenario, normalised (``Scenario.to_yaml()``).
        origin: Where it came from: "ready-made", "upload", "design" or "link".
    """

    key: str
    label: str
    yaml: str  # normalised: Scenario.to_yaml()
    origin: str  # "ready-made", "upload", "design" or "link"

    @property
    def scenario(self) -> Scenario:
        """The validated scenario (parsed once per text, then cached)."""
        return _parse(self.yaml)


@st.cache_data(show_spinner=False, max_entries=512)
def _parse(yaml_text: str) -> Scenario:
    return Scenario.from_yaml(yaml_text)


# Edited files show up within minutes. A timedelta, not "5m": Streamlit reads a text
# duration with pandas, which would load it before the first runs can be submitted.
@st.cache_data(show_spinner=False, ttl=timedelta(minutes=5))
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
    """The library keys chosen for Compare (the featured three at first); edits stick."""
    if SELECTION not in st.session_state:
        st.session_state[SELECTION] = [k for k in FEATURED if k in library()]
    return st.session_state[SELECTION]


def lever_changes() -> dict[str, dict[str, Any]]:
    """The levers the user changed, per library key: {key: {lever: value}}; edits stick."""
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
    """A colour per scenario name, as every chart of the app colours it."""
    from simulation.presentation.charts import scenario_colours  # Altair: after the runs

    return scenario_colours(names, structures)


# --------------------------------------------------------------------------- uploads


def read_upload(name: str, data: bytes) -> Scenario:
    """An uploaded scenario file, validated; ScenarioError with one line otherwise."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ScenarioError(
            "", f"the file is {size_text(len(data))}; the limit is {MAX_UPLOAD_MB} MB", name
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("", "not a text file (it is not UTF-8)", name) from None
    return Scenario.from_yaml(text, source=name)


def size_text(n: int) -> str:
    """Bytes as people read them, in Streamlit's units (1 MB = 1024 kB)."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{max(1, round(n / 1024))} kB"


# --------------------------------------------------------------------------- links


def pack(value: Any) -> str:
    """JSON-able value -> short URL-safe text (zlib + base64url)."""
    raw = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 9)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(text: str) -> Any:
    """Inverse of :func:`pack`; ValueError with a plain reason for anything else.

    A link is input from anyone: its length, what it decompresses to and the numbers
    in it are bounded before anything is built from it."""
    if len(text) > MAX_LINK_CHARS:
        raise ValueError("the link is too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflate = zlib.decompressobj()
        data = inflate.decompress(raw, MAX_LINK_BYTES)
    except (binascii.Error, ValueError, zlib.error):
        raise ValueError("the link is damaged or incomplete") from None
    if inflate.unconsumed_tail:
        raise ValueError(f"the link holds more than {size_text(MAX_LINK_BYTES)}")
    if not inflate.eof:
        raise ValueError("the link is damaged or incomplete")
    try:
        return json.loads(data, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: thousands of nested brackets; ValueError: not JSON, NaN,
        # Infinity or a number of over 4,300 digits
        raise ValueError("the link is damaged or incomplete") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a link may carry")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


@dataclass(frozen=True)
class LinkedScenario:
    """One organisation a link names, checked: ready-made (``key``) or carried in the link."""

    key: str | None  # the library key of a ready-made scenario; None for a carried one
    scenario: Scenario
    levers: dict[str, Any]  # the levers the link changes, validated against the scenario


def read_link(
    params: Mapping[str, str], known: Mapping[str, Entry], max_scenarios: int
) -> list[LinkedScenario]:
    """The organisations and levers of a Compare link (``s``, ``u``, ``lv``), all checked.

    A link may come from anyone, so it passes the same checks as an upload: scenarios
    through Scenario.from_yaml (the scenario's bounds and YAML budget), levers through
    apply_levers. Raises ScenarioError naming the link parameter and the reason.
    Nothing is applied here, so a bad link leaves nothing half-done."""
    tokens = [t for t in params.get("s", "").split(",") if t]
    if len(tokens) > max_scenarios:
        raise ScenarioError("s", f"names {len(tokens)} organisations; at most {max_scenarios}")
    carried = _link_mapping(params, "u")
    levers = _link_mapping(params, "lv")
    linked = []
    for position, token in enumerate(tokens):
        key, scenario = _linked_scenario(token, carried, known)
        raw = levers.get(str(position), {})
        linked.append(LinkedScenario(key, scenario, _linked_levers(scenario, raw, position)))
    return linked


def read_link_int(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """Whole number ``name`` of a link, from ``low`` to ``high``; None when absent."""
    if name not in params:
        return None
    text = params[name].strip()
    if not re.fullmatch(r"[0-9]{1,20}", text) or not low <= int(text) <= high:
        raise ScenarioError(
            name, f"expected a whole number from {low:,} to {high:,}, got {short_quote(text)}"
        )
    return int(text)


def _link_mapping(params: Mapping[str, str], name: str) -> dict[str, Any]:
    if name not in params:
        return {}
    try:
        value = unpack(params[name])
    except ValueError as exc:
        raise ScenarioError(name, str(exc)) from None
    if not isinstance(value, dict):
        raise ScenarioError(name, "the link is damaged or incomplete")
    return value


def _linked_scenario(
    token: str, carried: dict[str, Any], known: Mapping[str, Entry]
) -> tuple[str | None, Scenario]:
    if not token.startswith("*"):
        if token not in known:
            raise ScenarioError("s", f"there is no ready-made scenario {short_quote(token)}")
        return token, known[token].scenario
    text = carried.get(token[1:])
    if not isinstance(text, str):
        raise ScenarioError("u", f"the link does not carry the organisation {short_quote(token)}")
    return None, Scenario.from_yaml(text, source=f"the link's organisation {token[1:]}")


def _linked_levers(scenario: Scenario, raw: Any, position: int) -> dict[str, Any]:
    field = f"lv (organisation {position + 1})"
    if not isinstance(raw, dict):
        raise ScenarioError(field, "expected levers by name")
    wanted = {}
    for name, value in raw.items():
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if len(name) > QUOTED_CHARS or not (is_number or isinstance(value, str)):
            raise ScenarioError(field, f"{short_quote(name)} is not a lever setting")
        if isinstance(value, str) and len(value) > QUOTED_CHARS:
            raise ScenarioError(name, f"expected a lever value, got {short_quote(value)}")
        try:
            wanted[name] = coerce_lever(name, value)
        except OverflowError:
            raise ScenarioError(name, f"{short_quote(value)} is out of range") from None
    apply_levers(scenario, wanted)  # the scenario's bounds: refuse here, not at run time
    return changed_levers(scenario, wanted)


def short_quote(value: Any) -> str:
    """A value from outside, quoted short and on one line for a message."""
    return quote(value, QUOTED_CHARS)


# --------------------------------------------------------------------------- results


def results_root() -> Path:
    """The only folder the Results page reads: CONVERGE_RESULTS_ROOT, else results/."""
    configured = os.environ.get(RESULTS_ROOT_ENV, "").strip()
    return (Path(configured).expanduser() if configured else ROOT / "results").resolve()


def sweep_dir(text: str, root: Path) -> Path | None:
    """The sweep directory ``text`` names: relative to ``root``, or absolute inside it.

    Symlinks and '..' are resolved before the check, so nothing outside ``root`` is
    ever opened. None for a path outside ``root``, a missing one and one that holds no
    sweep alike: a visitor must not learn what exists on the server."""
    from simulation.running.batch import MANIFEST  # the model, NumPy: not at import

    try:
        path = (root / text.strip()).resolve()
        return path if path.is_relative_to(root) and (path / MANIFEST).is_file() else None
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a name too long, a loop
        return None


def shown_sweep(path: Path, root: Path) -> str:
    """A sweep directory as the Results page names it: relative to the results root."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return path.name


# --------------------------------------------------------------------------- errors

_LOG = logging.getLogger("converge.app")
#: What Markdown turns into links, images, code, emphasis or formulas, and Streamlit
#: into coloured text (:red[...]): escaped with a backslash.
_MARKDOWN_ACTIVE = re.compile(r"[\\`*_\[\]<>!$~]")
#: Where GitHub-flavoured Markdown finds a link in plain text ("http://", "www.", an
#: e-mail address). It looks after backslash escapes are undone, so these get an
#: invisible word joiner instead, which its patterns do not cross.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"
#: Characters of an unexpected exception's message shown to a visitor.
SHOWN_ERROR_CHARS = 200


def plain(text: str) -> str:
    """``text`` for st.error or st.markdown, shown as written, on one line: no links,
    images, emphasis or formulas. Messages quote what visitors typed or linked; a link
    in one of our error boxes would be theirs, and an image a request that leaves the
    machine."""
    one_line = " ".join(text.splitlines())
    escaped = _MARKDOWN_ACTIVE.sub(lambda m: "\\" + m.group(0), one_line)
    return _AUTOLINK.sub(WORD_JOINER, escaped)


def log_unexpected(exc: BaseException) -> None:
    """The traceback of an exception a visitor is not shown, for the server's log."""
    _LOG.error("Unexpected exception in the app", exc_info=exc)


def unexpected_error(exc: Exception) -> None:
    """The app's last net: one error box with the exception's class and first line
    (cut short); the traceback goes to the server's log, not to the visitor."""
    log_unexpected(exc)
    lines = str(exc).strip().splitlines()
    first = (lines[0] if lines else "").replace(f"{ROOT}/", "")  # no server paths
    if len(first) > SHOWN_ERROR_CHARS:
        first = first[: SHOWN_ERROR_CHARS - 1] + "…"
    detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    st.error(
        plain(f"Something went wrong on this page ({detail}).")
        + " The rest of the app works: change what you entered, or reload the page.",
        icon=":material/error:",
    )


# --------------------------------------------------------------------------- layout


def page_header(title: str, explanation: str) -> None:
    """A page's title and the sentence under it that says what the page is for."""
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
/* While a page reruns, Streamlit fades what the last run drew (opacity 1 -> .33 over a
   second, after half a second), eases its expanders' borders and slides its progress
   bars. Without a GPU every frame of those transitions repaints and composites the
   whole page: measured in headless Chromium, 0.3-0.8 s of the browser's CPU per
   Compare, taken from the runs on a two-core machine. The same states come at once:
   what is out of date still dims after half a second (a quick rerun does not
   flicker), in one step. */
[data-stale="true"] { transition: opacity 0s linear .5s !important; }
[data-testid="stExpander"] details, [data-testid="stExpander"] summary,
[data-testid="stProgress"] * { transition: none !important; }
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
    """Write back the state of the widgets in ``KEPT_PREFIXES``: Streamlit forgets the
    state of widgets a run does not draw, so without this a visit to another page
    would reset the user's choices.
    """
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith(KEPT_PREFIXES):
            st.session_state[key] = st.session_state[key]


def inject_css() -> None:
    """Add the app's style sheet to the page (called once per run, by app.py)."""
    st.markdown(CSS, unsafe_allow_html=True)
