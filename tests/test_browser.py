"""The app in a real browser: `streamlit run app.py` driven by Debian's Chromium.

Starts the server on a free port as `make app` does (with its process pool, and its
results folder set to a sweep made for the test), loads every page directly by its
URL, runs a comparison, compares transition paths, explores a sweep, and checks that
the charts drew (Vega canvases or SVGs) and that no exception box appeared.
Throughout, it fails on any console error of the page, any uncaught script error, and
any request that leaves the machine (each one is aborted and recorded): the app must
work offline and tell nobody what is opened in it. It waits for what the app renders,
never for a fixed time, and prints its timings (first results, fresh and cached runs)
to tests/artifacts/timings.txt instead of asserting them. Screenshots go to
tests/artifacts/. Uses Playwright's Python API with the system Chromium; it never
downloads a browser. Skipped where Chromium is absent (a failure instead when
CONVERGE_REQUIRE_BROWSER is set, as in CI).

    pytest -m browser tests/test_browser.py
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from tests.conftest import ROOT, SCENARIOS, app_server, cli, swept

ARTIFACTS = ROOT / "tests" / "artifacts"
WIDTH, HEIGHT = 1500, 1100
#: The only hosts the page may talk to: the app's own server.
OWN_HOSTS = {"127.0.0.1", "localhost"}
#: Long enough for the slowest step on a loaded two-core machine; a bound on failing,
#: never a measurement.
PATIENCE_MS = 180_000
#: How often a condition the test waits for is checked in the page, in milliseconds.
#: Playwright's default checks on every animation frame (60 times a second), which on
#: two cores takes CPU from the app being timed (measured: seconds of the browser's CPU
#: per comparison); 50 ms is finer than any figure the timings print.
POLL_MS = 50

pytestmark = pytest.mark.browser


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    """A small finished sweep in a results folder of its own (36 short runs)."""
    return swept(
        tmp_path_factory.mktemp("results") / "brms-by-structure",
        name="BRMs by structure (browser test)",
        parameters={"structure": ["aligned", "converged"], "brms.count": [0, 1, 2, 3, 4, 6]},
        days=150,
    )


@pytest.fixture(scope="module")
def studies(sweep_dir) -> dict[str, Path]:
    """A small study of each kind (explain, sensitivity, robustness: siloed against
    converged, 40 days) beside the sweep, made by the command line as a user would."""
    root = sweep_dir.parent
    common = ["--days", "40", "--workers", "1", "--no-charts"]
    siloed, converged = str(SCENARIOS / "siloed.yaml"), str(SCENARIOS / "converged.yaml")
    commands = {
        "explain": ["explain", siloed, converged, "--replicates", "2"],
        "sensitivity": ["sensitivity", siloed, "--versus", converged, "--trajectories", "4"],
        "robustness": ["robustness", siloed, converged, "--worlds", "8"],
    }
    made = {}
    for kind, args in commands.items():
        made[kind] = root / f"{kind}-study"
        done = cli(*args, *common, "--out", str(made[kind]))
        assert done.returncode == 0, done.stderr[-2000:]
    return made


@pytest.fixture(scope="module")
def server(sweep_dir) -> Iterator[str]:
    """The app's server as `make app` starts it (its worker pool too), reading the
    test's sweep folder as its results root; its address."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "CONVERGE_WORKERS"}
    env["CONVERGE_RESULTS_ROOT"] = str(sweep_dir.parent)
    with app_server(ARTIFACTS / "streamlit.log", env) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if not path:
        message = (
            "Chromium not found: install Debian's chromium package "
            "(apt-get install chromium) or set CHROMIUM_PATH"
        )
        if os.environ.get("CONVERGE_REQUIRE_BROWSER"):
            pytest.fail(message)  # CI: a missing browser is a failure
        pytest.skip(message)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=path,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What the page did that it must not: console errors, script errors, requests
    that left the machine (aborted), and every upload it sent."""

    console_errors: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    left_the_machine: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [
            *(f"console error: {e}" for e in self.console_errors),
            *(f"script error: {e}" for e in self.script_errors),
            *(f"request off the machine: {u}" for u in self.left_the_machine),
        ]


def own(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname in OWN_HOSTS


@pytest.fixture
def watched(browser) -> Iterator[tuple]:
    """A page whose every request, console message and script error is watched."""
    watch = Watch()
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    # every action and navigation waits as long as the slowest step may take (the
    # default, 30 s, is not enough for a first page on a loaded machine)
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)

    def guard(route) -> None:
        if own(route.request.url):
            route.continue_()
        else:
            watch.left_the_machine.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and watch.console_errors.append(m.text))
    page.on("pageerror", lambda e: watch.script_errors.append(str(e)))

    def request(r) -> None:
        if not own(r.url):
            watch.left_the_machine.append(r.url)  # one the route did not see (a WebSocket)
        if "/_stcore/upload_file/" in r.url and r.method == "PUT":
            watch.uploads.append(r.url)

    page.on("request", request)
    page.on("websocket", lambda ws: own(ws.url) or watch.left_the_machine.append(ws.url))
    yield page, watch
    context.close()


def no_exception(page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def clean(watch: Watch, step: str) -> None:
    assert not watch.problems(), f"{step}: " + "; ".join(watch.problems())


SCRIPT_STATE = (
    "() => document.querySelector('[data-test-script-state]')"
    "?.getAttribute('data-test-script-state')"
)


def finished(page) -> None:
    """Wait for the script run under way to finish. Call it only once something that
    run drew is on the page: the run has started then, so this cannot return early."""
    page.wait_for_function(
        f"() => !['running', 'rerunRequested'].includes(({SCRIPT_STATE})())",
        timeout=PATIENCE_MS,
        polling=POLL_MS,
    )


def charts_drawn(page, expected: int) -> int:
    """Wait for ``expected`` Vega charts to draw (a canvas or an SVG with marks each);
    returns how many did. Charts are scrolled into view: the browser may defer them."""
    drawn = ".vega-embed canvas, .vega-embed svg.marks"
    page.wait_for_function(
        f"() => document.querySelectorAll('.vega-embed').length >= {expected}",
        timeout=PATIENCE_MS,
        polling=POLL_MS,
    )
    for chart in page.locator(".vega-embed").all():
        chart.scroll_into_view_if_needed()
    page.wait_for_function(
        f"() => document.querySelectorAll('{drawn}').length >= {expected}",
        timeout=PATIENCE_MS,
        polling=POLL_MS,
    )
    return page.locator(drawn).count()


def count_is(page, selector: str, n: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('{selector}').length === {n}",
        timeout=PATIENCE_MS,
        polling=POLL_MS,
    )


RUN_CAPTION = (
    "() => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
    ".map(e => e.innerText).find(t => t.includes('from cache')) || ''"
)


def run_and_time(page, while_running: Callable[[], None] | None = None) -> tuple[float, str]:
    """Click Run comparison; seconds until the new results are drawn, and their caption.
    ``while_running``, if given, is called right after the click.

    New results are told by their caption, which names the seeds and what came from the
    cache: the run time alone may repeat (two 30-run comparisons of 10.3 s each once
    looked like no new result at all)."""
    before = page.evaluate(RUN_CAPTION)
    started = time.perf_counter()
    page.get_by_role("button", name="Run comparison").click()
    if while_running:
        while_running()
    changed = f"() => {{ const c = ({RUN_CAPTION})(); return c && c !== {before!r}; }}"
    try:
        page.wait_for_function(changed, timeout=PATIENCE_MS, polling=POLL_MS)
    except PlaywrightTimeout:
        # say where it stuck: a click never taken, or a run that stopped part-way
        shoot(page, "compare-stuck")
        progress = page.locator('[data-testid="stProgress"]').all_inner_texts()
        running = page.locator('[data-testid="stStatusWidget"]').all_inner_texts()
        pytest.fail(
            f"no new results {PATIENCE_MS / 1000:.0f} s after Run comparison; "
            f"progress bar: {progress or 'none'}; status: {running or 'idle'}; "
            "screenshot: tests/artifacts/compare-stuck.png"
        )
    # the run finishes first: the panels below the results still redraw while it runs,
    # and a chart replaced under the scroll below is detached from the page
    finished(page)
    charts_drawn(page, 6)
    return time.perf_counter() - started, page.evaluate(RUN_CAPTION)


TRANSITIONS_WHILE_RUNNING = """() => {
  const stale = [...document.querySelectorAll('[data-stale="true"]')];
  const bar = [...document.querySelectorAll('[data-testid="stProgress"] *')];
  const moving = e => getComputedStyle(e).transitionDuration.split(',')
    .some(d => parseFloat(d) > 0);
  return {stale: stale.length, bar: bar.length,
          stale_moving: stale.filter(moving).length, bar_moving: bar.filter(moving).length};
}"""


def nothing_glides_while_running(page) -> None:
    """While the runs go, what the last run drew is out of date (dimmed) and a progress
    bar moves: neither may glide there (a transition repaints the whole page every frame
    of it, on the same cores as the runs); they change in one step."""
    page.wait_for_function(
        "() => document.querySelector('[data-stale=\"true\"]') && "
        "document.querySelector('[data-testid=\"stProgress\"]')",
        timeout=PATIENCE_MS,
        polling=POLL_MS,
    )
    found = page.evaluate(TRANSITIONS_WHILE_RUNNING)
    assert found["stale"] and found["bar"], found
    assert found["stale_moving"] == 0 and found["bar_moving"] == 0, found


def settled(page) -> None:
    """Two animation frames: the browser has laid out and painted what changed."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def shoot(page, name: str, height: int | None = None) -> Path:
    """A screenshot of the whole page: Streamlit scrolls inside its own container, so
    the viewport grows to the content's height first."""
    full = height or page.evaluate(
        '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
        '[data-testid="stAppViewContainer"], section\')].map(e => e.scrollHeight))'
    )
    page.set_viewport_size({"width": WIDTH, "height": min(6000, max(HEIGHT, int(full)))})
    settled(page)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    return path


