"""``smpc-bench certs``: a consortium CA and one TLS certificate and key per party.

In peer mode the parties are the firms of ``[[parties]]``; for an outsourced consortium
(``[outsourced]``) they are its compute servers, which use the certificates between each other
in ``smpc-bench compute``.  Either way each certificate is MPyC's for its index (CN ``MPyC party
I``) and names its firm or server as organization.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from smpc_bench.cli.common import add_common
from smpc_bench.inputs.consortium import ConfigError, load_config

__all__ = ["add_parser", "run"]


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    from smpc_bench.inputs.certificates import make_certificates

    parties = args.parties
    organization = "smpc-bench"
    names: tuple[str, ...] | None = None
    servers: tuple[str, ...] | None = None  # an outsourced round: its compute servers' names
    ca_path: Path | None = None
    if args.config:
        consortium = load_config(args.config)
        organization = consortium.spec.name
        if consortium.outsourced is not None:
            ca_path = consortium.tls_ca
            names = servers = tuple(server.name for server in consortium.outsourced.servers)
            if parties and parties != len(servers):
                raise ConfigError(f"--parties {parties} but the configuration lists "
                                  f"{len(servers)} [[outsourced.servers]]; leave --parties out")
            parties = len(servers)
        parties = parties or len(consortium.parties)
        if consortium.parties:
            if parties != len(consortium.parties):
                raise ConfigError(f"--parties {parties} but the configuration lists "
                                  f"{len(consortium.parties)} [[parties]]; leave --parties out")
            names = tuple(party.name for party in consortium.parties)
    if not parties:
        raise ConfigError("say how many parties: --parties N, or --config with [[parties]] "
                          "or [outsourced]")
    written = make_certificates(args.out, parties, organization=organization, days=args.days,
                                names=names)
    if servers is not None:
        return _servers_done(args, written, servers, ca_path)
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


def _servers_done(args: argparse.Namespace, written: list[Path], names: tuple[str, ...],
                  ca_path: Path | None) -> int:
    """Say what was made for an outsourced round's compute servers; returns the exit code."""
    out = Path(args.out)
    if ca_path is None:
        ca_text = ("the consortium file names no [tls] ca: add one, or each server passes "
                   "--ca to `smpc-bench compute`")
    elif ca_path.resolve() == (out / "mpyc_ca.crt").resolve():
        ca_text = "[tls] ca of the consortium file"
    else:
        ca_text = f"put it where [tls] ca of the consortium file expects it: {ca_path}"
    if args.json:
        print(json.dumps({"files": [str(p) for p in written],
                          "servers": [{"index": i, "name": name,
                                       "certificate": str(out / f"party_{i}.crt"),
                                       "key": str(out / f"party_{i}.key")}
                                      for i, name in enumerate(names)],
                          "ca": str(out / "mpyc_ca.crt"),
                          "ca_configured": None if ca_path is None else str(ca_path)},
                         indent=2))
    elif not args.quiet:
        print(f"wrote a CA and {len(names)} server certificates to {args.out}:")
        print("  these are the compute servers' MPyC certificates, for `smpc-bench compute` "
              "between the servers\n  (firms need none); give each server its own, privately:")
        for i, name in enumerate(names):
            print(f"    server {i} ({name}): party_{i}.crt and party_{i}.key "
                  f"(--cert and --key of compute)")
        print(f"  give every server mpyc_ca.crt ({ca_text});\n"
              "  keep mpyc_ca.key offline; never commit any .key file")
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``certs``."""
    certs = subparsers.add_parser("certs", help="make TLS certificates for the parties")
    certs.add_argument("--out", required=True, help="empty folder for the files")
    certs.add_argument("--parties", type=int, help="number of parties")
    certs.add_argument("--config", help="take the parties from this file ([[parties]], or the "
                       "compute servers of [outsourced])")
    certs.add_argument("--days", type=int, default=365, help="validity (default 365 days)")
    add_common(certs)
    certs.set_defaults(handler=run)
