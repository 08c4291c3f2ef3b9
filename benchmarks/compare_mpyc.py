"""Side by side: our quartiles against ``mpyc.statistics.quantiles``, with local MPyC parties.

Launcher (no ``-I``): starts ``--parties`` processes of this same script on free local ports with
:func:`smpc_bench.engine.local_parties.run_parties` (never MPyC's ``-M`` auto-spawn), collects one
JSON line per party and prints a table; the last line is exactly
``speedup_vs_mpyc_quantiles=<ratio> n=<n>`` (or ``ours_quartiles_seconds=<s> n=<n>`` with
``--only ours``, ``mpyc_quartiles_seconds=<s> n=<n>`` with ``--only mpyc``)::

    python benchmarks/compare_mpyc.py --n 300                      # both contestants
    python benchmarks/compare_mpyc.py --n 100000 --only ours --repeats 3
    python benchmarks/compare_mpyc.py --n 300 --json out.jsonl     # also keep the raw records

Party 0 inputs ``n`` random integers in ``[0, 10**6]`` (``--seed``).  After a synchronisation
(a local barrier plus one all-to-all exchange) every party times each contestant:

* ``ours``: party 0 encodes and shares the one-hot digits (radix ``2**--radix``) and validity
  flags, :meth:`SecureTable.from_digits` (with the in-MPC range check), open the count, the three
  quartiles with public counts (``statistics.quantiles(n=4)``, method ``exclusive``), opened.
* ``mpyc``: party 0 shares the values as a list of ``mpc.SecInt(32)``, then
  ``mpyc.statistics.quantiles(x, n=4)`` (``exclusive``), opened.  This runs with smpc-bench's
  accelerations uninstalled (stock MPyC 0.11; they only touch NumPy array paths anyway).

Both results are checked against Python's ``statistics.quantiles``: ours must be exact; MPyC's
secure-integer version rounds interpolated cut points to an integer, which is reported (as the
largest absolute error) rather than treated as a failure.  Timings are each party's wall time from
the start line to the opened result; the table shows party 0's (the median over ``--repeats``),
bytes are summed over all parties.  ``--phases`` makes ours wait after each step to show where the
time goes (slightly slower overall); ``--profile DIR`` writes each party's cProfile.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

RECORD_PREFIX = "COMPARE_MPYC_RECORD "
VALUE_HIGH = 10**6
CONTESTANTS = ("ours", "mpyc")


@dataclass
class Options:
    """What to run (the launcher's command line; passed on to every party)."""

    n: int = 300
    parties: int = 3
    seed: int = 1
    radix: int = 4
    timeout: float = 900.0
    only: str = "both"
    repeats: int = 1
    mpyc_repeats: int = 1
    phases: bool = False
    profile: str | None = None
    no_fast_matmul: bool = False

    def contestants(self) -> tuple[str, ...]:
        """The contestants to run, in order."""
        return CONTESTANTS if self.only == "both" else (self.only,)

    def party_argv(self) -> list[str]:
        """Arguments of a party process (MPyC's flags are appended by ``run_parties``)."""
        argv = [str(Path(__file__).resolve()), "--n", str(self.n), "--seed", str(self.seed),
                "--radix", str(self.radix), "--only", self.only, "--repeats", str(self.repeats),
                "--mpyc-repeats", str(self.mpyc_repeats), "--timeout", str(self.timeout)]
        argv += ["--phases"] if self.phases else []
        argv += ["--no-fast-matmul"] if self.no_fast_matmul else []
        return argv + (["--profile", self.profile] if self.profile else [])


def build_parser() -> argparse.ArgumentParser:
    """The command line (lower-case flags only: MPyC claims the upper-case ones)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None, allow_abbrev=False)
    parser.add_argument("--n", type=int, default=300, help="number of values (default 300)")
    parser.add_argument("--parties", type=int, default=3, help="MPyC parties (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random values")
    parser.add_argument("--radix", type=int, default=4,
                        help="digit width in bits of our walk (default 4)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds allowed for the whole run (default 900)")
    parser.add_argument("--only", choices=("both", *CONTESTANTS), default="both",
                        help="run one contestant only (ours: for large n)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed runs of ours; the median is reported (default 1)")
    parser.add_argument("--mpyc-repeats", type=int, default=1,
                        help="timed runs of mpyc.statistics.quantiles (default 1)")
    parser.add_argument("--phases", action="store_true",
                        help="wait after each step of ours and report per-step times")
    parser.add_argument("--profile", default=None, metavar="DIR",
                        help="write each party's cProfile of the whole run to DIR/party<i>.prof")
    parser.add_argument("--no-fast-matmul", action="store_true",
                        help="diagnostic: run ours without engine.accel.matmul (MPyC's own "
                             "matrix products; fast_sharing stays)")
    parser.add_argument("--json", type=Path, default=None,
                        help="launcher only: append the party records to this JSONL file")
    return parser


def make_values(n: int, seed: int) -> np.ndarray:
    """The data party 0 contributes: ``n`` integers in ``[0, 10**6]``."""
    return np.random.default_rng(seed).integers(0, VALUE_HIGH + 1, n)


# --------------------------------------------------------------------------------------------
# Party mode (runs inside an MPyC party process)
# --------------------------------------------------------------------------------------------


def _bytes_sent(mpc: Any) -> int:
    return sum(peer.protocol.nbytes_sent for peer in mpc.parties
               if peer.pid != mpc.pid and peer.protocol is not None)


async def _start_line(mpc: Any, name: str) -> None:
    """Let every party finish pending work, then meet: nobody starts the clock early."""
    await mpc.barrier(name)
    await mpc.transfer(name)


class _Stopwatch:
    def __init__(self, mpc: Any) -> None:
        self.mpc = mpc
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        self.bytes_started = _bytes_sent(mpc)
        self.steps: dict[str, float] = {}
        self.step_cpu: dict[str, float] = {}
        self.step_bytes: dict[str, int] = {}
        self._last = self.started
        self._last_cpu = self.cpu_started
        self._last_bytes = self.bytes_started

    def step(self, name: str) -> None:
        now, cpu, sent = time.perf_counter(), time.process_time(), _bytes_sent(self.mpc)
        self.steps[name] = now - self._last
        self.step_cpu[name] = cpu - self._last_cpu
        self.step_bytes[name] = sent - self._last_bytes
        self._last, self._last_cpu, self._last_bytes = now, cpu, sent

    def result(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "seconds": time.perf_counter() - self.started,
            "cpu_seconds": time.process_time() - self.cpu_started,
            "bytes_sent": _bytes_sent(self.mpc) - self.bytes_started,
        }
        if self.steps:
            record["steps"] = self.steps
            record["step_cpu"] = self.step_cpu
            record["step_bytes"] = self.step_bytes
        return record


async def _run_ours(mpc: Any, opts: Options, values: np.ndarray | None) -> tuple[dict, list]:
    from cost_counters import count_costs

    from smpc_bench.core import aggregates
    from smpc_bench.core.quantiles import quantiles
    from smpc_bench.core.reveal import open_counts, open_fraction
    from smpc_bench.core.secure_table import SecureTable
    from smpc_bench.spec.encoding import encode_digits
    from smpc_bench.spec.kpi import KpiSpec
    from smpc_bench.spec.sizing import size_for

    specs = [KpiSpec("value", 0, VALUE_HIGH)]
    sizing = size_for(specs, opts.n, moments=False)
    sectype = mpc.SecInt(sizing.field_bits)
    await _start_line(mpc, "ours")
    watch = _Stopwatch(mpc)
    with count_costs() as costs:
        if values is not None:  # party 0 owns the data
            digits = encode_digits(values[None, :], sizing.value_bits, opts.radix)
            valid = np.ones((1, opts.n), dtype=np.int64)
        else:
            width = encode_digits(np.zeros((1, 1), dtype=np.int64), sizing.value_bits,
                                  opts.radix).shape[2:]
            digits = np.zeros((1, opts.n, *width), dtype=np.int64)
            valid = np.zeros((1, opts.n), dtype=np.int64)
        sec_digits = mpc.input(sectype.array(digits), senders=0)
        sec_valid = mpc.input(sectype.array(valid), senders=0)
        if opts.phases:
            await mpc.gather(sec_digits)
            await mpc.gather(sec_valid)
            watch.step("share inputs")
        table = SecureTable.from_digits(specs, sizing, sec_digits, sec_valid,
                                        radix_bits=opts.radix)
        if opts.phases:
            await mpc.gather(table.valid)
            watch.step("range check")
        counts = await open_counts(aggregates.count(table))
        if opts.phases:
            watch.step("open count")
        released = await open_fraction(quantiles(table, 4, method="exclusive", counts=counts),
                                       specs)
        if opts.phases:
            watch.step("walk + open quartiles")
    record = watch.result()
    record.update(costs.as_dict())
    record.update(field_bits=sizing.field_bits, value_bits=sizing.value_bits)
    return record, list(released[0])


async def _run_mpyc(mpc: Any, opts: Options, values: np.ndarray | None) -> tuple[dict, list]:
    from cost_counters import count_costs
    from mpyc import statistics as mpyc_statistics

    from smpc_bench.engine import accel as acceleration

    secint = mpc.SecInt(32)
    acceleration.uninstall()  # stock MPyC (every party switches at the same point)
    try:
        await _start_line(mpc, "mpyc")
        watch = _Stopwatch(mpc)
        with count_costs() as costs:
            plain = [int(v) for v in values] if values is not None else [0] * opts.n
            x = mpc.input([secint(v) for v in plain], senders=0)
            cut_points = mpyc_statistics.quantiles(x, n=4, method="exclusive")
            opened = await mpc.output(cut_points)
        record = watch.result()
        record.update(costs.as_dict())
    finally:
        acceleration.install()
        if opts.no_fast_matmul:
            from smpc_bench.engine.accel import matmul as fast_matmul

            fast_matmul.uninstall()
    return record, [int(v) for v in opened]


def _check(name: str, result: list, expected: list[float]) -> dict[str, Any]:
    exact = [Fraction(e) for e in expected]  # statistics' float results are exact here (/4)
    got = [Fraction(r) for r in result]
    error = max(abs(g - e) for g, e in zip(got, exact, strict=True))
    if error == 0:
        verdict = "exact"
    elif name == "mpyc" and error <= Fraction(1, 2):
        verdict = "rounded to integer (MPyC secint quantiles round interpolated cuts)"
    else:
        verdict = "WRONG"
    return {"result": [str(g) for g in got], "max_abs_error": float(error), "verdict": verdict}


async def party_main(opts: Options) -> dict[str, Any]:
    """One party's whole run; returns the record it prints."""
    from smpc_bench.engine import driver

    mpc = driver.runtime()
    if opts.no_fast_matmul:
        from smpc_bench.engine.accel import matmul as fast_matmul

        fast_matmul.uninstall()
    await driver.phase("connecting", mpc.start(), timeout=120)
    values = make_values(opts.n, opts.seed) if mpc.pid == 0 else None
    record: dict[str, Any] = {"party": mpc.pid, "parties": len(mpc.parties), "n": opts.n,
                              "seed": opts.seed, "radix": opts.radix, "contestants": {}}
    runners = {"ours": _run_ours, "mpyc": _run_mpyc}
    for name in opts.contestants():
        runs = []
        result: list = []
        for _ in range(opts.repeats if name == "ours" else opts.mpyc_repeats):
            run, result = await runners[name](mpc, opts, values)
            runs.append(run)
        entry: dict[str, Any] = {
            "runs": runs,
            "seconds_median": statistics.median(r["seconds"] for r in runs),
        }
        if values is not None:
            expected = statistics.quantiles([int(v) for v in values], n=4, method="exclusive")
            record["expected"] = expected
            entry.update(_check(name, result, expected))
        record["contestants"][name] = entry
    await driver.phase("shutting down", mpc.shutdown(), timeout=120)
    return record


def run_party(argv: list[str]) -> int:
    """Entry point of a party process: our flags first, MPyC's stay in ``sys.argv``."""
    args, mpyc_argv = build_parser().parse_known_args(argv)
    sys.argv = [sys.argv[0], *mpyc_argv]  # what driver.runtime() (MPyC) parses
    opts = _options(args)
    from smpc_bench.engine import driver

    profiler = None
    if opts.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    record = driver.run(party_main(opts), timeout=opts.timeout)
    if profiler is not None:
        profiler.disable()
        Path(opts.profile).mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(Path(opts.profile) / f"party{record['party']}.prof"))
    import resource

    record["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    print(RECORD_PREFIX + json.dumps(record), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# Launcher mode (never imports mpyc.runtime)
# --------------------------------------------------------------------------------------------


@dataclass
class Report:
    """Everything the launcher learned from one run."""

    options: Options
    records: list[dict[str, Any]]
    wall_seconds: float
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """MPyC's time over ours (party 0, medians), if both ran."""
        if "ours" in self.summary and "mpyc" in self.summary:
            return float(self.summary["mpyc"]["seconds"] / self.summary["ours"]["seconds"])
        return None


def _summarise(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    leader = next(r for r in records if r["party"] == 0)
    summary = {}
    for name, entry in leader["contestants"].items():
        first_runs = [r["contestants"][name]["runs"][0] for r in records]
        summary[name] = {
            "seconds": entry["seconds_median"],
            "runs": [r["seconds"] for r in entry["runs"]],
            "slowest_party_seconds": max(r["contestants"][name]["seconds_median"]
                                         for r in records),
            "bytes_all_parties": sum(r["bytes_sent"] for r in first_runs),
            "cpu_seconds_all_parties": sum(r["cpu_seconds"] for r in first_runs),
            "openings": entry["runs"][0]["openings"],
            "verdict": entry["verdict"],
            "max_abs_error": entry["max_abs_error"],
            "result": entry["result"],
            "steps": [(r["contestants"][name]["runs"][0].get("steps"),
                       r["contestants"][name]["runs"][0].get("step_bytes")) for r in records],
        }
    return summary


def launch(opts: Options) -> Report:
    """Run the parties, parse their records, summarise (raises on a failed party)."""
    from smpc_bench.engine.local_parties import run_parties

    started = time.perf_counter()
    results = run_parties(opts.party_argv(), opts.parties, timeout=opts.timeout,
                          cwd=Path(__file__).resolve().parent)
    wall = time.perf_counter() - started
    records = []
    for party in results:
        lines = [line for line in party.stdout.splitlines() if line.startswith(RECORD_PREFIX)]
        if len(lines) != 1:
            raise RuntimeError(f"party {party.index} printed no record:\n{party.stdout}"
                               f"\n{party.stderr}")
        records.append(json.loads(lines[0][len(RECORD_PREFIX):]))
    report = Report(opts, records, wall)
    report.summary = _summarise(records)
    return report


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


def format_report(report: Report) -> list[str]:
    """The table and the final line, as printed by the launcher."""
    opts = report.options
    lines = [f"n={opts.n} parties={opts.parties} seed={opts.seed} radix={opts.radix} "
             + ("(without fast_matmul) " if opts.no_fast_matmul else "")
             + f"repeats={opts.repeats}/{opts.mpyc_repeats} (ours/mpyc; seconds: party 0's wall "
             f"time, median; launcher total {report.wall_seconds:.1f} s)",
             f"{'contestant':<10} {'seconds':>9} {'slowest':>9} {'cpu(all)':>9} "
             f"{'bytes(all)':>11} {'openings':>8}  check"]
    for name, s in report.summary.items():
        lines.append(f"{name:<10} {s['seconds']:>9.3f} {s['slowest_party_seconds']:>9.3f} "
                     f"{s['cpu_seconds_all_parties']:>9.1f} "
                     f"{_megabytes(s['bytes_all_parties']):>11} {s['openings']:>8}  "
                     f"{s['verdict']} (max |error| {s['max_abs_error']:g})")
    for name, s in report.summary.items():
        lines.append(f"  {name} quartiles: {', '.join(s['result'])}")
        if len(s["runs"]) > 1:
            lines.append(f"  {name} runs (s): {', '.join(f'{t:.3f}' for t in s['runs'])}")
        for party, (steps, step_bytes) in enumerate(s["steps"]):
            if steps:
                lines.append(f"  {name} steps of party {party} (first run): " + ", ".join(
                    f"{k} {v:.2f} s/{_megabytes(step_bytes[k])}" for k, v in steps.items()))
    if report.records and "expected" in report.records[0]:
        lines.append("  statistics.quantiles: "
                     + ", ".join(str(e) for e in report.records[0]["expected"]))
    ratio = report.ratio
    if ratio is not None:
        lines.append(f"{'ratio':<10} {ratio:>9.1f}x  (mpyc seconds / ours seconds)")
        lines.append(f"speedup_vs_mpyc_quantiles={ratio:.1f} n={opts.n}")
    elif "ours" in report.summary:
        lines.append(f"ours_quartiles_seconds={report.summary['ours']['seconds']:.3f} n={opts.n}")
    else:
        lines.append(f"mpyc_quartiles_seconds={report.summary['mpyc']['seconds']:.3f} n={opts.n}")
    return lines


def _options(args: argparse.Namespace) -> Options:
    if args.n < 2:
        raise SystemExit("--n must be at least 2 (mpyc.statistics.quantiles needs two values)")
    if args.repeats < 1 or args.mpyc_repeats < 1:
        raise SystemExit("--repeats and --mpyc-repeats must be at least 1")
    return Options(n=args.n, parties=args.parties, seed=args.seed, radix=args.radix,
                   timeout=args.timeout, only=args.only, repeats=args.repeats,
                   mpyc_repeats=args.mpyc_repeats, phases=args.phases,
                   profile=str(Path(args.profile).resolve()) if args.profile else None,
                   no_fast_matmul=args.no_fast_matmul)


def main(argv: list[str]) -> int:
    """Launcher entry point."""
    args = build_parser().parse_args(argv)
    opts = _options(args)
    if opts.parties < 3:
        raise SystemExit("--parties must be at least 3 (MPyC's threshold is 0 with 2 parties)")
    try:
        report = launch(opts)
    except AssertionError as error:  # a party failed or timed out; the message has the details
        print(error, file=sys.stderr)
        return 1
    if args.json is not None:
        with args.json.open("a", encoding="utf-8") as out:
            for record in report.records:
                out.write(json.dumps({"options": asdict(opts), **record}) + "\n")
    for line in format_report(report):
        print(line)
    peaks = [f"{r['peak_rss_mib']:.0f}" for r in sorted(report.records, key=lambda r: r["party"])
             if "peak_rss_mib" in r]
    if peaks:
        print(f"peak memory per party (MiB, max RSS): {', '.join(peaks)}")
    wrong = [name for name, s in report.summary.items()
             if name == "ours" and s["verdict"] != "exact"]
    return 1 if wrong else 0


if __name__ == "__main__":
    from smpc_bench.engine.local_parties import is_party

    if is_party(sys.argv[1:]):
        sys.exit(run_party(sys.argv[1:]))
    sys.exit(main(sys.argv[1:]))