def compare_runs_and_draws(server: str, page, watch: Watch) -> list[str]:
    started = time.perf_counter()
    page.goto(f"{server}/?s=siloed,aligned,converged&r=10&seed=1")
    count_is(page, '[data-testid="stMetric"]', 24)
    assert charts_drawn(page, 6) >= 6
    finished(page)
    first = time.perf_counter() - started
    no_exception(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Converged teams delivers items" in text and "faster" in text
    shoot(page, "compare")

    # new seeds on the warm server: 30 runs not in the cache
    seed = page.get_by_label("First seed")
    seed.fill("5000")
    seed.press("Tab")
    page.wait_for_selector("text=Press Run comparison", timeout=PATIENCE_MS)
    finished(page)
    fresh, fresh_caption = run_and_time(page, lambda: nothing_glides_while_running(page))
    assert "(seeds 5000-5009)" in fresh_caption and "(0 from cache)" in fresh_caption
    # the same comparison again: every run from the cache
    cached, cached_caption = run_and_time(page)
    assert "(30 from cache)" in cached_caption
    no_exception(page)
    clean(watch, "Compare")
    return [
        "Compare, 3 ready-made scenarios x 10 replicates (browser, until the charts are drawn)",
        f"  first visit, server just started:   {first:.1f} s",
        f"  new seeds on a running server:      {fresh:.1f} s ({fresh_caption.split('. ')[-1]})",
        f"  same comparison again (cached):     {cached:.1f} s",
    ]


def uploads_are_checked_and_their_errors_go_with_them(server: str, page, watch, tmp_path) -> None:
    page.goto(f"{server}/?s=siloed&r=1&seed=7")
    count_is(page, '[data-testid="stMetric"]', 8)
    finished(page)
    uploader = page.locator('[data-testid="stFileUploader"]')
    assert "1MB per file" in uploader.inner_text()  # the app's one limit, in Streamlit's words

    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n  structure: siloed\n")
    uploader.locator('input[type="file"]').set_input_files(bad)
    error = page.locator('[data-testid="stAlertContentError"]')
    error.first.wait_for(timeout=PATIENCE_MS)
    finished(page)
    assert "broken.yaml" in error.first.inner_text()
    assert "not valid YAML" in error.first.inner_text()
    no_exception(page)
    assert page.locator('[data-testid="stMetric"]').count() == 8  # still working
    shoot(page, "compare-bad-upload", height=HEIGHT)

    # Over the limit: the browser refuses the file itself and never sends it, so the
    # app never hears of it (no upload, no rerun) and cannot answer in its own words.
    sent = len(watch.uploads)
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"name: x\n" + b"#" * 1_500_000)
    uploader.locator('input[type="file"]').set_input_files(huge)
    page.get_by_text("File must be 1.0MB or smaller.").wait_for(timeout=PATIENCE_MS)
    assert len(watch.uploads) == sent
    shoot(page, "compare-too-big-upload", height=HEIGHT)

    # removing the file takes its error box with it
    uploader.get_by_role("button", name="Remove broken.yaml").click()
    count_is(page, '[data-testid="stAlertContentError"]', 0)
    finished(page)
    assert page.locator('[data-testid="stMetric"]').count() == 8
    no_exception(page)
    clean(watch, "uploads")


