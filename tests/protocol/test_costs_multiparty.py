"""smpc_bench.costs with 3 party processes: lock-step rounds, traffic, agreement with m=1.

Each party runs the same small program under ``costs.track()`` and prints its counters and the
values it opened; the rounds counted in lock-step must equal the hand counts and the one-party
simulation (for programs whose structure does not depend on the number of parties), at every
party, and the opened values must equal the plaintext answers (``statistics``), also while the
parties run in lock-step.
"""

from __future__ import annotations

import json
import statistics
import textwrap
from fractions import Fraction

import pytest

from tests.partyrun import run_parties

pytestmark = pytest.mark.multiparty

PROGRAM = textwrap.dedent('''
    import json
    import numpy as np
    from smpc_bench import costs
    from smpc_bench.engine import driver
    from smpc_bench.spec.kpi import KpiSpec
    from smpc_bench.core.quantiles import quantiles
    from smpc_bench.core.reveal import open_counts, open_fraction
    from smpc_bench.core.secure_table import SecureTable
    from smpc_bench.spec.encoding import encode_digits
    from smpc_bench.spec.sizing import size_for
    from smpc_bench.core import aggregates

    async def main():
        mpc = driver.runtime()
        await driver.phase("connecting", mpc.start(), timeout=60)
        secint = mpc.SecInt(32)
        a = mpc.input(secint(3 + mpc.pid), senders=0)
        b = mpc.input(secint(4), senders=1)
        await mpc.gather(a, b)
        out = {}

        async def chain():
            x = a
            for _ in range(5):
                x = x * b
            return await mpc.output(x)

        async def parallel():
            return await mpc.output([a * b, a * a, b * b])

        async def stats():
            specs = [KpiSpec("v", 0, 1000)]
            sizing = size_for(specs, 30)
            sectype = mpc.SecInt(sizing.field_bits)
            # Only party 0's input counts (senders=0): the values 0, 7, ..., 203.
            values = np.arange(30, dtype=np.int64)[None, :] * (7 + mpc.pid)
            digits = mpc.input(sectype.array(encode_digits(values % 1001, sizing.value_bits, 4)),
                               senders=0)
            valid = mpc.input(sectype.array(np.ones((1, 30), dtype=np.int64)), senders=0)
            await mpc.gather(digits, valid)
            with costs.track() as cost:
                table = SecureTable.from_digits(specs, sizing, digits, valid)
                counts = await open_counts(aggregates.count(table))
                result = await open_fraction(quantiles(table, 4, counts=counts), specs)
            return [str(v) for v in result[0]], cost

        for name, body in (("one_product", lambda: mpc.output(a * b)), ("chain", chain),
                           ("parallel", parallel)):
            with costs.track() as cost:
                value = await body()
            out[name] = {"value": str(value), **cost.as_dict(),
                         "peers": sorted(cost.messages)}
        value, cost = await stats()
        out["quartiles"] = {"value": value, **cost.as_dict()}
        await driver.phase("shutting down", mpc.shutdown(), timeout=60)
        print("COSTS " + json.dumps(out), flush=True)

    driver.run(main(), timeout=120)
''')


@pytest.fixture(scope="module")
def records():
    """Every party's counters from one 3-party run of PROGRAM."""
    out = []
    for party in run_parties(["-c", PROGRAM], 3, timeout=180):
        line = next(x for x in party.stdout.splitlines() if x.startswith("COSTS "))
        out.append(json.loads(line[len("COSTS "):]))
    return out


def test_lockstep_rounds_and_traffic_with_three_parties(records):
    for pid, record in enumerate(records):
        assert record["one_product"]["rounds"] == 2
        assert record["chain"]["rounds"] == 6
        assert record["parallel"]["rounds"] == 2
        assert record["one_product"]["messages_sent"] > 0
        assert record["one_product"]["bytes_sent"] > 0
        assert record["one_product"]["peers"] == [p for p in range(3) if p != pid]
        assert record["quartiles"]["comparisons"] > 0
    # Every party opens the values of party 0's a = 3 and party 1's b = 4 (senders 0 and 1).
    for record in records:
        assert record["one_product"]["value"] == "12"
        assert record["chain"]["value"] == str(3 * 4**5)
        assert record["parallel"]["value"] == "[12, 9, 16]"
    # Every party counts the same rounds and the same calls for the statistic.
    keys = ("rounds", "reshares", "reshared_elements", "openings", "comparisons")
    assert len({tuple(r["quartiles"][k] for k in keys) for r in records}) == 1


def test_three_party_quartiles_equal_the_plaintext_answer(records):
    data = [7 * i for i in range(30)]  # party 0's input, the only one that counts
    expected = [Fraction(q) for q in statistics.quantiles(data, n=4, method="exclusive")]
    # By hand: positions 31/4, 31/2, 93/4 (1-based) of 0, 7, ..., 203.
    assert expected == [Fraction(189, 4), Fraction(203, 2), Fraction(623, 4)]
    for record in records:
        assert [Fraction(v) for v in record["quartiles"]["value"]] == expected


def test_lockstep_rounds_equal_the_one_party_simulation(records):
    import numpy as np

    from smpc_bench import costs
    from smpc_bench.core import aggregates
    from smpc_bench.core.quantiles import quantiles
    from smpc_bench.core.reveal import open_counts, open_fraction
    from smpc_bench.core.secure_table import SecureTable
    from smpc_bench.engine.driver import runtime
    from smpc_bench.spec.encoding import encode_digits
    from smpc_bench.spec.kpi import KpiSpec
    from smpc_bench.spec.sizing import size_for

    mpc = runtime()
    specs = [KpiSpec("v", 0, 1000)]
    sizing = size_for(specs, 30)
    sectype = mpc.SecInt(sizing.field_bits)
    values = np.arange(30, dtype=np.int64)[None, :] * 7 % 1001
    digits = sectype.array(encode_digits(values, sizing.value_bits, 4))
    valid = sectype.array(np.ones((1, 30), dtype=np.int64))

    async def body():
        table = SecureTable.from_digits(specs, sizing, digits, valid)
        counts = await open_counts(aggregates.count(table))
        return await open_fraction(quantiles(table, 4, counts=counts), specs)

    _, single = costs.run(body())
    assert {r["quartiles"]["rounds"] for r in records} == {single.rounds}
    assert records[0]["quartiles"]["reshared_elements"] == single.reshared_elements
