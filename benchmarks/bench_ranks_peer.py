"""Benchmark: private ranks, percentiles and bands in peer mode (every firm an MPyC party).

Launches ``--parties`` local party processes of ``tests/integration/programs/ranks_peer.py``
(free ports, a deadline; never MPyC's ``-M`` auto-spawn), each firm holding one row of
``--kpis`` random KPIs, and repeats the run ``--repeats`` times.  Every party times its own
wall clock from opening the counts to receiving its own positions (inputs already shared);
the slowest party of each run counts, and the median over the runs is reported, beside the
launch-to-exit wall time (process start-up and connection set-up included).  Every party's
result is checked against the plaintext oracle (pandas rank ``min``; the mid-rank percentile,
as scipy ``percentileofscore(kind="mean")``, computed directly from the counts).

    .venv/bin/python benchmarks/bench_ranks_peer.py --parties 12 --kpis 10 --threshold 1
    .venv/bin/python benchmarks/bench_ranks_peer.py --parties 12 --kpis 10            # t = 5
    .venv/bin/python benchmarks/bench_ranks_peer.py --parties 12 --kpis 10 --method np-less -t 1
    .venv/bin/python benchmarks/bench_ranks_peer.py --parties 12 --kpis 10 --bands-only

``--threshold`` is MPyC's ``-T`` (default: MPyC's own, ``(m - 1) // 2``).  The last line is
``peer_ranks_seconds=<median slowest party> parties=<m> kpis=<K> threshold=<t> method=<...>``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import pandas as pd

from smpc_bench.engine.local_parties import describe, run_parties

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "tests" / "integration" / "programs" / "ranks_peer.py"


def expected(values: list[list[float]], higher: list[bool], bands: int) -> list[list[dict]]:
    """Per party, per KPI: the oracle's position record (all values valid)."""
    out: list[list[dict]] = [[] for _ in values]
    for k, better_high in enumerate(higher):
        column = [row[k] for row in values]
        ranks = pd.Series(column).rank(method="min", ascending=not better_high).astype(int)
        for i, x in enumerate(column):
            below = sum(v < x for v in column)
            equal = sum(v == x for v in column)
            percentile = Fraction(100 * (2 * below + equal), 2 * len(column))
            out[i].append({"rank": int(ranks[i]), "of": len(column), "percentile": str(percentile),
                           "band": 1 + int(bands * percentile // 100)})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parties", type=int, default=12)
    parser.add_argument("--kpis", type=int, default=10)
    parser.add_argument("--threshold", "-t", type=int, default=None, help="MPyC's -T")
    parser.add_argument("--method", default="all-pairs", choices=["all-pairs", "np-less", "sort"])
    parser.add_argument("--bands", type=int, default=4, choices=[4, 10])
    parser.add_argument("--bands-only", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    higher = [k % 2 == 0 for k in range(args.kpis)]
    kpi_flags = [a for k in range(args.kpis)
                 for a in ("--kpi", f"kpi{k}:0:1000:1:{'higher' if higher[k] else 'lower'}")]
    # One decimal on a 0..1000 range: 14-bit values; a few repeated values make ties.
    values = [[round(rng.choice([rng.uniform(0, 1000), 500.0]), 1) for _ in range(args.kpis)]
              for _ in range(args.parties)]
    flags = ["--method", args.method, "--bands", str(args.bands)]
    flags += ["--bands-only"] if args.bands_only else []
    flags += ["-T", str(args.threshold)] if args.threshold is not None else []
    oracle = expected(values, higher, args.bands)
    slowest, walls = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        results = run_parties(
            lambda i: [str(PROGRAM), "--values", json.dumps(values[i]), *kpi_flags, *flags],
            args.parties, timeout=args.timeout, cwd=ROOT)
        walls.append(time.perf_counter() - started)
        reports = [json.loads(r.stdout.strip().splitlines()[-1]) for r in results]
        for i, report in enumerate(reports):
            got = [kpi_rows[0] for kpi_rows in report["positions"]]
            want = oracle[i]
            if args.bands_only:
                want = [{"rank": None, "of": w["of"], "percentile": None, "band": w["band"]}
                        for w in want]
            if got != want:
                print(f"party {i}: wrong positions {got} != {want}\n{describe(results)}",
                      file=sys.stderr)
                return 1
        slowest.append(max(report["seconds"] for report in reports))
    threshold = args.threshold if args.threshold is not None else (args.parties - 1) // 2
    print(f"parties={args.parties} kpis={args.kpis} threshold={threshold} method={args.method} "
          f"bands_only={args.bands_only}: slowest party {statistics.median(slowest):.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in slowest)}), launch-to-exit wall "
          f"{statistics.median(walls):.1f} s; all positions exact")
    print(f"peer_ranks_seconds={statistics.median(slowest):.2f} parties={args.parties} "
          f"kpis={args.kpis} threshold={threshold} method={args.method}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
