"""Run m MPyC party processes on this machine, with free ports and a deadline.

Used by ``smpc-bench simulate``/``demo`` and by the test-suite.  Each party is started as
``[sys.executable, *args, "-M", m, "-I", i, "-B", base_port, "--no-log"]``: MPyC's own ``-M``
auto-spawn (no ``-I``) is never used, because it discards the children's output and leaves the
parent hanging when a child dies.  The base port is a free range chosen per call, so parallel
runs do not cross-connect.  Whatever happens, every party still running at the end is killed.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: Ports are picked below Linux's default ephemeral range (32768-60999), so that outgoing
#: connections of other processes do not take them between the check and MPyC's bind.
PORT_LOW, PORT_HIGH = 20000, 32000


__all__ = ["PartyResult", "describe", "free_base_port", "is_party", "run_parties"]


@dataclass
class PartyResult:
    """Outcome of one party process."""

    index: int
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    elapsed: float

    @property
    def ok(self) -> bool:
        """Whether the party exited normally with status 0."""
        return self.returncode == 0 and not self.timed_out


def is_party(argv: list[str]) -> bool:
    """Whether a script's command line is one of the parties :func:`run_parties` starts.

    A script that launches its own parties runs as the launcher without ``-I`` and as a party
    with it (``-I i`` or ``--index``).
    """
    return any(a.startswith("-I") or a.startswith("--index") for a in argv)


def _port_free(port: int) -> bool:
    for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 on this host
        with sock:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((address, port))
            except OSError:
                return False
    return True


def free_base_port(m: int, *, attempts: int = 200) -> int:
    """Return a base port b such that ports b, ..., b+m-1 are all free right now."""
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(PORT_LOW, PORT_HIGH - m)
        if all(_port_free(base + i) for i in range(m)):
            return base
    # Fall back on the kernel's choice (an ephemeral port) and its neighbours.
    for _ in range(attempts):
        with socket.socket() as sock:
            sock.bind(("", 0))
            base = int(sock.getsockname()[1])
        if base + m <= 65535 and all(_port_free(base + i) for i in range(m)):
            return base
    raise RuntimeError(f"no {m} consecutive free TCP ports found")


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def describe(results: list[PartyResult]) -> str:
    """Return a readable summary of all parties: exit status and output tails."""
    parts = []
    for r in results:
        status = "TIMED OUT (killed)" if r.timed_out else f"exit code {r.returncode}"
        parts.append(
            f"--- party {r.index}: {status} after {r.elapsed:.1f} s\n"
            f"stdout tail:\n{_tail(r.stdout) or '(empty)'}\n"
            f"stderr tail:\n{_tail(r.stderr) or '(empty)'}"
        )
    return "\n".join(parts)


def run_parties(
    argv_for_party: Callable[[int], list[str]] | list[str],
    m: int,
    *,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    check: bool = True,
) -> list[PartyResult]:
    """Run m MPyC parties on localhost and wait for all of them.

    Args:
        argv_for_party: Arguments after the Python executable (script path and program flags),
            either the same list for every party or a function of the party index.
        m: Number of parties.
        timeout: Seconds allowed for the whole run; parties still running then are killed.
        env: Environment for the parties (default: this process's, plus ``PYTHONUNBUFFERED=1``).
        cwd: Working directory for the parties.
        check: Raise if any party fails or times out.

    Returns:
        One result per party, in index order.

    Raises:
        AssertionError: If ``check`` and a party exited non-zero or was killed at the timeout;
            the message holds every party's exit status and output tails.
    """
    if m < 1:
        raise ValueError("need at least one party")
    base_port = free_base_port(m)
    party_env = dict(os.environ if env is None else env)
    party_env.setdefault("PYTHONUNBUFFERED", "1")
    procs: list[subprocess.Popen[bytes]] = []
    outputs: list[tuple[IO[bytes], IO[bytes]]] = []
    ended_at: list[float | None] = [None] * m
    timed_out = [False] * m
    started = time.monotonic()
    try:
        for i in range(m):
            args = argv_for_party(i) if callable(argv_for_party) else list(argv_for_party)
            cmd = [sys.executable, *args, "-M", str(m), "-I", str(i), "-B", str(base_port)]
            cmd.append("--no-log")
            out_file, err_file = tempfile.TemporaryFile(), tempfile.TemporaryFile()
            outputs.append((out_file, err_file))
            procs.append(
                subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out_file,
                    stderr=err_file,
                    env=party_env,
                    cwd=cwd,
                )
            )
        deadline = started + timeout
        while any(ended_at[i] is None for i in range(m)):
            now = time.monotonic()
            for i, proc in enumerate(procs):
                if ended_at[i] is None and proc.poll() is not None:
                    ended_at[i] = now
            if now >= deadline:
                break
            time.sleep(0.05)
    finally:
        for i, proc in enumerate(procs):
            if proc.poll() is None:
                timed_out[i] = True
                proc.kill()
            elif ended_at[i] is None:
                ended_at[i] = time.monotonic()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    results = []
    for i, (proc, (out, err)) in enumerate(zip(procs, outputs, strict=True)):
        streams = []
        for stream in (out, err):
            stream.seek(0)
            streams.append(stream.read().decode(errors="replace"))
            stream.close()
        end = ended_at[i]
        end = time.monotonic() if end is None else end
        results.append(
            PartyResult(i, proc.returncode, streams[0], streams[1], timed_out[i], end - started)
        )
    if check and not all(r.ok for r in results):
        raise AssertionError(f"MPyC run with {m} parties failed:\n{describe(results)}")
    return results
