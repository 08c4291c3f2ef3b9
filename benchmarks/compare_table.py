"""Ratio table: our median, quartiles and ranks against what MPyC offers, with local parties.

Extends ``compare_mpyc.py`` (quartiles only, ``speedup_vs_mpyc_quantiles=...``) to the three
statistics a benchmarking round releases.  Each pair runs on the same data (party 0 inputs
``n`` random integers in ``[0, 10**6]``), after a synchronised start; the time is party 0's
wall clock from that start to the opened result, *including* secret-sharing the inputs (each
contestant shares in its own representation); bytes are summed over all parties.

* **median**: ours = open the count, then ``statistics.median`` exactly (one oblivious walk);
  MPyC = ``mpyc.statistics.median`` on a list of ``SecInt(32)`` (randomised quickselect: it
  opens pivot partition sizes, and its run time varies with the pivots).
* **quartiles**: ours = open the count, then ``statistics.quantiles(n=4)`` exclusive;
  MPyC = ``mpyc.statistics.quantiles(x, n=4)`` (a full Batcher sort of the list).
* **ranks**: ours = every row's private (rank, percentile, count) by the sorting protocol,
  delivered to its owner; MPyC has no rank function, so the baseline is what one writes with
  it directly: all-pairs comparisons of a ``SecInt(32)`` array (``n**2`` comparisons,
  ``x.reshape(n, 1) < x.reshape(1, n)``), column sums, ranks opened to the owner.

MPyC runs with smpc-bench's local accelerations uninstalled (stock MPyC 0.11).  Results are
checked against Python: ours must be exact; MPyC's secure-integer median and quartiles round
interpolated values to an integer, which is reported, not treated as a failure.  ::

    python benchmarks/compare_table.py                 # n = 100: about 15 s
    python benchmarks/compare_table.py --n 300         # about 2 minutes
    python benchmarks/compare_table.py --n 300 --stats median,quartiles

Writes ``benchmarks/results/compare_table_n<n>.md`` and ``.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_party import make_values, parse_records, ranks_available  # noqa: E402

RESULTS = HERE / "results"
RECORD_PREFIX = "BENCH_PARTY_RECORD "
STATS = ("median", "quartiles", "ranks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--parties", type=int, default=3)
    parser.add_argument("--stats", default=",".join(STATS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--party", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="write compare_table_n<n>.md and .json here")
    return parser


# --------------------------------------------------------------------------------------------
# Party mode
# --------------------------------------------------------------------------------------------


def _expected(stat: str, values: list[int]) -> list[Any]:
    if stat == "median":
        return [Fraction(statistics.median(values))]
    if stat == "quartiles":
        return [Fraction(q) for q in statistics.quantiles(values, n=4, method="exclusive")]
    ordered = np.sort(np.asarray(values))
    return list(1 + len(values) - np.searchsorted(ordered, values, side="right"))


async def _ours(mpc: Any, stat: str, n: int, values: np.ndarray) -> list[Any]:
    from fractions import Fraction as F

    from smpc_bench.core import aggregates
    from smpc_bench.core.quantiles import quantile_cuts, quantiles
    from smpc_bench.core.reveal import open_counts, open_fraction
    from smpc_bench.core.secure_table import SecureTable
    from smpc_bench.spec.encoding import encode_digits
    from smpc_bench.spec.kpi import KpiSpec
    from smpc_bench.spec.quantile_methods import Cut
    from smpc_bench.spec.sizing import size_for

    specs = [KpiSpec("value", 0, 10**6)]
    sizing = size_for(specs, n, moments=False)
    sectype = mpc.SecInt(sizing.field_bits)
    own = values if mpc.pid == 0 else np.zeros_like(values)
    digits = mpc.input(sectype.array(encode_digits(own[None, :], sizing.value_bits, 4)),
                       senders=0)
    valid = mpc.input(sectype.array(np.ones((1, n), dtype=np.int64)), senders=0)
    table = SecureTable.from_digits(specs, sizing, digits, valid)
    counts = await open_counts(aggregates.count(table))
    if stat == "median":
        result = quantile_cuts(table, [Cut(F(1, 2), "inclusive")], counts=counts)
        return list((await open_fraction(result, specs))[0])
    if stat == "quartiles":
        return list((await open_fraction(quantiles(table, 4, counts=counts), specs))[0])
    from bench_party import CONTEXT

    from smpc_bench.positions.delivery import deliver_to_owners
    from smpc_bench.positions.ranks import position_records

    records = position_records(table, counts=counts, method="sort", keys=CONTEXT["keys"])
    mine = await deliver_to_owners(records, [0] * n)
    return [] if mine is None else [int(r) for r in mine[0][:, 0]]


async def _mpyc(mpc: Any, stat: str, n: int, values: np.ndarray) -> list[Any]:
    from mpyc import statistics as mpyc_statistics

    secint = mpc.SecInt(32)
    plain = [int(v) for v in values] if mpc.pid == 0 else [0] * n
    if stat in ("median", "quartiles"):
        x = mpc.input([secint(v) for v in plain], senders=0)
        if stat == "median":
            return [Fraction(int(await mpc.output(mpyc_statistics.median(x))))]
        return [Fraction(int(v)) for v in await mpc.output(mpyc_statistics.quantiles(x, n=4))]
    x = mpc.input(secint.array(np.array(plain, dtype=np.int64)), senders=0)
    greater = x.reshape(1, n) > x.reshape(n, 1)  # [i, j] = x_j > x_i
    ranks = 1 + np.sum(greater, axis=1)
    opened = await mpc.output(ranks, receivers=[0])
    return [] if opened is None else [int(r) for r in opened]


async def party_main(args: argparse.Namespace) -> dict[str, Any]:
    from smpc_bench import costs
    from smpc_bench.engine import accel as acceleration
    from smpc_bench.engine import driver

    mpc = driver.runtime()
    await driver.phase("connecting", mpc.start(), timeout=120)
    values = make_values(args.n, args.seed)
    stats = [s for s in args.stats.split(",") if s and (s != "ranks" or ranks_available())]
    if "ranks" in stats:
        from bench_party import CONTEXT

        from smpc_bench.positions.shuffle import agree_shuffle_keys

        CONTEXT["keys"] = await agree_shuffle_keys()
    record: dict[str, Any] = {"party": mpc.pid, "n": args.n, "stats": {}}
    for stat in stats:
        entry = {}
        for name, runner in (("ours", _ours), ("mpyc", _mpyc)):
            if name == "mpyc":
                acceleration.uninstall()
            try:
                await mpc.barrier(f"{stat}-{name}")
                await mpc.transfer(f"{stat}-{name}")
                started = time.perf_counter()
                with costs.track(rounds=False) as cost:
                    result = await runner(mpc, stat, args.n, values)
                seconds = time.perf_counter() - started
            finally:
                acceleration.install()
            item: dict[str, Any] = {"seconds": seconds, "bytes": cost.bytes_sent,
                                    "openings": cost.openings}
            if mpc.pid == 0:
                want = _expected(stat, [int(v) for v in values])
                got = [Fraction(g) for g in result]
                error = max((abs(g - Fraction(e)) for g, e in zip(got, want, strict=True)),
                            default=Fraction(0))
                item["max_abs_error"] = float(error)
                item["exact"] = error == 0
            entry[name] = item
        record["stats"][stat] = entry
    await driver.phase("shutting down", mpc.shutdown(), timeout=120)
    return record


def run_party(argv: list[str]) -> int:
    args, mpyc_argv = build_parser().parse_known_args(argv)
    sys.argv = [sys.argv[0], *mpyc_argv]
    from smpc_bench.engine import driver

    record = driver.run(party_main(args), timeout=args.timeout)
    print(RECORD_PREFIX + json.dumps(record), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# Launcher
# --------------------------------------------------------------------------------------------


def write_markdown(rows: list[dict[str, Any]], n: int, parties: int, command: str,
                   path: Path) -> None:
    """The ratio table as markdown."""
    lines = [f"# smpc-bench against MPyC, n = {n}, {parties} local parties", "",
             f"Command: `{command}`.  Seconds: party 0's wall time from a synchronised start to "
             "the opened result, including sharing the inputs; MB: sent by all parties.  MPyC: "
             "`mpyc.statistics.median` / `quantiles` on `SecInt(32)` lists; ranks: all-pairs "
             "comparisons of a `SecInt(32)` array (MPyC has no rank function).", "",
             "| statistic | smpc-bench s | MPyC s | ratio | smpc-bench MB | MPyC MB | check |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        check = "exact" if row["ours_exact"] else "WRONG"
        check += ("; MPyC exact" if row["mpyc_max_abs_error"] == 0 else
                  f"; MPyC off by {row['mpyc_max_abs_error']:g} (integer rounding)")
        lines.append(f"| {row['statistic']} | {row['ours_seconds']:.3f} "
                     f"| {row['mpyc_seconds']:.3f} | {row['ratio']:.1f}x "
                     f"| {row['ours_bytes'] / 1e6:.2f} | {row['mpyc_bytes'] / 1e6:.2f} "
                     f"| {check} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "src"))
    from smpc_bench.engine.local_parties import run_parties

    party_args = [str(Path(__file__).resolve()), "--party", "--n", str(args.n), "--stats",
                  args.stats, "--seed", str(args.seed), "--timeout", str(args.timeout)]
    started = time.perf_counter()
    results = run_parties(party_args, args.parties, timeout=args.timeout + 60, cwd=HERE)
    records = parse_records([r.stdout for r in results])
    leader = next(r for r in records if r["party"] == 0)
    rows = []
    print(f"n={args.n}, {args.parties} local parties; seconds: party 0's wall time incl. sharing "
          f"the inputs; bytes: all parties (launch {time.perf_counter() - started:.0f} s)")
    print(f"{'statistic':<10} {'ours s':>8} {'MPyC s':>9} {'ratio':>8} {'ours MB':>8} "
          f"{'MPyC MB':>8}  check")
    for stat, entry in leader["stats"].items():
        ours, theirs = entry["ours"], entry["mpyc"]
        ours_bytes = sum(r["stats"][stat]["ours"]["bytes"] for r in records)
        mpyc_bytes = sum(r["stats"][stat]["mpyc"]["bytes"] for r in records)
        ratio = theirs["seconds"] / ours["seconds"]
        check = ("ours exact" if ours["exact"] else "OURS WRONG") + (
            ", MPyC exact" if theirs["exact"]
            else f", MPyC off by {theirs['max_abs_error']:g} (integer rounding)")
        rows.append({"statistic": stat, "ours_seconds": ours["seconds"],
                     "mpyc_seconds": theirs["seconds"], "ratio": ratio,
                     "ours_bytes": ours_bytes, "mpyc_bytes": mpyc_bytes,
                     "ours_exact": ours["exact"], "mpyc_max_abs_error": theirs["max_abs_error"]})
        print(f"{stat:<10} {ours['seconds']:>8.3f} {theirs['seconds']:>9.3f} {ratio:>7.1f}x "
              f"{ours_bytes / 1e6:>8.2f} {mpyc_bytes / 1e6:>8.2f}  {check}")
    command = "python benchmarks/compare_table.py " + " ".join(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"compare_table_n{args.n}.json").write_text(json.dumps(
        {"n": args.n, "parties": args.parties, "command": command, "rows": rows}, indent=2)
        + "\n", encoding="utf-8")
    write_markdown(rows, args.n, args.parties, command,
                   args.out / f"compare_table_n{args.n}.md")
    return 0 if all(r["ours_exact"] for r in rows) else 1


if __name__ == "__main__":
    if "--party" in sys.argv[1:]:
        sys.exit(run_party(sys.argv[1:]))
    sys.exit(main(sys.argv[1:]))
