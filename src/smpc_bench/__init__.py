"""smpc-bench: industry benchmarks with secure multi-party computation on MPyC.

Importing this package never imports ``mpyc.runtime`` (which parses ``sys.argv``); the runtime is
loaded on first use by :mod:`smpc_bench.engine.driver`.  The protocol core lives in
:mod:`smpc_bench.core.aggregates` and :mod:`smpc_bench.core.quantiles` and works on a
:class:`~smpc_bench.core.secure_table.SecureTable`.
"""

from smpc_bench.core.secure_fraction import SecureFraction as SecureFraction
from smpc_bench.spec.kpi import InputError as InputError
from smpc_bench.spec.kpi import KpiSpec as KpiSpec
from smpc_bench.spec.quantile_methods import METHODS as METHODS
from smpc_bench.spec.quantile_methods import Cut as Cut
from smpc_bench.spec.sizing import Sizing as Sizing
from smpc_bench.spec.sizing import size_for as size_for

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
