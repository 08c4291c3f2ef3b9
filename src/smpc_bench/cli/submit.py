"""``smpc-bench submit``: contribute a firm's figures to an outsourced round, then leave.

Checks the file exactly as ``smpc-bench check`` does, encodes and splits the rows into secret
shares, seals each server's shares to that server's key and uploads them to every server (or
with ``--out DIR`` writes the sealed files for the operator).  No server, and nobody else, sees
the figures.  The contributor's folder (``--state``, default ``./smpc-bench-contribution``) keeps
the key that opens this firm's results: keep it until the results are fetched.

Run the same command again if a server could not be reached: the same submission is sent, and
servers that already hold it say so.  Run it with changed data to replace the submission.

Exit codes: 0 stored at every server (or files written), 1 not stored everywhere (the message
says which server and what to do), 7 unusable consortium or data file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from smpc_bench.cli.common import add_common
from smpc_bench.inputs.consortium import ConfigError, load_config
from smpc_bench.outsourced.submission import (
    DEFAULT_FOLDER,
    ContributionError,
    SubmitReport,
    submit_contribution,
)
from smpc_bench.spec import exit_codes
from smpc_bench.spec.kpi import InputError

__all__ = ["TOKEN_VARIABLE", "add_parser", "run"]

#: Environment variable that may hold the enrolment token (kept out of the process list).
TOKEN_VARIABLE = "SMPC_BENCH_TOKEN"


def _token(args: argparse.Namespace) -> str:
    if args.token:
        return str(args.token).strip()
    if args.token_file:
        try:
            return Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise InputError(f"cannot read the token file {args.token_file}: {error}") from None
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise InputError(f"give your enrolment token: --token T, --token-file F or the "
                         f"environment variable {TOKEN_VARIABLE}")
    return token


def _summary(report: SubmitReport, out: str | None) -> list[str]:
    lines = [reply.line() for reply in report.servers]
    done = sum(reply.ok for reply in report.servers)
    total = len(report.servers)
    if out is not None:
        lines.append(f"submission {report.submission_id}: {total} sealed files written to {out}; "
                     "hand each server's operator its file (they hold your token: only to "
                     "them)")
    elif report.complete:
        lines.append(f"submission {report.submission_id} ({report.rows} row(s)) is stored at all "
                     f"{total} servers" + (" (it replaces your earlier submission)"
                                           if report.replaced else ""))
    else:
        lines.append(f"submission {report.submission_id} reached {done} of {total} servers, so "
                     "it does not count yet: run the same command again later to complete it "
                     "(the same submission is sent; nothing is counted twice)")
    lines.append(f"keep the folder {report.folder}: its result.key opens your results")
    return lines


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    try:
        consortium = load_config(args.config)
        report = submit_contribution(
            consortium, args.data, _token(args), folder=Path(args.state),
            out=Path(args.out) if args.out else None, attempts=args.attempts,
            first_delay=args.retry_delay, timeout=args.timeout, allow_http=args.insecure_http)
    except (ConfigError, InputError) as error:
        print(f"smpc-bench submit: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except (ContributionError, OSError) as error:
        print(f"smpc-bench submit: {error}", file=sys.stderr)
        return exit_codes.ERROR
    code = exit_codes.OK if report.complete else exit_codes.ERROR
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return code
    lines = _summary(report, args.out)
    if not report.complete:  # the per-server lines say which server; the summary what to do
        print("\n".join(lines[:-2] + lines[-1:]), flush=True)
        print(f"smpc-bench submit: {lines[-2]}", file=sys.stderr)
    elif not args.quiet:
        print("\n".join(lines))
    return code


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``submit``."""
    parser = subparsers.add_parser("submit", help="contribute your figures to an outsourced "
                                   "round", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="the round's consortium TOML file")
    parser.add_argument("--data", required=True, help="your CSV or Excel file")
    parser.add_argument("--token", help=f"your enrolment token (or --token-file, or "
                        f"${TOKEN_VARIABLE})")
    parser.add_argument("--token-file", help="file holding your enrolment token")
    parser.add_argument("--state", default=DEFAULT_FOLDER, help="your contribution folder "
                        f"(default ./{DEFAULT_FOLDER})")
    parser.add_argument("--out", help="write the sealed files to this folder instead of "
                        "uploading (for rounds without a network path)")
    parser.add_argument("--attempts", type=int, default=5,
                        help="requests per server at most (default 5)")
    parser.add_argument("--retry-delay", type=float, default=1.0,
                        help="seconds before the first retry, doubled each time (default 1)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds per request (default 30)")
    parser.add_argument("--insecure-http", action="store_true",
                        help="allow plain-http server urls (local tests only)")
    add_common(parser)
    parser.set_defaults(handler=run)