def a_crafted_link_gets_one_plain_line(server: str, page, watch: Watch) -> None:
    # the error box quotes the link: its Markdown must not become a link or an image
    page.goto(f"{server}/?s=siloed,[a](http://example.org)![i](http://example.org/i.png)")
    box = page.locator('[data-testid="stAlertContentError"]')
    box.first.wait_for(timeout=PATIENCE_MS)
    count_is(page, '[data-testid="stMetric"]', 24)  # the usual start instead
    finished(page)
    assert box.count() == 1
    assert "This link could not be opened: s: there is no ready-made scenario '[a](http" in (
        box.first.inner_text()
    )
    assert box.first.locator("a, img").count() == 0
    no_exception(page)
    clean(watch, "a crafted link")


def design_page_draws_the_organisation(server: str, page, watch: Watch) -> None:
    page.goto(f"{server}/design")  # directly: no guessing where the server is (no 404s)
    page.get_by_text("Silo index").wait_for(timeout=PATIENCE_MS)
    assert charts_drawn(page, 1) >= 1
    finished(page)
    no_exception(page)
    shoot(page, "design")
    clean(watch, "Design")


def workshop_plays_live(server: str, page, watch: Watch) -> None:
    page.goto(f"{server}/workshop")
    page.get_by_text("Day 0 of").wait_for(timeout=PATIENCE_MS)
    charts_drawn(page, 2)  # where the work is, per organisation; the rest from day 1
    finished(page)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "() => Number((document.querySelector('.cv-day')?.innerText || '').split(' ')[1]) >= 5",
        timeout=PATIENCE_MS,
        polling=POLL_MS,
    )
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=PATIENCE_MS)
    finished(page)
    no_exception(page)
    day = page.locator(".cv-day").inner_text()
    assert int(day.split()[1]) >= 5, day
    assert charts_drawn(page, 4) >= 4
    shoot(page, "workshop")
    clean(watch, "Workshop")


