"""CI gate: deterministic costs must stay within the budgets committed in ``budgets.toml``.

Measures, then compares with ``benchmarks/budgets.toml``:

1. **One party, in this process** (:func:`bench_party.simulate_costs`): per operation and size,
   the simulated communication rounds and the exact counts of openings, comparisons, bit
   decompositions and reshared field elements (:mod:`smpc_bench.costs`).
2. **Three local parties** (:func:`bench_party.launch_local`): rounds counted in lock-step
   (the largest count of any party), messages and bytes sent, per party and in total.
   The call counts of party 0 must equal the one-party counts (the program
   does not depend on the number of parties); a difference fails the check.
3. **The pytest-benchmark JSON** of the quick suite (``--bench-json``, optional): the
   deterministic ``extra_info`` counters of each case (openings, opened elements, walk levels)
   against the ``[[bench]]`` budgets; the wall-clock medians are compared with a committed
   baseline (``--baseline``) and *printed only* (CI machines are noisy).

A measured value above its budget fails the run (exit 1) with the list of offenders.  Far below
budget (by more than the headroom) is reported as a hint to tighten the budget.  After an
intended change, regenerate the budgets from a measurement and commit them::

    python benchmarks/check_budgets.py                                  # check (CI)
    python benchmarks/check_budgets.py --bench-json benchmarks/results/ci.json
    python benchmarks/check_budgets.py --update --bench-json benchmarks/results/ci.json
    python benchmarks/check_budgets.py --update    # keeps the [[bench]] budgets as they are

Results go to ``benchmarks/results/costs-ci.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_party import launch_local, ranks_available, simulate_costs  # noqa: E402

BUDGETS = HERE / "budgets.toml"
RESULTS = HERE / "results"

#: Operations and sizes measured with one party (simulated rounds, call counts).
SIM_OPS = ("sum", "mean", "variance", "quartiles", "quartiles_secret_count", "ranks")
SIM_SIZES = (100, 1000, 10_000)
#: Operations measured with one party at n = 100 only (n**2 work).
SIM_SMALL_OPS = ("ranks_all_pairs",)
#: Operations and size measured with three parties (traffic).
NET_OPS = ("sum", "mean", "variance", "quartiles", "quartiles_secret_count", "ranks")
NET_N = 1000
NET_PARTIES = 3

SIM_METRICS = ("rounds", "openings", "opened_elements", "library_openings", "comparisons",
               "compared_elements", "comparison_bits", "bit_decompositions", "decomposed_bits",
               "reshares", "reshared_elements")
NET_METRICS = ("rounds", "messages_max_party", "messages_all_parties", "bytes_max_party",
               "bytes_all_parties")
CALL_COUNTS = ("openings", "opened_elements", "comparisons", "compared_elements", "reshares",
               "reshared_elements", "bit_decompositions", "decomposed_bits")
#: Counters in the pytest-benchmark ``extra_info`` that are deterministic.
BENCH_METRICS = ("openings", "opened_elements", "walks", "walk_levels", "walk_lanes", "rounds",
                 "comparisons", "reshared_elements")
#: Metrics that get no headroom: a change in the declared outputs is a change of what leaks.
EXACT = ("library_openings",)

HEADROOM = 0.10


def _ops(candidates: tuple[str, ...]) -> list[str]:
    return [op for op in candidates if not op.startswith("ranks") or ranks_available()]


def measure(*, quick_net: bool = False) -> dict[str, Any]:
    """Run every measurement; returns ``{"sim": [...], "net": [...], "mismatch": [...]}``."""
    sim = []
    for n in SIM_SIZES:
        ops = _ops(SIM_OPS + (SIM_SMALL_OPS if n == SIM_SIZES[0] else ()))
        for op, entry in simulate_costs(ops, n).items():
            sim.append({"op": op, "n": n, "parties": 1, "exact": entry["exact"],
                        "field_bits": entry["field_bits"],
                        **{k: entry["costs"][k] for k in SIM_METRICS}})
    net_ops = _ops(NET_OPS)
    launched = launch_local(NET_PARTIES, NET_N, net_ops, timeout=600, rounds=True)
    net, mismatch = [], []
    for op in net_ops:
        summary = launched.op(op)
        net.append({"op": op, "n": NET_N, "parties": NET_PARTIES, "exact": summary["exact"],
                    "seconds": summary["seconds"], "rounds": summary["rounds_max_party"],
                    **{k: summary[k] for k in NET_METRICS if k != "rounds"}})
        one = next(row for row in sim if row["op"] == op and row["n"] == NET_N)
        for key in CALL_COUNTS:
            if summary["costs_party0"][key] != one[key]:
                mismatch.append(f"{op} n={NET_N}: {key} {one[key]} with 1 party, "
                                f"{summary['costs_party0'][key]} with {NET_PARTIES}")
    return {"sim": sim, "net": net, "mismatch": mismatch}


def _key(row: dict[str, Any]) -> tuple[str, int, int]:
    return row["op"], int(row["n"]), int(row["parties"])


def _budget_for(value: int, metric: str) -> int:
    if metric in EXACT or value == 0:
        return int(value)
    return int(math.ceil(value * (1 + HEADROOM)))


def write_budgets(measured: dict[str, Any], bench: dict[str, dict[str, Any]], path: Path,
                  kept_bench: list[dict[str, Any]] | None = None) -> None:
    """Budgets = measured values plus the headroom (none for :data:`EXACT` metrics).

    ``kept_bench``: ``[[bench]]`` budgets to keep as they are (an update without a fresh
    pytest-benchmark JSON must not drop them).
    """
    lines = [
        "# Deterministic cost budgets, checked by benchmarks/check_budgets.py in .ci/run.",
        "# Regenerate after an intended change: python benchmarks/check_budgets.py --update",
        "#",
        f"# Policy: budget = measured value + {HEADROOM:.0%} (rounded up); library_openings",
        "# exactly (what is released is a privacy property).  10% lets small intended tuning",
        "# through and stops what matters (an extra level of rounds, O(n) rounds, doubled",
        "# traffic); a value far below its budget prints a hint to tighten it.",
        "# parties = 1: rounds from the simulated synchronous network of smpc_bench.costs and",
        "# exact call counts; parties = 3: rounds counted in lock-step (largest over the",
        "# parties), messages and bytes of a localhost run (bytes vary by ~0.01 % from run to",
        "# run: MPyC pickles random shares as variable-length integers).",
        "# 'bench' entries gate the deterministic extra_info counters of the quick",
        "# pytest-benchmark suite (SMPC_BENCH_QUICK=1).",
        "",
        "[policy]",
        f"headroom = {HEADROOM}",
        "",
    ]
    for row in measured["sim"] + measured["net"]:
        lines.append("[[budget]]")
        lines.append(f'op = "{row["op"]}"')
        lines.append(f"n = {row['n']}")
        lines.append(f"parties = {row['parties']}")
        metrics = SIM_METRICS if row["parties"] == 1 else NET_METRICS
        for metric in metrics:
            lines.append(f"{metric} = {_budget_for(row[metric], metric)}")
        lines.append("")
    for name, info in sorted(bench.items()):
        counters = {k: info[k] for k in BENCH_METRICS if isinstance(info.get(k), int)}
        if not counters:
            continue
        lines.append("[[bench]]")
        lines.append(f'name = "{name}"')
        for metric, value in counters.items():
            lines.append(f"{metric} = {_budget_for(value, metric)}")
        lines.append("")
    for entry in kept_bench or []:
        lines.append("[[bench]]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in entry.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def load_bench(path: Path | None) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
    """``({name: extra_info}, {name: median seconds})`` of a pytest-benchmark JSON file."""
    if path is None or not path.exists():
        return {}, {}
    data = json.loads(path.read_text(encoding="utf-8"))
    infos, medians = {}, {}
    for bench in data.get("benchmarks", []):
        infos[bench["name"]] = bench.get("extra_info", {})
        medians[bench["name"]] = bench["stats"]["median"]
    return infos, medians


def check(measured: dict[str, Any], bench: dict[str, dict[str, Any]], budgets: dict[str, Any]
          ) -> tuple[list[str], list[str], list[str]]:
    """``(violations, hints, missing)`` of the measurement against the budgets."""
    violations, hints, missing = list(measured["mismatch"]), [], []
    table = {(b["op"], int(b["n"]), int(b["parties"])): b for b in budgets.get("budget", [])}
    for row in measured["sim"] + measured["net"]:
        if row.get("exact") is not True:  # every measured operation has a plaintext check
            verdict = "WRONG RESULT" if row.get("exact") is False else "RESULT NOT CHECKED"
            violations.append(f"{row['op']} n={row['n']} parties={row['parties']}: {verdict}")
        budget = table.get(_key(row))
        if budget is None:
            missing.append(f"{row['op']} n={row['n']} parties={row['parties']}")
            continue
        for metric, limit in budget.items():
            if metric in ("op", "n", "parties") or metric not in row:
                continue
            value = row[metric]
            where = f"{row['op']} n={row['n']} parties={row['parties']}: {metric}"
            if value > limit:
                violations.append(f"{where} = {value:,} exceeds the budget {limit:,}")
            elif limit > _budget_for(value, metric) and value * (1 + HEADROOM) ** 2 < limit:
                hints.append(f"{where} = {value:,}, budget {limit:,}: consider --update")
    bench_budgets = {b["name"]: b for b in budgets.get("bench", [])}
    for name, budget in bench_budgets.items():
        info = bench.get(name)
        if info is None:
            if bench:
                missing.append(f"benchmark {name} (not in the JSON)")
            continue
        for metric, limit in budget.items():
            if metric == "name" or not isinstance(info.get(metric), int):
                continue
            if info[metric] > limit:
                violations.append(f"benchmark {name}: {metric} = {info[metric]:,} exceeds "
                                  f"the budget {limit:,}")
    return violations, hints, missing


def print_measurements(measured: dict[str, Any]) -> None:
    """The tables of what was measured."""
    print(f"One party (simulated rounds, exact call counts); n in {SIM_SIZES}:")
    print(f"  {'operation':<24}{'n':>7}{'rounds':>7}{'openings':>9}{'library':>9}"
          f"{'compar.':>8}{'cmp elts':>9}{'reshared elts':>14}  exact")
    for row in measured["sim"]:
        print(f"  {row['op']:<24}{row['n']:>7}{row['rounds']:>7}{row['openings']:>9}"
              f"{row['library_openings']:>9}{row['comparisons']:>8}{row['compared_elements']:>9}"
              f"{row['reshared_elements']:>14,}  {row['exact']}")
    print(f"Three local parties, n={NET_N} (traffic; time is party 0's, informative only):")
    print(f"  {'operation':<24}{'rounds':>7}{'msgs/party':>11}{'MB/party':>9}{'MB all':>8}"
          f"{'seconds':>9}")
    for row in measured["net"]:
        print(f"  {row['op']:<24}{row['rounds']:>7}{row['messages_max_party']:>11}"
              f"{row['bytes_max_party'] / 1e6:>9.2f}{row['bytes_all_parties'] / 1e6:>8.2f}"
              f"{row['seconds']:>9.2f}  exact={row['exact']}")


def print_wall_clock(current: dict[str, float], baseline: dict[str, float], *,
                     verbose: bool = False) -> None:
    """Median times against the committed baseline (printed, NOT enforced)."""
    if not current:
        print("Wall clock: no pytest-benchmark JSON given; nothing to compare.")
        return
    if not baseline:
        print("Wall clock: no baseline committed; nothing to compare.")
        return
    common = sorted(name for name in current if name in baseline)
    ratios = {name: current[name] / baseline[name] for name in common}
    geomean = math.exp(sum(math.log(r) for r in ratios.values()) / len(ratios)) if ratios else 1
    print(f"Wall clock against the committed baseline (printed, NOT enforced: CI machines are "
          f"noisy): {len(common)} cases, geometric mean ratio {geomean:.2f} (now / baseline)")
    shown = [n for n in common if verbose or not 1 / 1.5 <= ratios[n] <= 1.5]
    if shown:
        print(f"  {'case':<52}{'baseline ms':>12}{'now ms':>10}{'ratio':>7}")
    for name in shown:
        ratio = ratios[name]
        flag = "  slower" if ratio > 1.5 else ("  faster" if ratio < 1 / 1.5 else "")
        print(f"  {name:<52}{baseline[name] * 1e3:>12.2f}{current[name] * 1e3:>10.2f}"
              f"{ratio:>7.2f}{flag}")
    for name in sorted(set(current) - set(baseline)):
        print(f"  {name}: {current[name] * 1e3:.2f} ms (not in the baseline)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--budgets", type=Path, default=BUDGETS)
    parser.add_argument("--bench-json", type=Path, default=None,
                        help="pytest-benchmark JSON of the quick suite (extra_info + times)")
    parser.add_argument("--baseline", type=Path, default=RESULTS / "baseline-ci.json",
                        help="committed pytest-benchmark JSON to compare times with")
    parser.add_argument("--out", type=Path, default=RESULTS / "costs-ci.json")
    parser.add_argument("--verbose", action="store_true", help="every wall-clock case")
    parser.add_argument("--update", action="store_true",
                        help="write the budgets from this measurement instead of checking")
    args = parser.parse_args(argv)
    sys.argv = [sys.argv[0]]  # the one-party MPyC runtime parses sys.argv when imported
    started = time.perf_counter()
    measured = measure()
    bench_info, bench_times = load_bench(args.bench_json)
    print_measurements(measured)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    if args.update:
        kept = [] if bench_info else tomllib.loads(
            args.budgets.read_text(encoding="utf-8")).get("bench", [])
        write_budgets(measured, bench_info, args.budgets, kept)
        print(f"budgets written to {args.budgets} ({time.perf_counter() - started:.0f} s)")
        return 1 if measured["mismatch"] else 0
    _, baseline_times = load_bench(args.baseline)
    print_wall_clock(bench_times, baseline_times, verbose=args.verbose)
    budgets = tomllib.loads(args.budgets.read_text(encoding="utf-8"))
    violations, hints, missing = check(measured, bench_info, budgets)
    for hint in hints:
        print(f"hint: {hint}")
    for item in missing:
        print(f"note: no budget for {item}")
    if violations:
        print(f"BUDGET CHECK FAILED ({len(violations)}):")
        for violation in violations:
            print(f"  {violation}")
        return 1
    print(f"budget check passed ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
