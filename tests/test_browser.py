"""The app in a real browser: `streamlit run app.py` driven by Debian's Chromium.

Starts the server on a free port (with its process pool, as users get it), loads every
page, runs a comparison, compares transition paths, explores a sweep made for the test,
checks that the charts drew (Vega canvases or SVGs) and that no exception box appeared,
and saves screenshots to tests/artifacts/. Uses Playwright's
Python API with the system Chromium; it never downloads a browser. Skipped where
Chromium is absent (a failure instead when CONVERGE_REQUIRE_BROWSER is set, as in CI).

    pytest -m browser tests/test_browser.py
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from simulation.batch import Serial, sweep
from simulation.experiment import plan_from_data

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
# The venv's streamlit launcher, or the module where there is none (other installs).
_LAUNCHER = Path(sys.executable).with_name("streamlit")
STREAMLIT = [str(_LAUNCHER)] if _LAUNCHER.exists() else [sys.executable, "-m", "streamlit"]
WIDTH, HEIGHT = 1500, 1100

pytestmark = pytest.mark.browser


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "streamlit.log").open("w")
    env = {k: v for k, v in os.environ.items() if k != "CONVERGE_WORKERS"}
    process = subprocess.Popen(
        [
            *STREAMLIT,
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start; see {ARTIFACTS / 'streamlit.log'}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, 15)  # the server and its worker processes
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
        log.close()


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


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    """A small finished sweep: BRMs in departments and in teams (36 short runs)."""
    out = tmp_path_factory.mktemp("sweeps") / "brms-by-structure"
    plan = plan_from_data(
        {
            "name": "BRMs by structure (browser test)",
            "base": str(ROOT / "scenarios" / "aligned.yaml"),
            "design": "grid",
            "parameters": {"structure": ["aligned", "converged"], "brms.count": [0, 1, 2, 3, 4, 6]},
            "replicates": 3,
            "days": 150,
        }
    )
    sweep(plan, out, executor=Serial())
    return out


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    yield page
    context.close()


def no_exception(page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def charts_drawn(page, expected: int) -> int:
    """Wait for ``expected`` Vega charts to draw (a canvas or an SVG with marks each);
    returns how many did. Charts are scrolled into view: the browser may defer them."""
    drawn = ".vega-embed canvas, .vega-embed svg.marks"
    page.wait_for_function(
        f"() => document.querySelectorAll('.vega-embed').length >= {expected}", timeout=60_000
    )
    for chart in page.locator(".vega-embed").all():
        chart.scroll_into_view_if_needed()
    page.wait_for_function(
        f"() => document.querySelectorAll('{drawn}').length >= {expected}", timeout=30_000
    )
    return page.locator(drawn).count()


def idle(page, timeout: float = 120_000) -> None:
    """Wait for the script run a click or a page load started to finish."""
    state = (
        "() => document.querySelector('[data-test-script-state]')"
        "?.getAttribute('data-test-script-state')"
    )
    with contextlib.suppress(PlaywrightTimeout):  # it may finish before we look
        page.wait_for_function(f"() => ({state})() === 'running'", timeout=1_500)
    page.wait_for_function(f"() => ({state})() !== 'running'", timeout=timeout)


RUN_CAPTION = (
    "() => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
    ".map(e => e.innerText).find(t => t.includes('from cache')) || ''"
)


def run_and_time(page) -> tuple[float, str]:
    """Click Run comparison; seconds until the new results are drawn, and their caption."""
    before = page.evaluate(RUN_CAPTION)
    started = time.perf_counter()
    page.get_by_role("button", name="Run comparison").click()
    changed = f"() => {{ const c = ({RUN_CAPTION})(); return c && c !== {before!r}; }}"
    page.wait_for_function(changed, timeout=120_000)
    idle(page)
    charts_drawn(page, 6)
    return time.perf_counter() - started, page.evaluate(RUN_CAPTION)


def shoot(page, name: str, height: int | None = None) -> Path:
    """A screenshot of the whole page: Streamlit scrolls inside its own container, so
    the viewport grows to the content's height first."""
    full = height or page.evaluate(
        '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
        '[data-testid="stAppViewContainer"], section\')].map(e => e.scrollHeight))'
    )
    page.set_viewport_size({"width": WIDTH, "height": min(6000, max(HEIGHT, int(full)))})
    page.wait_for_timeout(800)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    return path


