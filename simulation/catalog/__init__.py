"""What the model measures and what a user may turn, each declared once.

:mod:`simulation.catalog.kpis` lists every KPI a run reports (label, unit, which way
is better, where it shows) and :mod:`simulation.catalog.levers` every lever a user
turns (scenario path, widget, range, cost). Tables, cards, sweeps, PDCA and the app's
widgets are generated from these lists, so adding a KPI or a lever means editing one
entry here (and, for a KPI, the function that computes it). A leaf: it imports nothing
from the rest of the package.
"""
