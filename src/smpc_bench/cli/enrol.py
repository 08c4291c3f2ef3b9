"""``smpc-bench enrol``: one enrolment token per member of an outsourced round.

Writes ``tokens.csv`` (member, token; mode 0600) for the operator to hand each member its own
token privately, and ``tokens.sha256`` (hashes only) for the servers and the round's files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from smpc_bench.cli.common import add_common
from smpc_bench.outsourced.tokens import write_enrolment
from smpc_bench.spec import exit_codes

__all__ = ["add_parser", "run"]


def _names(path: str) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the names file {path}: {error}") from None
    names = [line.strip() for line in lines if line.strip()]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: every name must be unique (one member per line)")
    return names


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    try:
        names = _names(args.names) if args.names else []
        count = args.count if args.count is not None else len(names)
        if not count:
            raise ValueError("say how many tokens: --count N, or --names with one member per "
                             "line")
        secret, hashes = write_enrolment(Path(args.out), count, names)
    except ValueError as error:
        print(f"smpc-bench enrol: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except OSError as error:  # FileExistsError included
        print(f"smpc-bench enrol: {error}", file=sys.stderr)
        return exit_codes.ERROR
    if args.json:
        print(json.dumps({"tokens": count, "secret_file": str(secret),
                          "hash_file": str(hashes)}, indent=2))
    elif not args.quiet:
        print(f"{count} enrolment tokens made:")
        print(f"  {secret}: member and token; hand each member only its own token, privately, "
              "then keep this file offline")
        print(f"  {hashes}: hashes only; give it to every server and with the round's files "
              "(set [outsourced] tokens to it)")
    return exit_codes.OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``enrol``."""
    parser = subparsers.add_parser("enrol", help="make one enrolment token per member "
                                   "(outsourced round)", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, help="number of tokens")
    parser.add_argument("--names", help="text file with one member name per line (labels "
                        "in tokens.csv)")
    parser.add_argument("--out", required=True, help="folder for tokens.csv and tokens.sha256")
    add_common(parser)
    parser.set_defaults(handler=run)
