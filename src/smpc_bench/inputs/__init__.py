"""What a firm reads and checks on its own machine before anything leaves it.

The consortium file, the firm's data file (CSV or Excel), TLS file locations and certificate
generation.

Imports only :mod:`smpc_bench.spec`; never MPyC.
"""
