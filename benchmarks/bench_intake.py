"""Benchmark: intake rate of one compute server (`smpc-bench serve`, HTTPS, SQLite).

Makes an outsourced round of ``--n`` enrolled contributors with ``--kpis`` KPIs, seals one
submission per contributor as `smpc-bench submit` does (check-free: encode, split for 3 servers,
seal each server's shares; timed), then uploads server 0's ``--n`` bodies to one `serve` process
on localhost with ``--concurrency`` requests in flight over pooled HTTPS connections, and times
the upload from the first request to the last answer.  Every upload must be answered 201 and
every submission must be in the server's database afterwards (else exit 1).  Each repeat starts
a fresh server with a fresh database; the median over ``--repeats`` is reported.

    .venv/bin/python benchmarks/bench_intake.py
    .venv/bin/python benchmarks/bench_intake.py --n 20000 --kpis 10 --concurrency 64

The last line is ``intake_accepted_per_second=<median> n=<n> kpis=<K> concurrency=<c>``.
Client and server share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the round-folder helpers shared with the tests

from tests.outsourced_round import make_round, start_server, stop_server  # noqa: E402

from smpc_bench.outsourced.store import SubmissionStore  # noqa: E402
from smpc_bench.outsourced.submission import (  # noqa: E402
    ContributionFolder,
    RoundContext,
    client_contexts,
    new_submission_id,
    seal_submission,
)


def kpi_tables(count: int) -> str:
    """``count`` KPIs: a revenue-like one (sum and mean) and margin-like ones (quantiles)."""
    tables = ['[[kpis]]\nname = "revenue"\nunit = "EUR"\nlower = 0\nupper = 5000000\n'
              'statistics = ["count", "sum", "mean", "median"]\n']
    tables += [f'[[kpis]]\nname = "ratio_{k}"\nunit = "%"\nlower = -20\nupper = 100\n'
               f'decimals = 1\nstatistics = ["count", "q1", "median", "q3"]\n'
               for k in range(1, count)]
    return "\n".join(tables)


def seal_all(context: RoundContext, folder: Path, n: int, kpis: int) -> tuple[list[bytes], float]:
    """Server 0's body of every contributor, and the seconds sealing all of them took."""
    rng = np.random.default_rng(1)
    key = ContributionFolder(folder / "contributor").result_key()
    rows = [[[str(int(rng.integers(0, 5_000_001)))]
             + [f"{rng.integers(-200, 1001) / 10:.1f}" for _ in range(kpis - 1)]]
            for _ in range(n)]
    started = time.perf_counter()
    bodies = [seal_submission(context, row, key.public_key(), new_submission_id())[0]
              for row in rows]
    return bodies, time.perf_counter() - started


async def upload(context: RoundContext, tokens: list[str], bodies: list[bytes],
                 concurrency: int) -> tuple[float, dict[int, int]]:
    """Upload every body once; (seconds, count per HTTP status)."""
    server = context.settings.servers[0]
    url = server.endpoint(context.round_id, "submissions")
    ssl_context = client_contexts(context.settings)[0]
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=ssl_context)

    async def one(session: aiohttp.ClientSession, token: str, body: bytes) -> None:
        async with gate, session.post(url, data=body, headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json"}) as reply:
            await reply.read()
            statuses[reply.status] = statuses.get(reply.status, 0) + 1

    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm the connection pool (TLS handshakes) outside the timed part: a contributor's
        # upload is one request, but the handshakes of a pool are not intake work.
        await asyncio.gather(*(session.get(f"{server.url}/v1/rounds/{context.round_id}/status")
                               for _ in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(one(session, t, b) for t, b in zip(tokens, bodies, strict=True)))
        return time.perf_counter() - started, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="submissions (default 10,000)")
    parser.add_argument("--kpis", type=int, default=1, help="KPIs per submission (default 1)")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="requests in flight (default 32)")
    parser.add_argument("--repeats", type=int, default=3, help="runs (default 3)")
    args = parser.parse_args()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}", flush=True)
    print(f"machine: {os.cpu_count()} cores; client and server on it", flush=True)
    with tempfile.TemporaryDirectory(prefix="smpc-bench-intake-") as scratch:
        folder = Path(scratch)
        round_ = make_round(folder / "round", tokens=args.n, kpis=kpi_tables(args.kpis))
        context = RoundContext.load(round_.consortium())
        bodies, sealing = seal_all(context, folder, args.n, args.kpis)
        print(f"sealing: {args.n:,} submissions (split for 3 servers, 3 HPKE seals each) in "
              f"{sealing:.2f} s: {args.n / sealing:,.0f}/s, {1000 * sealing / args.n:.2f} ms "
              f"per contributor; body for one server {len(bodies[0]):,} bytes", flush=True)
        rates = []
        for repeat in range(args.repeats):
            database = folder / f"server0-run{repeat}.sqlite"
            server = start_server(round_, 0, database=database)
            try:
                seconds, statuses = asyncio.run(upload(context, round_.tokens, bodies,
                                                       args.concurrency))
            finally:
                stop_server(server)
            accepted = statuses.get(201, 0)
            with SubmissionStore(database) as store:
                held = len(store.latest())
            rates.append(accepted / seconds)
            print(f"run {repeat + 1}: {accepted:,} accepted in {seconds:.2f} s = "
                  f"{accepted / seconds:,.0f}/s (answers {statuses}; database holds {held:,})",
                  flush=True)
            if accepted != args.n or held != args.n:
                print("FAILED: not every upload was accepted and stored", file=sys.stderr)
                return 1
    median = statistics.median(rates)
    print(f"median {median:,.0f} accepted submissions per second "
          f"(min {min(rates):,.0f}, max {max(rates):,.0f})")
    print(f"intake_accepted_per_second={median:.0f} n={args.n} kpis={args.kpis} "
          f"concurrency={args.concurrency}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
