"""smpc_bench.engine.driver in real MPyC runs: one process per party, started by tests.partyrun."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.partyrun import describe, run_parties

SECURE_SUM = Path(__file__).parent / "programs" / "secure_sum.py"
PHASES = ["connecting", "sharing inputs", "opening the sum", "shutting down"]

pytestmark = pytest.mark.multiparty


def _report(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("m", [3, 5])
def test_secure_sum_over_parties(m):
    values = [10 * i + 7 for i in range(m)]
    results = run_parties(lambda i: [str(SECURE_SUM), "--value", str(values[i])], m, timeout=120)
    reports = [_report(r.stdout) for r in results]
    assert [r["party"] for r in reports] == list(range(m))
    assert all(r["sum"] == sum(values) for r in reports), describe(results)
    assert all(r["phases"] == PHASES for r in reports)


def test_secure_sum_local_simulation_single_process():
    """Plain m=1 (no MPyC flags): MPyC evaluates synchronously, phase() must still work."""
    proc = subprocess.run(
        [sys.executable, str(SECURE_SUM), "--value", "5", "--no-log"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert _report(proc.stdout) == {"party": 0, "sum": 5, "phases": PHASES}


def test_secure_sum_single_party_asynchronous():
    """-M1 -I0: one party, but MPyC's asynchronous evaluation."""
    (result,) = run_parties([str(SECURE_SUM), "--value", "-3"], 1, timeout=60)
    assert _report(result.stdout)["sum"] == -3


@pytest.mark.slow
def test_party_dying_after_start_makes_the_others_fail_cleanly():
    run_timeout = 60
    results = run_parties(
        lambda i: (
            [str(SECURE_SUM), "--value", "1", "--phase-timeout", "5"]
            + (["--die-after-start"] if i == 2 else [])
        ),
        3,
        timeout=run_timeout,
        check=False,
    )
    assert results[2].returncode == 17, describe(results)
    for r in results[:2]:
        assert not r.timed_out, describe(results)
        assert r.returncode not in (0, None), describe(results)
        # The lost connection ends the phase at once, not its 5 s timeout nor the 60 s outer
        # deadline (not timed_out).
        assert "PartyLostError" in r.stderr, describe(results)
        assert "party 2 disconnected while 'sharing inputs'" in r.stderr, describe(results)


@pytest.mark.slow
def test_party_that_never_connects_times_out_the_start():
    results = run_parties(
        lambda i: (
            ["-c", "import time; time.sleep(5)"]
            if i == 2
            else [str(SECURE_SUM), "--value", "1", "--phase-timeout", "2"]
        ),
        3,
        timeout=60,
        check=False,
    )
    for r in results[:2]:
        assert r.returncode not in (0, None) and not r.timed_out, describe(results)
        # The phase named, with its own 2 s timeout: the start did not retry until the outer
        # deadline, nor until party 2 went away.
        assert "within 2 s while 'connecting'" in r.stderr, describe(results)
        assert "while 'sharing inputs'" not in r.stderr
    assert results[2].returncode == 0 and not results[2].timed_out


def test_watchdog_ends_a_stuck_party():
    proc = subprocess.run(
        [
            sys.executable,
            str(SECURE_SUM),
            "--value",
            "1",
            "--stall-seconds",
            "60",
            "--run-timeout",
            "1",
            "--no-log",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 3, proc.stderr
    assert "the run did not finish within 1 s" in proc.stderr


def test_two_parties_are_refused_before_connecting():
    results = run_parties([str(SECURE_SUM), "--value", "1"], 2, timeout=60, check=False)
    for r in results:
        assert r.returncode not in (0, None) and not r.timed_out, describe(results)
        assert "2 parties are refused" in r.stderr


def test_run_parties_reports_failures():
    with pytest.raises(AssertionError, match=r"party 1: exit code 4[\s\S]*boom 1"):
        run_parties(
            ["-c", "import sys; print('boom', sys.argv[4], file=sys.stderr); sys.exit(4)"],
            3,
            timeout=30,
        )


def test_run_parties_kills_parties_at_the_timeout():
    results = run_parties(["-c", "import time; time.sleep(60)"], 2, timeout=1, check=False)
    assert all(r.timed_out and r.returncode != 0 for r in results)
