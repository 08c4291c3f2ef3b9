"""Private positions in peer mode: every firm is a party and learns only its own position.

Usage (one process per firm; the test helper tests/partyrun.py adds the MPyC flags):
    python ranks_peer.py --values '[12.5, null]' -M3 -I0 -B 20000 --no-log   # -I1, -I2 likewise
    python ranks_peer.py --values '[[1, 2], [3, null]]'                     # m=1 simulation

``--values`` is this firm's row (one value per KPI, null = missing) or a list of rows.  KPIs:
``--kpi name:lower:upper:decimals:higher|lower`` (repeatable; default: a margin where higher is
better and a number of days where lower is better).  Prints one JSON line with what this party
received: {"party": i, "counts": [...], "positions": [[{rank, of, percentile, band}|null, ...]
per own row] per KPI, "released_kpis": [...], "seconds": ..., "openings": n}.  Nothing about
other firms' positions ever reaches this process.
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
from smpc_bench.positions.delivery import decode_positions, deliver_to_owners
from smpc_bench.positions.ranks import PositionRules, position_records
from smpc_bench.positions.shuffle import agree_shuffle_keys
from smpc_bench.spec.encoding import encode_digits, encode_rows
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import size_for

DEFAULT_KPIS = ["margin:-50:80:2:higher", "days:0:365:0:lower"]


def parse_kpi(text: str) -> KpiSpec:
    name, lower, upper, decimals, direction = text.split(":")
    return KpiSpec(name, lower, upper, int(decimals), higher_is_better=direction == "higher")


def share_rows(mpc: Any, sectype: Any, own: np.ndarray, rows_per_party: list[int]) -> Any:
    """Input every party's array (rows on axis 1) and join them in party order."""
    parts = []
    for sender, rows in enumerate(rows_per_party):
        if rows:
            shape = (own.shape[0], rows, *own.shape[2:])
            mine = own if sender == mpc.pid else np.zeros(shape, dtype=np.int64)
            parts.append(mpc.input(sectype.array(mine), senders=sender))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def position_json(position: Any) -> dict[str, Any] | None:
    if position is None:
        return None
    percentile = position.percentile
    return {"rank": position.rank, "of": position.of, "band": position.band,
            "percentile": None if percentile is None else str(percentile)}


async def main(args: argparse.Namespace) -> None:
    mpc = driver.runtime()
    driver.check_party_count(len(mpc.parties), allow_local_simulation=True)
    specs = [parse_kpi(text) for text in args.kpi or DEFAULT_KPIS]
    loaded = json.loads(args.values)
    rows = loaded if loaded and isinstance(loaded[0], list) else [loaded]
    offsets, claimed_valid = encode_rows(specs, rows)
    rules = PositionRules(bands=args.bands, bands_only=args.bands_only)
    await driver.phase("connecting", mpc.start(), args.phase_timeout)
    rows_per_party = await driver.phase("exchanging row counts", mpc.transfer(len(rows)),
                                        args.phase_timeout)
    owners = [party for party, count in enumerate(rows_per_party) for _ in range(count)]
    sizing = size_for(specs, len(owners), moments=False)
    sectype = mpc.SecInt(sizing.field_bits)
    digits = encode_digits(offsets, sizing.value_bits, args.radix_bits)
    table = SecureTable.from_digits(
        specs, sizing, share_rows(mpc, sectype, digits, rows_per_party),
        share_rows(mpc, sectype, claimed_valid, rows_per_party), radix_bits=args.radix_bits)
    keys = await agree_shuffle_keys() if args.method == "sort" else None
    await driver.phase("sharing inputs", mpc.gather(table.valid), args.phase_timeout)
    started = time.perf_counter()
    with record_openings() as log:
        counts = None
        released = list(range(len(specs)))
        if not args.secret_counts:  # the counts are a declared output of every round
            opened = await driver.phase("opening counts", mpc.output(np.sum(table.valid, axis=1)),
                                        args.phase_timeout)
            counts = [int(c) for c in np.asarray(opened).reshape(-1)]
            released = [k for k, c in enumerate(counts) if c >= args.min_contributions]
        records = position_records(table, rules=rules, counts=counts, method=args.method,
                                   keys=keys)
        mine = await driver.phase("delivering positions",
                                  deliver_to_owners(records, owners, kpis=released),
                                  args.phase_timeout)
    seconds = time.perf_counter() - started
    await driver.phase("shutting down", mpc.shutdown(), args.phase_timeout)
    positions = [] if mine is None else decode_positions(mine, rules)
    report = {
        "party": mpc.pid, "counts": counts, "released_kpis": released,
        "positions": [[position_json(p) for p in kpi_rows] for kpi_rows in positions],
        "seconds": round(seconds, 4), "openings": len(log),
        "signature": [[o.kind, list(o.shape), o.threshold, o.receivers] for o in log.openings]
        if args.signature else None,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    driver.runtime()  # parses and strips MPyC's upper-case flags from sys.argv
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--values", required=True, help="JSON: this firm's row(s)")
    parser.add_argument("--kpi", action="append", help="name:lower:upper:decimals:higher|lower")
    parser.add_argument("--method", default="all-pairs", choices=["all-pairs", "np-less", "sort"])
    parser.add_argument("--bands", type=int, default=4, choices=[4, 10])
    parser.add_argument("--bands-only", action="store_true")
    parser.add_argument("--secret-counts", action="store_true")
    parser.add_argument("--min-contributions", type=int, default=1)
    parser.add_argument("--radix-bits", type=int, default=4)
    parser.add_argument("--signature", action="store_true", help="print the openings' shapes")
    parser.add_argument("--phase-timeout", type=float, default=120.0)
    parser.add_argument("--run-timeout", type=float, default=600.0)
    cli_args = parser.parse_args()
    driver.run(main(cli_args), timeout=cli_args.run_timeout)
