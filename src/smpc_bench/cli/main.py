"""The ``smpc-bench`` command line.

Subcommands:

* ``demo``: run the bundled bakery consortium (5 firms) as local party processes, write every
  firm's report under ``./smpc-bench-demo/`` and print every released statistic beside the
  plaintext answer (which only a demo holding all files can compute).
* ``simulate --config C --data-dir DIR``: run every party of a consortium as local processes
  and write each firm's report under ``--out`` (default ``./smpc-bench-simulation/``).
* ``check --config C [--data D]``: validate the configuration (and print its hash, for the
  parties to compare) and one firm's data file; no MPC, nothing leaves the machine.
* ``run --config C --data D --party I [-P host:port ...] [--ssl]``: be one firm of a real
  round; writes the firm's report (see :mod:`smpc_bench.cli.run`).
* ``certs --parties N --out DIR``: make a CA and one TLS certificate and key per party.

Every subcommand takes ``--quiet`` (no progress lines) and ``--json`` (machine-readable output
on stdout).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from smpc_bench.engine.local_parties import describe, run_parties
from smpc_bench.inputs.consortium import MAX_SHARE_DECIMALS, ConfigError, Consortium, load_config
from smpc_bench.inputs.firm_data import check_frame, read_table, rows_from_frame
from smpc_bench.spec.disclosure import share_text, unreachable_share
from smpc_bench.spec.kpi import InputError
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.plaintext import firm_shares, reference
from smpc_bench.spec.threshold import default_threshold

__all__ = ["example_dir", "main", "simulate"]


def example_dir() -> Path:
    """Folder of the bundled bakery consortium (in the package, or in the source tree)."""
    packaged = Path(__file__).resolve().parents[1] / "example_data" / "bakery"
    if packaged.is_dir():
        return packaged
    source_tree = Path(__file__).resolve().parents[3] / "examples" / "bakery"
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError("the bundled bakery example was not found")


def firm_folder(index: int, consortium: Consortium) -> str:
    """Report folder name of party ``index``: ``0-bakkerij-alfa``."""
    from smpc_bench.report.build import firm_folder as folder_name

    name = consortium.parties[index].name if index < len(consortium.parties) else "party"
    return folder_name(index, name)


def _data_files(consortium: Consortium, data_dir: Path) -> list[Path]:
    if not consortium.parties:
        raise ConfigError("the configuration lists no [[parties]]; simulate needs one entry "
                          "per firm with data = \"file.csv\"")
    files = []
    for i, party in enumerate(consortium.parties):
        path = data_dir / (party.data or f"party{i}.csv")
        if not path.exists():
            raise InputError(f"data file for {party.name} not found: {path}")
        files.append(path)
    if len(files) < 3:
        raise ConfigError(
            f"{len(files)} parties configured: at least 3 are needed for secrecy "
            "(with 2, MPyC's threshold is 0 and every party sees the other's data)"
        )
    return files


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


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
    consortium = load_config(config)
    files = _data_files(consortium, data_dir)
    for path in files:  # fail fast, before starting any process
        check_frame(read_table(path), consortium.spec.kpis, source=str(path),
                    label_column=consortium.output.label_column).raise_if_invalid()
    _say(quiet, f"{consortium.spec.name}: {len(files)} firms, one MPyC party process each "
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
            _say(quiet, f"  {timing['phase']:<28}{timing['seconds']:8.2f} s")
    _say(quiet, f"  all {len(files)} parties done in {time.perf_counter() - started:.1f} s "
                f"(party 0 sent {outcomes[0]['bytes_sent']:,} bytes)")
    if costs:
        _say(quiet, _costs_table(outcomes))
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


def _matches(secure: Any, plain: Any) -> bool:
    if secure is None or plain is None:
        return secure is None and plain is None
    difference = abs(Fraction(secure) - Fraction(plain))
    return bool(difference <= Fraction(1, 10**6) * max(Fraction(1), abs(Fraction(plain))))


def _comparison(consortium: Consortium, files: list[Path], outcome: dict[str, Any]
                ) -> list[dict[str, Any]]:
    """Every released statistic beside its plaintext value (only a demo can compute those)."""
    kpis = consortium.spec.kpis
    rows = [row for f in files for row in rows_from_frame(read_table(f), kpis, str(f))]
    table = []
    for k, kpi in enumerate(kpis):
        values = [kpi.rounded(row[k]) for row in rows if row[k] is not None]
        released = outcome["kpis"][k]
        for name, item in released["statistics"].items():
            plain = reference(Metric.parse(name), values)
            secure = released["count"] if name == "count" else item["value_float"]
            suppressed = item["suppressed"]
            table.append({"kpi": kpi.name, "unit": kpi.unit, "statistic": name,
                          "secure": None if suppressed else secure, "plaintext": plain,
                          "suppressed": suppressed,
                          "match": None if suppressed else _matches(secure, plain)})
    return table


def _largest_shares(consortium: Consortium, files: list[Path], outcome: dict[str, Any]
                    ) -> list[dict[str, Any]]:
    """Per KPI the dominance rule checks: the largest firm's share (only a demo can see it)."""
    kpis = consortium.spec.kpis
    per_firm = [rows_from_frame(read_table(f), kpis, str(f)) for f in files]
    shares = []
    for k in consortium.spec.dominance_kpis:
        values = [[kpis[k].rounded(row[k]) for row in rows if row[k] is not None]
                  for rows in per_firm]
        firm_share = firm_shares(values)
        top = max(range(len(values)), key=lambda i: firm_share[i])
        shares.append({"kpi": kpis[k].name, "firm": consortium.parties[top].name,
                       "rows": len(values[top]), "share": float(firm_share[top]),
                       "no_dominant_firm": outcome["kpis"][k]["no_dominant_firm"]})
    return shares


