"""The app in a real browser: how soon it answers (issue 11, item 4).

Starts the real server (`streamlit run app.py`, as `make app` and the browser test do,
with its worker pool: one worker per core) and drives Debian's Chromium through
Playwright, headless. It waits for what the app draws (metrics, Vega charts, the
script's state), never for a fixed time, and prints:

- server start -> first Compare results (3 ready-made organisations x 10 replicates,
  charts drawn); target 8 s;
- Compare, 3 x 10 uncached, click on Run comparison -> charts drawn: best and range
  over ``--repeats``, a fresh first seed each time so nothing comes from the cache;
  target 3 s;
- Transition page, click in the navigation -> its results drawn (4 paths x 10
  replicates, uncached); target 5 s.

Beside each wall time, the CPU seconds it took, apart for the server (with its
forkserver and worker processes) and for the browser (Chromium and Playwright's
driver): on a shared machine wall times grow with the others' load, CPU times far
less. With two cores, the server's CPU over two is a floor under the wall time on a
quiet machine; the browser's share competes for the same cores.

Figures, not assertions: the machine is shared, so read the best and the range.
Skips with one line where Playwright or Chromium is missing. Run from the repository
root:

    .venv/bin/python benchmarks/app_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import describe_machine, rule, verdict  # noqa: E402

FIRST_TARGET, COMPARE_TARGET, TRANSITION_TARGET = 8.0, 3.0, 5.0
#: The comparison the issue names: 3 organisations x 10 replicates.
COMPARE = "?s=siloed,aligned,converged&r=10"


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[int, float]]:
    """Every process on this machine: pid -> (parent pid, CPU seconds so far), from /proc
    (empty where there is none: the CPU columns then read 0)."""
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        found[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def cpu_seconds(roots: list[int]) -> float:
    """CPU seconds used so far by the processes ``roots`` and all their descendants."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [pid for pid in roots if pid in processes]
    while todo:
        pid = todo.pop()
        total += processes[pid][1]
        todo.extend(children.get(pid, []))
    return total


@dataclass
class CpuMeter:
    """CPU seconds of the server's and the browser's process trees, read on demand."""

    server: int  # the pid of `streamlit run`
    benchmark: int = field(default_factory=os.getpid)

    def read(self) -> tuple[float, float]:
        """(server tree, browser tree) CPU seconds so far; the browser tree is every
        descendant of this benchmark but the server's."""
        server = cpu_seconds([self.server])
        everything = cpu_seconds([self.benchmark]) - _own_cpu()
        return server, everything - server


def _own_cpu() -> float:
    own = os.times()
    return own.user + own.system


def server_pid(port: int) -> int:
    """The pid of the `streamlit run` serving ``port`` (a child of this process)."""
    me = os.getpid()
    for pid, (parent, _) in _processes().items():
        if parent != me:
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"run" in command and str(port).encode() in command:
            return pid
    return me  # not found: the CPU columns then count this process only


def chromium() -> str | None:
    """Where Chromium is (CHROMIUM_PATH, else on the PATH)."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


def missing_browser() -> str | None:
    """Why a browser benchmark cannot run here (no Playwright, no Chromium), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not chromium():
        return "Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)"
    return None


