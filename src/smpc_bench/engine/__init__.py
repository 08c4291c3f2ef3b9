"""The only place (with :mod:`smpc_bench.costs`) that drives MPyC or touches its internals.
"""
