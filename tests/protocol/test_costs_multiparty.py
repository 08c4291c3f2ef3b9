"""smpc_bench.costs with 3 party processes: lock-step rounds, traffic, agreement with m=1.

Each party runs the same small program under ``costs.track()`` and prints its counters; the
rounds counted in lock-step must equal the hand counts and the one-party simulation (for
programs whose structure does not depend on the number of parties), at every party.
"""

from __future__ import annotations

import json
import textwrap

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
    from smpc_bench.core.secure_table import SecureTable, encode_digits
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
    # Party 0 holds the product of its own a=3 and b=4.
    assert records[0]["one_product"]["value"] == "12"
    # Every party counts the same rounds and the same calls for the statistic.
    keys = ("rounds", "reshares", "reshared_elements", "openings", "comparisons")
    assert len({tuple(r["quartiles"][k] for k in keys) for r in records}) == 1


def test_lockstep_rounds_equal_the_one_party_simulation(records):
    import numpy as np

    from smpc_bench import costs
    from smpc_bench.core import aggregates
    from smpc_bench.core.quantiles import quantiles
    from smpc_bench.core.reveal import open_counts, open_fraction
    from smpc_bench.core.secure_table import SecureTable, encode_digits
    from smpc_bench.engine.driver import runtime
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
