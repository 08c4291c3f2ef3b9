"""LAN against WAN: 3 MPyC parties in separate Linux network namespaces, with real latency.

Builds a private network on this machine (root needed): one namespace per party, each with a
veth pair to a bridge in a router namespace, addresses ``10.77.0.1-3/24`` (router
``10.77.0.254``); nothing is routed anywhere else and every namespace is deleted on exit.  The
parties are :mod:`bench_party` processes started with ``ip netns exec``, talking real TCP over
the veths, and time the same statistics (n = 1,000 by default) in several scenarios:

* ``LAN``: direct connections, no added latency;
* ``RTT 10 ms``, ``RTT 50 ms`` (``--rtts``): every connection gets that round-trip time.

How the latency is added (``--mode``, default ``auto``):

* ``netem``: ``tc qdisc ... netem delay RTT/2`` on every party's interface.  A packet from party
  A to party B leaves through A's qdisc only, so each direction waits RTT/2 and every pair sees
  the full RTT (putting the whole RTT on each side would double it).  Real kernel latency: TCP's
  ACK clocking, windows and retransmissions all see it.
* ``relay`` (automatic when the kernel has no ``sch_netem``, as in some VMs): every connection
  goes through a TCP relay in the router namespace that holds each chunk of bytes for RTT/2 in
  each direction, order kept.  The parties still talk real TCP across namespaces, but each hop
  terminates TCP, so TCP's own reaction to latency (slow start, window limits) is not modelled:
  it is a lower bound for bandwidth-heavy runs, and exact for latency-bound ones.  A ``relay
  0 ms`` scenario shows what the relay hop itself costs.

Each scenario prints party 0's time per statistic (median of ``--repeats``); the table ends
with the rounds (counted in lock-step on the LAN run, :mod:`smpc_bench.costs`) and the
prediction ``T_LAN + rounds * RTT/2``.  Without root, ``ip``, or namespaces, the script says why
and exits 0 (skipped).  ::

    python benchmarks/wan.py                           # n=1000, RTT 10 and 50 ms
    python benchmarks/wan.py --ops quartiles --n 1000 --rtts 50 --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_party import parse_records, party_argv, ranks_available  # noqa: E402

RESULTS = HERE / "results"
SUBNET = "10.77.0"
ROUTER_IP = f"{SUBNET}.254"
PORT = 11365
PARTIES = 3


def party_ip(i: int) -> str:
    return f"{SUBNET}.{i + 1}"


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True)


# --------------------------------------------------------------------------------------------
# The delaying TCP relay (runs inside the router namespace)
# --------------------------------------------------------------------------------------------


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                delay: float) -> None:
    """Forward bytes, each chunk ``delay`` seconds after it arrived, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def release() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    releaser = asyncio.create_task(release())
    while True:
        data = await reader.read(1 << 16)
        queue.put_nowait((loop.time() + delay, data))
        if not data:
            break
    await releaser


