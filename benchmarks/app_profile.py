"""Where the browser's CPU goes during one Compare (issue 11, item 4): a profile.

Starts the real server and headless Chromium as app_speed.py does, opens Compare
(3 x 10), then runs ONE fresh comparison (a new first seed) while recording:

- every WebSocket message both ways, decoded with Streamlit's own protobuf: ForwardMsgs
  by kind, deltas by element type, bytes; BackMsgs (script reruns asked for);
- the page's main-thread JavaScript as a CDP CPU profile: self time by function and by
  script URL;
- Chromium's Performance metrics before and after (script, layout and style
  recalculation durations and counts);
- the CPU seconds of each process of the browser's tree (renderer, GPU, browser,
  Playwright's driver) and of the server's.

Prints the figures; with --out DIR also writes the raw profile (.cpuprofile, opens in
Chrome's DevTools). Run from the repository root:

    .venv/bin/python benchmarks/app_profile.py [--what compare|first|transition]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.app_speed import (  # noqa: E402
    COMPARE,
    _processes,
    click_compare,
    missing_browser,
    new_seed,
    open_page,
    transition_page,
)


def process_cpu(roots: list[int]) -> dict[str, float]:
    """CPU seconds so far of every process under ``roots``, by a short label."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    out: dict[str, float] = collections.Counter()
    todo = [pid for pid in roots if pid in processes]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        out[_label(pid, cmd)] += processes[pid][1]
    return out


def _label(pid: int, cmd: str) -> str:
    if "--type=" in cmd:
        kind = cmd.split("--type=")[1].split()[0]
        if kind == "utility":
            kind += ":" + cmd.split("--utility-sub-type=")[1].split()[0].rsplit(".", 1)[-1]
        return f"chromium {kind}"
    if "chrom" in cmd:
        return "chromium browser"
    if "node" in cmd or "playwright" in cmd:
        return "playwright driver"
    if "forkserver" in cmd or "multiprocessing" in cmd:
        return "server workers"
    if "streamlit" in cmd:
        return "server"
    return cmd[:40]


class Wire:
    """Every WebSocket message, decoded."""

    def __init__(self) -> None:
        self.recording = False
        self.forward: collections.Counter = collections.Counter()
        self.elements: collections.Counter = collections.Counter()
        self.bytes: collections.Counter = collections.Counter()
        self.back: collections.Counter = collections.Counter()
        self.timeline: list[tuple[float, str]] = []
        self.t0 = time.perf_counter()

    def attach(self, ws) -> None:
        """Listen to the WebSocket ``ws`` both ways."""
        ws.on("framereceived", self.received)
        ws.on("framesent", self.sent)

    def _decoded(self, payload, message_class):
        """``payload`` as a ``message_class`` and its kind, or (None, None) when not
        recording or when it is text (not one of Streamlit's protobuf messages)."""
        if not self.recording or isinstance(payload, str):
            return None, None
        msg = message_class()
        msg.ParseFromString(payload)
        return msg, msg.WhichOneof("type")

    def received(self, payload) -> None:
        """Count one ForwardMsg (server to browser) by kind, element and bytes."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg, kind = self._decoded(payload, ForwardMsg)
        if msg is None:
            return
        self.forward[kind] += 1
        self.bytes[kind] += len(payload)
        what = kind
        if kind == "delta":
            dk = msg.delta.WhichOneof("type")
            if dk == "new_element":
                what = "el:" + str(msg.delta.new_element.WhichOneof("type"))
            else:
                what = dk
            self.elements[what] += 1
            self.bytes[what] += len(payload)
        elif kind == "ref_hash":
            self.elements["ref_hash"] += 1
        elif kind == "session_status_changed":
            st = msg.session_status_changed
            what = f"status running={st.script_is_running}"
        elif kind == "script_finished":
            what = f"script_finished {msg.script_finished}"
        self.timeline.append((time.perf_counter() - self.t0, what))

    def sent(self, payload) -> None:
        """Count one BackMsg (browser to server) by kind."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg, kind = self._decoded(payload, BackMsg)
        if msg is None:
            return
        self.back[kind] += 1
        self.timeline.append((time.perf_counter() - self.t0, f"BACK {kind}"))


