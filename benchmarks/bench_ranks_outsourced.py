"""Benchmark: every contribution's private position in outsourced mode (compute servers).

Plays ``--n`` firms (one KPI value each, some missing, many ties), splits their one-hot digits
into Shamir shares for ``--servers`` local compute-server processes of
``smpc_bench.outsourced.positions_server``, runs them ``--repeats`` times, and checks
every firm's recombined position against the plaintext oracle.  Each server times its wall
clock from its shares to its shares of all position records: the in-MPC range check and count,
the agreement on shuffle seeds, the oblivious shuffle-sort and the record arithmetic.  The
slowest server of each run counts; the median over the runs is reported, beside the
launch-to-exit wall time (process start-up and connection set-up included).

    .venv/bin/python benchmarks/bench_ranks_outsourced.py --n 10000
    .venv/bin/python benchmarks/bench_ranks_outsourced.py --n 10000 --kpi revenue:0:1000000:0:higher
    .venv/bin/python benchmarks/bench_ranks_outsourced.py --n 10000 --bands-only

The default KPI is a margin in ``[-100, 100]`` with 2 decimals (20,001 values, 15 bits).  The last
line is ``outsourced_positions_seconds=<median slowest server> n=<n> servers=<m> bits=<b>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from smpc_bench.engine.local_parties import run_parties
from smpc_bench.outsourced.positions_server import parse_kpi
from smpc_bench.outsourced.splitting import split_for_servers
from smpc_bench.positions.delivery import decode_positions, recombine_shares
from smpc_bench.positions.ranks import PositionRules

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ["-m", "smpc_bench.outsourced.positions_server"]


def check(records: np.ndarray, offsets: np.ndarray, valid: np.ndarray, rules: PositionRules,
          higher: bool) -> int:
    """Number of rows whose recombined position differs from the oracle."""
    positions = decode_positions(records, rules)[0]
    values = np.sort(offsets[valid == 1])
    count = len(values)
    below = np.searchsorted(values, offsets, side="left")
    at_or_below = np.searchsorted(values, offsets, side="right")
    wrong = 0
    for i, got in enumerate(positions):
        if not valid[i]:
            wrong += got is not None
            continue
        percentile = Fraction(50 * int(below[i] + at_or_below[i]), count)
        band = 1 + int(rules.bands * percentile // 100)
        rank = 1 + count - int(at_or_below[i]) if higher else 1 + int(below[i])
        if rules.bands_only:
            wrong += got is None or got.band != band
        else:
            wrong += got is None or (got.rank, got.percentile, got.band) != (rank, percentile,
                                                                             band)
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--kpi", default="margin:-100:100:2:higher")
    parser.add_argument("--bands", type=int, default=4, choices=[4, 10])
    parser.add_argument("--bands-only", action="store_true")
    parser.add_argument("--missing", type=float, default=0.05, help="share of missing values")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    sys.argv = sys.argv[:1]  # importing mpyc (below) parses sys.argv with MPyC's own flags
    spec = parse_kpi(args.kpi)
    rules = PositionRules(bands=args.bands, bands_only=args.bands_only)
    rng = np.random.default_rng(args.seed)
    # Values cluster on a coarse grid half of the time: plenty of ties.
    fine = rng.integers(0, spec.span + 1, args.n)
    coarse = (fine // 1000) * 1000
    offsets = np.where(rng.random(args.n) < 0.5, coarse, fine).reshape(1, -1)
    valid = (rng.random((1, args.n)) >= args.missing).astype(np.int64)
    from mpyc import finfields

    slowest, walls, details = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sizing, prime, files = split_for_servers(
            [spec], offsets * valid, valid, args.servers, (args.servers - 1) // 2, 4, folder)
        results = [folder / f"result{i}.npy" for i in range(args.servers)]
        flags = ["--kpi", args.kpi, "--prime", str(prime), "--bands", str(args.bands)]
        flags += ["--bands-only"] if args.bands_only else []
        for _ in range(args.repeats):
            started = time.perf_counter()
            runs = run_parties(
                lambda i: [*PROGRAM, "--shares", str(files[i]), "--result-file",
                           str(results[i]), *flags],
                args.servers, timeout=args.timeout, cwd=ROOT)
            walls.append(time.perf_counter() - started)
            reports = [json.loads(r.stdout.strip().splitlines()[-1]) for r in runs]
            slowest.append(max(report["seconds"] for report in reports))
            details.append(reports[0])
            shares = {i: np.load(results[i]).astype(object)
                      for i in range((args.servers - 1) // 2 + 1)}
            records = recombine_shares(finfields.GF(prime), shares)
            wrong = check(records, offsets[0], valid[0], rules, spec.higher_is_better)
            if wrong:
                print(f"{wrong} of {args.n} positions differ from the oracle", file=sys.stderr)
                return 1
    median = statistics.median(slowest)
    print(f"n={args.n} servers={args.servers} kpi={args.kpi} value_bits={sizing.value_bits} "
          f"bands_only={args.bands_only}: slowest server {median:.2f} s (runs "
          f"{', '.join(f'{s:.2f}' for s in slowest)}), launch-to-exit wall "
          f"{statistics.median(walls):.1f} s; party 0 phases {details[0]['phases']}, "
          f"{details[0]['openings']} openings of {details[0]['opened_elements']} elements; "
          "all positions exact")
    print(f"outsourced_positions_seconds={median:.2f} n={args.n} servers={args.servers} "
          f"bits={sizing.value_bits}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
