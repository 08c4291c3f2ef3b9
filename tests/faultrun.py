"""Real `smpc-bench run` rounds with a fault injected into one party, for tests and benchmarks.

A round is a folder with a consortium file (free loopback ports, a short progress timeout) and
one tiny CSV per firm.  Each party is a real process; the victim gets ``SMPC_BENCH_FAULT``
(see :mod:`smpc_bench.engine.faults`).  :func:`watch` polls every process and records when it
exited or was stopped (SIGSTOP), so that a benchmark can time how long the others took to
stop; tests assert exit codes and messages only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smpc_bench.engine.local_parties import free_base_port

__all__ = ["NAMES", "Party", "Round", "established", "make_round", "watch"]

NAMES = ("Alfa", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta")
#: Phases of a peer round, in order (computing and releasing are one phase).
PHASES = ("connecting", "agreeing on the round spec", "exchanging row counts", "sharing inputs",
          "computing and releasing", "computing private positions", "shutting down")


@dataclass
class Round:
    """The files of one round.

    Attributes:
        folder: Where everything lives.
        config: The consortium file.
        parties: Number of parties.
        ports: Each party's port (on 127.0.0.1 unless ``hosts`` says otherwise).
    """

    folder: Path
    config: Path
    parties: int
    ports: list[int]

    def data(self, index: int) -> Path:
        """Party ``index``'s CSV file."""
        return self.folder / f"firm{index}.csv"

    def report_dir(self, index: int) -> Path:
        """Party ``index``'s report folder."""
        return self.folder / f"report{index}"

    def reports(self, index: int) -> list[Path]:
        """The report files party ``index`` wrote."""
        folder = self.report_dir(index)
        return sorted(folder.glob("report.*")) if folder.is_dir() else []


def make_round(folder: Path, parties: int = 3, *, progress_timeout: int = 5,
               name: str = "fault round", upper: int = 1000, hosts: Sequence[str] | None = None,
               ports: Sequence[int] | None = None, tls: Path | None = None,
               positions: bool = True) -> Round:
    """Write a small round: one KPI, two rows per firm, JSON reports only (less CPU).

    Args:
        folder: Created if needed.
        parties: Number of firms.
        progress_timeout: ``[network] progress_timeout``.
        name: The consortium's name (part of the spec).
        upper: The KPI's upper bound (part of the spec).
        hosts: Each party's host (default 127.0.0.1).
        ports: Each party's port (default: free ones).
        tls: A folder with ``mpyc_ca.crt`` and ``party_{i}.crt``/``.key``: configure TLS.
        positions: Compute private positions (one more phase).
    """
    folder.mkdir(parents=True, exist_ok=True)
    if ports is None:
        base = free_base_port(parties)
        ports = [base + i for i in range(parties)]
    hosts = list(hosts or ["127.0.0.1"] * parties)
    lines = [f'[consortium]\nname = "{name}"\n',
             "[disclosure]\nmin_contributions = 3\nmax_firm_share = 1\n",
             f"[network]\nprogress_timeout = {progress_timeout}\n",
             f"[positions]\nenabled = {'true' if positions else 'false'}\n",
             '[output]\nformats = ["json"]\n',
             f'[[kpis]]\nname = "revenue"\nlower = 0\nupper = {upper}\n'
             'statistics = ["count", "mean", "median"]\n']
    if tls is not None:
        lines.append(f'[tls]\nca = "{tls / "mpyc_ca.crt"}"\n')
    for i in range(parties):
        entry = f'[[parties]]\nname = "{NAMES[i]}"\naddress = "{hosts[i]}:{ports[i]}"\n'
        if tls is not None:
            entry += f'cert = "{tls / f"party_{i}.crt"}"\nkey = "{tls / f"party_{i}.key"}"\n'
        lines.append(entry)
        (folder / f"firm{i}.csv").write_text(f"revenue\n{100 + i}\n{200 + 7 * i}\n",
                                             encoding="utf-8")
    config = folder / "consortium.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return Round(folder, config, parties, list(ports))


@dataclass
class Party:
    """One party process and what became of it."""

    index: int
    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    started: float
    ended: float | None = None
    stopped: float | None = None  # when it was seen stopped (SIGSTOP)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def state(self) -> str:
        """The kernel's process state letter (``T``: stopped), or ``X`` once it is gone."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return "X"
        return stat.rsplit(")", 1)[1].split()[0]


def start(round_: Round, index: int, *, fault: str | None = None, config: Path | None = None,
          extra: Sequence[str] = (), prefix: Sequence[str] = (), tag: str = "",
          env: Mapping[str, str] | None = None, quiet: bool = True) -> Party:
    """Start party ``index`` of ``round_`` (``fault``: its ``SMPC_BENCH_FAULT``)."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("SMPC_BENCH_FAULT")}
    environment["PYTHONUNBUFFERED"] = "1"
    environment.update(env or {})
    if fault is not None:
        environment["SMPC_BENCH_FAULT"] = fault
    out = round_.folder / f"party{index}{tag}.out"
    err = round_.folder / f"party{index}{tag}.err"
    command = [*prefix, sys.executable, "-m", "smpc_bench", "run", "--config",
               str(config or round_.config), "--data", str(round_.data(index)),
               "--party", str(index), "--report-dir", str(round_.report_dir(index)),
               *(["--quiet"] if quiet else []), "--connect-timeout", "30", "--timeout", "120",
               *extra]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                env=environment, cwd=round_.folder)
    return Party(index, proc, out, err, time.monotonic())


