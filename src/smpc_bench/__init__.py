"""smpc-bench: industry benchmarks with secure multi-party computation on MPyC.

Importing this package never imports ``mpyc.runtime`` (which parses ``sys.argv``); the runtime is
loaded on first use by :mod:`smpc_bench.driver`.  The protocol core lives in
:mod:`smpc_bench.aggregates` and :mod:`smpc_bench.quantiles` and works on a
:class:`~smpc_bench.secure_table.SecureTable`.
"""

from smpc_bench.kpi import InputError as InputError
from smpc_bench.kpi import KpiSpec as KpiSpec
from smpc_bench.quantile_methods import METHODS as METHODS
from smpc_bench.quantile_methods import Cut as Cut
from smpc_bench.secure_fraction import SecureFraction as SecureFraction
from smpc_bench.sizing import Sizing as Sizing
from smpc_bench.sizing import size_for as size_for

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "Cut",
    "InputError",
    "KpiSpec",
    "SecureFraction",
    "Sizing",
    "__version__",
    "size_for",
]
