"""One firm's report of a round.

``report.json``, ``report.csv`` and a self-contained ``report.html`` with a plot per KPI. Needs
only the released outcome, never MPC code.
"""
