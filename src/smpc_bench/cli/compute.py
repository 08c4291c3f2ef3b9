r"""``smpc-bench compute``: be one compute server of an outsourced round at the deadline.

Every server runs it with the same consortium file, its own index, store and keys::

    smpc-bench compute --config round.toml --server 0 --db server0.sqlite \\
        --keys keys --cert mpc/party_0.crt --key mpc/party_0.key --out published

The servers connect to each other as MPyC parties at the ``address`` of each
``[[outsourced.servers]]`` entry, with MPyC's mutual TLS: every server holds a certificate with
subject ``MPyC party <index>`` signed by one CA that every server trusts.  Make them once for
the round with ``smpc-bench certs --config consortium.toml --out mpc`` (the CA flow of peer
mode, one certificate per server, named after it; the CA key is then kept offline) and give
server ``i`` its ``party_i.crt``/``party_i.key`` and everyone
``mpyc_ca.crt`` (``--ca``, or ``[tls] ca`` in the consortium file).  ``--no-tls`` switches TLS
between the servers off and is refused unless every server address is a loopback address (tests
on one machine only).  The HPKE private key is ``server<I>.hpke.key`` in ``--keys`` (default:
the folder of the server's ``public_key``).

If a server dies during the computation, the others stop with exit code 4 and a message; the
recovery is to run ``compute`` again on every server: each starts afresh from its store, and
nobody resubmits.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import ipaddress
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from smpc_bench.cli.common import add_common, say
from smpc_bench.inputs.consortium import ConfigError, Consortium, load_config
from smpc_bench.inputs.outsourced_config import (
    OutsourcedSettings,
    require_outsourced,
    round_threshold,
)
from smpc_bench.inputs.tls import TlsFiles
from smpc_bench.spec import exit_codes

__all__ = ["add_parser", "mpc_flags", "run"]


def _is_loopback(host: str) -> bool:
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def mpc_flags(settings: OutsourcedSettings, server: int, threshold: int, *, tls: bool
              ) -> list[str]:
    """MPyC's command line for server ``server``: ``-I``, one ``-P`` per server, ``-T``."""
    flags = ["-I", str(server)]
    for entry in settings.servers:
        flags += ["-P", entry.address]
    flags += ["-T", str(threshold), "--no-log"]
    if tls:
        flags.append("--ssl")
    return flags


def _tls_files(args: argparse.Namespace, consortium: Consortium) -> TlsFiles | None:
    ca = Path(args.ca) if args.ca else consortium.tls_ca
    given = {"--cert": args.cert, "--key": args.key, "--ca (or [tls] ca)": ca}
    if all(value is None for value in given.values()):
        return None  # MPyC's own layout: .config/ in the working directory (checked there)
    missing = [flag for flag, value in given.items() if value is None]
    if missing:
        raise ConfigError(f"TLS between the servers needs {', '.join(missing)} too: this "
                          "server's MPyC certificate and key (smpc-bench certs) and the CA "
                          "certificate every server trusts")
    assert ca is not None
    return TlsFiles(Path(args.cert).resolve(), Path(args.key).resolve(), Path(ca).resolve())


def _database(args: argparse.Namespace, consortium: Consortium) -> Path:
    if args.db:
        return Path(args.db).resolve()
    from smpc_bench.inputs.outsourced_config import round_id

    return Path(f"server{args.server}-{round_id(consortium)[:12]}.sqlite").resolve()


def _hpke_key(args: argparse.Namespace, settings: OutsourcedSettings) -> Path:
    from smpc_bench.outsourced.keys import ServerKeyFiles

    if args.hpke_key:
        return Path(args.hpke_key).resolve()
    folder = Path(args.keys) if args.keys else settings.server(args.server).public_key.parent
    return ServerKeyFiles(folder, args.server).hpke_key.resolve()


def _check_deadline(settings: OutsourcedSettings, early: bool) -> None:
    if early:
        return
    now = datetime.datetime.now(datetime.UTC)
    if now < settings.deadline:
        raise ConfigError(f"the round's deadline ({settings.deadline_text()}) has not passed: "
                          "submissions may still arrive. Wait for it, or pass "
                          "--before-deadline to compute over what has arrived so far")


def _exit_code(error: BaseException) -> int:
    from smpc_bench.engine import driver
    from smpc_bench.outsourced.compute import ComputeError

    if isinstance(error, ComputeError):
        return error.exit_code
    if isinstance(error, driver.PartyTimeoutError):
        return exit_codes.ERROR if error.phase == "connecting" else exit_codes.PARTY_STALLED
    if isinstance(error, driver.PartyError):  # lost, stalled, refused: each has its code
        return error.exit_code
    if isinstance(error, ConfigError):
        return exit_codes.BAD_INPUT
    return exit_codes.ERROR


def _summary_text(summary: Any, server: str) -> str:
    lines = [f"{server}: round computed (run {summary.run}): {summary.counted} contributions "
             f"counted, {summary.not_counted} held here did not"]
    for kpi in summary.outcome["kpis"]:
        released = [f"{name} {item['value']}" for name, item in kpi["statistics"].items()
                    if item["value"] is not None]
        lines.append(f"  {kpi['name']}: {kpi['count']} valid, {kpi['rejected']} rejected; "
                     + (", ".join(released) or "nothing released"))
    if summary.outcome_file is not None:
        lines.append(f"  outcome written to {summary.outcome_file}")
    return "\n".join(lines)


