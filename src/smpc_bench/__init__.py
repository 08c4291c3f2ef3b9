"""smpc-bench: industry benchmarks with secure multi-party computation on MPyC.

The library's face: everything a developer needs to build a secret-shared KPI table, compute
statistics on it and open the declared results, without knowing the package's layout::

    from smpc_bench import KpiSpec, SecureTable, size_for, encode_digits, quantiles, open_fraction

Importing this package never imports ``mpyc.runtime`` (which parses ``sys.argv``) nor any MPC
code: the names below are loaded on first use, so ``smpc-bench check`` and the report builder
stay free of MPC.  Where each part lives: ``spec/`` (what a round computes), ``inputs/`` (what a
firm reads), ``engine/`` (the MPyC runtime), ``core/`` (the protocol core), ``positions/``,
``peer/``, ``outsourced/``, ``report/``, ``cli/`` (see the README's layout section).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it (loaded lazily by :func:`__getattr__`).
_EXPORTS: dict[str, str] = {
    # What a round computes (pure values).
    "KpiSpec": "smpc_bench.spec.kpi",
    "InputError": "smpc_bench.spec.kpi",
    "Metric": "smpc_bench.spec.metrics",
    "METHODS": "smpc_bench.spec.quantile_methods",
    "Cut": "smpc_bench.spec.quantile_methods",
    "Sizing": "smpc_bench.spec.sizing",
    "size_for": "smpc_bench.spec.sizing",
    "RoundSpec": "smpc_bench.spec.round_spec",
    "RoundOutcome": "smpc_bench.spec.outcome",
    "DEFAULT_RADIX_BITS": "smpc_bench.spec.encoding",
    "encode_digits": "smpc_bench.spec.encoding",
    "encode_rows": "smpc_bench.spec.encoding",
    # A consortium's configuration file.
    "load_config": "smpc_bench.inputs.consortium",
    "ConfigError": "smpc_bench.inputs.consortium",
    # The MPyC runtime.
    "runtime": "smpc_bench.engine.driver",
    # The protocol core: secure values in, secure values out.
    "SecureTable": "smpc_bench.core.secure_table",
    "SecureFraction": "smpc_bench.core.secure_fraction",
    "count": "smpc_bench.core.aggregates",
    "fsum": "smpc_bench.core.aggregates",
    "mean": "smpc_bench.core.aggregates",
    "variance": "smpc_bench.core.aggregates",
    "stdev": "smpc_bench.core.aggregates",
    "pvariance": "smpc_bench.core.aggregates",
    "pstdev": "smpc_bench.core.aggregates",
    "median": "smpc_bench.core.quantiles",
    "median_low": "smpc_bench.core.quantiles",
    "median_high": "smpc_bench.core.quantiles",
    "quantiles": "smpc_bench.core.quantiles",
    "percentiles": "smpc_bench.core.quantiles",
    "minimum": "smpc_bench.core.quantiles",
    "maximum": "smpc_bench.core.quantiles",
    "summarize": "smpc_bench.core.summarize",
    # Opening the declared outputs (the only step that opens anything).
    "open_counts": "smpc_bench.core.reveal",
    "open_fraction": "smpc_bench.core.reveal",
    # A module: mpyc.statistics' drop-in for ordinary MPyC programs (``from smpc_bench import
    # stats``, ``import smpc_bench.stats`` and ``smpc_bench.stats`` all work).
    "stats": "smpc_bench.stats",
}

__all__ = [
    "ConfigError",
    "Cut",
    "DEFAULT_RADIX_BITS",
    "InputError",
    "KpiSpec",
    "METHODS",
    "Metric",
    "RoundOutcome",
    "RoundSpec",
    "SecureFraction",
    "SecureTable",
    "Sizing",
    "__version__",
    "count",
    "encode_digits",
    "encode_rows",
    "fsum",
    "load_config",
    "maximum",
    "mean",
    "median",
    "median_high",
    "median_low",
    "minimum",
    "open_counts",
    "open_fraction",
    "percentiles",
    "pstdev",
    "pvariance",
    "quantiles",
    "runtime",
    "size_for",
    "stats",
    "stdev",
    "summarize",
    "variance",
]

if TYPE_CHECKING:  # the type checker sees plain imports; at run time they stay lazy
    from smpc_bench import stats
    from smpc_bench.core.aggregates import count, fsum, mean, pstdev, pvariance, stdev, variance
    from smpc_bench.core.quantiles import (
        maximum,
        median,
        median_high,
        median_low,
        minimum,
        percentiles,
        quantiles,
    )
    from smpc_bench.core.reveal import open_counts, open_fraction
    from smpc_bench.core.secure_fraction import SecureFraction
    from smpc_bench.core.secure_table import SecureTable
    from smpc_bench.core.summarize import summarize
    from smpc_bench.engine.driver import runtime
    from smpc_bench.inputs.consortium import ConfigError, load_config
    from smpc_bench.spec.encoding import DEFAULT_RADIX_BITS, encode_digits, encode_rows
    from smpc_bench.spec.kpi import InputError, KpiSpec
    from smpc_bench.spec.metrics import Metric
    from smpc_bench.spec.outcome import RoundOutcome
    from smpc_bench.spec.quantile_methods import METHODS, Cut
    from smpc_bench.spec.round_spec import RoundSpec
    from smpc_bench.spec.sizing import Sizing, size_for


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smpc_bench' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"{__name__}.{name}" else getattr(imported, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
