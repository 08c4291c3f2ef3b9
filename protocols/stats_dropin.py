r"""Secure statistics in an ordinary MPyC program: ``mpyc.statistics`` swapped by one import.

Every party inputs its own numbers; all parties learn the mean, median, quartiles and standard
deviation of all of them together, and nothing else.  This is the usual shape of an MPyC
program; the only change from one written for ``mpyc.statistics`` is the import::

    -from mpyc import statistics
    +from smpc_bench import stats as statistics

which makes the median and quartiles about a hundred times faster at a few hundred values and
oblivious (``mpyc.statistics`` opens the sizes of its pivot partitions), and every result
exact, rounded once (halves up) to the secure type (``mpyc.statistics`` floors an even median
and rounds fixed point probabilistically).  ``exact=True`` gives the exact Fractions.

Usage::

    python protocols/stats_dropin.py -M3                          # MPyC starts 3 local parties
    python protocols/stats_dropin.py -M3 --values 12 7 30 --bounds 0 100
    python protocols/stats_dropin.py -M3 --fixed-point --random 1000
    python protocols/stats_dropin.py -M3 -I0 ... -I2 -P host:port ...   # one process each

Flags: ``--values V ...`` (this party's numbers; default ``--random 10`` numbers in
[0, 1000)), ``--fixed-point`` (``SecFxp(32, 16)`` instead of ``SecInt(32)``), ``--bounds LO HI``
(every value is promised in ``[LO, HI]``: faster; checked in the MPC, a broken promise stops
the run with ``ValueError``), ``--exact``, ``--mpyc`` (the same with ``mpyc.statistics``, for
comparison; slow beyond a few hundred values).
"""

import argparse
import random
import time
from fractions import Fraction

from mpyc.runtime import mpc  # parses (and removes) MPyC's own flags: -M, -I, -P, ...

from smpc_bench import stats as statistics


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=Fraction, nargs="+", default=None,
                        help="this party's numbers")
    parser.add_argument("--random", type=int, default=10,
                        help="without --values: this many random numbers in [0, 1000)")
    parser.add_argument("--fixed-point", action="store_true", help="use SecFxp(32, 16)")
    parser.add_argument("--bounds", type=Fraction, nargs=2, default=None, metavar=("LO", "HI"))
    parser.add_argument("--exact", action="store_true", help="open exact Fractions")
    parser.add_argument("--mpyc", action="store_true",
                        help="use mpyc.statistics instead (no bounds, no exact)")
    return parser.parse_args()


def show(value):
    return str(value) if isinstance(value, Fraction) else f"{value:g}"


async def main():
    args = parse_args()
    secnum = mpc.SecFxp(32, 16) if args.fixed_point else mpc.SecInt(32)
    await mpc.start()
    if args.values is not None:
        mine = [float(v) if args.fixed_point else int(v) for v in args.values]
    else:
        rng = random.Random(mpc.pid)
        mine = [rng.randrange(1000) for _ in range(args.random)]
    # Every party inputs its own list (the lengths are public); x holds all of them.
    counts = await mpc.transfer(len(mine))
    shared = [mpc.input([secnum(v) for v in mine] if i == mpc.pid else [secnum(0)] * c,
                        senders=i) for i, c in enumerate(counts)]
    x = [a for part in shared for a in part]

    started = time.perf_counter()
    if args.mpyc:
        from mpyc import statistics as mpyc_statistics  # the original, for comparison

        results = {"mean": mpyc_statistics.mean(x), "median": mpyc_statistics.median(x),
                   "quartiles": mpyc_statistics.quantiles(x, n=4),
                   "stdev": mpyc_statistics.stdev(x)}
    else:
        options = {"bounds": tuple(args.bounds) if args.bounds else None, "exact": args.exact}
        results = {"mean": statistics.mean(x, **options),
                   "median": statistics.median(x, **options),
                   "quartiles": statistics.quantiles(x, n=4, **options),
                   "stdev": statistics.stdev(x, **options)}
    for name, value in results.items():
        opened = await mpc.output(value)
        text = ", ".join(map(show, opened)) if isinstance(opened, list) else show(opened)
        print(f"{name}: {text}")
    print(f"{len(x)} values, {time.perf_counter() - started:.2f} s")
    await mpc.shutdown()


if __name__ == "__main__":
    mpc.run(main())
