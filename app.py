"""Converge in the browser: `streamlit run app.py`.

A thin front on the simulation package: the pages pick scenarios and levers, call the
same functions as the command line (run_scenario, compute_kpis, summarise) and draw
the results with simulation.presentation.charts.

The file plays two parts. Streamlit runs it as ``__main__`` for every visitor: main()
draws the page. ``streamlit run`` first imports it as a module and finds ``app``, an
st.App: the same server, with one addition (see page_shell_routes).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

#: Modules every first page needs, imported at server start in the background (about
#: seven seconds on a loaded two-core machine: Altair, SciPy, pandas) so that the first
#: visitor's page does not wait for them. The Compare page submits its runs before it
#: needs any of them (it imports them once the results are in), so a first visit's runs
#: go while these load. Mesa comes last: Compare's server never needs the model (its
#: workers have it), the Design and Workshop pages do. Imported here, directly, its
#: logger (named from ``inspect.stack()`` on import, reading the source of every frame
#: below the call) walks 23 frames instead of 47 through ui.common's old imports: 0.2-0.55 s
#: of CPU less, measured over three alternated rounds. Leaving "mesa" out switches
#: that off (the first page that needs the model imports it).
WARM_MODULES = (
    "ui.common",
    "ui.figures",
    "simulation.analysis.comparison",
    "simulation.analysis.differences",
    "simulation.analysis.transition_outcomes",
    "simulation.presentation.transition_table",
    "altair",
    "mesa",
)

#: The pages: script, title, icon and URL path ("" for the start page, at /).
PAGES = (
    ("ui/compare.py", "Compare", ":material/compare_arrows:", ""),
    ("ui/design.py", "Design", ":material/account_tree:", "design"),
    ("ui/transition.py", "Transition", ":material/timeline:", "transition"),
    ("ui/workshop.py", "Workshop", ":material/co_present:", "workshop"),
    ("ui/results.py", "Results", ":material/insights:", "results"),
)


def main() -> None:
    """Run the Streamlit app: page setup, the style sheet, kept widget state, the navigation,
    and an error box instead of a traceback for anything a page raises.
    """
    import streamlit as st

    from ui import common, runner

    st.set_page_config(
        page_title="Converge: organisation design simulator",
        # A file, not a :material/ icon: the browser would fetch that favicon from
        # Google's font server, and nothing may leave the machine.
        page_icon=str(common.ROOT / "ui" / "icon.svg"),
        layout="wide",
        initial_sidebar_state="expanded",
    )
    common.inject_css()
    common.keep_widget_state()
    runner.warm_up()
    pages = [
        st.Page(script, title=title, icon=icon, url_path=path or None, default=not path)
        for script, title, icon, path in PAGES
    ]
    st.logo(str(common.ROOT / "ui" / "logo.svg"), size="large")
    page = st.navigation(pages, position="top")
    try:
        page.run()
    except Exception as exc:  # the last net: an error box, never a traceback
        # st.stop, st.rerun and st.switch_page raise BaseExceptions: they pass through.
        common.unexpected_error(exc)


def warm_server() -> threading.Thread:
    """At server start, before anyone visits: start the run pool's worker processes and
    import what the pages need, in a background thread (the server answers meanwhile).

    The first visitor then finds the workers up (the forkserver imports the model
    once, a few seconds) and the modules loaded, instead of paying for both after the
    click. The pool starts first (ui.runner is light to import): its forkserver
    imports the model on the other core while this process imports the pages'
    modules. The pool is the one ``runner.executor()`` caches for the server's life, so
    every page reuses it. Returns the thread, which ends once both are done (tests
    join it).
    """

    def warm() -> None:
        import importlib

        from ui import runner

        starting = runner.warm_up()
        for module in WARM_MODULES:
            importlib.import_module(module)
        if starting is not None:
            starting.join()

    thread = threading.Thread(target=warm, name="converge-warm-up", daemon=True)
    thread.start()
    return thread


@contextlib.asynccontextmanager
async def warm_at_start(app: Any) -> AsyncIterator[None]:
    """st.App's lifespan: warm the server once its runtime has started (caches made
    before that would be in a throw-away store), without delaying it."""
    warm_server()
    yield


def page_shell_routes() -> list[Any]:
    """Serve each page's URL (/design, ...) Streamlit's own page, told where the server is.

    Opened at /design, Streamlit's page cannot tell whether the server lives at / or
    at /design (behind a proxy that adds a prefix), so it asks /design/_stcore/health
    and /design/_stcore/host-config first: two 404s in the console of every direct
    visit or reload. The page at these paths is the same index.html with
    ``window.__streamlit.BACKEND_BASE_URL`` set (the setting Streamlit reads when it is
    embedded) to the folder the page was loaded from: / here, /prefix/ behind a proxy.
    """
    from pathlib import Path

    import streamlit
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    index = (Path(streamlit.__file__).parent / "static" / "index.html").read_text()
    setting = (
        "<script>window.__streamlit = "
        '{BACKEND_BASE_URL: new URL("./", window.location.href).href};</script>'
    )
    html = index.replace("<head>", f"<head>\n    {setting}", 1)
    base = streamlit.config.get_option("server.baseUrlPath").strip("/")

    async def shell(request: Any) -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    prefix = f"/{base}" if base else ""
    return [Route(f"{prefix}/{path}", shell, methods=["GET"]) for *_, path in PAGES if path]


# Streamlit runs this file as __main__ for each visitor. The run pool's worker processes
# must not start the app, so everything happens in main() or app behind this guard.
if __name__ == "__main__":
    main()
elif __name__ == "app":  # imported by `streamlit run app.py`, which then serves `app`
    import streamlit as st

    app = st.App(__file__, routes=page_shell_routes(), lifespan=warm_at_start)