def open_page(playwright):
    """(browser, page): Debian's Chromium, headless, as the browser tests launch it, with
    a page the size of a laptop screen that waits up to three minutes for what it asks."""
    browser = playwright.chromium.launch(
        executable_path=chromium(),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.set_default_timeout(180_000)
    return browser, page


def first_results(browser_page, server_started: float, address: str, seed: int) -> float:
    """Seconds from starting the server to the first Compare results drawn (the page is
    asked for as soon as the server answers: the worst case for the warm-up)."""
    from tests.test_browser import charts_drawn, count_is, finished

    answering = time.perf_counter() - server_started
    browser_page.goto(f"{address}/{COMPARE}&seed={seed}")
    browser_page.locator('[data-testid="stProgress"], [data-testid="stMetric"]').first.wait_for()
    page_up = time.perf_counter() - server_started
    count_is(browser_page, '[data-testid="stMetric"]', 24)
    charts_drawn(browser_page, 6)
    finished(browser_page)
    seconds = time.perf_counter() - server_started
    print(
        f"  (server answering after {answering:.1f} s, the page's runs under way after "
        f"{page_up:.1f} s, results drawn after {seconds:.1f} s)"
    )
    return seconds


def new_seed(page, seed: int) -> None:
    """Set the first seed to ``seed`` and wait for the page to say its results are out of
    date (a rerun of its own, before the click the benchmark times)."""
    from tests.test_browser import PATIENCE_MS, finished

    box = page.get_by_label("First seed")
    box.fill(str(seed))
    box.press("Tab")
    page.wait_for_selector("text=Press Run comparison", timeout=PATIENCE_MS)
    finished(page)


def click_compare(page) -> float:
    """Seconds from a click on Run comparison (seeds not cached) to the charts drawn."""
    from tests.test_browser import run_and_time

    seconds, caption = run_and_time(page)
    assert "(0 from cache)" in caption, caption  # a cached run would measure nothing
    return seconds


def transition_page(page) -> float:
    """Seconds from a click on Transition in the navigation to its results drawn."""
    from tests.test_browser import PATIENCE_MS, charts_drawn, finished

    started = time.perf_counter()
    page.get_by_role("link", name="Transition").first.click()
    page.get_by_text("How the paths compare").wait_for(timeout=PATIENCE_MS)
    charts_drawn(page, 3)
    finished(page)
    return time.perf_counter() - started


Measured = tuple[float, float, float]  # wall seconds, server CPU seconds, browser CPU seconds


def timed(meter: CpuMeter, step: Callable[[], float]) -> Measured:
    """``step()``'s seconds, with the CPU seconds the server and the browser used meanwhile."""
    server, browser = meter.read()
    seconds = step()
    server_after, browser_after = meter.read()
    return seconds, server_after - server, browser_after - browser


def line(what: str, figures: list[Measured], target: float) -> None:
    """One figure against its target: best, and the range when repeated; then the CPU
    seconds of the server and of the browser in the best one."""
    seconds = [wall for wall, _, _ in figures]
    best = min(seconds)
    spread = f" (range {best:.1f}-{max(seconds):.1f} s, {len(seconds)} runs)" * (len(seconds) > 1)
    ok = verdict(best <= target)
    print(f"  {what:<46} {best:5.1f} s{spread}  target <= {target:.0f} s  {ok}")
    _, server, browser = min(figures)
    print(f"  {'':<46} CPU: server {server:.1f} s, browser {browser:.1f} s")


def measure(repeats: int) -> None:
    """Start the server, drive the browser, print the figures."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import app_server

    env = {k: v for k, v in os.environ.items() if k != "CONVERGE_WORKERS"}
    seed = 100_000 + int(time.time()) % 100_000 * 10  # a fresh seed each run: no cache
    with (
        tempfile.TemporaryDirectory() as scratch,
        sync_playwright() as p,
    ):
        browser, page = open_page(p)
        started = time.perf_counter()
        browser_cpu = cpu_seconds([os.getpid()]) - _own_cpu()
        with app_server(Path(scratch) / "streamlit.log", env) as port:
            address = f"http://127.0.0.1:{port}"
            meter = CpuMeter(server_pid(port))
            seconds = first_results(page, started, address, seed)
            server, browser_now = meter.read()  # the server's CPU from its start
            first = (seconds, server, browser_now - browser_cpu)
            fresh = []
            for i in range(repeats):
                new_seed(page, seed + 1000 * (i + 1))  # not timed: the click is
                fresh.append(timed(meter, lambda: click_compare(page)))
            transition = timed(meter, lambda: transition_page(page))
        browser.close()
    rule("The app in Chromium (server with one worker per core)")
    line("server start -> first Compare results (3x10)", [first], FIRST_TARGET)
    line("Compare 3x10 uncached: click -> charts", fresh, COMPARE_TARGET)
    line("Transition page: click -> results (4x10)", [transition], TRANSITION_TARGET)


def main() -> None:
    """Parse the options; skip with one line without Playwright or Chromium."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh comparisons (default 3)")
    args = parser.parse_args()
    if why_not := missing_browser():
        print(f"SKIP: {why_not}")
        return
    describe_machine()
    measure(args.repeats)


if __name__ == "__main__":
    main()
