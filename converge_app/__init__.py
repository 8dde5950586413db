"""The ``converge`` command of an installed Converge: ``python -m simulation`` under its
own name, plus ``converge app``, which starts the Streamlit app.

The app's files (app.py, ui/, the ready-made scenarios and experiments, and
.streamlit/config.toml) are not Python modules of their own in an installed wheel:
setup.py copies them under ``converge_app/web/``, laid out as in the checkout, so that
nothing named ``app`` or ``ui`` lands at the top of site-packages. From a checkout
(or an editable install) the app is the checkout's own files.
"""
