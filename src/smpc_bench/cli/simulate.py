"""``smpc-bench simulate``: run every party of a consortium as local processes.

Each firm's report goes under ``--out`` (default ``./smpc-bench-simulation/``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from smpc_bench.cli.common import add_common, data_files, firm_folder, say, short
from smpc_bench.inputs.consortium import load_config
from smpc_bench.inputs.firm_data import check_frame, read_table

__all__ = ["add_parser", "run", "simulate"]


def simulate(config: Path, data_dir: Path, *, report_root: Path | None = None,
             timeout: float = 900.0, quiet: bool = True, costs: bool = False
             ) -> list[dict[str, Any]]:
    """Run all parties of ``config`` locally; return each party's round outcome (JSON data).

    Args:
        config: The consortium file.
        data_dir: Folder of the firms' data files (``data =`` under ``[[parties]]``).
        report_root: Write each firm's report into ``report_root/<index>-<firm>/``.
        timeout: Seconds allowed for the whole run.
        quiet: No progress lines on stderr.
        costs: Track every party's deterministic costs (rounds, bytes, openings); each
            outcome then holds them under ``"costs"``.

    Raises:
        InputError: A firm's file is unusable (checked before any process starts).
        RuntimeError: A party failed; the message holds every party's output tail.
    """
    from smpc_bench.engine.local_parties import describe, run_parties  # not needed by `check`

    consortium = load_config(config)
    files = data_files(consortium, data_dir)
    for path in files:  # fail fast, before starting any process
        check_frame(read_table(path), consortium.spec.kpis, source=str(path),
                    label_column=consortium.output.label_column).raise_if_invalid()
    say(quiet, f"{consortium.spec.name}: {len(files)} firms, one MPyC party process each "
                "on this machine (loopback network)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smpc-bench-") as scratch:
        outputs = [Path(scratch) / f"party{i}.json" for i in range(len(files))]

        def party_args(i: int) -> list[str]:
            args = ["-m", "smpc_bench.cli.run", "--config", str(Path(config).resolve()),
                    "--data", str(files[i].resolve()), "--json-out", str(outputs[i]),
                    "--timeout", str(timeout), "--quiet"]
            if costs:
                args.append("--costs")
            if report_root is not None:
                args += ["--report-dir", str((report_root / firm_folder(i, consortium))
                                             .resolve())]
            return args

        results = run_parties(party_args, len(files), timeout=timeout + 30, check=False)
        if not all(r.ok for r in results):
            raise RuntimeError(f"the local round failed:\n{describe(results)}")
        outcomes = [json.loads(path.read_text(encoding="utf-8")) for path in outputs]
    for timing in outcomes[0]["timings"]:
        if timing["phase"] != "total":
            say(quiet, f"  {timing['phase']:<28}{timing['seconds']:8.2f} s")
    say(quiet, f"  all {len(files)} parties done in {time.perf_counter() - started:.1f} s "
                f"(party 0 sent {outcomes[0]['bytes_sent']:,} bytes)")
    if costs:
        say(quiet, _costs_table(outcomes))
    return outcomes


def _costs_table(outcomes: list[dict[str, Any]]) -> str:
    """One line per party: the deterministic costs of its part of the round."""
    header = (f"{'party':>5}{'rounds':>8}{'messages':>10}{'bytes sent':>14}{'openings':>10}"
              f"{'opened':>10}{'comparisons':>13}")
    lines = ["costs (deterministic; see smpc_bench.costs):", header]
    for index, outcome in enumerate(outcomes):
        c = outcome["costs"]
        rounds = "-" if c["rounds"] is None else str(c["rounds"])
        lines.append(f"{index:>5}{rounds:>8}{c['messages_sent']:>10}{c['bytes_sent']:>14,}"
                     f"{c['openings']:>10}{c['opened_elements']:>10}{c['comparisons']:>13}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    out = Path(args.out)
    outcomes = simulate(Path(args.config), Path(args.data_dir), report_root=out,
                        timeout=args.timeout, quiet=args.quiet or args.json, costs=args.costs)
    consortium = load_config(args.config)
    folders = [str((out / firm_folder(i, consortium)).resolve()) for i in range(len(outcomes))]
    if args.json:
        print(json.dumps({"released": outcomes[0], "report_folders": folders}, indent=2))
        return 0
    print(f"{consortium.spec.name}: reports written for {len(folders)} firms:")
    for folder in folders:
        print(f"  {folder}")
    if not args.quiet:
        for kpi in outcomes[0]["kpis"]:
            shown = ", ".join(
                f"{name} {item['suppressed'] and 'suppressed' or short(item['value_float'])}"
                for name, item in kpi["statistics"].items() if name != "count")
            print(f"  {kpi['name']} ({kpi['count']} contributions): {shown}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``simulate``."""
    sim = subparsers.add_parser("simulate", help="run every party of a consortium locally")
    sim.add_argument("--config", required=True, help="consortium TOML file")
    sim.add_argument("--data-dir", required=True, help="folder of the firms' data files")
    sim.add_argument("--out", default="smpc-bench-simulation", help="report folder")
    sim.add_argument("--timeout", type=float, default=900.0, help="seconds (default 900)")
    sim.add_argument("--costs", action="store_true", help="report every party's rounds, "
                     "bytes, openings and comparisons")
    add_common(sim)
    sim.set_defaults(handler=run)
