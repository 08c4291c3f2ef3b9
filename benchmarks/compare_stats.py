"""Side by side in one run: ``smpc_bench.stats`` against ``mpyc.statistics``, 3 local parties.

The drop-in's claim: the same call on the same MPyC secure integers, much faster.  Launcher (no
``-I``): starts ``--parties`` processes of this script on free local ports
(:func:`smpc_bench.engine.local_parties.run_parties`), collects one JSON line per party and
prints a table, then one line per ratio ``ratio_<statistic>_n<n>=<mpyc / ours>`` and
``ours_median_seconds_n<large>=<s>``::

    python benchmarks/compare_stats.py                          # n = 300 and 1,000, and 10,000
    python benchmarks/compare_stats.py --sizes 300 --large 0 --mpyc-repeats 1   # quick look
    python benchmarks/compare_stats.py --json out.jsonl         # also keep the raw records

For each size ``n`` party 0 inputs ``n`` random integers in ``[0, 10**6]`` as a list of
``mpc.SecInt(32)`` (``--seed``); that list is what both contestants get, as in an ordinary MPyC
program.  After a synchronisation (barrier plus one all-to-all exchange) every party times, to
the opened result: ``stats.median(x)`` and ``stats.quantiles(x, n=4)`` (and the same with
``bounds=(0, 10**6)``), and ``mpyc.statistics.median(x)`` and ``mpyc.statistics.quantiles(x,
n=4)``, the latter with smpc-bench's local accelerations uninstalled (stock MPyC 0.11).  Ours
are repeated ``--repeats`` times, MPyC's ``--mpyc-repeats`` times (it takes minutes at
n = 1,000); the table shows party 0's medians, and ratios are of medians measured in this one
run.  At ``--large`` values only ours runs (``mpyc.statistics`` would take hours).

Every result is checked against Python's ``statistics`` on the plaintext: ours must be the exact
value rounded once, halves up (``smpc_bench.stats``' rule); MPyC's are reported as they are
(its median floors, its quantiles round).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

RECORD_PREFIX = "COMPARE_STATS_RECORD "
VALUE_HIGH = 10**6
BOUNDS = (0, VALUE_HIGH)


@dataclass
class Options:
    """What to run (the launcher's command line, passed on to every party)."""

    sizes: tuple[int, ...] = (300, 1000)
    large: int = 10_000
    parties: int = 3
    seed: int = 1
    repeats: int = 5
    mpyc_repeats: int = 1
    timeout: float = 3600.0

    def party_argv(self) -> list[str]:
        """Arguments of a party process (MPyC's flags are appended by ``run_parties``)."""
        return [str(Path(__file__).resolve()), "--sizes", *map(str, self.sizes),
                "--large", str(self.large), "--seed", str(self.seed), "--repeats",
                str(self.repeats), "--mpyc-repeats", str(self.mpyc_repeats), "--timeout",
                str(self.timeout)]


def build_parser() -> argparse.ArgumentParser:
    """The command line (lower-case flags only: MPyC claims the upper-case ones)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None,
                                     allow_abbrev=False)
    parser.add_argument("--sizes", type=int, nargs="*", default=[300, 1000],
                        help="sizes compared with mpyc.statistics (default 300 1000; none: "
                             "only --large)")
    parser.add_argument("--large", type=int, default=10_000,
                        help="a size for ours only, median and quartiles (0: none)")
    parser.add_argument("--parties", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of ours (median)")
    parser.add_argument("--mpyc-repeats", type=int, default=1,
                        help="timed runs of mpyc.statistics (median)")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--json", type=Path, default=None,
                        help="launcher only: append the party records to this JSONL file")
    return parser


def make_values(n: int, seed: int) -> list[int]:
    """Party 0's data: ``n`` integers in ``[0, 10**6]`` (the same generator for every size)."""
    import random

    rng = random.Random(seed * 1_000_003 + n)
    return [rng.randint(0, VALUE_HIGH) for _ in range(n)]


# --------------------------------------------------------------------------------------------
# Party mode
# --------------------------------------------------------------------------------------------


def _expected(values: list[int]) -> dict[str, list[Fraction]]:
    exact = [Fraction(v) for v in values]
    return {"median": [Fraction(statistics.median(exact))],
            "quantiles": [Fraction(q) for q in statistics.quantiles(exact, n=4)]}


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


async def _timed(mpc: Any, label: str, make: Any) -> tuple[float, list[int]]:
    await mpc.barrier(label)
    await mpc.transfer(label)  # nobody starts the clock early
    started = time.perf_counter()
    opened = await mpc.output(make())
    seconds = time.perf_counter() - started
    return seconds, [int(v) for v in (opened if isinstance(opened, list) else [opened])]


async def party_main(opts: Options) -> dict[str, Any]:
    """One party's whole run: every size, every contestant; returns the printed record."""
    from mpyc import statistics as mpyc_statistics

    from smpc_bench import stats
    from smpc_bench.engine import accel as acceleration
    from smpc_bench.engine import driver

    mpc = driver.runtime()
    secint = mpc.SecInt(32)
    await driver.phase("connecting", mpc.start(), timeout=120)
    record: dict[str, Any] = {"party": mpc.pid, "parties": len(mpc.parties), "cases": []}
    contestants = {
        "ours": {"median": stats.median, "quantiles": stats.quantiles},
        "ours, bounds": {"median": lambda x: stats.median(x, bounds=BOUNDS),
                         "quantiles": lambda x: stats.quantiles(x, bounds=BOUNDS)},
        "mpyc": {"median": mpyc_statistics.median, "quantiles": mpyc_statistics.quantiles},
    }
    plan = [(n, name) for n in opts.sizes for name in contestants]
    if opts.large:
        plan += [(opts.large, "ours"), (opts.large, "ours, bounds")]
    for n, name in plan:
        values = make_values(n, opts.seed)
        x = mpc.input([secint(v) for v in values] if mpc.pid == 0 else [secint(0)] * n,
                      senders=0)
        await mpc.gather(x)  # shared before any clock starts
        repeats = opts.mpyc_repeats if name == "mpyc" else opts.repeats
        expected = _expected(values)
        for statistic, function in contestants[name].items():
            if name == "mpyc":
                acceleration.uninstall()  # stock MPyC (every party switches at this point)
            try:
                runs = [await _timed(mpc, f"{name} {statistic} {n} {r}",
                                     lambda f=function, data=x: f(data))
                        for r in range(repeats)]
            finally:
                if name == "mpyc":
                    acceleration.install()
            result = runs[-1][1]
            wanted = [_half_up(e) for e in expected[statistic]]
            record["cases"].append({
                "n": n, "contestant": name, "statistic": statistic,
                "seconds": [s for s, _ in runs],
                "seconds_median": statistics.median(s for s, _ in runs),
                "result": result, "exact": [str(e) for e in expected[statistic]],
                "max_abs_error": float(max(abs(Fraction(r) - e) for r, e in
                                           zip(result, expected[statistic], strict=True))),
                "as_documented": result == wanted if name != "mpyc" else None,
            })
    await driver.phase("shutting down", mpc.shutdown(), timeout=120)
    return record


def run_party(argv: list[str]) -> int:
    """Entry point of a party process: our flags first, MPyC's stay in ``sys.argv``."""
    args, mpyc_argv = build_parser().parse_known_args(argv)
    sys.argv = [sys.argv[0], *mpyc_argv]  # what driver.runtime() (MPyC) parses
    from smpc_bench.engine import driver

    record = driver.run(party_main(_options(args)), timeout=args.timeout)
    print(RECORD_PREFIX + json.dumps(record), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# Launcher mode (never imports mpyc.runtime)
# --------------------------------------------------------------------------------------------


def _options(args: argparse.Namespace) -> Options:
    if any(n < 2 for n in args.sizes) or args.repeats < 1 or args.mpyc_repeats < 1:
        raise SystemExit("sizes must be at least 2 and repeats at least 1")
    return Options(sizes=tuple(args.sizes), large=args.large, parties=args.parties,
                   seed=args.seed, repeats=args.repeats, mpyc_repeats=args.mpyc_repeats,
                   timeout=args.timeout)


def format_report(records: list[dict[str, Any]], wall: float, opts: Options) -> list[str]:
    """The table and the final ratio lines."""
    leader = next(r for r in records if r["party"] == 0)
    lines = [f"{opts.parties} parties, SecInt(32) values in [0, 10**6], seed {opts.seed}; "
             f"seconds: party 0's wall time to the opened result, median of "
             f"{opts.repeats} (ours) / {opts.mpyc_repeats} (mpyc) runs; launcher total "
             f"{wall:.0f} s",
             f"{'n':>6} {'statistic':<10} {'contestant':<13} {'seconds':>9} {'runs':<32} "
             f"check"]
    seconds: dict[tuple[int, str, str], float] = {}
    for case in leader["cases"]:
        key = (case["n"], case["statistic"], case["contestant"])
        seconds[key] = case["seconds_median"]
        if case["as_documented"] is None:
            check = f"max |error| {case['max_abs_error']:g} (MPyC's rounding)"
        else:
            check = ("exact, rounded once half up" if case["as_documented"] else "WRONG")
        runs = ", ".join(f"{s:.2f}" for s in case["seconds"])
        lines.append(f"{case['n']:>6} {case['statistic']:<10} {case['contestant']:<13} "
                     f"{case['seconds_median']:>9.3f} {runs:<32} {check}")
    for n in opts.sizes:
        for statistic in ("median", "quantiles"):
            ratio = seconds[(n, statistic, "mpyc")] / seconds[(n, statistic, "ours")]
            bounded = seconds[(n, statistic, "mpyc")] / seconds[(n, statistic, "ours, bounds")]
            lines.append(f"ratio_{statistic}_n{n}={ratio:.0f} (with bounds: {bounded:.0f})")
    if opts.large:
        lines.append(f"ours_median_seconds_n{opts.large}="
                     f"{seconds[(opts.large, 'median', 'ours')]:.2f} (with bounds: "
                     f"{seconds[(opts.large, 'median', 'ours, bounds')]:.2f})")
    return lines


def main(argv: list[str]) -> int:
    """Launcher entry point."""
    args = build_parser().parse_args(argv)
    opts = _options(args)
    from smpc_bench.engine.local_parties import run_parties

    started = time.perf_counter()
    try:
        results = run_parties(opts.party_argv(), opts.parties, timeout=opts.timeout,
                              cwd=Path(__file__).resolve().parent)
    except AssertionError as error:  # a party failed or timed out; the message has the details
        print(error, file=sys.stderr)
        return 1
    wall = time.perf_counter() - started
    records = []
    for party in results:
        lines = [line for line in party.stdout.splitlines() if line.startswith(RECORD_PREFIX)]
        records.append(json.loads(lines[0][len(RECORD_PREFIX):]))
    if args.json is not None:
        with args.json.open("a", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps({"options": asdict(opts), **record}) + "\n")
    for line in format_report(records, wall, opts):
        print(line)
    leader = next(r for r in records if r["party"] == 0)
    return 0 if all(c["as_documented"] is not False for c in leader["cases"]) else 1


if __name__ == "__main__":
    from smpc_bench.engine.local_parties import is_party

    if is_party(sys.argv[1:]):
        sys.exit(run_party(sys.argv[1:]))
    sys.exit(main(sys.argv[1:]))
