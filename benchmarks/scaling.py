"""Scaling table (``make bench``): time, rounds and traffic of sum, mean, quartiles and ranks.

For 3 and 5 local MPyC parties and n = 100, 1,000, 10,000 and 100,000 values, runs
:mod:`bench_party` (one launch per party count and size, all operations in it) and writes

* ``benchmarks/results/scaling.md``: a markdown table, with the machine and the command;
* ``benchmarks/results/scaling.png``: log-log plots of time and bytes sent against n;
* ``benchmarks/results/scaling.json``: every figure.

Times are party 0's wall clock (median over the repeats) from a synchronised start to the
opened result, including building the table from the shared digits (the in-MPC range check),
excluding process start, connection set-up and secret-sharing the inputs.  Rounds are counted
in lock-step by the parties themselves (:mod:`smpc_bench.costs`, one extra untimed run);
messages and bytes are what the busiest party sent.  Ranks (every row's private position, by
the sorting protocol) stop at ``--ranks-max-n`` (default 10,000: at n = 10,000 one run already
moves ~80 MB per party, and the work grows linearly).  ::

    python benchmarks/scaling.py                     # everything (about 10-20 minutes)
    python benchmarks/scaling.py --sizes 100,1000 --parties 3 --repeats 1   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_party import launch_local, ranks_available  # noqa: E402

RESULTS = HERE / "results"
OPS = ("sum", "mean", "quartiles", "ranks")
LABELS = {"sum": "sum", "mean": "mean", "quartiles": "quartiles (incl. median)",
          "ranks": "ranks (private, sort)"}


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _load() -> float:
    try:
        return round(os.getloadavg()[0], 1)
    except OSError:
        return float("nan")


def environment() -> dict[str, Any]:
    """Facts about the machine, for the table's header."""
    from importlib.metadata import version

    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {"cpus": os.cpu_count(), "load_average_1min": round(load, 2),
            "python": platform.python_version(), "mpyc": version("mpyc"),
            "numpy": version("numpy"), "machine": platform.machine(),
            "commit": _git_commit(), "date": time.strftime("%Y-%m-%d %H:%M")}


def measure(parties: list[int], sizes: list[int], repeats: int, ranks_max_n: int,
            timeout: float) -> list[dict[str, Any]]:
    """One launch per (parties, n); returns one row per operation."""
    rows = []
    for m in parties:
        for n in sizes:
            ops = [op for op in OPS
                   if op != "ranks" or (ranks_available() and n <= ranks_max_n)]
            reps = repeats if n <= 1000 else 1
            started = time.perf_counter()
            print(f"m={m} n={n}: {', '.join(ops)} ({reps} timed run(s) each) ...", flush=True)
            load_before = _load()
            launched = launch_local(m, n, ops, repeats=reps, timeout=timeout, rounds=True)
            load = f"{load_before:g}/{_load():g}"
            for op in ops:
                summary = launched.op(op)
                rows.append({"op": op, "parties": m, "n": n, "repeats": reps,
                             "seconds": summary["seconds"],
                             "slowest_party_seconds": summary["slowest_party_seconds"],
                             "rounds": summary["rounds_max_party"],
                             "messages_max_party": summary["messages_max_party"],
                             "bytes_max_party": summary["bytes_max_party"],
                             "bytes_all_parties": summary["bytes_all_parties"],
                             "exact": summary["exact"], "field_bits": summary["field_bits"],
                             "load_average_1min": load})
                print(f"  {op:<10} {summary['seconds']:8.3f} s  "
                      f"rounds {summary['rounds_max_party']}  "
                      f"{summary['bytes_max_party'] / 1e6:8.2f} MB/party  "
                      f"exact={summary['exact']}", flush=True)
            print(f"  (launch took {time.perf_counter() - started:.0f} s)", flush=True)
    return rows