def _print_largest_shares(shares: list[dict[str, Any]], consortium: Consortium) -> None:
    if not shares:
        return
    print(f"\ndominance rule (at most {share_text(consortium.spec.max_firm_share)} of a total "
          "per firm): the largest firm's share, from the plaintext (only a demo can see it)")
    for row in shares:
        verdict = {True: "released", False: "sum/mean suppressed",
                   None: "not evaluated: too few firms"}[row["no_dominant_firm"]]
        shops = f"{row['rows']} shop{'s' if row['rows'] != 1 else ''}"
        print(f"  {row['kpi']:<18}{row['firm']} ({shops}): {row['share']:.1%}  -> {verdict}")


def _print_comparison(table: list[dict[str, Any]]) -> None:
    header = f"{'KPI':<18}{'statistic':<11}{'secure (MPC)':>18}{'plaintext':>18}  match"
    print(header)
    print("-" * len(header))
    for row in table:
        secure = "suppressed" if row["suppressed"] else _short(row["secure"])
        match = "n/a" if row["match"] is None else "yes" if row["match"] else "NO"
        print(f"{row['kpi']:<18}{row['statistic']:<11}{secure:>18}"
              f"{_short(row['plaintext']):>18}  {match}")


def _short(value: float | int | None) -> str:
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
    out = Path(args.out)
    outcomes = simulate(config, folder, report_root=out, quiet=args.quiet or args.json,
                        costs=args.costs)
    same = all(o["kpis"] == outcomes[0]["kpis"] for o in outcomes)
    table = _comparison(consortium, files, outcomes[0])
    shares = _largest_shares(consortium, files, outcomes[0])
    ok = same and all(row["match"] is not False for row in table)
    reports = [str((out / firm_folder(i, consortium) / "report.html").resolve())
               for i in range(len(files))]
    if args.json:
        print(json.dumps({"round": consortium.spec.name, "identical_at_all_parties": same,
                          "all_match": ok, "statistics": table, "largest_firm_shares": shares,
                          "reports": reports}, indent=2))
        return 0 if ok else 1
    print(f"\nall parties released identical results: {'yes' if same else 'NO'}")
    print("plaintext column: computed here from every firm's file, which only a demo can do\n")
    _print_comparison(table)
    reasons = sorted({row["suppressed"] for row in table if row["suppressed"]})
    for reason in reasons:
        print(f"\nsuppressed: {reason}")
    _print_largest_shares(shares, consortium)
    print(f"\neach firm's private report (open in a browser): {out}/<firm>/report.html")
    for path in reports:
        print(f"  {path}")
    return 0 if ok else 1


