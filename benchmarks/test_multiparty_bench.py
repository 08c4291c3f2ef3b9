"""3-party benchmark of our quartiles (ours only) with real MPyC party processes on localhost.

The timed callable is the whole launch (process start, connection set-up, the runs, shutdown),
which is mostly start-up; the figure that matters is each party's inner time, which goes into
``benchmark.extra_info`` (``inner_seconds_median`` of party 0, bytes summed over all parties).
Marked ``multiparty``: keep it out of a regression gate (``-m "not multiparty"``).

    pytest benchmarks --benchmark-only -m multiparty
"""

from __future__ import annotations

from typing import Any

import pytest
from compare_mpyc import Options, launch

pytestmark = pytest.mark.multiparty

N = 1000
PARTIES = 3
INNER_REPEATS = 3


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
