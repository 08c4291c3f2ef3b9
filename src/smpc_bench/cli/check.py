"""``smpc-bench check``: validate the configuration and one firm's data file, locally.

Prints the round's hash for the parties to compare; for an outsourced round also its compute
servers, threshold, deadline, row limit and round id, which a firm compares with the one the
servers announce before it submits.  No MPC, nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smpc_bench.cli.common import add_common
from smpc_bench.inputs.consortium import MAX_SHARE_DECIMALS, Consortium, load_config
from smpc_bench.inputs.firm_data import check_frame, read_table
from smpc_bench.spec import exit_codes
from smpc_bench.spec.disclosure import share_text, unreachable_share
from smpc_bench.spec.kpi import InputError
from smpc_bench.spec.threshold import default_threshold

if TYPE_CHECKING:
    from smpc_bench.inputs.outsourced_config import OutsourcedSettings

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


def _shown(path: Path, folder: Path | None) -> str:
    """``path`` as the consortium file names it: relative to the file's folder if inside it."""
    if folder is not None and path.is_relative_to(folder):
        return str(path.relative_to(folder))
    return str(path)


def _round_id_unavailable(consortium: Consortium, settings: OutsourcedSettings) -> str | None:
    """Why the round id cannot be computed yet (published files not here), or None."""
    keys = [server.public_key for server in settings.servers if not server.public_key.exists()]
    tokens = settings.max_contributors is None and not settings.tokens.exists()
    if not keys and not tokens:
        return None
    folder = None if consortium.source is None else Path(consortium.source).resolve().parent
    missing = [_shown(path, folder) for path in keys]
    missing += [_shown(settings.tokens, folder)] if tokens else []
    keygen, enrol = "`smpc-bench keygen --server I`", "`smpc-bench enrol`"
    if keys and tokens:
        makers = (f"the servers make their public keys with {keygen}, the operator the token "
                  f"hashes with {enrol}, and the operator publishes them")
    elif keys:
        makers = f"the servers make their public keys with {keygen}; the operator publishes them"
    else:
        makers = f"the operator makes the token hashes with {enrol} and publishes them"
    return (f"not available yet: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing; {makers}: check again once you "
            "have them, before you submit")


def _outsourced_config(args: argparse.Namespace, consortium: Consortium,
                       settings: OutsourcedSettings) -> tuple[dict[str, Any], list[str]]:
    """The document and lines of ``check`` for an outsourced consortium.

    Raises:
        ConfigError: The threshold does not suit the servers, or a published file that is
            there cannot be used.
    """
    from smpc_bench.inputs.outsourced_config import round_id, round_threshold

    spec = consortium.spec
    servers = len(settings.servers)
    threshold = round_threshold(consortium)
    how = "configured" if spec.threshold is not None else "default"
    unavailable = _round_id_unavailable(consortium, settings)
    identifier = round_id(consortium) if unavailable is None else None
    document: dict[str, Any] = {
        "config": str(args.config), "round": spec.name, "mode": "outsourced",
        "spec_sha256": spec.digest(), "round_id": identifier,
        "round_id_unavailable": unavailable, "ok": True,
        "servers": [{"index": s.index, "name": s.name, "url": s.url} for s in settings.servers],
        "threshold": threshold, "deadline": settings.deadline_text(),
        "max_rows": settings.max_rows, "max_firm_share": float(spec.max_firm_share),
        "config_warnings": []}
    width = max(len(s.name) for s in settings.servers)
    now = datetime.datetime.now(datetime.UTC)
    lines = [f"{args.config}: valid configuration for {spec.name!r}: {len(spec.kpis)} KPIs, "
             f"outsourced round on {servers} compute servers, at least "
             f"{spec.min_contributions} contributors per statistic",
             "  compute servers (each receives one share of every figure, never a figure):"]
    lines += [f"    {s.index}  {s.name:<{width}}  intake {s.url}" for s in settings.servers]
    lines += [f"  threshold {threshold} ({how}): withstands up to {threshold} colluding "
              f"server{'s' if threshold != 1 else ''} of {servers} (together they learn "
              "nothing about any firm's figures)",
              f"  deadline {settings.deadline_text()}: "
              + ("passed, no more submissions are accepted" if settings.deadline <= now
                 else "no submission is accepted after it"),
              f"  rows per contributor: at most {settings.max_rows}",
              f"  {_dominance_text(consortium)}",
              f"  round hash {spec.digest()} (the statistics and rules; part of the round id)"]
    if identifier is not None:
        lines.append(f"  round id {identifier} (compare it with the one the servers announce "
                     "before you submit)")
    else:
        lines.append(f"  round id: {unavailable}")
    return document, lines


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    consortium = load_config(args.config)
    spec = consortium.spec
    if consortium.outsourced is not None:
        document, lines = _outsourced_config(args, consortium, consortium.outsourced)
    else:
        document = {"config": str(args.config), "round": spec.name,
                    "spec_sha256": spec.digest(), "ok": True,
                    "threshold": _threshold(consortium),
                    "max_firm_share": float(spec.max_firm_share),
                    "config_warnings": _config_warnings(consortium)}
        lines = [f"{args.config}: valid configuration for {spec.name!r}: {len(spec.kpis)} "
                 f"KPIs, {len(consortium.parties)} parties, at least {spec.min_contributions} "
                 "firms per statistic",
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