def self_times(profile: dict) -> tuple[collections.Counter, collections.Counter, float]:
    """Self milliseconds by function (name @ file:line) and by script URL; total ms."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    by_node: collections.Counter = collections.Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        by_node[sample] += delta / 1000
    by_fn: collections.Counter = collections.Counter()
    by_url: collections.Counter = collections.Counter()
    for node_id, ms in by_node.items():
        frame = nodes[node_id]["callFrame"]
        url = frame["url"].rsplit("/", 1)[-1] or "(" + frame["functionName"] + ")"
        name = frame["functionName"] or "(anonymous)"
        by_fn[f"{name} @ {url}:{frame['lineNumber']}"] += ms
        by_url[url] += ms
    return by_fn, by_url, sum(by_node.values())


def metrics(cdp) -> dict[str, float]:
    """Chromium's Performance metrics of the page (durations in seconds, counts)."""
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def main() -> None:
    """Parse the options, drive the browser through one step, print what it cost."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--what", default="compare", choices=["compare", "first", "transition"])
    parser.add_argument("--out", type=Path, help="folder for the raw .cpuprofile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--timeline", action="store_true", help="print every message")
    parser.add_argument("--trace", action="store_true", help="a Chromium trace, not a JS profile")
    parser.add_argument("--keep-trace", type=Path, help="write the raw trace here")
    parser.add_argument("--css", help="a style sheet added to the page (experiments)")
    parser.add_argument("--no-js", action="store_true", help="no JavaScript profile (its cost)")
    args = parser.parse_args()
    if why_not := missing_browser():
        print(f"SKIP: {why_not}")
        return

    from playwright.sync_api import sync_playwright

    from tests.conftest import app_server
    from tests.test_browser import charts_drawn, count_is, finished

    env = {k: v for k, v in os.environ.items() if k != "CONVERGE_WORKERS"}
    seed = 100_000 + int(time.time()) % 100_000 * 10
    wire = Wire()
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as p:
        browser, page = open_page(p)
        page.on("websocket", wire.attach)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})
        me = os.getpid()
        trace_path = Path(scratch) / "trace.json"

        def start() -> tuple[dict, dict]:
            before = metrics(cdp), process_cpu([me])
            if args.trace:
                args.no_js = True
                browser.start_tracing(page=page, path=trace_path, categories=TRACE_CATEGORIES)
            if not args.no_js:
                cdp.send("Profiler.start")
            wire.recording = True
            wire.t0 = time.perf_counter()
            return before

        def first_page(port: int) -> float:
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/{COMPARE}&seed={seed}")
            count_is(page, '[data-testid="stMetric"]', 24)
            charts_drawn(page, 6)
            finished(page)
            return time.perf_counter() - started

        if args.what == "first":
            before_m, before_p = start()
            started = time.perf_counter()
        with app_server(Path(scratch) / "streamlit.log", env) as port:
            if args.what == "first":
                print(f"server answering after {time.perf_counter() - started:.2f} s")
                first_page(port)
                wall = time.perf_counter() - started
            else:
                first_page(port)
                if args.css:
                    page.add_style_tag(content=args.css)
                print("widgets on the page:", page.evaluate(WIDGETS))
                if args.what == "compare":
                    new_seed(page, seed + 1000)
                before_m, before_p = start()
                wall = click_compare(page) if args.what == "compare" else transition_page(page)
            wire.recording = False
            if args.trace:
                browser.stop_tracing()
                trace = json.loads(trace_path.read_text())
                if args.keep_trace:
                    args.keep_trace.write_text(json.dumps(trace))
            profile = None if args.no_js else cdp.send("Profiler.stop")["profile"]
            after_p = process_cpu([me])
            after_m = metrics(cdp)
        browser.close()

    print(f"\n{args.what}: {wall:.2f} s wall")
    browser_cpu = sum(
        after_p[k] - before_p.get(k, 0) for k in after_p if k.startswith(("chromium", "playwright"))
    )
    server_cpu = sum(after_p[k] - before_p.get(k, 0) for k in after_p if k.startswith("server"))
    print(f"SUMMARY wall {wall:.2f} browser {browser_cpu:.2f} server {server_cpu:.2f}")
    print("\nCPU seconds by process during it:")
    for label in sorted(after_p, key=lambda k: -(after_p[k] - before_p.get(k, 0))):
        d = after_p[label] - before_p.get(label, 0)
        if d > 0.005:
            print(f"  {label:<40} {d:6.2f}")
    print("\nChromium Performance metrics (delta):")
    for name in (
        "TaskDuration",
        "ScriptDuration",
        "LayoutDuration",
        "RecalcStyleDuration",
        "LayoutCount",
        "RecalcStyleCount",
        "Nodes",
        "JSHeapUsedSize",
    ):
        a, b = after_m.get(name, 0), before_m.get(name, 0)
        print(f"  {name:<22} {a - b:12.3f}   (now {a:.3f})")
    print("\nForwardMsgs received:", sum(wire.forward.values()))
    for kind, n in wire.forward.most_common():
        print(f"  {kind:<28} {n:5d}  {wire.bytes[kind] / 1024:8.1f} kB")
    print("Deltas by element:")
    for kind, n in wire.elements.most_common():
        print(f"  {kind:<28} {n:5d}  {wire.bytes[kind] / 1024:8.1f} kB")
    print("BackMsgs sent:", dict(wire.back))
    if args.timeline:
        print("\nTimeline:")
        for t, what in wire.timeline:
            print(f"  {t:7.3f} {what}")
    if args.trace:
        print_trace(trace, args.top)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{args.what}.trace.json").write_text(json.dumps(trace))
    if profile is None:
        return
    by_fn, by_url, total = self_times(profile)
    print(f"\nJS main thread, sampled: {total / 1000:.2f} s")
    print("Self time by script:")
    for url, ms in by_url.most_common(args.top):
        print(f"  {ms:8.0f} ms  {url}")
    print("Self time by function:")
    for fn, ms in by_fn.most_common(args.top):
        print(f"  {ms:8.0f} ms  {fn}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{args.what}.cpuprofile").write_text(json.dumps(profile))


TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "toplevel",
    "v8.execute",
    "blink",
]


def print_trace(trace: dict, top: int) -> None:
    """Self time of the trace's complete events on each renderer main thread, by name."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e["pid"], e["tid"])] = e["args"]["name"]
    per_thread: dict = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            per_thread[(e["pid"], e["tid"])].append(e)
    for key, evs in per_thread.items():
        thread = names.get(key, str(key))
        if thread not in ("CrRendererMain", "Compositor", "VizCompositorThread", "CrGpuMain"):
            continue
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        self_us: collections.Counter = collections.Counter()
        count: collections.Counter = collections.Counter()
        stack: list = []
        for e in evs:
            while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]:
                stack.pop()
            if stack:
                self_us[stack[-1]["name"]] -= e["dur"]
            self_us[e["name"]] += e["dur"]
            count[e["name"]] += 1
            stack.append(e)
        total = sum(e["dur"] for e in evs if e.get("name") == "ThreadControllerImpl::RunTask")
        print(f"\nTrace, {thread} (pid {key[0]}): RunTask total {total / 1e6:.2f} s; self time:")
        for name, us in self_us.most_common(top):
            print(f"  {us / 1000:8.0f} ms  {count[name]:6d} x  {name}")


WIDGETS = """() => {
  const count = s => document.querySelectorAll(s).length;
  return {elements: count('[data-testid="stElementContainer"]'),
          sliders: count('[data-testid="stSlider"]'),
          selects: count('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]'),
          radios: count('[data-testid="stRadio"]'),
          toggles: count('[data-testid="stCheckbox"]'),
          numbers: count('[data-testid="stNumberInput"]'),
          metrics: count('[data-testid="stMetric"]'),
          charts: count('.vega-embed'), dataframes: count('[data-testid="stDataFrame"]'),
          dom_nodes: count('*')};
}"""


if __name__ == "__main__":
    main()
