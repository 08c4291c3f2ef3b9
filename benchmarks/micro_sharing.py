"""Micro-benchmark: secure array multiplications with and without ``engine.accel.sharing``.

Runs under MPyC (one process per party; ``-M3`` on one host spawns the other two):

    python benchmarks/micro_sharing.py -M3 -B 14300 [--size N] [--muls 5] [--runs 3] [--bits 24]

Each run times ``--muls`` successive elementwise multiplications ``y = y * y`` of a ``--size``
element ``SecInt(--bits)`` array (each one a resharing: ``thresha.np_random_split`` on 2t+1
parties, ``thresha.np_recombine`` on all).  Three modes are interleaved round-robin, ``--runs``
times each, so that load drift on a shared machine hits them alike:

* ``mpyc``          MPyC's own ``thresha`` functions (``fast_sharing.uninstall()``),
* ``fast-split``    ``fast_sharing.install(recombine=False)``,
* ``fast-all``      ``fast_sharing.install()`` (fast split and fast recombination).

Every party switches mode at the same point of the program, so all parties always run the same
code (mixing would work as well: the messages are identical).  Party 0 prints the median wall time
of each mode and the ratios, and checks the opened result of every mode against plain arithmetic.
Not a pytest test (the file name does not start with ``test_``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from mpyc.runtime import mpc  # parses (and strips) MPyC's own flags from sys.argv

from smpc_bench.engine.accel import sharing as fast_sharing

MODES = {
    "mpyc": fast_sharing.uninstall,
    "fast-split": lambda: fast_sharing.install(recombine=False),
    "fast-all": fast_sharing.install,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="array length")
    parser.add_argument("--muls", type=int, default=5, help="successive multiplications per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (median reported)")
    parser.add_argument("--bits", type=int, default=24, help="SecInt bit length")
    return parser.parse_args(sys.argv[1:])


async def main() -> None:
    args = parse_args()
    await mpc.start()
    secint = mpc.SecInt(args.bits)
    p = secint.field.modulus
    plain = np.arange(args.size, dtype=object) if mpc.pid == 0 else np.zeros(args.size, object)
    x = mpc.input(secint.array(plain), senders=0)
    await mpc.barrier("input")

    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for run in range(args.runs):
        for mode, switch in MODES.items():
            switch()
            await mpc.barrier(f"{mode}-{run}")
            t0 = time.perf_counter()
            y = x
            for _ in range(args.muls):
                y = y * y
            await mpc.gather(y)  # own share ready: all resharing messages received
            await mpc.barrier(f"{mode}-{run}-done")
            times[mode].append(time.perf_counter() - t0)
            if run == 0:
                opened = await mpc.output(y[:16], raw=True)
                expect = [pow(v, 2**args.muls, p) for v in range(16)]
                if mpc.pid == 0 and [int(v) for v in opened.value] != expect:
                    raise SystemExit(f"{mode}: wrong result {opened.value} != {expect}")
    fast_sharing.uninstall()

    if mpc.pid == 0:
        print(
            f"micro_sharing: m={len(mpc.parties)} t={mpc.threshold} n={args.size} "
            f"muls={args.muls} runs={args.runs} SecInt({args.bits}) p: {p.bit_length()} bits"
        )
        base = statistics.median(times["mpyc"])
        for mode, ts in times.items():
            med = statistics.median(ts)
            runs = " ".join(f"{t:.3f}" for t in ts)
            print(f"  {mode:<11} median {med:7.3f} s  ratio mpyc/this {base / med:5.2f}  [{runs}]")
    await mpc.shutdown()


if __name__ == "__main__":
    mpc.run(main())
