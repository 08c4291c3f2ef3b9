r"""Private positions in outsourced mode: compute servers rank contributions they cannot see.

Every firm split its one-hot digits and validity flags into Shamir shares, one file per server
(:func:`smpc_bench.outsourced.splitting.split_for_servers` plays the firms in tests and
benchmarks).  Each server loads its shares, runs the oblivious shuffle-sort
(:mod:`smpc_bench.positions.shuffle`), and writes its shares of every row's position record;
only a firm holding ``t + 1`` servers' shares of its own row can recombine its position
(:func:`smpc_bench.positions.ranks.recombine_shares`).

Usage (one process per server; the test helper tests/partyrun.py adds the MPyC flags)::

    python -m smpc_bench.outsourced.positions_server --shares server0.npz \
        --result-file result0.npy --prime P -M3 -I0 -B 20000 --no-log

Prints one JSON line {"party": i, "counts": [...], "seconds": s, "openings": n,
"phases": {...}}; no position of any firm reaches a server's output.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from smpc_bench.core.secure_table import SecureTable
from smpc_bench.costs.openings import record_openings
from smpc_bench.engine import driver
from smpc_bench.positions.delivery import own_shares
from smpc_bench.positions.ranks import PositionRules, position_records
from smpc_bench.positions.shuffle import agree_shuffle_keys
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import size_for

__all__ = ["DEFAULT_KPIS", "main", "parse_kpi", "program"]

DEFAULT_KPIS = ["margin:-100:100:2:higher"]


def parse_kpi(text: str) -> KpiSpec:
    """``"margin:-100:100:2:higher"`` -> the KPI (name, lower, upper, decimals, direction)."""
    name, lower, upper, decimals, direction = text.split(":")
    return KpiSpec(name, lower, upper, int(decimals), higher_is_better=direction == "higher")


async def main(args: argparse.Namespace) -> None:
    """Load this server's shares, compute every row's position record and write its shares."""
    mpc = driver.runtime()
    driver.check_party_count(len(mpc.parties), allow_local_simulation=True)
    specs = [parse_kpi(text) for text in args.kpi or DEFAULT_KPIS]
    rules = PositionRules(bands=args.bands, bands_only=args.bands_only)
    with np.load(args.shares) as data:
        digit_shares, valid_shares = data["digits"], data["valid"]
    sizing = size_for(specs, valid_shares.shape[1], moments=False)
    sectype = mpc.SecInt(sizing.field_bits, p=args.prime)
    field = sectype.field
    phases: dict[str, float] = {}
    await driver.phase("connecting", mpc.start(), args.phase_timeout)
    # Each server's shares are its share of the secure values: no input round is needed.
    digits = sectype.array(field.array(digit_shares.astype(object), check=False))
    claimed_valid = sectype.array(field.array(valid_shares.astype(object), check=False))
    started = time.perf_counter()
    with record_openings() as log:
        table = SecureTable.from_digits(specs, sizing, digits, claimed_valid,
                                        radix_bits=args.radix_bits)
        opened = await driver.phase("opening counts", mpc.output(np.sum(table.valid, axis=1)),
                                    args.phase_timeout)
        counts = [int(c) for c in np.asarray(opened).reshape(-1)]
        phases["table_and_counts"] = time.perf_counter() - started
        keys = await agree_shuffle_keys()
        records = position_records(table, rules=rules, counts=counts, method="sort", keys=keys)
        shares = await driver.phase("computing positions", own_shares(records),
                                    args.phase_timeout)
    seconds = time.perf_counter() - started
    phases["positions"] = seconds - phases["table_and_counts"]
    np.save(args.result_file, shares.astype(np.uint64))
    await driver.phase("shutting down", mpc.shutdown(), args.phase_timeout)
    report: dict[str, Any] = {
        "party": mpc.pid, "counts": counts, "seconds": round(seconds, 3),
        "phases": {name: round(value, 3) for name, value in phases.items()},
        "openings": len(log), "opened_elements": sum(int(np.prod(o.shape)) for o in log.openings),
    }
    print(json.dumps(report), flush=True)


def program(argv: list[str] | None = None) -> None:
    """The server program: parse MPyC's flags, then ours, and run :func:`main`."""
    driver.runtime()  # parses and strips MPyC's upper-case flags from sys.argv
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shares", required=True, help="this server's share file (.npz)")
    parser.add_argument("--result-file", required=True,
                        help="where to write this server's shares of the records (.npy)")
    parser.add_argument("--prime", type=int, required=True, help="the round's public prime")
    parser.add_argument("--kpi", action="append", help="name:lower:upper:decimals:higher|lower")
    parser.add_argument("--bands", type=int, default=4, choices=[4, 10])
    parser.add_argument("--bands-only", action="store_true")
    parser.add_argument("--radix-bits", type=int, default=4)
    parser.add_argument("--phase-timeout", type=float, default=300.0)
    parser.add_argument("--run-timeout", type=float, default=900.0)
    cli_args = parser.parse_args(argv)
    driver.run(main(cli_args), timeout=cli_args.run_timeout)


if __name__ == "__main__":
    program()
