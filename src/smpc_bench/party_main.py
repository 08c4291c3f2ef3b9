"""Run one party of a peer-mode statistics round (a process of its own).

Usage (one process per firm; MPyC's upper-case flags set the network)::

    python -m smpc_bench.party_main --config consortium.toml --data mine.csv \\
        -M3 -I0 -P alpha:11365 -P beta:11365 -P gamma:11365 [--ssl]

Prints (or writes with ``--json-out``) one JSON document with everything this party learned.
Exit codes: 0 ok, 1 error (message on stderr), 3 watchdog timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from smpc_bench import driver
from smpc_bench.config import ConfigError, load_config
from smpc_bench.frames import read_table, rows_from_frame
from smpc_bench.kpi import InputError
from smpc_bench.outcome_json import outcome_to_dict
from smpc_bench.peer_round import Timeouts, statistics_round


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smpc_bench.party_main", description=__doc__.split("\n\n")[0], allow_abbrev=False,
        epilog="MPyC's own flags (-M, -I, -P, -B, --ssl, -T, ...) are accepted too.")
    parser.add_argument("--config", required=True, help="consortium TOML file")
    parser.add_argument("--data", required=True, help="this firm's CSV or Excel file")
    parser.add_argument("--json-out", help="write the JSON result here instead of stdout")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="abort the whole run after this many seconds (default 1800)")
    parser.add_argument("--connect-timeout", type=float, default=120.0,
                        help="seconds to wait for the other parties to connect (default 120)")
    parser.add_argument("--allow-single-party", action="store_true",
                        help="allow a 1-party local simulation (no secrecy; for testing)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    # Take our flags out first: MPyC parses sys.argv when its runtime is imported, and it owns
    # -C/--config, so it would read our --config as its own party-configuration file.
    args, mpyc_flags = _parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    sys.argv = [sys.argv[0], *mpyc_flags]
    mpc = driver.runtime()
    try:
        consortium = load_config(args.config)
        rows = rows_from_frame(read_table(args.data), consortium.spec.kpis, source=args.data)
        driver.check_party_count(len(mpc.parties),
                                 allow_local_simulation=args.allow_single_party)
    except (ConfigError, InputError, ValueError) as error:
        print(f"smpc-bench: {error}", file=sys.stderr)
        return 1
    if len(mpc.parties) == 1:
        print("smpc-bench: LOCAL SIMULATION with 1 party: no secret sharing, no secrecy",
              file=sys.stderr)
    timeouts = Timeouts(connect=args.connect_timeout)
    try:
        outcome = driver.run(statistics_round(consortium.spec, rows, timeouts=timeouts),
                             timeout=args.timeout)
    except driver.PartyError as error:
        print(f"smpc-bench: {error}", file=sys.stderr)
        return 1
    text = json.dumps(outcome_to_dict(outcome), indent=2)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
