"""Converge in the browser: `streamlit run app.py`.

A thin front on the simulation package: the pages pick scenarios and levers, call the
same functions as the command line (run_scenario, compute_kpis, summarise) and draw
the results with simulation.charts.
"""

from __future__ import annotations


def main() -> None:
    import streamlit as st

    from ui import common, runner

    st.set_page_config(
        page_title="Converge: organisation design simulator",
        page_icon=":material/hub:",
        layout="wide",
        initial_sidebar_state="expanded",
    )
    common.inject_css()
    common.keep_widget_state()
    runner.warm_up()
    pages = [
        st.Page("ui/compare.py", title="Compare", icon=":material/compare_arrows:", default=True),
        st.Page("ui/design.py", title="Design", icon=":material/account_tree:", url_path="design"),
        st.Page(
            "ui/transition.py",
            title="Transition",
            icon=":material/timeline:",
            url_path="transition",
        ),
        st.Page(
            "ui/workshop.py", title="Workshop", icon=":material/co_present:", url_path="workshop"
        ),
        st.Page("ui/results.py", title="Results", icon=":material/insights:", url_path="results"),
    ]
    st.logo(str(common.ROOT / "ui" / "logo.svg"), size="large")
    st.navigation(pages, position="top").run()


# Streamlit runs this file as __main__. The run pool's worker processes import it too
# (as __mp_main__, because multiprocessing re-imports the main module): they must not
# start the app, so everything happens in main() behind this guard.
if __name__ == "__main__":
    main()
