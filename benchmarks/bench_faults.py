"""Benchmark: how fast the other parties stop when one party fails, and what they say.

Runs real `smpc-bench run` rounds on this machine (3 parties, 5 for one case; two rows per
firm) and injects one fault per round into one party through the test-only switch
``SMPC_BENCH_FAULT`` (see ``smpc_bench.engine.faults``): SIGKILL at the start of every phase,
a reset connection, a crash (an error of the party's own), SIGSTOP (progress timeout 5 s) and,
where network namespaces are available (root, ``ip netns``), a pulled cable (the link of the
party's network namespace goes down; progress timeout 5 s).  Each fault is repeated
``--repeats`` times; the table gives the median time from the fault (the victim dead or
stopped; for the cable, the link down) until every other party had exited, and the message the
other parties showed (its start).

Then one larger round (``--rows`` rows per firm, private positions by sorting, progress
timeout 2 s so that the heartbeat tick is 0.2 s) measures the longest stretch a party's event
loop was blocked by one local step, which the progress timeout must stay well above.

    .venv/bin/python benchmarks/bench_faults.py
    .venv/bin/python benchmarks/bench_faults.py --repeats 5 --rows 3000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "src"))

from tests.faultrun import (  # noqa: E402
    PHASES,
    FaultResult,
    make_round,
    run_with_fault,
    start,
    veth_namespace,
    watch,
)

#: (label, parties, victim, fault, progress timeout).
CASES = [
    *(("SIGKILL", 3, 2, f"kill:{phase}", 60) for phase in PHASES),
    ("SIGKILL, 5 parties", 5, 3, "kill:computing private positions", 60),
    ("connection reset (RST)", 3, 1, "reset:computing and releasing", 60),
    ("crash (an error of its own)", 3, 1, "crash:exchanging row counts", 60),
    ("SIGSTOP", 3, 0, "stop:agreeing on the round spec", 5),
    ("SIGSTOP", 3, 0, "stop:computing private positions", 5),
]


def _message(result: FaultResult) -> str:
    line = result.others[0].stderr.strip().splitlines()[-1]
    line = re.sub(r"^smpc-bench run: ", "", line)
    return line.split(";")[0].split(" (details:")[0]


def _codes(result: FaultResult) -> str:
    return ",".join(str(p.returncode) for p in result.others)


def _run_case(folder: Path, parties: int, victim: int, fault: str, timeout: int
              ) -> tuple[float, str, str]:
    round_ = make_round(folder, parties, progress_timeout=timeout)
    result = run_with_fault(round_, victim, fault, victim_last=fault.endswith(":connecting"))
    return result.stop_time(), _message(result), _codes(result)


def _cable(folder: Path) -> tuple[float, str, str] | None:
    """Party 2 in its own network namespace; its link goes down in the middle of a round."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        return None
    try:
        with veth_namespace(os.getpid() % 200, 232, "b") as space:
            round_ = make_round(folder, hosts=[space.host_ip, space.host_ip, space.ns_ip],
                                progress_timeout=5)
            parties = [start(round_, 0, extra=["--insecure"]),
                       start(round_, 1, extra=["--insecure"]),
                       start(round_, 2, extra=["--insecure"],
                             fault="hold:computing and releasing", prefix=space.prefix())]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "holding" not in parties[2].stderr:
                time.sleep(0.01)
            space.pull_cable()
            cut = time.monotonic()
            watch(parties)
    except (subprocess.SubprocessError, OSError):
        return None
    result = FaultResult(parties, 2)
    return max(p.ended or 0.0 for p in parties[:2]) - cut, _message(result), _codes(result)


def _longest_pause(folder: Path, rows: int) -> tuple[float, float]:
    """(longest blocked stretch of any party's event loop, round seconds) for a larger round."""
    round_ = make_round(folder, 3, progress_timeout=2)
    text = round_.config.read_text(encoding="utf-8").replace(
        "[positions]\nenabled = true\n", '[positions]\nenabled = true\nmethod = "sort"\n')
    round_.config.write_text(text, encoding="utf-8")
    for i in range(3):
        values = [str((37 * r + 11 * i) % 1000) for r in range(rows)]
        round_.data(i).write_text("revenue\n" + "\n".join(values) + "\n", encoding="utf-8")
    started = time.monotonic()
    parties = [start(round_, i, extra=["--timeout", "900"], quiet=False) for i in range(3)]
    watch(parties, timeout=900)
    seconds = time.monotonic() - started
    pauses = []
    for party in parties:
        if party.returncode != 0:
            raise SystemExit(f"the large round failed at party {party.index}:\n{party.stderr}")
        found = re.search(r"longest local step without a pause: ([0-9.]+) s", party.stderr)
        pauses.append(float(found.group(1)) if found else 0.0)
    return max(pauses), seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2000,
                        help="rows per firm of the round that measures the longest pause")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as scratch:
        base = Path(scratch)
        for n, (label, parties, victim, fault, timeout) in enumerate(CASES):
            runs = [_run_case(base / f"case{n}-{r}", parties, victim, fault, timeout)
                    for r in range(args.repeats)]
            phase = fault.split(":", 1)[1]
            rows.append((f"{label} (progress timeout {timeout} s)" if label == "SIGSTOP"
                         else label, phase, statistics.median(t for t, _, _ in runs),
                         runs[0][2], runs[0][1]))
            print(f"  {rows[-1][0]} at {phase!r}: {rows[-1][2]:.2f} s", file=sys.stderr)
        cables = [c for c in (_cable(base / f"cable{r}") for r in range(args.repeats))
                  if c is not None]
        if cables:
            rows.append(("link down (netns; progress timeout 5 s)", "computing and releasing",
                         statistics.median(t for t, _, _ in cables), cables[0][2],
                         cables[0][1]))
        pause, seconds = _longest_pause(base / "large", args.rows)
    print(f"| fault | phase | median time until every other party stopped "
          f"({args.repeats} runs) | exit codes of the others | message shown (start) |")
    print("|---|---|---|---|---|")
    for label, phase, seconds_to_stop, codes, message in rows:
        print(f"| {label} | {phase} | {seconds_to_stop:.2f} s | {codes} | {message} |")
    if not cables:
        print("\n(link down: skipped, network namespaces are not available here)")
    print(f"\nLongest local step without a pause for the connections (any party, 3 x "
          f"{args.rows} rows, private positions by sorting; round {seconds:.1f} s): "
          f"{pause:.1f} s, against a default progress timeout of 60 s.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
