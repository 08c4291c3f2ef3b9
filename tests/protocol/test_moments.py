"""Second moments in the wide field at m=1: exact, and opening nothing that depends on the data.

A table of cents up to 10**6 with a variance needs ``n**2 * 2**54``: far beyond the round's
64-bit main field, so :mod:`smpc_bench.core.moments` moves the flags and ``flag * value`` to the
wide field (:mod:`smpc_bench.core.field_switch`) and computes there.
"""

from __future__ import annotations

import statistics
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from smpc_bench.core import aggregates
from smpc_bench.core.field_switch import to_wide, wide_cells, wide_type
from smpc_bench.core.reveal import open_fraction
from smpc_bench.core.summarize import summarize
from smpc_bench.costs.openings import record_openings
from smpc_bench.engine.driver import runtime
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.sizing import size_for
from tests.oracles import build_secure_table, table_from_columns

mpc = runtime()

CENTS = KpiSpec("cents", 0, 1_000_000, decimals=2)
NEGATIVE = KpiSpec("loss", -1_000_000, -1, decimals=2)
SPECS = (CENTS, NEGATIVE)

COLUMNS = [
    ["999999.99", 0, "0.01", 500000, None, "123456.78", "1000000", 7, "42.42", "999999.99"],
    [-1, "-999999.99", None, "-1.01", -1000000, "-500000", "-3.5", None, "-77.77", -2],
]


def data_of(columns: list[list[object]]) -> Any:
    return table_from_columns(SPECS, columns)


def sizing_of(data: Any) -> Any:
    sizing = size_for(SPECS, data.shape[1])
    assert sizing.field_bits == 32  # the main field stays 64 bits ...
    assert sizing.moment_field_bits is not None  # ... and the moments get the wide one
    return sizing


def open_spreads(data: Any, counts: list[int] | None) -> dict[Metric, list[Any]]:
    sizing = sizing_of(data)
    metrics = (Metric.VARIANCE, Metric.STDEV)

    async def body() -> Any:
        table = build_secure_table(data, sizing)
        results = summarize(table, metrics, counts=counts)
        assert type(results[Metric.VARIANCE].numerator).sectype is wide_type(table)
        return {m: [row[0] for row in await open_fraction(f, SPECS)] for m, f in results.items()}

    return mpc.run(body())


@pytest.mark.parametrize("public_counts", [False, True])
def test_variance_and_stdev_equal_python_statistics_exactly(public_counts):
    data = data_of(COLUMNS)
    opened = open_spreads(data, data.counts() if public_counts else None)
    for k in range(len(SPECS)):
        values = data.values(k)
        assert opened[Metric.VARIANCE][k] == statistics.variance(values)
        assert opened[Metric.STDEV][k] == pytest.approx(
            float(statistics.variance(values)) ** 0.5, rel=1e-15)


def test_direct_functions_in_the_wide_field():
    data = data_of(COLUMNS)
    sizing = sizing_of(data)

    async def body() -> Any:
        table = build_secure_table(data, sizing)
        return [await open_fraction(f(table), SPECS) for f in (
            aggregates.variance, aggregates.pvariance, aggregates.stdev, aggregates.pstdev,
            aggregates.mean)]

    variance, pvariance, stdev, pstdev, mean = mpc.run(body())
    for k in range(len(SPECS)):
        values = data.values(k)
        assert variance[k][0] == statistics.variance(values)
        assert pvariance[k][0] == statistics.pvariance(values)
        assert stdev[k][0] == pytest.approx(float(statistics.variance(values)) ** 0.5)
        assert pstdev[k][0] == pytest.approx(float(statistics.pvariance(values)) ** 0.5)
        assert mean[k][0] == statistics.mean(values)


@pytest.mark.parametrize("cells", [[None] * 10, [5] + [None] * 9, ["1000000"] * 10])
def test_too_little_data_and_all_equal(cells):
    data = data_of([cells, COLUMNS[1]])
    opened = open_spreads(data, data.counts())
    expected = None if len([c for c in cells if c is not None]) < 2 else Fraction(0)
    assert opened[Metric.VARIANCE][0] == expected
    assert opened[Metric.STDEV][0] == (None if expected is None else 0.0)


def test_moving_the_extreme_values_is_exact():
    bits = 20
    values = np.array([0, 1, (1 << bits) - 1, 12345, (1 << bits) - 2], dtype=np.int64)

    async def body() -> Any:
        narrow = mpc.SecInt(32)
        wide = mpc.SecInt(90)
        moved = to_wide(narrow.array(values), bits, wide)
        assert type(moved).sectype is wide
        return await mpc.output(moved * moved)  # the squares do not fit the main field

    assert [int(v) for v in mpc.run(body())] == [int(v) ** 2 for v in values]


def spread_openings(data: Any, shift: int = 0) -> tuple[Any, list[Any]]:
    """The opening log of a round's stdev with public counts, and its declared outputs."""
    sizing = sizing_of(data)

    async def body() -> Any:
        table = build_secure_table(data, sizing)
        fraction = summarize(table, [Metric.STDEV], counts=data.counts())[Metric.STDEV]
        return await mpc.output(fraction.numerator)

    with record_openings(values=True) as log:
        numerators = mpc.run(body())
    return log, [int(v) for v in numerators]


def test_opening_log_does_not_depend_on_the_data_and_masks_are_marked():
    first, _ = spread_openings(data_of(COLUMNS))
    other_columns = [list(reversed(COLUMNS[0])), [None if c is None else -5 for c in COLUMNS[1]]]
    second, _ = spread_openings(data_of(other_columns))
    assert first.signature() == second.signature()
    moves = [o for o in first.openings if any("field_switch" in c for c in o.caller)]
    assert len(moves) == 1 and moves[0].masked  # one masked opening moves every cell
    assert moves[0].shape == (2 * len(SPECS) * len(COLUMNS[0]),)
    # The masked values change with the masks (fresh randomness each run).
    again, _ = spread_openings(data_of(COLUMNS))
    moved_again = [o for o in again.openings if any("field_switch" in c for c in o.caller)]
    assert moved_again[0].values != moves[0].values


def test_a_stdev_with_a_suppressed_mean_opens_nothing_about_the_mean():
    """Shifting every value leaves every declared opening of a stdev unchanged.

    The numerator ``c*S2 - S1**2`` is shift invariant; ``S1`` and ``S2`` are never opened.
    """
    low = [[None if c is None else v for c, v in zip(COLUMNS[0], range(10), strict=True)],
           COLUMNS[1]]
    high = [[None if c is None else v + 900000 for c, v in zip(COLUMNS[0], range(10),
                                                               strict=True)], COLUMNS[1]]
    log_low, numerators_low = spread_openings(data_of(low))
    log_high, numerators_high = spread_openings(data_of(high))
    assert numerators_low == numerators_high
    def unmasked(log: Any) -> list[Any]:  # all but the masked ones and the input check's coins
        return [o.values for o in log.openings if not o.masked
                and o.caller[:1] != ("smpc_bench.core.secure_table._validated",)]

    assert unmasked(log_low) == unmasked(log_high)
    assert len(unmasked(log_low)) == 2  # the input check's zeros and the numerators


def test_the_cells_are_moved_once_per_table():
    data = data_of(COLUMNS)
    sizing = sizing_of(data)

    async def body() -> Any:
        table = build_secure_table(data, sizing)
        assert wide_cells(table) is wide_cells(table)
        return None

    with record_openings() as log:
        mpc.run(body())
    assert sum(any("field_switch" in c for c in o.caller) for o in log.openings) == 1

