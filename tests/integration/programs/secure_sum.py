"""Secure sum of one integer per party: the smallest MPyC program run by smpc_bench.engine.driver.

Usage (one process per party; the test helper tests/partyrun.py adds the MPyC flags):
    python secure_sum.py --value 7 -M3 -I0 -B 20000 --no-log   # and -I1, -I2 in two more shells
    python secure_sum.py --value 7                              # m=1 local simulation

Prints one JSON line {"party": i, "sum": s, "phases": [...]} on success. Failure-injection flags:
--die-after-start makes this party exit right after connecting (a crashed party), --stall-seconds
blocks the event loop (to exercise the watchdog of driver.run).
"""

import argparse
import json
import os
import time

from smpc_bench.engine import driver


async def main(args: argparse.Namespace) -> None:
    mpc = driver.runtime()
    driver.check_party_count(len(mpc.parties), allow_local_simulation=True)
    secint = mpc.SecInt(32)
    await driver.phase("connecting", mpc.start(), args.phase_timeout)
    if args.die_after_start:
        os._exit(17)  # a crash: no shutdown, no goodbye to the other parties
    if args.stall_seconds:
        time.sleep(args.stall_seconds)  # blocks the event loop: only the watchdog can help
    sec_values = mpc.input(secint(args.value))
    await driver.phase("sharing inputs", mpc.gather(sec_values), args.phase_timeout)
    revealed_sum = await driver.phase(
        "opening the sum", mpc.output(mpc.sum(sec_values)), args.phase_timeout
    )
    await driver.phase("shutting down", mpc.shutdown(), args.phase_timeout)
    phases = [name for name, _ in driver.run_log.timings]
    print(json.dumps({"party": mpc.pid, "sum": revealed_sum, "phases": phases}), flush=True)


if __name__ == "__main__":
    driver.runtime()  # parses and strips MPyC's upper-case flags from sys.argv
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--value", type=int, required=True)
    parser.add_argument("--phase-timeout", type=float, default=30.0)
    parser.add_argument("--run-timeout", type=float, default=120.0)
    parser.add_argument("--die-after-start", action="store_true")
    parser.add_argument("--stall-seconds", type=float, default=0.0)
    cli_args = parser.parse_args()
    driver.run(main(cli_args), timeout=cli_args.run_timeout)