def _simulate(args: argparse.Namespace) -> int:
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
                f"{name} {item['suppressed'] and 'suppressed' or _short(item['value_float'])}"
                for name, item in kpi["statistics"].items() if name != "count")
            print(f"  {kpi['name']} ({kpi['count']} contributions): {shown}")
    return 0


def _threshold(consortium: Consortium) -> int | None:
    """The round's threshold: configured, else MPyC's default for the listed parties."""
    if consortium.spec.threshold is not None or not consortium.parties:
        return consortium.spec.threshold
    return default_threshold(len(consortium.parties))


def _threshold_text(consortium: Consortium) -> str:
    threshold = _threshold(consortium)
    how = "configured" if consortium.spec.threshold is not None else "default"
    if threshold is None:
        return ("threshold: default, (number of firms - 1) // 2 (the number of firms comes from "
                "-P at run time)")
    return (f"threshold {threshold} ({how}): up to {threshold} colluding firm"
            f"{'s' if threshold != 1 else ''} learn nothing about the others' figures")


def _dominance_text(consortium: Consortium) -> str:
    spec = consortium.spec
    if spec.max_firm_share >= 1:
        return "dominance rule: off (max_firm_share = 1)"
    if not spec.dominance_kpis:
        return "dominance rule: no KPI asks for a sum or mean"
    names = ", ".join(spec.kpis[k].name for k in spec.dominance_kpis)
    return (f"dominance rule: sums and means only where no firm holds more than "
            f"{share_text(spec.max_firm_share)} of the total ({names})")


