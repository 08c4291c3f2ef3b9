"""smpc_bench.costs with one party in process: counts are data-independent and not trivial.

The rounds are simulated (a synchronous network in one process, see the module docstring), so
they are checked here against small programs whose round count is known by hand, and for the
statistics against each other: different data of one shape must give identical costs.
"""

from __future__ import annotations

import asyncio
import random
from fractions import Fraction

import numpy as np
import pytest

from smpc_bench import costs
from smpc_bench.core import aggregates
from smpc_bench.core.quantiles import quantiles
from smpc_bench.core.reveal import open_counts, open_fraction
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.costs.openings import record_openings
from smpc_bench.costs.rounds import COMMUNICATING
from smpc_bench.engine.driver import runtime
from smpc_bench.spec.encoding import encode_digits
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import size_for

mpc = runtime()
secint = mpc.SecInt(32)

SPECS = (KpiSpec("revenue", 0, 10**6), KpiSpec("margin", -50, 80, decimals=2))
ROWS = 40
SIZING = size_for(SPECS, ROWS)


def _data(kind: str, seed: int) -> np.ndarray:
    rng = random.Random(seed)
    rows = []
    for spec in SPECS:
        if kind == "equal":
            column = [rng.randint(0, spec.span)] * ROWS
        elif kind == "extremes":
            column = [rng.choice([0, spec.span]) for _ in range(ROWS)]
        else:
            column = [rng.randint(0, spec.span) for _ in range(ROWS)]
            if kind == "sorted":
                column.sort()
        rows.append(column)
    return np.array(rows, dtype=np.int64)


def _table(offsets: np.ndarray) -> SecureTable:
    sectype = mpc.SecInt(SIZING.field_bits)
    digits = sectype.array(encode_digits(offsets, SIZING.value_bits, 4))
    valid = sectype.array(np.ones(offsets.shape, dtype=np.int64))
    return SecureTable.from_digits(SPECS, SIZING, digits, valid)


async def _quartiles_public(offsets: np.ndarray):
    table = _table(offsets)
    counts = await open_counts(aggregates.count(table))
    return await open_fraction(quantiles(table, 4, counts=counts), table.specs)


async def _quartiles_secret(offsets: np.ndarray):
    table = _table(offsets)
    return await open_fraction(quantiles(table, 4), table.specs)


async def _moments(offsets: np.ndarray):
    table = _table(offsets)
    return [await open_fraction(f(table), table.specs)
            for f in (aggregates.fsum, aggregates.mean, aggregates.variance)]


OPERATIONS = {"quartiles_public": _quartiles_public, "quartiles_secret": _quartiles_secret,
              "moments": _moments}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_costs_identical_for_different_data_of_one_shape(name):
    operation = OPERATIONS[name]
    seen = {}
    for kind, seed in (("random", 1), ("random", 2), ("equal", 3), ("sorted", 4),
                       ("extremes", 5)):
        result, cost = costs.run(operation(_data(kind, seed)))
        assert result  # something was released
        seen[(kind, seed)] = cost.as_dict()
    first = next(iter(seen.values()))
    assert all(c == first for c in seen.values()), seen
    # Not trivially zero: every statistic multiplies, opens and takes rounds.
    assert first["rounds"] > 0 and first["reshares"] > 0 and first["openings"] > 0
    assert first["reshared_elements"] >= ROWS
    assert first["messages_sent"] == 0 and first["bytes_sent"] == 0  # one party: no traffic
    if name.startswith("quartiles"):
        assert first["comparisons"] > 0 and first["compared_elements"] > 0
        assert first["comparison_bits"] > first["compared_elements"]
        assert first["rounds"] > 20  # a walk of several levels, each a few rounds


def test_quartiles_costs_known_parts():
    _, cost = costs.run(_quartiles_public(_data("random", 1)))
    # Declared outputs (the count, then the quartiles) and the input screening (public coins,
    # then the well-formedness check, all zeros for honest owners); everything else is masked.
    assert cost.library_openings == 4
    assert cost.openings > cost.library_openings
    assert cost.bit_decompositions == 0  # owners share one-hot digits: nothing to decompose


