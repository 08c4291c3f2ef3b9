"""``smpc_bench.stats`` with real parties: party 0 inputs the data, every party prints the results.

Usage (one process per party; tests/partyrun.py adds the MPyC flags):
    python stats_dropin.py --data '[3, -1, 4]' --type int -M3 -I0 -B 20000   # and -I1, -I2

Computes every function of ``smpc_bench.stats`` (rounded and ``exact=True``), quartiles,
inclusive deciles and percentiles 10/50/90, opening them all at the end, while recording what
is opened (``smpc_bench.costs.openings``).  ``--bounds lo hi`` passes bounds.  Prints one JSON
line ``{"party": i, "results": {name: [str, ...]}, "openings": [[kind, shape], ...]}``; rounded
floats (fixed-point results, roots) are printed in hex (``float.hex``), other values as
Fractions.
"""

import argparse
import json
from fractions import Fraction

from smpc_bench import stats
from smpc_bench.costs.openings import record_openings
from smpc_bench.engine import driver

SCALARS = ("mean", "median", "median_low", "median_high", "variance", "pvariance", "stdev",
           "pstdev")


def compute(x, bounds, count):
    """Every statistic, secure (nothing opened yet); the two-value ones only if n >= 2."""
    results = {}
    for name in SCALARS:
        if count < 2 and name in ("variance", "stdev"):
            continue
        for exact in (False, True):
            results[f"{name}{' exact' if exact else ''}"] = [
                getattr(stats, name)(x, bounds=bounds, exact=exact)]
    if count >= 2:
        for exact in (False, True):
            suffix = " exact" if exact else ""
            results["quartiles" + suffix] = stats.quantiles(x, bounds=bounds, exact=exact)
            results["deciles" + suffix] = stats.quantiles(x, n=10, method="inclusive",
                                                          bounds=bounds, exact=exact)
    results["percentiles"] = stats.percentiles(x, [10, 50, 90], bounds=bounds)
    return results


def text(value):
    """Exactly: a float as its hex form, anything else as a Fraction."""
    return value.hex() if isinstance(value, float) else str(Fraction(value))


async def main(args: argparse.Namespace) -> None:
    mpc = driver.runtime()
    sectype = mpc.SecInt(32) if args.type == "int" else mpc.SecFxp(32, 16)
    await driver.phase("connecting", mpc.start(), 60)
    data = json.loads(args.data)
    own = data if mpc.pid == 0 else [0] * len(data)
    x = mpc.input([sectype(v) for v in own], senders=0)
    bounds = tuple(args.bounds) if args.bounds else None
    with record_openings() as log:
        results = compute(x, bounds, len(data))
        opened = {name: await driver.phase(f"opening {name}", mpc.output(values), 240)
                  for name, values in results.items()}
    await driver.phase("shutting down", mpc.shutdown(), 60)
    print(json.dumps({
        "party": mpc.pid,
        "results": {name: [text(v) for v in values] for name, values in opened.items()},
        "openings": [[o.kind, list(o.shape)] for o in log.signature()],
    }), flush=True)


if __name__ == "__main__":
    driver.runtime()  # parses and strips MPyC's upper-case flags from sys.argv
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="JSON list of party 0's values")
    parser.add_argument("--type", choices=("int", "fxp"), default="int")
    parser.add_argument("--bounds", nargs=2, type=Fraction, default=None)
    cli_args = parser.parse_args()
    driver.run(main(cli_args), timeout=300)
