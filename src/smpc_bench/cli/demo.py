"""``smpc-bench demo``: the bundled bakery consortium, run locally, beside the plaintext answer.

Runs the 5 firms as local party processes, writes every firm's report under
``./smpc-bench-demo/`` and prints every released statistic beside the plaintext answer (which
only a demo holding all files can compute).
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

from smpc_bench.cli.common import add_common, data_files, firm_folder, short
from smpc_bench.cli.simulate import simulate
from smpc_bench.inputs.consortium import Consortium, load_config
from smpc_bench.inputs.firm_data import read_table, rows_from_frame
from smpc_bench.spec.disclosure import share_text
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.plaintext import firm_shares, reference

__all__ = ["add_parser", "example_dir", "run"]


def example_dir() -> Path:
    """Folder of the bundled bakery consortium (in the package, or in the source tree)."""
    packaged = Path(__file__).resolve().parents[1] / "example_data" / "bakery"
    if packaged.is_dir():
        return packaged
    source_tree = Path(__file__).resolve().parents[3] / "examples" / "bakery"
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError("the bundled bakery example was not found")


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
        secure = "suppressed" if row["suppressed"] else short(row["secure"])
        match = "n/a" if row["match"] is None else "yes" if row["match"] else "NO"
        print(f"{row['kpi']:<18}{row['statistic']:<11}{secure:>18}"
              f"{short(row['plaintext']):>18}  {match}")


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    folder = example_dir()
    config = folder / "consortium.toml"
    consortium = load_config(config)
    files = data_files(consortium, folder)
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


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo``."""
    demo = subparsers.add_parser("demo", help="run the bundled bakery example locally")
    demo.add_argument("--out", default="smpc-bench-demo", help="report folder "
                      "(default ./smpc-bench-demo)")
    demo.add_argument("--costs", action="store_true", help="report every party's rounds, "
                      "bytes, openings and comparisons")
    add_common(demo)
    demo.set_defaults(handler=run)
