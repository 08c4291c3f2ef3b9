"""``smpc-bench keygen``: make keys.

* ``keygen --server I --config C --out DIR``: compute server ``I`` of an outsourced round makes,
  on its own machine, its HPKE key pair (contributors seal its shares to the public key) and
  its TLS key with a self-signed certificate for its intake URL (contributors pin it).
  Private keys are written with mode 0600 and are never overwritten.
* ``keygen --out DIR [--parties N | --config C]`` (no ``--server``): exactly what
  ``smpc-bench certs`` makes: a consortium CA and one TLS certificate and key per party.  The
  parties are the firms of ``[[parties]]`` (peer mode) or, for a consortium with
  ``[outsourced]``, its compute servers (their MPyC certificates for ``smpc-bench compute``,
  each naming its server).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from smpc_bench.cli.common import add_common
from smpc_bench.inputs.consortium import ConfigError, load_config
from smpc_bench.inputs.outsourced_config import require_outsourced
from smpc_bench.outsourced.keys import make_server_keys
from smpc_bench.spec import exit_codes

__all__ = ["add_parser", "run"]


def _server_keys(args: argparse.Namespace) -> int:
    if not args.config:
        raise ConfigError("keygen --server needs --config (the consortium file names the "
                          "server and its url)")
    consortium = load_config(args.config)
    server = require_outsourced(consortium).server(args.server)
    files = make_server_keys(Path(args.out), server.index, name=server.name, host=server.host,
                             days=args.days)
    moved = [f"{configured} (the configuration) vs {written}"
             for configured, written in ((server.public_key, files.hpke_pub),
                                         (server.certificate, files.tls_crt))
             if configured.resolve() != written.resolve()]
    if args.json:
        print(json.dumps({"server": server.index, "name": server.name,
                          "private": [str(files.hpke_key), str(files.tls_key)],
                          "public": [str(files.hpke_pub), str(files.tls_crt)],
                          "copy_needed": moved}, indent=2))
        return exit_codes.OK
    if not args.quiet:
        print(f"server {server.index} ({server.name}): keys written to {args.out}")
        print(f"  keep on this server only: {files.hpke_key.name}, {files.tls_key.name} "
              "(never copy or commit them)")
        print(f"  publish to the consortium: {files.hpke_pub.name}, {files.tls_crt.name} "
              f"(certificate for {server.host})")
        for line in moved:
            print(f"  copy the public file to where the configuration expects it: {line}")
    return exit_codes.OK


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    try:
        if args.server is None:
            from smpc_bench.cli import certs

            return certs.run(args)
        return _server_keys(args)
    except ConfigError as error:
        print(f"smpc-bench keygen: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except (FileExistsError, OSError, ValueError) as error:
        print(f"smpc-bench keygen: {error}", file=sys.stderr)
        return exit_codes.ERROR


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``keygen``."""
    parser = subparsers.add_parser(
        "keygen", help="make a compute server's keys (--server I), or the parties' TLS "
        "certificates", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", type=int, metavar="I",
                        help="make compute server I's HPKE and TLS keys (outsourced round)")
    parser.add_argument("--config", help="consortium TOML file")
    parser.add_argument("--out", required=True, help="folder for the files (created if needed)")
    parser.add_argument("--parties", type=int, help="without --server: number of parties "
                        "(default: from --config, its [[parties]] or compute servers)")
    parser.add_argument("--days", type=int, default=365,
                        help="certificate validity (default 365 days)")
    add_common(parser)
    parser.set_defaults(handler=run)