def _size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def write_markdown(rows: list[dict[str, Any]], env: dict[str, Any], command: str,
                   path: Path) -> None:
    lines = [
        "# Scaling: time, rounds and traffic against n",
        "",
        f"Measured {env['date']} at commit `{env['commit']}` on {env['cpus']} CPU(s) "
        f"({env['machine']}, load average {env['load_average_1min']} at the start), Python "
        f"{env['python']}, MPyC {env['mpyc']}, NumPy {env['numpy']}; all parties on one "
        "machine (loopback TCP, no added latency: see `wan.py` for a real network).",
        "",
        f"Command: `{command}`",
        "",
        "Time: party 0's wall clock from a synchronised start to the opened result (median of "
        "the timed runs; one run above n = 1,000), including the in-MPC range check, excluding "
        "process start, connecting and sharing the inputs.  Rounds: counted in lock-step by "
        "the parties (`smpc_bench.costs`).  Traffic: the busiest party.  Quartiles open the "
        "count first and release the three quartiles (`statistics.quantiles`, exclusive: the "
        "middle one is the median); ranks deliver every row's (rank, percentile, count) to its "
        "owner by the sorting protocol.  A value of 10^6 fits 20 bits; the walk reads 4 bits "
        "per level.  Load: the machine's 1-minute load average before/after the launch; it "
        "counts the parties themselves (3 or 5 busy processes, partly still those of the "
        "previous launch), so only a load well above the party count means other work "
        "competed: that inflates times, never rounds or bytes.",
        "",
        "| statistic | parties | n | seconds | slowest party (s) | rounds | messages/party "
        "| MB sent/party | exact | load before/after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|:---:|---:|",
    ]
    for row in sorted(rows, key=lambda r: (OPS.index(r["op"]), r["parties"], r["n"])):
        lines.append(
            f"| {LABELS[row['op']]} | {row['parties']} | {_size(row['n'])} "
            f"| {row['seconds']:.3f} | {row['slowest_party_seconds']:.3f} | {row['rounds']} "
            f"| {row['messages_max_party']} | {row['bytes_max_party'] / 1e6:.2f} "
            f"| {'yes' if row['exact'] else 'NO'} | {row.get('load_average_1min', '')} |")
    lines.append("")
    lines.append("![time and bytes against n](scaling.png)")
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def write_plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_bytes) = plt.subplots(1, 2, figsize=(11, 4.5))
    markers = {"sum": "o", "mean": "s", "quartiles": "^", "ranks": "D"}
    for op in OPS:
        for m, style in ((3, "-"), (5, "--")):
            points = sorted((r["n"], r["seconds"], r["bytes_max_party"]) for r in rows
                            if r["op"] == op and r["parties"] == m)
            if not points:
                continue
            ns = [p[0] for p in points]
            label = f"{LABELS[op]}, {m} parties"
            ax_time.plot(ns, [p[1] for p in points], style, marker=markers[op], label=label)
            ax_bytes.plot(ns, [p[2] for p in points], style, marker=markers[op], label=label)
    for ax, title, unit in ((ax_time, "time (party 0)", "seconds"),
                            (ax_bytes, "bytes sent by the busiest party", "bytes")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n (values)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    ax_time.legend(fontsize=7)
    fig.suptitle("smpc-bench scaling, local parties (loopback)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--parties", default="3,5", help="party counts (default 3,5)")
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs for n <= 1000")
    parser.add_argument("--ranks-max-n", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=1800.0, help="per launch, seconds")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    parties = [int(p) for p in args.parties.split(",")]
    sizes = [int(n) for n in args.sizes.split(",")]
    env = environment()
    command = "python benchmarks/scaling.py " + " ".join(argv) if argv else "make bench"
    rows = measure(parties, sizes, args.repeats, args.ranks_max_n, args.timeout)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scaling.json").write_text(
        json.dumps({"environment": env, "command": command, "rows": rows}, indent=2) + "\n",
        encoding="utf-8")
    write_markdown(rows, env, command, args.out / "scaling.md")
    write_plot(rows, args.out / "scaling.png")
    print(f"wrote {args.out / 'scaling.md'}, scaling.png, scaling.json")
    return 0 if all(r["exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
