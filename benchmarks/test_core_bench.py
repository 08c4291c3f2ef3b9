"""pytest-benchmark suite of the protocol core at m=1 in process (no party processes).

For every size ``n`` in ``SIZES`` and ``K`` in ``(1, 6)`` KPIs it times, on the same random data
in a secret-shared table: sum, mean and variance; quartiles with public counts (what a round
does: counts are released first) and with secret counts; ``summarize`` with every metric; and
building the table from shared digits (the in-MPC range check).  The field is sized as a round
would size it: wider (see :func:`smpc_bench.spec.sizing.size_for`) only for operations that release
a variance.  Each timed round runs a fresh coroutine through ``mpc.run`` and opens the results.

``benchmark.extra_info`` records deterministic counters of one extra, untimed run: the number of
openings and opened elements (:func:`smpc_bench.costs.openings.record_openings`), and the levels and
lanes of the oblivious walk, plus the sizes.  That run is also checked against ``statistics``.

    pytest benchmarks --benchmark-only -m "not multiparty"
    SMPC_BENCH_QUICK=1 pytest benchmarks --benchmark-only -m "not multiparty"   # CI sizes
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any

import pytest
from core_cases import KPI_COUNTS, SIZES, Case, rounds_for
from cost_counters import count_costs

from smpc_bench.core import aggregates
from smpc_bench.core.quantiles import quantiles
from smpc_bench.core.reveal import open_counts, open_fraction
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.core.summarize import summarize
from smpc_bench.spec.metrics import Metric

#: Every metric a round can release (min and max are order statistics like the percentiles).
FULL_METRICS = (
    Metric.COUNT, Metric.SUM, Metric.MEAN, Metric.VARIANCE, Metric.STDEV, Metric.MIN,
    Metric.MAX, Metric.percentile(10), Metric.percentile(25), Metric.MEDIAN,
    Metric.percentile(75), Metric.percentile(90), Metric.percentile(25, "exclusive"),
    Metric.percentile(75, "exclusive"),
)

Released = dict[str, list[list[Any]]]
Operation = Callable[[Case], Awaitable[Released]]


async def op_sum(case: Case) -> Released:
    table = case.fresh()
    return {"sum": await open_fraction(aggregates.fsum(table), table.specs)}


async def op_mean(case: Case) -> Released:
    table = case.fresh()
    return {"mean": await open_fraction(aggregates.mean(table), table.specs)}


async def op_variance(case: Case) -> Released:
    table = case.fresh()
    return {"variance": await open_fraction(aggregates.variance(table), table.specs)}


async def op_quartiles_public_counts(case: Case) -> Released:
    table = case.fresh()
    counts = await open_counts(aggregates.count(table))
    return {"quartiles": await open_fraction(quantiles(table, 4, counts=counts), table.specs)}


async def op_quartiles_secret_counts(case: Case) -> Released:
    table = case.fresh()
    return {"quartiles": await open_fraction(quantiles(table, 4), table.specs)}


async def op_summarize_full(case: Case) -> Released:
    table = case.fresh()
    counts = await open_counts(aggregates.count(table))
    results = summarize(table, FULL_METRICS, counts=counts)
    return {metric.name: await open_fraction(fraction, table.specs)
            for metric, fraction in results.items()}


async def op_table_from_digits(case: Case) -> Released:
    table = SecureTable.from_digits(case.plain.specs, case.plain.sizing, case.digits, case.valid)
    return {"rejected": [[int(r)] for r in await open_counts(table.rejected)]}


#: Operations that release a variance or standard deviation: their field is sized for it.
NEEDS_MOMENTS = {"variance", "summarize_full"}

OPERATIONS: dict[str, Operation] = {
    "sum": op_sum,
    "mean": op_mean,
    "variance": op_variance,
    "quartiles_public_counts": op_quartiles_public_counts,
    "quartiles_secret_counts": op_quartiles_secret_counts,
    "summarize_full": op_summarize_full,
    "table_from_digits": op_table_from_digits,
}


def _column(case: Case, k: int) -> list[Fraction]:
    spec = case.plain.specs[k]
    return [spec.decode_units(v) for v in case.plain.column(k)]


def _expected(name: str, case: Case, k: int) -> dict[str, list[Any]]:
    """Plaintext answers (``statistics``) for KPI ``k`` of what operation ``name`` releases."""
    data = _column(case, k)
    quartiles = statistics.quantiles(data, n=4, method="exclusive")
    if name == "sum":
        return {"sum": [sum(data)]}
    if name == "mean":
        return {"mean": [statistics.mean(data)]}
    if name == "variance":
        return {"variance": [statistics.variance(data)]}
    if name.startswith("quartiles"):
        return {"quartiles": quartiles}
    if name == "table_from_digits":
        return {"rejected": [0]}
    inclusive = statistics.quantiles(data, n=100, method="inclusive")
    return {
        "count": [len(data)], "sum": [sum(data)], "mean": [statistics.mean(data)],
        "variance": [statistics.variance(data)],
        # released as the float square root of the exact variance: compared as that float
        "stdev": [math.sqrt(statistics.variance(data))], "min": [min(data)], "max": [max(data)],
        "p10": [inclusive[9]], "p25": [inclusive[24]], "median": [statistics.median(data)],
        "p75": [inclusive[74]], "p90": [inclusive[89]],
        "p25:exclusive": [quartiles[0]], "p75:exclusive": [quartiles[2]],
    }


def _check(name: str, case: Case, released: Released) -> None:
    """Every released metric, and only those, equals its plaintext answer exactly."""
    for k in range(len(case.plain.specs)):
        expected_metrics = _expected(name, case, k)
        assert set(released) == set(expected_metrics), (name, sorted(released))
        for metric, expected in expected_metrics.items():
            got = released[metric][k]
            assert [type(g) is float for g in got] == [type(e) is float for e in expected]
            assert [Fraction(g) for g in got] == [Fraction(e) for e in expected], (name, metric)


@pytest.mark.parametrize("kpis", KPI_COUNTS, ids=lambda k: f"K{k}")
@pytest.mark.parametrize("n", SIZES, ids=lambda n: f"n{n}")
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_core(benchmark: Any, mpc: Any, case_for: Callable[[int, int, bool], Case], name: str,
              n: int, kpis: int) -> None:
    case = case_for(n, kpis, name in NEEDS_MOMENTS)
    operation = OPERATIONS[name]
    benchmark.group = f"{name}"
    with count_costs() as costs:  # one untimed run: deterministic counters and a check
        released = mpc.run(operation(case))
    _check(name, case, released)
    benchmark.extra_info.update(
        n=n, kpis=kpis, operation=name, parties=1,
        field_bits=case.plain.sizing.field_bits, value_bits=case.plain.sizing.value_bits,
        radix_bits=case.table.radix_bits, **costs.as_dict())
    benchmark.pedantic(lambda: mpc.run(operation(case)), rounds=rounds_for(n), iterations=1,
                       warmup_rounds=1)