async def _relay(listen_ip: str, routes: dict[int, tuple[str, int]], delay: float) -> None:
    async def handle(port: int, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        host, upstream_port = routes[port]
        deadline = time.monotonic() + 120
        while True:  # the party behind may not listen yet (MPyC retries the same way)
            try:
                up_reader, up_writer = await asyncio.open_connection(host, upstream_port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    writer.close()
                    return
                await asyncio.sleep(0.05)
        try:
            await asyncio.gather(_pump(reader, up_writer, delay), _pump(up_reader, writer, delay))
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (writer, up_writer):
                w.close()

    for port in routes:
        await asyncio.start_server(lambda r, w, p=port: handle(p, r, w), listen_ip, port)
    print("RELAY READY", flush=True)
    await asyncio.Event().wait()


def relay_main(argv: list[str]) -> int:
    """``wan.py --relay-serve --listen IP --delay D --route PORT=HOST:PORT ...``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--relay-serve", action="store_true")
    parser.add_argument("--listen", required=True)
    parser.add_argument("--delay", type=float, required=True)
    parser.add_argument("--route", action="append", default=[])
    args = parser.parse_args(argv)
    routes = {}
    for route in args.route:
        port, target = route.split("=")
        host, target_port = target.rsplit(":", 1)
        routes[int(port)] = (host, int(target_port))
    asyncio.run(_relay(args.listen, routes, args.delay))
    return 0


# --------------------------------------------------------------------------------------------
# Namespaces
# --------------------------------------------------------------------------------------------


@dataclass
class Network:
    """Namespaces ``<prefix>r`` (router, bridge) and ``<prefix>0..2`` (parties)."""

    prefix: str
    created: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def router(self) -> str:
        return f"{self.prefix}r"

    def party(self, i: int) -> str:
        return f"{self.prefix}{i}"

    def build(self) -> None:
        r = self.router
        for ns in [r] + [self.party(i) for i in range(PARTIES)]:
            _run("ip", "netns", "add", ns)
            self.created.append(ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        _run("ip", "-n", r, "link", "add", "br0", "type", "bridge")
        for i in range(PARTIES):
            ns = self.party(i)
            _run("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name",
                 f"vb{i}", "netns", r)
            _run("ip", "-n", ns, "addr", "add", f"{party_ip(i)}/24", "dev", "eth0")
            _run("ip", "-n", ns, "link", "set", "eth0", "up")
            _run("ip", "-n", r, "link", "set", f"vb{i}", "master", "br0", "up")
        _run("ip", "-n", r, "addr", "add", f"{ROUTER_IP}/24", "dev", "br0")
        _run("ip", "-n", r, "link", "set", "br0", "up")

    def set_netem(self, one_way_ms: float | None) -> None:
        """Delay every party's outgoing packets (None: remove)."""
        for i in range(PARTIES):
            ns = self.party(i)
            _run("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "eth0", "root",
                 check=False)
            if one_way_ms:
                _run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root",
                     "netem", "delay", f"{one_way_ms}ms", "limit", "100000")

    def start(self, ns: str, argv: list[str]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        self.processes.append(proc)
        return proc

    def stop_processes(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()

    def destroy(self) -> None:
        self.stop_processes()
        for ns in reversed(self.created):
            _run("ip", "netns", "del", ns, check=False)
        self.created.clear()


def probe() -> tuple[str | None, bool]:
    """``(reason to skip or None, netem available)``."""
    if sys.platform != "linux":
        return "not Linux", False
    if os.geteuid() != 0:
        return "network namespaces need root", False
    if shutil.which("ip") is None:
        return "the 'ip' command (iproute2) is missing", False
    name = f"smpcprobe{os.getpid()}"
    try:
        _run("ip", "netns", "add", name)
    except subprocess.CalledProcessError as error:
        return f"cannot create a network namespace: {error.stderr.strip()}", False
    try:
        _run("ip", "-n", name, "link", "set", "lo", "up")
        netem = shutil.which("tc") is not None and _run(
            "ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
            "delay", "1ms", check=False).returncode == 0
    finally:
        _run("ip", "netns", "del", name, check=False)
    return None, netem


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


def run_scenario(net: Network, addresses: Sequence[str], n: int, ops: Sequence[str],
                 repeats: int, timeout: float, rounds: bool) -> list[dict[str, Any]]:
    """Run the parties once with these ``-P`` addresses; return their records."""
    procs = []
    flags = []
    for address in addresses:
        flags += ["-P", address]
    for i in range(PARTIES):
        argv = [sys.executable, *party_argv(n, ops, repeats=repeats, timeout=timeout,
                                            rounds=rounds),
                "-M", str(PARTIES), "-I", str(i), *flags, "--no-log"]
        procs.append(net.start(net.party(i), argv))
    deadline = time.monotonic() + timeout + 30
    outputs = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            net.stop_processes()
            raise RuntimeError("a party did not finish in time") from None
        if proc.returncode != 0:
            net.stop_processes()
            raise RuntimeError(f"a party failed (exit {proc.returncode}):\n{err[-3000:]}")
        outputs.append(out)
    net.processes = [p for p in net.processes if p not in procs]
    return parse_records(outputs)


def start_relay(net: Network, one_way_s: float) -> subprocess.Popen[str]:
    routes = [f"--route={PORT + i}={party_ip(i)}:{PORT + i}" for i in range(1, PARTIES)]
    proc = net.start(net.router, [sys.executable, str(Path(__file__).resolve()), "--relay-serve",
                                  "--listen", ROUTER_IP, "--delay", str(one_way_s), *routes])
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "RELAY READY" not in line:
        detail = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"the relay did not start: {line}{detail}")
    return proc


def stop(proc: subprocess.Popen[str], net: Network) -> None:
    proc.kill()
    proc.wait(timeout=10)
    net.processes = [p for p in net.processes if p is not proc]


def summarize(records: list[dict[str, Any]], op: str) -> dict[str, Any]:
    leader = next(r for r in records if r["party"] == 0)
    entry = leader["ops"][op]
    costs = [r["ops"][op]["runs"][0]["costs"] for r in records]
    rounds = [c["rounds"] for c in costs]
    return {"seconds": entry["seconds_median"], "runs": [r["seconds"] for r in entry["runs"]],
            "exact": entry.get("exact"),
            "rounds": max(rounds) if all(x is not None for x in rounds) else None,
            "bytes_max_party": max(c["bytes_sent"] for c in costs)}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--relay-serve"]:
        return relay_main(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--ops", default="sum,mean,quartiles,ranks")
    parser.add_argument("--rtts", default="10,50", help="round-trip times in ms")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", choices=("auto", "netem", "relay"), default="auto")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    ops = [op for op in args.ops.split(",") if op and (op != "ranks" or ranks_available())]
    rtts = [float(x) for x in args.rtts.split(",") if x]
    reason, netem = probe()
    if reason is not None:
        print(f"wan.py: SKIPPED: {reason}; nothing was measured.")
        return 0
    mode = args.mode if args.mode != "auto" else ("netem" if netem else "relay")
    if mode == "netem" and not netem:
        print("wan.py: SKIPPED: tc netem is not available in this kernel (try --mode relay).")
        return 0
    net = Network(f"smpcw{os.getpid() % 100000}")

    def cleanup(*_: Any) -> None:
        net.destroy()

    atexit.register(cleanup)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    direct = [f"{party_ip(i)}:{PORT + i}" for i in range(PARTIES)]
    relayed = [f"{ROUTER_IP}:{PORT + i}" for i in range(PARTIES)]
    scenarios: list[tuple[str, float]] = [("LAN", 0.0)]
    if mode == "relay":
        scenarios.append(("relay 0 ms", 0.0))
    scenarios += [(f"RTT {rtt:g} ms", rtt) for rtt in rtts]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        net.build()
        print(f"n={args.n}, {PARTIES} parties in namespaces {net.prefix}0-2 ({SUBNET}.0/24), "
              f"latency by {mode}; party 0's median of {args.repeats} run(s)", flush=True)
        for name, rtt in scenarios:
            relay = None
            if name == "LAN":
                addresses = direct
            elif mode == "netem":
                net.set_netem(rtt / 2)
                addresses = direct
            else:
                relay = start_relay(net, rtt / 2000)
                addresses = relayed
            started = time.perf_counter()
            try:
                records = run_scenario(net, addresses, args.n, ops, args.repeats, args.timeout,
                                       rounds=name == "LAN")
            finally:
                if relay is not None:
                    stop(relay, net)
                if mode == "netem":
                    net.set_netem(None)
            results[name] = {op: summarize(records, op) for op in ops}
            print(f"  {name:<12} " + "  ".join(
                f"{op} {results[name][op]['seconds']:.3f} s" for op in ops)
                + f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        net.destroy()
    lan = results["LAN"]
    header = ["statistic", "rounds", *[name for name, _ in scenarios],
              *[f"predicted RTT {rtt:g}" for rtt in rtts]]
    rows = []
    for op in ops:
        rounds = lan[op]["rounds"]
        cells = [op, str(rounds)] + [f"{results[name][op]['seconds']:.3f}"
                                     for name, _ in scenarios]
        for rtt in rtts:
            cells.append("-" if rounds is None
                         else f"{lan[op]['seconds'] + rounds * rtt / 2000:.3f}")
        rows.append(cells)
        if not all(results[name][op]["exact"] for name, _ in scenarios):
            print(f"WRONG RESULT for {op}")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    command = ("python benchmarks/wan.py " + " ".join(argv)).strip()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "wan.json").write_text(json.dumps(
        {"n": args.n, "mode": mode, "rtts_ms": rtts, "repeats": args.repeats,
         "command": command, "results": results}, indent=2) + "\n", encoding="utf-8")
    md = [f"# LAN and WAN, {PARTIES} parties in network namespaces, n = {args.n}", "",
          f"Command: `{command}`; latency added by **{mode}** "
          + ("(tc netem, RTT/2 on each party's interface)." if mode == "netem" else
             "(the kernel has no sch_netem: a TCP relay in the router namespace holds every "
             "chunk RTT/2 per direction; TCP's own reaction to latency is not modelled)."),
          "", "Seconds: party 0's median of " + str(args.repeats) + " run(s); predicted = "
          "LAN + rounds x RTT/2 (rounds counted in lock-step).", "",
          "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    (args.out / "wan.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'wan.md'} and wan.json")
    return 0 if all(results[name][op]["exact"] for name, _ in scenarios for op in ops) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