def test_costs_of_secret_count_quartiles_exceed_public_count_ones():
    _, public = costs.run(_quartiles_public(_data("random", 1)))
    _, secret = costs.run(_quartiles_secret(_data("random", 1)))
    assert secret.rounds > public.rounds
    assert secret.comparisons > public.comparisons


def test_rounds_of_small_programs_by_hand():
    a, b = secint(3), secint(4)

    async def local_only():
        return await mpc.output(a + b)  # one opening

    async def one_product():
        return await mpc.output(a * b)  # reshare, then open

    async def chain(k):
        x = a
        for _ in range(k):
            x = x * b
        return await mpc.output(x)

    async def parallel():
        products = [a * b, a * a, b * b]  # independent: one round together
        return await mpc.output(products)

    async def sequential_outputs():
        first = await mpc.output(a)
        return first + await mpc.output(b)  # the second opening starts after the first

    assert costs.run(local_only())[1].rounds == 1
    result, cost = costs.run(one_product())
    assert result == 12 and cost.rounds == 2 and cost.reshares == 1
    assert costs.run(chain(5))[1].rounds == 6
    assert costs.run(parallel())[1].rounds == 2
    assert costs.run(sequential_outputs())[1].rounds == 2


def test_comparison_and_bit_decomposition_counts():
    array = mpc.SecInt(16).array(np.array([[1, -2, 3], [0, 5, -6]]))

    async def compare():
        return await mpc.output(array < 0)

    async def decompose():
        return await mpc.output(mpc.np_to_bits(array, l=8))

    _, cost = costs.run(compare())
    assert cost.comparisons == 1 and cost.compared_elements == 6
    assert cost.comparison_bits == 6 * 16
    assert cost.rounds > 3  # a comparison is several rounds
    _, cost = costs.run(decompose())
    assert cost.bit_decompositions == 1 and cost.decomposed_elements == 6
    assert cost.decomposed_bits == 48


def test_rounds_are_reproducible():
    counts = {costs.run(_quartiles_secret(_data("random", s)))[1].rounds for s in range(3)}
    assert len(counts) == 1


def test_track_restores_mpyc_after_the_block_even_on_error():
    before = {name: getattr(type(mpc), name) for name in COMMUNICATING}
    no_async = mpc.options.no_async
    with pytest.raises(ZeroDivisionError):
        with costs.track():
            raise ZeroDivisionError
    assert {name: getattr(type(mpc), name) for name in COMMUNICATING} == before
    assert mpc.options.no_async == no_async
    assert mpc.run(mpc.output(secint(5) * secint(2))) == 10  # synchronous again


def test_track_does_not_nest():
    with costs.track():
        with pytest.raises(RuntimeError, match="do not nest"):
            with costs.track():
                pass


def test_openings_counted_alongside_record_openings():
    offsets = _data("random", 7)
    with record_openings() as log:
        result, cost = costs.run(_quartiles_public(offsets))
    assert cost.openings == len(log) > 0
    with costs.track(rounds=False) as cost2:
        with record_openings() as log2:
            mpc.run(_quartiles_public(offsets))
    assert cost2.openings == len(log2) == cost.openings
    assert cost2.rounds is None  # not simulated: rounds=False


def test_rounds_not_simulated_inside_a_running_loop():
    async def inner():
        with costs.track() as cost:
            value = await mpc.output(secint(2) * secint(3))
        return value, cost

    value, cost = mpc.run(inner())
    assert value == 6 and cost.rounds is None and cost.reshares == 1


def test_exact_results_under_simulation():
    offsets = _data("random", 11)
    plain = mpc.run(_quartiles_public(offsets))
    simulated, _ = costs.run(_quartiles_public(offsets))
    assert simulated == plain
    assert all(isinstance(v, Fraction) for row in simulated for v in row)


def test_held_results_keep_asyncio_semantics():
    async def with_gather():
        x, y = secint(1) * secint(2), secint(3) * secint(4)
        return await asyncio.gather(mpc.output(x), mpc.output(y))

    result, cost = costs.run(with_gather())
    assert list(result) == [2, 12] and cost.rounds == 2
