"""Benchmarks with real MPyC party processes on localhost: quartiles (3 parties) and positions.

The timed callable is the whole launch (process start, connection set-up, the runs, shutdown),
which is mostly start-up; the figure that matters is each party's inner time, which goes into
``benchmark.extra_info`` (``inner_seconds_median`` of party 0, bytes summed over all parties).
Marked ``multiparty``: keep its times out of a regression gate (``-m "not multiparty"``).  CI
runs it in quick mode with timing off, for its correctness checks only::

    pytest benchmarks --benchmark-only -m multiparty
    SMPC_BENCH_QUICK=1 pytest benchmarks -m multiparty --benchmark-disable   # CI: the checks

The positions cases run ``bench_ranks_peer.py`` (12 firms x 10 KPIs) and
``bench_ranks_outsourced.py`` (10,000 contributions) and keep the slowest party's inner time of
their last line in ``extra_info`` (``SMPC_BENCH_QUICK=1``: 5 x 6 and 1,000 only, and one inner
run per case instead of three: about 10 s in all).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from compare_mpyc import Options, launch
from core_cases import QUICK

pytestmark = pytest.mark.multiparty

#: Quick mode (CI, ``SMPC_BENCH_QUICK=1``): the small sizes, one inner run; the checks all run.
N = 1000
PARTIES = 3
INNER_REPEATS = 1 if QUICK else 3
HERE = Path(__file__).resolve().parent


def test_three_party_quartiles_ours(benchmark: Any) -> None:
    opts = Options(n=N, parties=PARTIES, only="ours", repeats=INNER_REPEATS, timeout=240)
    reports = []
    benchmark.group = "multiparty"
    benchmark.pedantic(lambda: reports.append(launch(opts)), rounds=1, iterations=1,
                       warmup_rounds=0)
    ours = reports[-1].summary["ours"]
    assert ours["verdict"] == "exact"
    benchmark.extra_info.update(
        n=N, parties=PARTIES, operation="quartiles_public_counts", inner_repeats=INNER_REPEATS,
        inner_seconds_median=ours["seconds"], inner_seconds_runs=ours["runs"],
        slowest_party_seconds=ours["slowest_party_seconds"],
        bytes_sent_all_parties=ours["bytes_all_parties"],
        cpu_seconds_all_parties=ours["cpu_seconds_all_parties"], openings=ours["openings"],
        launch_wall_seconds=reports[-1].wall_seconds)


def _launch_script(script: str, *args: str) -> dict[str, float]:
    """Run a benchmark script; return the ``key=value`` pairs of its last line."""
    result = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True,
                            text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    return {key: float(value) for key, value in (item.split("=") for item in last.split())
            if value.replace(".", "", 1).isdigit()}


@pytest.mark.parametrize(("parties", "kpis"), [(5, 6)] if QUICK else [(5, 6), (12, 10)])
def test_peer_positions(benchmark: Any, parties: int, kpis: int) -> None:
    """Every firm's rank, percentile and band, each firm a party (issue 3: 12 x 10 in 10 s)."""
    figures: list[dict[str, float]] = []
    benchmark.group = "multiparty"
    benchmark.pedantic(lambda: figures.append(_launch_script(
        "bench_ranks_peer.py", "--parties", str(parties), "--kpis", str(kpis),
        "--repeats", str(INNER_REPEATS))),
        rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(parties=parties, kpis=kpis,
                                slowest_party_seconds=figures[-1]["peer_ranks_seconds"])


@pytest.mark.parametrize("n", [1000] if QUICK else [1000, 10_000])
def test_outsourced_positions(benchmark: Any, n: int) -> None:
    """Every contribution's position, 3 compute servers (issue 3: n = 10,000 in 60 s)."""
    figures: list[dict[str, float]] = []
    benchmark.group = "multiparty"
    benchmark.pedantic(lambda: figures.append(_launch_script(
        "bench_ranks_outsourced.py", "--n", str(n), "--repeats", str(INNER_REPEATS))),
        rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(n=n, servers=3,
                                slowest_server_seconds=figures[-1]["outsourced_positions_seconds"])
