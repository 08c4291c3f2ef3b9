"""``smpc-bench serve``: run one compute server's intake service for an outsourced round.

Serves HTTPS with the server's own key and self-signed certificate (``keygen --server I``) at
the address of its configured url (``--listen`` overrides), and stores every accepted
submission in the round's SQLite file (``--db``).  Runs until SIGINT or SIGTERM, then finishes
the uploads in flight and commits them before it exits.  Logs one line per refused upload with
the reason (never a token or a share) on stderr; the status page is at the url's ``/``.

``--import DIR`` instead loads the sealed files of ``smpc-bench submit --out`` meant for this
server into the database, with the same checks as an upload, and exits (rounds without a
network path).  ``--insecure-http`` serves plain HTTP for an ``http://`` url: local tests only.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from smpc_bench.cli.common import add_common
from smpc_bench.inputs.consortium import ConfigError, load_config, parse_address
from smpc_bench.inputs.outsourced_config import ServerEntry, require_outsourced
from smpc_bench.outsourced.keys import (
    KeyFileError,
    load_private_key,
    load_public_key,
    public_key_fingerprint,
)
from smpc_bench.outsourced.store import StoreError
from smpc_bench.spec import exit_codes

__all__ = ["add_parser", "run"]


def _private_key(server: ServerEntry, keys: Path) -> Any:
    path = keys / f"server{server.index}.hpke.key"
    key = load_private_key(path)
    published = public_key_fingerprint(load_public_key(server.public_key))
    if public_key_fingerprint(key.public_key()) != published:
        raise KeyFileError(f"{path} does not belong to the public key {server.public_key} that "
                           "the consortium file names: contributors would seal to another key")
    return key


def _listen(server: ServerEntry, text: str | None) -> tuple[str, int]:
    if text:
        return parse_address(text, "--listen")
    try:
        ipaddress.ip_address(server.host)
        return server.host, server.port
    except ValueError:  # a DNS name: listen on every interface
        return ("127.0.0.1" if server.host == "localhost" else "0.0.0.0"), server.port


def _logging(index: int, debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(asctime)s server {index}: %(message)s",
                                           "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger("aiohttp").setLevel(logging.WARNING)


async def _import(settings: Any, database: Path, folder: Path, args: argparse.Namespace) -> int:
    from smpc_bench.outsourced.intake import Intake, import_folder

    intake = await Intake.open(settings, database)
    try:
        replies = await import_folder(intake, folder)
    finally:
        await intake.close()
    stored = sum(reply.status in (200, 201) for _, reply in replies)
    if args.json:
        print(json.dumps({"imported": stored, "files": [
            {"file": str(path), "status": reply.status, **reply.document}
            for path, reply in replies]}, indent=2))
    else:
        for path, reply in replies:
            what = {201: "stored", 200: "already stored"}.get(
                reply.status, f"refused ({reply.status}): {reply.document.get('error')}")
            print(f"{path.name}: {what}")
        print(f"{stored} of {len(replies)} file(s) for server {settings.server_index} in "
              f"{database}")
    return exit_codes.OK if stored == len(replies) else exit_codes.ERROR


async def _serve(settings: Any, database: Path, host: str, port: int, context: Any,
                 url: str, args: argparse.Namespace) -> None:
    from smpc_bench.outsourced.intake import Intake, run_intake

    log = logging.getLogger("smpc_bench.intake")
    intake = await Intake.open(settings, database)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)

    def ready(bound: int) -> None:
        if args.json:
            print(json.dumps({"event": "ready", "url": url, "listen": f"{host}:{bound}",
                              "round_id": settings.round_id, "server": settings.server_index,
                              "database": str(database)}), flush=True)
        else:
            counts = intake.reader.counts()
            print(f"server {settings.server_index} ({settings.server_name}) serving round "
                  f"{settings.round_name!r}\n  round id {settings.round_id}\n  url {url} "
                  f"(listening on {host}:{bound}{', plain HTTP' if context is None else ''})\n"
                  f"  status page {url}/\n  database {database} ({counts.contributors} "
                  f"contributors so far)\n  deadline {settings.deadline_text}; stop with Ctrl-C",
                  flush=True)

    await run_intake(intake, host=host, port=port, ssl_context=context, stop=stop, ready=ready)
    log.info("stopped; every acknowledged upload is committed to %s", database)


def _run(args: argparse.Namespace) -> int:
    from smpc_bench.outsourced.intake import server_ssl_context, settings_for

    consortium = load_config(args.config)
    server = require_outsourced(consortium).server(args.server)
    keys = Path(args.keys) if args.keys else server.public_key.parent
    settings = settings_for(consortium, server.index, _private_key(server, keys))
    database = Path(args.db or f"server{server.index}-{settings.round_id[:12]}.sqlite")
    if args.import_dir:
        return asyncio.run(_import(settings, database, Path(args.import_dir), args))
    if server.uses_tls == args.insecure_http:
        raise ConfigError(
            f"server {server.index}'s url is {server.url}: " + (
                "--insecure-http serves plain HTTP only for an http:// url (local tests)"
                if server.uses_tls else
                "intake runs over HTTPS; use an https:// url (or --insecure-http for local "
                "tests only)"))
    context = None
    if server.uses_tls:
        key = keys / f"server{server.index}.tls.key"
        if not key.is_file():
            raise KeyFileError(f"TLS key {key} not found (made by keygen --server "
                               f"{server.index}; --keys names its folder)")
        try:
            context = server_ssl_context(server.certificate, key)
        except (OSError, ValueError) as error:
            raise KeyFileError(f"cannot use {server.certificate} with {key}: {error}") from None
    host, port = _listen(server, args.listen)
    try:
        asyncio.run(_serve(settings, database, host, port, context, server.url, args))
    except OSError as error:
        print(f"smpc-bench serve: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        return exit_codes.ERROR
    return exit_codes.OK


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    _logging(args.server, args.debug)
    try:
        return _run(args)
    except (ConfigError, KeyFileError) as error:
        if args.debug:
            raise
        print(f"smpc-bench serve: {error}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except StoreError as error:
        if args.debug:
            raise
        print(f"smpc-bench serve: {error}", file=sys.stderr)
        return exit_codes.ERROR


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve``."""
    parser = subparsers.add_parser("serve", help="run a compute server's intake service "
                                   "(outsourced round)", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="the round's consortium TOML file")
    parser.add_argument("--server", type=int, required=True, metavar="I",
                        help="this server's index in [[outsourced.servers]]")
    parser.add_argument("--db", help="the round's database file (default "
                        "server<I>-<round id>.sqlite here)")
    parser.add_argument("--keys", help="folder of this server's private keys (default: the "
                        "folder of its configured public key)")
    parser.add_argument("--listen", metavar="HOST:PORT",
                        help="address to listen on (default: the url's)")
    parser.add_argument("--import", dest="import_dir", metavar="DIR",
                        help="load the sealed files of `submit --out` for this server and exit")
    parser.add_argument("--insecure-http", action="store_true",
                        help="plain HTTP for an http:// url (local tests only)")
    parser.add_argument("--debug", action="store_true", help="tracebacks and debug logging")
    add_common(parser)
    parser.set_defaults(handler=run)
