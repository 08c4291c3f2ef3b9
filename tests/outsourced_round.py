"""Test helpers for outsourced rounds: a round folder (config, keys, tokens), data, servers.

Used by tests/unit/test_submission.py, tests/integration/test_intake.py and
benchmarks/bench_intake.py.  Every server is a real ``smpc-bench serve`` process on a free
loopback port with a real SQLite file.
"""

from __future__ import annotations

import csv
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from smpc_bench.inputs.consortium import Consortium, load_config
from smpc_bench.outsourced.keys import ServerKeyFiles, make_server_keys
from smpc_bench.outsourced.tokens import write_enrolment

REPO = Path(__file__).resolve().parents[1]

#: Two KPIs; the revenue sum brings the dominance rule in (computed in the wide second field, so
#: the round's main prime stays below 2**64).
KPIS = """
[[kpis]]
name = "revenue"
unit = "EUR"
lower = 0
upper = 5000000
decimals = 0
statistics = ["count", "sum", "mean", "median"]

[[kpis]]
name = "gross_margin"
unit = "%"
lower = -20
upper = 100
decimals = 1
statistics = ["count", "q1", "median", "q3"]
"""

#: One KPI without sums: a prime below 2**64 (shares are plain uint64).
SMALL_KPIS = """
[[kpis]]
name = "gross_margin"
unit = "%"
lower = 0
upper = 100
decimals = 1
statistics = ["count", "median"]
"""

#: One KPI so wide (offsets of 48 bits) that the main prime exceeds 2**64: shares travel as two
#: 64-bit limbs.
WIDE_KPIS = """
[[kpis]]
name = "assets"
unit = "EUR"
lower = 0
upper = 200000000000000
decimals = 0
statistics = ["count", "median"]
"""


def cli(name: str, *args: str) -> list[str]:
    """The command line running ``smpc-bench <name> <args>`` in a fresh interpreter."""
    return [sys.executable, "-m", "smpc_bench.cli.main", name, *args]


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Round:
    """A round folder on disk."""

    folder: Path
    config: Path
    tokens: list[str]
    ports: list[int]
    scheme: str = "https"
    servers: list[subprocess.Popen[str]] = field(default_factory=list)

    def consortium(self) -> Consortium:
        return load_config(self.config)

    def keys(self, index: int) -> ServerKeyFiles:
        return ServerKeyFiles(self.folder / "keys", index)

    def url(self, index: int) -> str:
        return f"{self.scheme}://127.0.0.1:{self.ports[index]}"

    def database(self, index: int) -> Path:
        return self.folder / f"server{index}.sqlite"


def make_round(folder: Path, *, servers: int = 3, tokens: int = 10,
               deadline: str = "2099-12-31T23:00:00Z", max_rows: int = 1, kpis: str = KPIS,
               scheme: str = "https", name: str = "Test outsourced round",
               extra: str = "") -> Round:
    """Write a consortium file, every server's keys and the enrolment files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ports = [free_port() for _ in range(servers)]
    server_tables = "".join(
        f'\n[[outsourced.servers]]\nname = "Server {chr(65 + i)}"\n'
        f'url = "{scheme}://127.0.0.1:{ports[i]}"\naddress = "127.0.0.1:{free_port()}"\n'
        f'public_key = "keys/server{i}.hpke.pub"\ncertificate = "keys/server{i}.tls.crt"\n'
        for i in range(servers))
    config = folder / "consortium.toml"
    config.write_text(
        f'[consortium]\nname = "{name}"\n\n[disclosure]\nmin_contributions = 3\n{extra}\n'
        f'[outsourced]\ndeadline = "{deadline}"\nmax_rows = {max_rows}\n'
        f'tokens = "enrolment/tokens.sha256"\n{server_tables}\n{kpis}', encoding="utf-8")
    for i in range(servers):
        make_server_keys(folder / "keys", i, name=f"Server {chr(65 + i)}", host="127.0.0.1")
    secret, _ = write_enrolment(folder / "enrolment", tokens)
    with secret.open(encoding="utf-8") as file:
        token_list = [row["token"] for row in csv.DictReader(file)]
    return Round(folder, config, token_list, ports, scheme)


def random_rows(rng: np.random.Generator, count: int, rows: int = 1
                ) -> list[list[list[str | None]]]:
    """``count`` contributions of ``rows`` rows of (revenue, gross_margin) as checked cells.

    Text as in a CSV file, None for a missing cell (about one margin in ten).
    """
    out = []
    for _ in range(count):
        contribution = []
        for _ in range(rows):
            margin = None if rng.random() < 0.1 else f"{rng.integers(-200, 1001) / 10:.1f}"
            contribution.append([str(int(rng.integers(0, 5_000_001))), margin])
        out.append(contribution)
    return out


def write_csv(path: Path, rows: list[list[str | None]] | list[list[str]],
              header: tuple[str, ...] = ("revenue", "gross_margin")) -> Path:
    """A firm's CSV file."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def spawn_server(round_: Round, index: int, *extra: str,
                 database: Path | None = None) -> subprocess.Popen[str]:
    """Start ``smpc-bench serve`` for server ``index`` (see :func:`wait_ready`)."""
    log = (round_.folder / f"server{index}.log").open("a", encoding="utf-8")
    args = ["--config", str(round_.config), "--server", str(index), "--db",
            str(database or round_.database(index)), "--json", *extra]
    if round_.scheme == "http":
        args.append("--insecure-http")
    process = subprocess.Popen(cli("serve", *args), stdout=subprocess.PIPE, stderr=log,
                               text=True, cwd=round_.folder,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    log.close()
    return process


def wait_ready(round_: Round, index: int, process: subprocess.Popen[str],
               timeout: float = 60.0) -> subprocess.Popen[str]:
    """Wait for the server's ``ready`` line; raise with its log if it does not come."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if line.startswith("{"):
                event: dict[str, Any] = json.loads(line)
                if event.get("event") == "ready":
                    round_.servers.append(process)
                    return process
        if process.poll() is not None:
            break
    process.kill()
    process.wait()
    raise RuntimeError(f"server {index} did not start:\n{server_log(round_, index)}")


def start_server(round_: Round, index: int, *extra: str, timeout: float = 60.0,
                 database: Path | None = None) -> subprocess.Popen[str]:
    """Start ``smpc-bench serve`` for server ``index``; return once it listens."""
    return wait_ready(round_, index, spawn_server(round_, index, *extra, database=database),
                      timeout)


def start_servers(round_: Round, indices: list[int] | None = None) -> list[subprocess.Popen[str]]:
    """Start several servers at once (they import in parallel); return once all listen."""
    indices = list(range(len(round_.ports))) if indices is None else indices
    processes = [spawn_server(round_, i) for i in indices]
    return [wait_ready(round_, i, p) for i, p in zip(indices, processes, strict=True)]


def server_log(round_: Round, index: int) -> str:
    path = round_.folder / f"server{index}.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def stop_server(process: subprocess.Popen[str], *, kill: bool = False,
                timeout: float = 20.0) -> int:
    """Stop a server (SIGTERM, or SIGKILL with ``kill``); its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
    return int(process.returncode)


def stop_all(round_: Round) -> None:
    for process in round_.servers:
        stop_server(process)
    round_.servers.clear()
