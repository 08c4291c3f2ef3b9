"""``smpc-bench fetch-result``: a firm's results of an outsourced round, and its report.

Run on the firm's own machine once the servers have computed the round, with the folder
``smpc-bench submit`` used and the data file it submitted::

    smpc-bench fetch-result --config round.toml --data mine.csv --token-file token.txt

Every server sends the public statistics and its share of this firm's private position,
sealed to the firm's result key; the shares are recombined here (no server learns the
position) and ``report.json``/``.csv``/``.html`` are written as in a peer round (``--report-dir``,
default ``<folder>/report``).

Exit codes: 0 report written, 1 no result (not computed yet, or the submission did not count:
the message says why), 7 unusable consortium file, data file or contribution folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from smpc_bench.cli.common import add_common
from smpc_bench.cli.submit import TOKEN_VARIABLE, _token
from smpc_bench.inputs.consortium import ConfigError, load_config
from smpc_bench.spec import exit_codes
from smpc_bench.spec.kpi import InputError

__all__ = ["add_parser", "run"]


def _summary(fetched: object) -> str:
    from smpc_bench.outsourced.results import FetchedResult

    assert isinstance(fetched, FetchedResult) and fetched.report is not None
    lines = [f"{fetched.report['round']['name']}: your results (shares of servers "
             f"{', '.join(map(str, fetched.servers))} combined on this machine)"]
    for kpi in fetched.report["kpis"]:
        released = ", ".join(f"{name} {item['value']}" for name, item in kpi["statistics"].items()
                             if item["status"] == "released" and item["kind"] != "count")
        released = released or "no statistic released"
        lines.append(f"  {kpi['title']}: {kpi['count']} contributions; {released}")
        for entry in kpi["own"]["rows"]:
            where = "" if entry["rank"] is None else f", rank {entry['rank']} of {entry['rank_of']}"
            if entry["band_label"]:
                where += f", {entry['band_label']}"
            value = "missing" if entry["missing"] else entry["value"]
            lines.append(f"    you ({entry['label']}): {value}{where}")
    if fetched.written:
        lines.append(f"report written: {', '.join(str(p) for p in fetched.written)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    from smpc_bench.outsourced.results import FetchError, fetch_result
    from smpc_bench.outsourced.submission import ContributionError

    folder = Path(args.state)
    report_dir = Path(args.report_dir) if args.report_dir else folder / "report"
    try:
        consortium = load_config(args.config)
        fetched = fetch_result(consortium, folder, _token(args), args.data,
                               report_dir=report_dir, firm=args.firm, attempts=args.attempts,
                               timeout=args.timeout, allow_http=args.insecure_http)
    except (ConfigError, InputError, ContributionError) as error:
        print(f"smpc-bench fetch-result: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except (FetchError, OSError) as error:
        print(f"smpc-bench fetch-result: {error}", file=sys.stderr)
        return exit_codes.ERROR
    if args.json:
        print(json.dumps(fetched.report, indent=2, ensure_ascii=False))
    elif not args.quiet:
        print(_summary(fetched))
    return exit_codes.OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``fetch-result``."""
    parser = subparsers.add_parser(
        "fetch-result", help="collect your results of an outsourced round and write your report",
        description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="the round's consortium TOML file")
    parser.add_argument("--data", required=True,
                        help="the CSV or Excel file you submitted (your own figures)")
    parser.add_argument("--token", help=f"your enrolment token (or --token-file, or "
                        f"${TOKEN_VARIABLE})")
    parser.add_argument("--token-file", help="file holding your enrolment token")
    parser.add_argument("--state", default="smpc-bench-contribution",
                        help="your contribution folder, as submit used it (default "
                             "./smpc-bench-contribution)")
    parser.add_argument("--report-dir", help="where to write the report (default "
                        "<state folder>/report)")
    parser.add_argument("--firm", default="your firm", help="your firm's name in the report")
    parser.add_argument("--attempts", type=int, default=3, help="requests per server at most")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--insecure-http", action="store_true",
                        help="allow http:// server urls (local tests only)")
    add_common(parser)
    parser.set_defaults(handler=run)