def watch(parties: Sequence[Party], *, timeout: float = 90, kill_stopped: bool = True,
          until: Sequence[Party] | None = None) -> None:
    """Wait until every party (or those in ``until``) has exited or is stopped.

    Stopped parties are killed at the end (``kill_stopped``); whatever still runs at the
    ``timeout`` is killed too.  Records :attr:`Party.ended` and :attr:`Party.stopped`.
    """
    awaited = list(until if until is not None else parties)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            for party in parties:
                if party.ended is None and party.proc.poll() is not None:
                    party.ended = now
                elif party.stopped is None and party.ended is None and party.state() == "T":
                    party.stopped = now
            if all(p.ended is not None or p.stopped is not None for p in awaited):
                break
            time.sleep(0.01)
    finally:
        for party in parties:
            if party.proc.poll() is None and (kill_stopped or party.stopped is None
                                              or time.monotonic() >= deadline):
                party.proc.send_signal(signal.SIGKILL)
            try:
                party.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            if party.ended is None:
                party.ended = time.monotonic()


def established(port: int) -> bool:
    """Whether some TCP connection to or from local ``port`` is established (``/proc/net``)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            ports = {int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16)}
            if state == "01" and port in ports:
                return True
    return False


@dataclass
class FaultResult:
    """A round with one fault: every party, the victim, and the others."""

    parties: list[Party]
    victim: int
    others: list[Party] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.others = [p for p in self.parties if p.index != self.victim]

    def describe(self) -> str:
        return "\n".join(f"--- party {p.index}: exit {p.returncode}\n{p.stderr[-1500:]}"
                         for p in self.parties)

    def faulted_at(self) -> float:
        """When the victim died or stopped (by the watcher's clock)."""
        party = self.parties[self.victim]
        when = party.stopped if party.stopped is not None else party.ended
        assert when is not None
        return when

    def stop_time(self) -> float:
        """Seconds from the fault until every other party had exited."""
        return max(p.ended or 0.0 for p in self.others) - self.faulted_at()


def run_with_fault(round_: Round, victim: int, fault: str | None, *, timeout: float = 90,
                   victim_last: bool = False) -> FaultResult:
    """Run every party, ``fault`` in ``victim``; wait for the others; kill what is left.

    With ``fault`` None, a normal round (every party is awaited).

    Args:
        victim_last: Start the victim only once the others are connected among themselves
            (for a fault while ``connecting``: it must die in the middle of connecting).
    """
    others = [i for i in range(round_.parties) if i != victim]
    parties: dict[int, Party] = {}
    for i in others if victim_last else range(round_.parties):
        parties[i] = start(round_, i, fault=fault if i == victim else None)
    if victim_last:
        servers = [round_.ports[i] for i in others[1:]]  # each other party connects upwards
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(established(p) for p in servers):
            time.sleep(0.05)
        parties[victim] = start(round_, victim, fault=fault)
    ordered = [parties[i] for i in range(round_.parties)]
    watch(ordered, timeout=timeout)  # a stopped victim counts as done (then it is killed)
    return FaultResult(ordered, victim)


@dataclass(frozen=True)
class Namespace:
    """A network namespace joined to this host by a veth pair: a "machine" with a cable."""

    name: str
    ns_side: str
    host_ip: str
    ns_ip: str

    def prefix(self) -> list[str]:
        """The command prefix that runs a process inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def pull_cable(self) -> None:
        """Take the namespace's side of the link down (the host's side loses the carrier)."""
        ip("netns", "exec", self.name, "ip", "link", "set", self.ns_side, "down")


def ip(*args: str) -> None:
    """Run ``ip ARGS`` (root), failing on an error."""
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def veth_namespace(tag: int, subnet: int, label: str = "") -> Iterator[Namespace]:
    """A fresh namespace with a /30 veth link to the host (10.<subnet>.<tag>.1 and .2).

    Removed again on exit, whatever happened.  Raises ``subprocess.SubprocessError`` or
    ``OSError`` where namespaces cannot be made (not root, no ``ip``).
    """
    name, host_side, ns_side = (f"smpcb-{label}{tag}", f"smpcb{tag}{label}h",
                                f"smpcb{tag}{label}n")
    space = Namespace(name, ns_side, f"10.{subnet}.{tag}.1", f"10.{subnet}.{tag}.2")
    try:
        ip("netns", "add", name)
        ip("link", "add", host_side, "type", "veth", "peer", "name", ns_side)
        ip("link", "set", ns_side, "netns", name)
        ip("addr", "add", f"{space.host_ip}/30", "dev", host_side)
        ip("link", "set", host_side, "up")
        ip("netns", "exec", name, "ip", "addr", "add", f"{space.ns_ip}/30", "dev", ns_side)
        ip("netns", "exec", name, "ip", "link", "set", ns_side, "up")
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield space
    finally:
        subprocess.run(["ip", "link", "del", host_side], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