def _config_warnings(consortium: Consortium) -> list[str]:
    """Settings that are valid but cannot do what they seem to promise."""
    spec, firms = consortium.spec, len(consortium.parties)
    if not unreachable_share(spec, firms):
        return []
    # The smallest setting with 4 decimals that a round of equal firms can pass.
    enough = Fraction(-(-10**MAX_SHARE_DECIMALS // firms), 10**MAX_SHARE_DECIMALS)
    return [f"with {firms} firms one of them always holds at least "
            f"{share_text(Fraction(1, firms))} of a total, so with max_firm_share = "
            f"{float(spec.max_firm_share):g} no sum or mean can ever be released; raise "
            f"max_firm_share to at least {float(enough):g} (1 switches the rule off) or drop "
            "sum and mean from the statistics"]


def _check(args: argparse.Namespace) -> int:
    consortium = load_config(args.config)
    spec = consortium.spec
    document: dict[str, Any] = {"config": str(args.config), "round": spec.name,
                                "spec_sha256": spec.digest(), "ok": True,
                                "threshold": _threshold(consortium),
                                "max_firm_share": float(spec.max_firm_share),
                                "config_warnings": _config_warnings(consortium)}
    lines = [f"{args.config}: valid configuration for {spec.name!r}: {len(spec.kpis)} KPIs, "
             f"{len(consortium.parties)} parties, at least {spec.min_contributions} firms per "
             "statistic",
             f"  {_dominance_text(consortium)}",
             f"  {_threshold_text(consortium)}",
             f"  round hash {spec.digest()} (every party must see the same hash)"]
    lines += [f"  warning: {warning}" for warning in document["config_warnings"]]
    if args.data:
        check = check_frame(read_table(args.data), spec.kpis, source=args.data,
                            label_column=consortium.output.label_column)
        document.update(ok=check.ok, data=args.data, rows=len(check.rows),
                        labels=check.labels, problems=check.problems, warnings=check.warnings,
                        ignored_columns=check.ignored_columns, missing_cells=check.missing_cells)
        if check.ok:
            more = ", ..." if len(check.labels) > 6 else ""
            lines.append(f"{args.data}: OK, {len(check.rows)} row(s) "
                         f"({', '.join(check.labels[:6])}{more}), {check.missing_cells} empty "
                         "cell(s) (allowed: not counted)")
        else:
            lines.append(f"{args.data}: {len(check.problems)} problem(s) to fix before the "
                         "round:")
            lines += [f"  - {problem}" for problem in check.problems]
        if check.ignored_columns:
            lines.append(f"  columns that are not KPIs are ignored and never leave this "
                         f"computer: {', '.join(check.ignored_columns)}")
        lines += [f"  warning: {warning}" for warning in check.warnings]
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    elif not (args.quiet and document["ok"]):
        print("\n".join(lines))
    return 0 if document["ok"] else 1


def _certs(args: argparse.Namespace) -> int:
    from smpc_bench.inputs.certificates import make_certificates

    parties = args.parties
    organization = "smpc-bench"
    if args.config:
        consortium = load_config(args.config)
        parties = parties or len(consortium.parties)
        organization = consortium.spec.name
    if not parties:
        raise ConfigError("say how many parties: --parties N, or --config with [[parties]]")
    written = make_certificates(args.out, parties, organization=organization, days=args.days)
    if args.json:
        print(json.dumps({"files": [str(p) for p in written]}, indent=2))
    elif not args.quiet:
        print(f"wrote a CA and {parties} party certificates to {args.out}:")
        print("  give firm i its party_i.crt and party_i.key (privately) and everyone "
              "mpyc_ca.crt;\n  keep mpyc_ca.key offline; never commit any .key file")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smpc-bench", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the bundled bakery example locally")
    demo.add_argument("--out", default="smpc-bench-demo", help="report folder "
                      "(default ./smpc-bench-demo)")
    demo.add_argument("--costs", action="store_true", help="report every party's rounds, "
                      "bytes, openings and comparisons")
    _common(demo)
    sim = commands.add_parser("simulate", help="run every party of a consortium locally")
    sim.add_argument("--config", required=True, help="consortium TOML file")
    sim.add_argument("--data-dir", required=True, help="folder of the firms' data files")
    sim.add_argument("--out", default="smpc-bench-simulation", help="report folder")
    sim.add_argument("--timeout", type=float, default=900.0, help="seconds (default 900)")
    sim.add_argument("--costs", action="store_true", help="report every party's rounds, "
                     "bytes, openings and comparisons")
    _common(sim)
    check = commands.add_parser("check", help="validate the configuration and a data file")
    check.add_argument("--config", required=True, help="consortium TOML file")
    check.add_argument("--data", help="this firm's CSV or Excel file")
    _common(check)
    commands.add_parser("run", help="be one firm of a real round (MPyC flags follow; "
                        "see `smpc-bench run --help`)", add_help=False)
    certs = commands.add_parser("certs", help="make TLS certificates for the parties")
    certs.add_argument("--out", required=True, help="empty folder for the files")
    certs.add_argument("--parties", type=int, help="number of parties")
    certs.add_argument("--config", help="take the number of parties from this file")
    certs.add_argument("--days", type=int, default=365, help="validity (default 365 days)")
    _common(certs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        from smpc_bench.cli import run as party_main

        return party_main.main(argv[1:], prog="smpc-bench run", default_reports=True,
                               description="Be one firm of a benchmarking round.")
    args = _parser().parse_args(argv)
    handlers = {"demo": _demo, "simulate": _simulate, "check": _check, "certs": _certs}
    try:
        return handlers[args.command](args)
    except (ConfigError, InputError, FileNotFoundError, FileExistsError, RuntimeError) as error:
        print(f"smpc-bench: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
