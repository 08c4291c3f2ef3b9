"""Benchmark: a whole outsourced round on this machine, uploads to every contributor's fetch.

Plays ``--contributors`` firms (one row each, ``--kpis`` KPIs, ``--missing`` of the cells
empty, many ties) of a round with three compute servers on localhost:

1. **prepare** (each contributor's own machine; not part of the round's time): encode, split
   into Shamir shares and seal to every server, exactly as ``smpc-bench submit`` does;
2. **intake**: every contributor uploads to the three ``smpc-bench serve`` processes over HTTPS
   (pinned certificates), ``--concurrency`` contributors at a time;
3. **compute**: ``smpc-bench compute`` on the three servers as MPyC parties over TLS: reading
   the store, agreeing on the counted submissions, the in-MPC input checks, statistics and
   disclosure rules, every private position (oblivious shuffle-sort), sealing the results;
4. **fetch**: every contributor fetches the outcome and its sealed result share from every
   server and recombines its positions (:func:`smpc_bench.outsourced.results.combine`),
   ``--concurrency`` at a time; a sample of ``--reports`` contributors also builds its report.

Every released statistic is checked against :mod:`statistics` over the exact values and every
position against the plaintext ranks; a difference gives exit status 1.  Peak memory (RSS) of
each compute server comes from ``wait4``, of each intake server from ``/proc``.

    .venv/bin/python benchmarks/bench_outsourced.py --contributors 10000 --kpis 10
    .venv/bin/python benchmarks/bench_outsourced.py --contributors 100000 --kpis 1

The last line is ``outsourced_round_seconds=<intake+compute+fetch> contributors=<n> kpis=<k>``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SERVERS = 3
NAMES = ("Statistics office", "University lab", "Trade association")
STATISTICS = '["count", "mean", "stdev", "p10", "q1", "median", "q3", "p90"]'
def command(name: str, *args: str) -> list[str]:
    """``smpc-bench <name> args`` as a process (the real command line)."""
    return [sys.executable, "-m", "smpc_bench.cli.main", name, *args]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                      env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ------------------------------------------------------------------------------ the round


def write_round(folder: Path, contributors: int, kpis: int, share: str
                ) -> tuple[Path, list[str]]:
    from smpc_bench.engine.local_parties import free_base_port
    from smpc_bench.inputs.certificates import make_certificates
    from smpc_bench.outsourced.keys import make_server_keys
    from smpc_bench.outsourced.tokens import write_enrolment

    http = free_base_port(SERVERS)
    mpc = free_base_port(SERVERS)
    while abs(mpc - http) < SERVERS:
        mpc = free_base_port(SERVERS)
    secrets_file, _ = write_enrolment(folder / "enrolment", contributors)
    with secrets_file.open(encoding="utf-8") as file:
        tokens = [line.rstrip("\n").split(",")[1] for line in file][1:]
    text = ['[consortium]\nname = "Outsourced benchmark"\n\n[tls]\nca = "mpc/mpyc_ca.crt"\n\n'
            f'[disclosure]\nmax_firm_share = {share}\n']
    for k in range(kpis):
        # Percentages with one decimal (10-bit values): the field stays below 2**64 with a
        # standard deviation even at 100,000 contributors.
        text.append(f'[[kpis]]\nname = "kpi{k}"\nunit = "%"\nlower = 0\nupper = 100\n'
                    f'decimals = 1\nhigher_is_better = {"true" if k % 2 == 0 else "false"}\n'
                    f'statistics = {STATISTICS}\n')
    text.append('[outsourced]\ndeadline = "2099-12-31T23:00:00Z"\nmax_rows = 1\n'
                'tokens = "enrolment/tokens.sha256"\n')
    for i in range(SERVERS):
        text.append(f'[[outsourced.servers]]\nname = "{NAMES[i]}"\n'
                    f'url = "https://127.0.0.1:{http + i}"\naddress = "127.0.0.1:{mpc + i}"\n'
                    f'public_key = "keys/server{i}.hpke.pub"\n'
                    f'certificate = "keys/server{i}.tls.crt"\n')
    config = folder / "round.toml"
    config.write_text("\n".join(text), encoding="utf-8")
    for i in range(SERVERS):
        make_server_keys(folder / "keys", i, name=NAMES[i], host="127.0.0.1")
    make_certificates(folder / "mpc", SERVERS)
    return config, tokens


def simulate(rng: np.random.Generator, n: int, kpis: int, missing: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(K, n)`` in tenths of a percent (0..1000), half of them on a coarse grid."""
    fine = rng.integers(0, 1001, (kpis, n))
    coarse = (fine // 50) * 50
    offsets = np.where(rng.random((kpis, n)) < 0.5, coarse, fine)
    valid = (rng.random((kpis, n)) >= missing).astype(np.int64)
    valid[0, valid.sum(axis=0) == 0] = 1  # every row has a value
    return offsets * valid, valid


_WORKER: dict[str, Any] = {}


def _worker_start(config: str) -> None:
    from smpc_bench.inputs.consortium import load_config
    from smpc_bench.outsourced.submission import RoundContext

    _WORKER["context"] = RoundContext.load(load_config(config))


def _seal_chunk(job: tuple[np.ndarray, np.ndarray, list[str], list[str]]) -> list[list[bytes]]:
    """The upload bodies of a chunk of contributors, as each contributor's ``submit`` makes them."""
    from smpc_bench.outsourced.envelope import SUBMISSION, seal_for
    from smpc_bench.outsourced.payload import pack_shares
    from smpc_bench.outsourced.splitting import split_contribution
    from smpc_bench.spec.encoding import encode_digits

    offsets, valid, pems, submission_ids = job
    context = _WORKER["context"]
    spec = context.consortium.spec
    digits = encode_digits(offsets, context.sizing.value_bits, spec.radix_bits)
    shares = split_contribution(digits, valid, context.prime, SERVERS, context.threshold)
    bodies = []
    for j, (pem, submission_id) in enumerate(zip(pems, submission_ids, strict=True)):
        per_server = []
        for index, (digit_shares, valid_shares) in enumerate(shares):
            sealed = seal_for(context.public_keys[index],
                              pack_shares(digit_shares[:, j], valid_shares[:, j:j + 1],
                                          context.prime),
                              purpose=SUBMISSION, round_id=context.round_id, server_index=index,
                              submission_id=submission_id)
            per_server.append(json.dumps({
                "version": 1, "round_id": context.round_id, "server_index": index,
                "submission_id": submission_id, "rows": 1, "result_public_key": pem,
                "sealed": base64.b64encode(sealed).decode("ascii")},
                separators=(",", ":")).encode())
        bodies.append(per_server)
    return bodies


def prepare(config: Path, offsets: np.ndarray, valid: np.ndarray, pems: list[str],
            submission_ids: list[str], workers: int) -> list[list[bytes]]:
    n = offsets.shape[1]
    step = max(1, min(2000, -(-n // (4 * workers))))
    jobs = [(offsets[:, s:s + step], valid[:, s:s + step], pems[s:s + step],
             submission_ids[s:s + step]) for s in range(0, n, step)]
    with multiprocessing.get_context("spawn").Pool(workers, _worker_start,
                                                    (str(config),)) as pool:
        return [body for chunk in pool.map(_seal_chunk, jobs) for body in chunk]


# ------------------------------------------------------------------------------ processes


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM of a running process, MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def start_servers(folder: Path, config: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(SERVERS):
        proc = subprocess.Popen(
            command("serve", "--config", str(config), "--server", str(i), "--db",
                    str(folder / f"server{i}.sqlite"), "--keys", str(folder / "keys"), "--json"),
            stdout=subprocess.PIPE, stderr=(folder / f"serve{i}.log").open("wb"),
            env=environment(), cwd=folder)
        procs.append(proc)
    for i, proc in enumerate(procs):
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if b'"ready"' not in line:
            raise RuntimeError(f"serve {i} did not start: {(folder / f'serve{i}.log').read_text()}")
    return procs


def run_compute(folder: Path, config: Path, tls: bool) -> list[dict[str, Any]]:
    """Run compute on every server; per server its summary, exit status and peak RSS."""
    procs = []
    for i in range(SERVERS):
        flags = ["--no-tls"] if not tls else [
            "--cert", str(folder / "mpc" / f"party_{i}.crt"),
            "--key", str(folder / "mpc" / f"party_{i}.key")]
        procs.append(subprocess.Popen(
            command("compute", "--config", str(config), "--server", str(i), "--db",
                    str(folder / f"server{i}.sqlite"), "--keys", str(folder / "keys"),
                    "--out", str(folder / f"published{i}"), "--before-deadline", "--json",
                    "--quiet", *flags),
            stdout=(folder / f"compute{i}.out").open("wb"),
            stderr=(folder / f"compute{i}.err").open("wb"), env=environment(), cwd=folder))
    results = []
    for i, proc in enumerate(procs):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out = (folder / f"compute{i}.out").read_text()
        results.append({"server": i, "returncode": proc.returncode,
                        "peak_rss_mib": usage.ru_maxrss / 1024,
                        "summary": json.loads(out) if proc.returncode == 0 else None,
                        "stderr": (folder / f"compute{i}.err").read_text()[-3000:]})
    return results


# --------------------------------------------------------------------------- the clients


async def upload_everything(context: Any, tokens: list[str], bodies: list[list[bytes]],
                            concurrency: int) -> tuple[float, int]:
    import aiohttp

    from smpc_bench.outsourced.submission import client_ssl_context, upload

    contexts = [client_ssl_context(server) for server in context.settings.servers]
    gate = asyncio.Semaphore(concurrency)
    failures = 0

    async def one(token: str, per_server: list[bytes]) -> None:
        nonlocal failures
        async with gate:
            replies = await asyncio.gather(*(
                upload(session, server, context.round_id, token, per_server[server.index],
                       ssl_context=contexts[server.index], attempts=5, timeout=120)
                for server in context.settings.servers))
            failures += sum(not reply.ok for reply in replies)

    connector = aiohttp.TCPConnector(limit=3 * concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(t, b) for t, b in zip(tokens, bodies, strict=True)))
        return time.perf_counter() - started, failures


async def fetch_everything(context: Any, tokens: list[str], keys: list[Any],
                           submission_ids: list[str], checks: list[Any], concurrency: int
                           ) -> tuple[float, list[Any], list[str]]:
    import aiohttp

    from smpc_bench.outsourced.results import FetchError, combine, fetch_answers, ssl_contexts

    gate = asyncio.Semaphore(concurrency)
    contexts = ssl_contexts(context)
    fetched: list[Any] = [None] * len(tokens)
    errors: list[str] = []

    async def one(i: int) -> None:
        async with gate:
            answers = await fetch_answers(context, tokens[i], session=session, timeout=120,
                                          contexts=contexts)
            try:
                fetched[i] = combine(context, answers, keys[i], submission_ids[i], checks[i])
            except FetchError as error:
                errors.append(f"contributor {i}: {error}")

    connector = aiohttp.TCPConnector(limit=3 * concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(len(tokens))))
        return time.perf_counter() - started, fetched, errors


# ------------------------------------------------------------------------------- oracles


def wrong_statistics(outcome: dict[str, Any], spec: Any, offsets: np.ndarray,
                     valid: np.ndarray) -> list[str]:
    wrong = []
    for k, (kpi, entry) in enumerate(zip(spec.kpis, outcome["kpis"], strict=True)):
        values = [Fraction(int(v), 10) for v in offsets[k][valid[k] == 1]]  # lower bound 0
        quartiles = statistics.quantiles(values, n=4, method="inclusive")
        deciles = statistics.quantiles(values, n=10, method="inclusive")
        expected = {"count": Fraction(len(values)), "mean": statistics.mean(values),
                    "stdev": math.sqrt(statistics.variance(values)), "p10": deciles[0],
                    "p25": quartiles[0], "median": statistics.median(values),
                    "p75": quartiles[2], "p90": deciles[8]}
        if entry["count"] != len(values):
            wrong.append(f"{kpi.name} count")
        for name, item in entry["statistics"].items():
            if item["value"] is None:
                wrong.append(f"{kpi.name} {name} not released: {item['suppressed']}")
                continue
            got = float(item["value"]) if name == "stdev" else Fraction(item["value"])
            if got != expected[name]:
                wrong.append(f"{kpi.name} {name}: {got} != {expected[name]}")
    return wrong


def wrong_positions(fetched: list[Any], spec: Any, offsets: np.ndarray,
                    valid: np.ndarray) -> int:
    """Contributors with any record different from the plaintext rank/percentile/count."""
    records = np.stack([f.outcome.private["records"][:, 0, :] for f in fetched], axis=1)
    wrong = np.zeros(offsets.shape[1], dtype=bool)
    for k, kpi in enumerate(spec.kpis):
        ordered = np.sort(offsets[k][valid[k] == 1])
        count = len(ordered)
        below = np.searchsorted(ordered, offsets[k], side="left")
        at_or_below = np.searchsorted(ordered, offsets[k], side="right")
        rank = 1 + count - at_or_below if kpi.higher_is_better else 1 + below
        expected = np.stack([rank, below + at_or_below, np.full_like(rank, count)], axis=1)
        expected[valid[k] == 0] = 0
        wrong |= np.any(records[k] != expected, axis=1)
    return int(wrong.sum())


# ---------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contributors", type=int, default=1000)
    parser.add_argument("--kpis", type=int, default=10)
    parser.add_argument("--missing", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32,
                        help="contributors uploading (and fetching) at the same time")
    parser.add_argument("--workers", type=int, default=2, help="processes preparing uploads")
    parser.add_argument("--reports", type=int, default=20,
                        help="contributors whose report is built and written (timed apart)")
    parser.add_argument("--no-tls", action="store_true", help="MPyC without TLS")
    parser.add_argument("--max-firm-share", default="0.25",
                        help="the dominance rule's share (1 switches it off)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="keep the round's folder here")
    parser.add_argument("--json-out", help="write the measurements here")
    args = parser.parse_args()
    sys.argv = sys.argv[:1]
    from cryptography.hazmat.primitives.asymmetric import x25519

    from smpc_bench.inputs.consortium import load_config
    from smpc_bench.inputs.firm_data import TableCheck
    from smpc_bench.outsourced.keys import public_key_pem
    from smpc_bench.outsourced.results import build_and_write
    from smpc_bench.outsourced.submission import RoundContext, new_submission_id

    n, kpis = args.contributors, args.kpis
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-outsourced-"))
    folder.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    started = time.perf_counter()
    config, tokens = write_round(folder, n, kpis, args.max_firm_share)
    consortium = load_config(config)
    context = RoundContext.load(consortium)
    offsets, valid = simulate(np.random.default_rng(args.seed), n, kpis, args.missing)
    keys = [x25519.X25519PrivateKey.generate() for _ in range(n)]
    submission_ids = [new_submission_id() for _ in range(n)]
    times["setup"] = time.perf_counter() - started
    servers = start_servers(folder, config)
    try:
        started = time.perf_counter()
        bodies = prepare(config, offsets, valid, [public_key_pem(k.public_key()) for k in keys],
                         submission_ids, args.workers)
        times["prepare (contributors' machines)"] = time.perf_counter() - started
        times["intake"], failures = asyncio.run(upload_everything(context, tokens, bodies,
                                                                  args.concurrency))
        del bodies
        if failures:
            print(f"{failures} uploads failed", file=sys.stderr)
            return 1
        intake_rss = [peak_rss_mib(p.pid) for p in servers]
        started = time.perf_counter()
        computed = run_compute(folder, config, tls=not args.no_tls)
        times["compute (launch to exit)"] = time.perf_counter() - started
        for result in computed:
            if result["returncode"] != 0:
                print(f"compute {result['server']} failed:\n{result['stderr']}", file=sys.stderr)
                return 1
        phases: dict[str, float] = {}
        for result in computed:
            for item in result["summary"]["timings"]:
                phases[item["phase"]] = max(phases.get(item["phase"], 0.0), item["seconds"])
        outcome = json.loads((folder / "published0" / "outcome.json").read_text())
        wrong = wrong_statistics(outcome, consortium.spec, offsets, valid)
        scale = [kpi.scale for kpi in consortium.spec.kpis]
        checks = [TableCheck("bench", rows=[[None if not valid[k, i] else
                                             Fraction(int(offsets[k, i]), scale[k])
                                             for k in range(kpis)]], labels=["line 1"])
                  for i in range(n)]
        times["fetch"], fetched, errors = asyncio.run(fetch_everything(
            context, tokens, keys, submission_ids, checks, args.concurrency))
        serve_rss = [peak_rss_mib(p.pid) for p in servers]
        if errors or any(f is None for f in fetched):
            print("\n".join(errors[:10]), file=sys.stderr)
            return 1
        bad_positions = wrong_positions(fetched, consortium.spec, offsets, valid)
        started = time.perf_counter()
        for i in range(min(args.reports, n)):
            build_and_write(fetched[i], consortium, folder / "reports" / f"c{i}", f"firm {i}")
        report_seconds = (time.perf_counter() - started) / max(1, min(args.reports, n))
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=60)
    total = times["intake"] + times["compute (launch to exit)"] + times["fetch"]
    print(f"outsourced round: {n} contributors x {kpis} KPIs, {SERVERS} servers, "
          f"{'no ' if args.no_tls else ''}TLS between servers; folder {folder}")
    for name, seconds in times.items():
        print(f"  {name:<36}{seconds:9.1f} s")
    for name, seconds in phases.items():
        print(f"    compute: {name:<32}{seconds:7.2f} s (slowest server)")
    print(f"  report per contributor (json+csv+html)  {report_seconds:7.2f} s")
    print("  peak RSS compute servers: " + ", ".join(f"{r['peak_rss_mib']:.0f} MiB"
                                                     for r in computed))
    print("  peak RSS intake servers:  " + ", ".join(f"{r or 0:.0f} MiB" for r in serve_rss)
          + f" (after intake: {', '.join(f'{r or 0:.0f}' for r in intake_rss)} MiB)")
    print(f"  statistics checked: {'all exact' if not wrong else wrong}; positions wrong: "
          f"{bad_positions} of {n}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({
            "contributors": n, "kpis": kpis, "times": times, "compute_phases": phases,
            "report_seconds": report_seconds,
            "compute_peak_rss_mib": [r["peak_rss_mib"] for r in computed],
            "serve_peak_rss_mib": serve_rss, "statistics_wrong": wrong,
            "positions_wrong": bad_positions, "total_seconds": total}, indent=2))
    print(f"outsourced_round_seconds={total:.1f} contributors={n} kpis={kpis}")
    return 1 if wrong or bad_positions else 0


if __name__ == "__main__":
    sys.exit(main())