def compare_marks_the_changes_of_transitions(server: str, page, watch: Watch) -> None:
    page.goto(f"{server}/?s=transition_big_bang,transition_stepwise,pdca&r=10&seed=1")
    page.get_by_text("Productivity: the J-curve").wait_for(timeout=PATIENCE_MS)
    assert charts_drawn(page, 8) >= 8  # six charts, and productivity and lead time over time
    finished(page)
    no_exception(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "back at its old level" in text
    shoot(page, "compare-transitions")
    clean(watch, "Compare, transitions")


def transition_page_compares_paths(server: str, page, watch: Watch) -> str:
    started = time.perf_counter()
    page.goto(f"{server}/transition")
    page.get_by_text("How the paths compare").wait_for(timeout=PATIENCE_MS)
    assert charts_drawn(page, 3) >= 3
    finished(page)
    seconds = time.perf_counter() - started
    no_exception(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    for heading in ("Before, during and after each change", "PDCA"):
        assert heading in text
    for path in ("Your path", "Transition: big bang", "Transition: stepwise", "Transition: PDCA"):
        assert path in text
    shoot(page, "transition")
    clean(watch, "Transition")
    return f"Transition page, 4 paths x 10 replicates, until drawn: {seconds:.1f} s"


def results_page_explores_a_sweep(server: str, page, watch: Watch, sweep_dir: Path) -> None:
    page.goto(f"{server}/results?sweep={sweep_dir.name}")
    page.get_by_text("Strongest driver").wait_for(timeout=PATIENCE_MS)
    assert charts_drawn(page, 2) >= 2  # the KPI against a parameter, the sensitivity
    finished(page)
    no_exception(page)
    assert "BRMs by structure (browser test)" in page.locator('[data-testid="stMain"]').inner_text()
    shoot(page, "results")

    # outside the results folder, missing or no sweep: one and the same answer
    answers = set()
    path = page.get_by_role("textbox", name="Or open a directory")
    for typed in ("/etc", "..", f"{sweep_dir.name}/parts", "nothing-here"):
        path.fill(typed)
        path.press("Enter")
        error = page.locator('[data-testid="stAlertContentError"]')
        page.get_by_text(f"There is no sweep at '{typed}'").wait_for(timeout=PATIENCE_MS)
        finished(page)
        answers.add(error.first.inner_text().replace(typed, "PATH"))
        assert page.locator('[data-testid="stMetric"]').count() == 0
    assert len(answers) == 1, answers
    no_exception(page)
    clean(watch, "Results")


def compare_says_why_and_how_sure(server: str, page, watch: Watch) -> None:
    """Compare's Why and How-sure panels, each on demand (issue 13)."""
    page.goto(f"{server}/?s=siloed,converged&r=3&seed=1")
    count_is(page, '[data-testid="stMetric"]', 16)
    finished(page)
    why = page.locator(".st-key-why_panel")
    why.get_by_text("Why? What makes each gap").wait_for(timeout=PATIENCE_MS)
    replicates = why.get_by_role("spinbutton", name="Replicates")
    replicates.fill("2")
    replicates.press("Tab")
    finished(page)
    why.get_by_role("button", name="Explain the gaps").click()
    why.get_by_text("Siloed departments → Converged teams").wait_for(timeout=PATIENCE_MS)
    finished(page)
    text = why.inner_text()
    assert "comes from the structure" in text and "from cache" in text, text[:2000]
    assert why.locator('[data-testid="stVegaLiteChart"]').count() == 2  # two waterfalls
    no_exception(page)

    sure = page.locator(".st-key-cmp_sure")
    sure.get_by_role("button", name="Test against plausible worlds").click()
    sure.get_by_text("is best on Lead time").wait_for(timeout=PATIENCE_MS)
    finished(page)
    assert sure.locator('[data-testid="stVegaLiteChart"]').count() >= 1  # win shares
    no_exception(page)
    shoot(page, "compare-why-how-sure")
    clean(watch, "Compare: Why and How sure")


def results_page_shows_each_study(server: str, page, watch: Watch, studies: dict) -> None:
    """Each kind of study opens on the Results page as its own analysis."""
    expected = {
        "explain": "Why? Siloed departments → Converged teams",
        "sensitivity": "What decides the gap Converged teams − Siloed departments",
        "robustness": "How sure: robustness across plausible worlds",
    }
    for kind, folder in studies.items():
        page.goto(f"{server}/results?sweep={folder.name}")
        page.get_by_text(expected[kind]).first.wait_for(timeout=PATIENCE_MS)
        finished(page)
        no_exception(page)
        assert charts_drawn(page, 1) >= 1, kind
        shoot(page, f"results-{kind}")
    clean(watch, "Results: studies")


def test_the_app_in_chromium(watched, server, tmp_path, sweep_dir, studies):  # may skip
    """One test, so that pytest-xdist keeps the server and the browser on one worker."""
    page, watch = watched
    timings = compare_runs_and_draws(server, page, watch)
    uploads_are_checked_and_their_errors_go_with_them(server, page, watch, tmp_path)
    a_crafted_link_gets_one_plain_line(server, page, watch)
    design_page_draws_the_organisation(server, page, watch)
    workshop_plays_live(server, page, watch)
    compare_marks_the_changes_of_transitions(server, page, watch)
    timings.append(transition_page_compares_paths(server, page, watch))
    results_page_explores_a_sweep(server, page, watch, sweep_dir)
    compare_says_why_and_how_sure(server, page, watch)
    results_page_shows_each_study(server, page, watch, studies)
    report = "\n".join(
        [*timings, f"  load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", ""]
    )
    (ARTIFACTS / "timings.txt").write_text(report)
    print(report)
