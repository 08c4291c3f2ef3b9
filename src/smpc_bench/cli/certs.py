"""``smpc-bench certs``: a consortium CA and one TLS certificate and key per party."""

from __future__ import annotations

import argparse
import json

from smpc_bench.cli.common import add_common
from smpc_bench.inputs.consortium import ConfigError, load_config

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    from smpc_bench.inputs.certificates import make_certificates

    parties = args.parties
    organization = "smpc-bench"
    names: tuple[str, ...] | None = None
    if args.config:
        consortium = load_config(args.config)
        parties = parties or len(consortium.parties)
        organization = consortium.spec.name
        if consortium.parties:
            if parties != len(consortium.parties):
                raise ConfigError(f"--parties {parties} but the configuration lists "
                                  f"{len(consortium.parties)} [[parties]]; leave --parties out")
            names = tuple(party.name for party in consortium.parties)
    if not parties:
        raise ConfigError("say how many parties: --parties N, or --config with [[parties]]")
    written = make_certificates(args.out, parties, organization=organization, days=args.days,
                                names=names)
    if args.json:
        print(json.dumps({"files": [str(p) for p in written]}, indent=2))
    elif not args.quiet:
        print(f"wrote a CA and {parties} party certificates to {args.out}:")
        print("  give firm i its party_i.crt and party_i.key (privately) and everyone "
              "mpyc_ca.crt;\n  keep mpyc_ca.key offline; never commit any .key file")
        if names is None:
            print("  these certificates name no firm: a round whose consortium file lists "
                  "[[parties]] refuses them; make them with --config")
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``certs``."""
    certs = subparsers.add_parser("certs", help="make TLS certificates for the parties")
    certs.add_argument("--out", required=True, help="empty folder for the files")
    certs.add_argument("--parties", type=int, help="number of parties")
    certs.add_argument("--config", help="take the number of parties from this file")
    certs.add_argument("--days", type=int, default=365, help="validity (default 365 days)")
    add_common(certs)
    certs.set_defaults(handler=run)