def compare_runs_and_draws(server: str, page) -> None:
    started = time.perf_counter()
    page.goto(f"{server}/?s=siloed,aligned,converged&r=10&seed=1")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=120_000)
    idle(page)
    assert charts_drawn(page, 6) >= 6
    first = time.perf_counter() - started
    no_exception(page)
    assert page.locator('[data-testid="stMetric"]').count() == 24
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Converged teams delivers items" in text and "faster" in text
    shoot(page, "compare")

    # new seeds on the warm server: 30 runs not in the cache
    seed = page.get_by_label("First seed")
    seed.fill("5000")
    seed.press("Tab")
    page.wait_for_selector("text=Press Run comparison", timeout=30_000)
    fresh, fresh_caption = run_and_time(page)
    assert "(0 from cache)" in fresh_caption
    # the same comparison again: every run from the cache
    cached, cached_caption = run_and_time(page)
    assert "(30 from cache)" in cached_caption
    no_exception(page)
    (ARTIFACTS / "timings.txt").write_text(
        "Compare, 3 ready-made scenarios x 10 replicates (browser, click to charts drawn)\n"
        f"  first visit, server just started:   {first:.1f} s\n"
        f"  new seeds on a running server:      {fresh:.1f} s ({fresh_caption.split('. ')[-1]})\n"
        f"  same comparison again (cached):     {cached:.1f} s\n"
        f"  load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
    )
    assert cached < 10


def a_malformed_upload_shows_an_error_box(server: str, page, tmp_path: Path) -> None:
    page.goto(f"{server}/?s=siloed&r=1&seed=7")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=120_000)
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n  structure: siloed\n")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(bad)
    page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=30_000)
    idle(page)
    error = page.locator('[data-testid="stAlertContentError"]').first.inner_text()
    assert "broken.yaml" in error and "not valid YAML" in error
    no_exception(page)
    assert page.locator('[data-testid="stMetric"]').count() == 8  # still working
    shoot(page, "compare-bad-upload", height=HEIGHT)


def design_page_draws_the_organisation(server: str, page) -> None:
    page.goto(f"{server}/design")
    page.wait_for_selector(".vega-embed", timeout=60_000)
    idle(page)
    no_exception(page)
    assert charts_drawn(page, 1) >= 1
    assert "Silo index" in page.locator('[data-testid="stMain"]').inner_text()
    shoot(page, "design")


def workshop_plays_live(server: str, page) -> None:
    page.goto(f"{server}/workshop")
    page.wait_for_selector(".vega-embed", timeout=60_000)
    idle(page)
    page.get_by_role("button", name="Play").click()
    page.wait_for_timeout(5000)
    page.get_by_role("button", name="Pause").click()
    idle(page)
    no_exception(page)
    day = page.locator(".cv-day").inner_text()
    assert int(day.split()[1]) >= 5, day
    assert charts_drawn(page, 4) >= 4
    shoot(page, "workshop")


def compare_marks_the_changes_of_transitions(server: str, page) -> None:
    page.goto(f"{server}/?s=transition_big_bang,transition_stepwise,pdca&r=10&seed=1")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=120_000)
    idle(page)
    assert charts_drawn(page, 8) >= 8  # six charts, and productivity and lead time over time
    no_exception(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Productivity: the J-curve" in text and "back at its old level" in text
    shoot(page, "compare-transitions")


def transition_page_compares_paths(server: str, page) -> None:
    page.goto(f"{server}/transition")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=120_000)
    idle(page)
    assert charts_drawn(page, 3) >= 3
    no_exception(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    for heading in ("How the paths compare", "Before, during and after each change", "PDCA"):
        assert heading in text
    for path in ("Your path", "Transition: big bang", "Transition: stepwise", "Transition: PDCA"):
        assert path in text
    shoot(page, "transition")


def results_page_explores_a_sweep(server: str, page, sweep_dir: Path) -> None:
    page.goto(f"{server}/results?sweep={sweep_dir}")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    idle(page)
    assert charts_drawn(page, 2) >= 2  # the KPI against a parameter, the sensitivity
    no_exception(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "BRMs by structure (browser test)" in text and "Strongest driver" in text
    shoot(page, "results")

    path = page.get_by_role("textbox", name="Or open a directory")
    path.fill(str(sweep_dir.parent / "nothing-here"))
    path.press("Enter")
    page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=30_000)
    idle(page)
    error = page.locator('[data-testid="stAlertContentError"]').first.inner_text()
    assert "nothing-here" in error and "no such directory" in error
    no_exception(page)


def test_the_app_in_chromium(page, server, tmp_path, sweep_dir):  # the browser first: it may skip
    """One test, so that pytest-xdist keeps the server and the browser on one worker."""
    compare_runs_and_draws(server, page)
    a_malformed_upload_shows_an_error_box(server, page, tmp_path)
    design_page_draws_the_organisation(server, page)
    workshop_plays_live(server, page)
    compare_marks_the_changes_of_transitions(server, page)
    transition_page_compares_paths(server, page)
    results_page_explores_a_sweep(server, page, sweep_dir)