def _quiet_asyncio_errors(log_file: Path | None) -> None:
    """MPyC raises lost connections inside asyncio callbacks: keep them off the screen."""
    from smpc_bench.engine import driver

    def handler(loop: Any, context: dict[str, Any]) -> None:
        if log_file is not None:
            with log_file.open("a", encoding="utf-8") as file:
                file.write(f"{datetime.datetime.now(datetime.UTC).isoformat()} "
                           f"{context.get('message', '')}: {context.get('exception')!r}\n")

    driver.runtime()._loop.set_exception_handler(handler)


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    progress = f"[server {args.server}]"
    try:
        consortium = load_config(args.config)
        settings = require_outsourced(consortium)
        name = settings.server(args.server).name
        _check_deadline(settings, args.before_deadline)
        threshold = round_threshold(consortium)
        if args.no_tls:
            remote = [e.address for e in settings.servers
                      if not _is_loopback(e.address.rpartition(":")[0])]
            if remote:
                raise ConfigError(f"--no-tls is for tests on one machine only, but server "
                                  f"address(es) {', '.join(remote)} are not loopback: the "
                                  "servers exchange shares, which must travel encrypted")
        tls_files = None if args.no_tls else _tls_files(args, consortium)
        hpke_key = _hpke_key(args, settings)
        store = _database(args, consortium)
        out = Path(args.out).resolve() if args.out else None
        log_file = Path(args.log_file).resolve() if args.log_file else None
    except (ConfigError, ValueError, FileNotFoundError) as error:
        print(f"smpc-bench compute: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    # MPyC's flags go into sys.argv before anything imports mpyc (its import reads them).
    sys.argv = [sys.argv[0], *mpc_flags(settings, args.server, threshold, tls=not args.no_tls)]
    from smpc_bench.engine import driver

    driver.runtime()  # parses the flags above (and sets up MPyC's logging), once

    from smpc_bench.core.release import Timeouts
    from smpc_bench.inputs.tls import mpyc_tls_layout
    from smpc_bench.outsourced.compute import ComputeJob, compute_round

    job = ComputeJob(
        consortium, args.server, store, hpke_key, out,
        Timeouts(connect=args.connect_timeout, exchange=args.phase_timeout,
                 compute=args.compute_timeout),
        say=lambda text: say(args.quiet, f"{progress} {text}"), costs=args.costs)
    say(args.quiet, f"{progress} {consortium.spec.name}: {name}, server {args.server} of "
                    f"{len(settings.servers)}, threshold {threshold}"
                    f"{'' if args.no_tls else ', TLS between the servers'}")
    try:
        if not args.debug:
            _quiet_asyncio_errors(log_file)
        layout = (contextlib.nullcontext() if args.no_tls
                  else mpyc_tls_layout(tls_files, args.server))
        with layout:
            summary = compute_round(job, timeout=args.timeout)
    except Exception as error:  # noqa: BLE001 - one clear line, the detail only with --debug
        if args.debug:
            traceback.print_exc()
        if log_file is not None:
            with log_file.open("a", encoding="utf-8") as file:
                traceback.print_exc(file=file)
        code = _exit_code(error)
        print(f"smpc-bench compute: {error}", file=sys.stderr, flush=True)
        return code
    if args.json:
        print(json.dumps({"run": summary.run, "counted": summary.counted,
                          "not_counted": summary.not_counted,
                          "outcome_file": None if summary.outcome_file is None
                          else str(summary.outcome_file),
                          "timings": [{"phase": p, "seconds": round(s, 4)}
                                      for p, s in summary.timings]}, indent=2))
    elif not args.quiet:
        print(_summary_text(summary, name))
    return exit_codes.OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``compute``."""
    parser = subparsers.add_parser(
        "compute", help="be one compute server of an outsourced round (after the deadline)",
        description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="the round's consortium file")
    parser.add_argument("--server", type=int, required=True,
                        help="this server's index in [[outsourced.servers]] (from 0)")
    parser.add_argument("--db", help="this server's database of the round, as `smpc-bench "
                        "serve` filled it (default server<I>-<round id>.sqlite here)")
    parser.add_argument("--keys", help="folder with this server's server<I>.hpke.key (default: "
                        "the folder of its public_key in the consortium file)")
    parser.add_argument("--hpke-key", help="this server's HPKE private key file (overrides "
                        "--keys)")
    parser.add_argument("--out", help="folder to write outcome.json into")
    parser.add_argument("--cert", help="this server's MPyC TLS certificate (CN 'MPyC party I')")
    parser.add_argument("--key", help="this server's MPyC TLS private key")
    parser.add_argument("--ca", help="the CA certificate of the servers' MPyC certificates "
                        "(default: [tls] ca of the consortium file)")
    parser.add_argument("--no-tls", action="store_true",
                        help="no TLS between the servers: only for tests on one machine "
                             "(refused unless every server address is a loopback address)")
    parser.add_argument("--before-deadline", action="store_true",
                        help="compute although the deadline has not passed (later "
                             "submissions do not count)")
    parser.add_argument("--connect-timeout", type=float, default=300.0,
                        help="seconds to wait for the other servers to connect (default 300)")
    parser.add_argument("--phase-timeout", type=float, default=120.0,
                        help="seconds allowed for each exchange between the servers "
                             "(default 120)")
    parser.add_argument("--compute-timeout", type=float, default=3600.0,
                        help="seconds allowed for each computing phase (default 3600)")
    parser.add_argument("--timeout", type=float, default=7200.0,
                        help="abort the whole run after this many seconds (default 7200)")
    parser.add_argument("--costs", action="store_true",
                        help="record the deterministic costs (rounds, bytes, openings) in "
                             "outcome.json; every server must pass it")
    parser.add_argument("--log-file", help="append error details (tracebacks) to this file")
    parser.add_argument("--debug", action="store_true", help="print tracebacks on errors")
    add_common(parser)
    parser.set_defaults(handler=run)
