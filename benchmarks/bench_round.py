"""Benchmark: a whole benchmarking round end to end, as ``smpc-bench simulate`` runs it.

Generates a consortium of ``--firms`` firms with ``--kpis`` KPIs (each firm 1 to 3 rows of random
values, about 10 % missing; every KPI releases count, mean, stdev, p10, quartiles and p90) and
runs it ``--repeats`` times with :func:`smpc_bench.cli.simulate.simulate`: one MPyC party process
per firm
on this machine (free ports, a deadline), agreeing on the spec hash, sharing inputs, the
statistics, the disclosure rule and every firm's private positions (rank, percentile, band).
Every run's released statistics are checked exactly against the plaintext answer computed
here with ``statistics`` on the firms' files read back as text (exact fractions; the standard
deviation as the float square root of the exact variance, which is what a round releases).
Times: launch to last exit (process start-up and
connection set-up included) and party 0's phases (median over the runs).

    .venv/bin/python benchmarks/bench_round.py --firms 12 --kpis 10
    .venv/bin/python benchmarks/bench_round.py --firms 5 --kpis 6 --repeats 5
    .venv/bin/python benchmarks/bench_round.py --firms 12 --kpis 10 --threshold 1

The last line is ``round_seconds=<median launch-to-exit> firms=<m> kpis=<K> rows=<total>``.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

from smpc_bench.cli.simulate import simulate

STATISTICS = ("count", "mean", "stdev", "p10", "q1", "median", "q3", "p90")
DECIMALS = 2


def write_consortium(folder: Path, firms: int, kpis: int, seed: int,
                     threshold: int | None = None) -> pd.DataFrame:
    """Write ``consortium.toml`` and one CSV per firm into ``folder``; return all rows."""
    rng = random.Random(seed)
    listed = ", ".join(f'"{s}"' for s in STATISTICS)
    lines = [f'[consortium]\nname = "bench {firms} firms"\n',
             "[disclosure]\nmin_contributions = 3\n"]
    if threshold is not None:
        lines.append(f"[security]\nthreshold = {threshold}\n")
    for k in range(kpis):
        lines.append(f'[[kpis]]\nname = "kpi{k}"\nlower = 0\nupper = 1000000\n'
                     f"decimals = {DECIMALS}\n"
                     f"higher_is_better = {'true' if k % 2 else 'false'}\n"
                     f"statistics = [{listed}]\n")
    frames = []
    for i in range(firms):
        lines.append(f'[[parties]]\nname = "Firm {i}"\ndata = "firm{i}.csv"\n')
        rows = [{"shop": f"shop {i}.{r}",
                 **{f"kpi{k}": round(rng.uniform(0, 1_000_000), 2) if rng.random() > 0.1
                    else None for k in range(kpis)}}
                for r in range(rng.randint(1, 3))]
        frame = pd.DataFrame(rows)
        frame.to_csv(folder / f"firm{i}.csv", index=False)
        frames.append(frame)
    (folder / "consortium.toml").write_text("\n".join(lines), encoding="utf-8")
    return pd.concat(frames, ignore_index=True)


def exact_cell(text: str, decimals: int) -> Fraction:
    """A file's cell as the KPI keeps it: rounded half to even to ``decimals``, exactly."""
    return Fraction(Decimal(text.strip()).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN))


def plaintext(name: str, values: list[Fraction]) -> Fraction | float:
    """The exact plaintext answer of a released statistic (``statistics`` on Fractions; the
    standard deviation as the round releases it: the float square root of the exact variance)."""
    if name == "count":
        return Fraction(len(values))
    if name == "mean":
        return Fraction(statistics.mean(values))
    if name == "stdev":
        return math.sqrt(statistics.variance(values))
    if name == "median":
        return Fraction(statistics.median(values))
    # numpy's "linear" (our inclusive default) is statistics' inclusive method
    percent = {"p10": 10, "p25": 25, "p75": 75, "p90": 90}[name]
    return Fraction(statistics.quantiles(values, n=100, method="inclusive")[percent - 1])


def check(folder: Path, firms: int, released: dict) -> None:
    """Every released statistic equals the plaintext answer on the files' cells, exactly."""
    frames = [pd.read_csv(folder / f"firm{i}.csv", dtype=str) for i in range(firms)]
    for kpi in released["kpis"]:
        values = [exact_cell(cell, DECIMALS) for frame in frames
                  for cell in frame[kpi["name"]].dropna()]
        for name, item in kpi["statistics"].items():
            if item["suppressed"]:
                continue
            expected = plaintext(name, values)
            if isinstance(expected, float):
                got: Fraction | float | None = item["value_float"]
            else:
                got = None if item["value"] is None else Fraction(item["value"])
            if got != expected:
                raise SystemExit(f"{kpi['name']} {name}: secure {got} != plaintext {expected}")
            if name == "count" and kpi["count"] != len(values):
                raise SystemExit(f"{kpi['name']}: count {kpi['count']} != {len(values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firms", type=int, default=12)
    parser.add_argument("--kpis", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--threshold", type=int, help="[security] threshold (default: MPyC's)")
    args = parser.parse_args()
    walls, phases = [], []
    with tempfile.TemporaryDirectory(prefix="bench-round-") as scratch:
        folder = Path(scratch)
        everything = write_consortium(folder, args.firms, args.kpis, args.seed, args.threshold)
        for _ in range(args.repeats):
            started = time.perf_counter()
            outcomes = simulate(folder / "consortium.toml", folder, timeout=args.timeout)
            walls.append(time.perf_counter() - started)
            if any(o["kpis"] != outcomes[0]["kpis"] for o in outcomes):
                raise SystemExit("the parties released different results")
            check(folder, args.firms, outcomes[0])
            phases.append({t["phase"]: t["seconds"] for t in outcomes[0]["timings"]})
    median_phases = {name: statistics.median(p[name] for p in phases) for name in phases[0]}
    shown = ", ".join(f"{name} {seconds:.2f}" for name, seconds in median_phases.items())
    print(f"firms={args.firms} kpis={args.kpis} rows={len(everything)}: launch-to-exit "
          f"{statistics.median(walls):.2f} s (runs {', '.join(f'{w:.2f}' for w in walls)}); "
          f"party 0 phases (s): {shown}; all released statistics match the plaintext")
    print(f"round_seconds={statistics.median(walls):.2f} firms={args.firms} kpis={args.kpis} "
          f"rows={len(everything)} threshold={args.threshold or (args.firms - 1) // 2}")


if __name__ == "__main__":
    sys.exit(main())
