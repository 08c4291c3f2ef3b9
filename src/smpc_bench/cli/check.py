"""``smpc-bench check``: validate the configuration and one firm's data file, locally.

Prints the round's hash for the parties to compare; no MPC, nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from typing import Any

from smpc_bench.cli.common import add_common
from smpc_bench.inputs.consortium import MAX_SHARE_DECIMALS, Consortium, load_config
from smpc_bench.inputs.firm_data import check_frame, read_table
from smpc_bench.spec import exit_codes
from smpc_bench.spec.disclosure import share_text, unreachable_share
from smpc_bench.spec.kpi import InputError
from smpc_bench.spec.threshold import default_threshold

__all__ = ["add_parser", "run"]


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


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
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
        try:
            table = read_table(args.data)
        except InputError as error:  # unreadable: say so in the same shape as other problems
            document.update(ok=False, data=args.data, problems=[str(error)])
            # A file error already starts with the file's name; others get it in front.
            message = str(error)
            prefix = "" if message.startswith(str(args.data)) else f"{args.data}: "
            lines.append(f"{prefix}cannot be read: {message}" if prefix else
                         f"cannot be read: {message}")
            return _print(args, document, lines)
        check = check_frame(table, spec.kpis, source=args.data,
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
    return _print(args, document, lines)


def _print(args: argparse.Namespace, document: dict[str, Any], lines: list[str]) -> int:
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    elif not (args.quiet and document["ok"]):
        print("\n".join(lines))
    return exit_codes.OK if document["ok"] else exit_codes.BAD_INPUT


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``check``."""
    check = subparsers.add_parser("check", help="validate the configuration and a data file")
    check.add_argument("--config", required=True, help="consortium TOML file")
    check.add_argument("--data", help="this firm's CSV or Excel file")
    add_common(check)
    check.set_defaults(handler=run)
