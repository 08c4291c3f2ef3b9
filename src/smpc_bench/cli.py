"""The ``smpc-bench`` command line.

Subcommands:

* ``demo``: run the bundled bakery consortium as local party processes and print every released
  statistic beside the plaintext answer (which only a demo holding all files can compute).
* ``simulate --config C --data-dir DIR``: run every party of a consortium as local processes.
* ``check --config C --data D``: validate one firm's file against the configuration, no MPC.
* ``run --config C --data D [MPyC flags]``: be one party of a real round (see ``party_main``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

from smpc_bench.config import ConfigError, Consortium, load_config
from smpc_bench.frames import read_table, rows_from_frame
from smpc_bench.kpi import InputError
from smpc_bench.local_parties import describe, run_parties
from smpc_bench.metrics import Metric
from smpc_bench.plaintext import reference

__all__ = ["main"]


def example_dir() -> Path:
    """Folder of the bundled bakery consortium (in the package, or in the source tree)."""
    packaged = Path(__file__).resolve().parent / "example_data" / "bakery"
    if packaged.is_dir():
        return packaged
    source_tree = Path(__file__).resolve().parents[2] / "examples" / "bakery"
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError("the bundled bakery example was not found")


def _data_files(consortium: Consortium, data_dir: Path) -> list[Path]:
    files = []
    for i, party in enumerate(consortium.parties):
        name = party.data or f"party{i}.csv"
        path = data_dir / name
        if not path.exists():
            raise InputError(f"data file for {party.name} not found: {path}")
        files.append(path)
    if len(files) < 3:
        raise ConfigError(
            f"{len(files)} parties configured: at least 3 are needed for secrecy "
            "(with 2, MPyC's threshold is 0 and every party sees the other's data)"
        )
    return files


def simulate(config: Path, data_dir: Path, *, timeout: float = 900.0) -> list[dict]:
    """Run all parties of ``config`` locally; return each party's JSON result."""
    consortium = load_config(config)
    files = _data_files(consortium, data_dir)
    for path in files:  # fail fast, before starting any process
        rows_from_frame(read_table(path), consortium.spec.kpis, source=str(path))
    with tempfile.TemporaryDirectory(prefix="smpc-bench-") as scratch:
        outputs = [Path(scratch) / f"party{i}.json" for i in range(len(files))]
        results = run_parties(
            lambda i: ["-m", "smpc_bench.party_main", "--config", str(config), "--data",
                       str(files[i]), "--json-out", str(outputs[i]),
                       "--timeout", str(timeout)],
            len(files), timeout=timeout + 30, check=False)
        if not all(r.ok for r in results):
            raise RuntimeError(f"the local round failed:\n{describe(results)}")
        return [json.loads(path.read_text(encoding="utf-8")) for path in outputs]


def _format(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _demo(args: argparse.Namespace) -> int:
    folder = example_dir()
    config = folder / "consortium.toml"
    consortium = load_config(config)
    files = _data_files(consortium, folder)
    print(f"smpc-bench demo: {consortium.spec.name}, {len(files)} firms, one MPyC party each "
          f"(local processes, loopback network)")
    outcomes = simulate(config, folder)
    first = outcomes[0]
    same = all(o["kpis"] == first["kpis"] for o in outcomes)
    frames = [rows_from_frame(read_table(f), consortium.spec.kpis) for f in files]
    all_rows = [row for rows in frames for row in rows]
    print(f"all parties released identical results: {'yes' if same else 'NO'}")
    print("plaintext column: computed here from every firm's file, which only a demo can do\n")
    header = f"{'KPI':<18}{'statistic':<11}{'secure (MPC)':>18}{'plaintext':>18}  match"
    print(header)
    print("-" * len(header))
    mismatches = 0
    for k, kpi in enumerate(consortium.spec.kpis):
        values = [kpi.rounded(row[k]) for row in all_rows if row[k] is not None]
        for name, item in first["kpis"][k]["statistics"].items():
            secure = item["value_float"] if name != "count" else first["kpis"][k]["count"]
            plain = reference(Metric.parse(name), values)
            ok = (secure is None and plain is None) or (
                secure is not None and plain is not None
                and abs(Fraction(secure) - Fraction(plain)) <= Fraction(1, 10**6)
                * max(1, abs(Fraction(plain))))
            mismatches += not ok
            print(f"{kpi.name:<18}{name:<11}{_format(secure):>18}{_format(plain):>18}  "
                  f"{'yes' if ok else 'NO'}")
    timings = {t["phase"]: t["seconds"] for t in first["timings"]}
    print(f"\nparty 0: {timings.get('total', 0):.2f} s in total, "
          f"{first['bytes_sent']:,} bytes sent")
    return 0 if same and mismatches == 0 else 1


def _simulate(args: argparse.Namespace) -> int:
    outcomes = simulate(Path(args.config), Path(args.data_dir))
    print(json.dumps(outcomes[0], indent=2))
    return 0


def _check(args: argparse.Namespace) -> int:
    consortium = load_config(args.config)
    rows = rows_from_frame(read_table(args.data), consortium.spec.kpis, source=args.data)
    print(f"{args.data}: {len(rows)} row(s), all values valid for {consortium.spec.name}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smpc-bench", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the bundled bakery example locally")
    sim = commands.add_parser("simulate", help="run every party of a consortium locally")
    sim.add_argument("--config", required=True)
    sim.add_argument("--data-dir", required=True)
    check = commands.add_parser("check", help="validate one firm's data file (no MPC)")
    check.add_argument("--config", required=True)
    check.add_argument("--data", required=True)
    commands.add_parser("run", help="be one party of a real round (MPyC flags follow)",
                        add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        from smpc_bench import party_main

        sys.argv = ["smpc-bench run", *argv[1:]]
        return party_main.main()
    args = _parser().parse_args(argv)
    handlers = {"demo": _demo, "simulate": _simulate, "check": _check}
    try:
        return handlers[args.command](args)
    except (ConfigError, InputError, FileNotFoundError, RuntimeError) as error:
        print(f"smpc-bench: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
