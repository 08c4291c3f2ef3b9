"""smpc-bench: industry benchmarks with secure multi-party computation (the command line).

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
* ``keygen``: a consortium CA and TLS certificates per party (``certs`` is the same), or with
  ``--server I`` one compute server's key pairs for an outsourced round.
* ``enrol``, ``submit``, ``serve``, ``compute``, ``fetch-result``: an outsourced round, in the
  order it runs (one token per member; a firm submits and leaves; each server collects; the
  servers compute at the deadline; each firm fetches its own results).

Every subcommand takes ``--quiet`` (no progress lines) and ``--json`` (machine-readable output
on stdout).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from smpc_bench.cli.common import BAD_INPUT_ERRORS, USER_ERRORS
from smpc_bench.spec import exit_codes

__all__ = ["SUBCOMMANDS", "main"]

#: Every subcommand and its module in ``smpc_bench.cli``, in the order ``--help`` lists them;
#: each module has ``add_parser`` (registering its arguments and ``handler``) and ``run``.
#: ``run`` is the party program, which parses its own command line (MPyC's flags follow).
SUBCOMMANDS: dict[str, str] = {
    "demo": "demo", "simulate": "simulate", "check": "check", "run": "run",
    "keygen": "keygen", "certs": "certs",  # keys and certificates
    # an outsourced round, in the order it runs
    "enrol": "enrol", "submit": "submit", "serve": "serve", "compute": "compute",
    "fetch-result": "fetch_result",
}


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``only``, just that subcommand's module is imported.

    Importing one subcommand's module keeps ``check`` free of the MPC and server code the
    others need (and starts faster).
    """
    parser = argparse.ArgumentParser(prog="smpc-bench", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, module_name in SUBCOMMANDS.items():
        if only is not None and name != only:
            continue
        if name == "run":
            commands.add_parser("run", help="be one firm of a real round (MPyC flags follow; "
                                "see `smpc-bench run --help`)", add_help=False)
            continue
        module = importlib.import_module(f"smpc_bench.cli.{module_name}")
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        from smpc_bench.cli import run as party_main

        return party_main.main(argv[1:], prog="smpc-bench run", default_reports=True,
                               description="Be one firm of a benchmarking round.")
    args = _parser(argv[0] if argv and argv[0] in SUBCOMMANDS else None).parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # the reader went away (`smpc-bench check ... | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exit_codes.OK
    except BAD_INPUT_ERRORS as error:
        print(f"smpc-bench: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except USER_ERRORS as error:
        print(f"smpc-bench: {error}", file=sys.stderr)
        return exit_codes.ERROR


if __name__ == "__main__":
    sys.exit(main())
