"""``smpc_bench.core.less_than`` with real parties: every party prints what it opened.

Usage (one process per party; tests/partyrun.py adds the MPyC flags):
    python comparisons.py --bits 6 --seed 1 -M3 -I0 -B 20000 --no-log   # and -I1, -I2

Compares every integer of ``--bits`` bits with zero and ``--random`` random ones of
``--wide-bits`` bits, the latter in two slices of one batch of masks; ``--stock-party i`` makes
party ``i`` run MPyC's own sharing code (interoperation).  Prints one JSON line
``{"party": i, "values": [...], "results": [...]}``.
"""

import argparse
import json

import numpy as np

from smpc_bench.core.less_than import less_than_zero, prepare_masks
from smpc_bench.engine import driver


async def main(args: argparse.Namespace) -> None:
    mpc = driver.runtime()
    if mpc.pid == args.stock_party:
        from smpc_bench.engine import accel as acceleration

        acceleration.uninstall()  # this party runs MPyC's own sharing code: mixed parties
    secint = mpc.SecInt(32)
    await driver.phase("connecting", mpc.start(), 60)
    half = 1 << (args.bits - 1)
    small = np.arange(-half, half, dtype=np.int64)
    wide_half = 1 << (args.wide_bits - 1)
    wide = np.random.default_rng(args.seed).integers(-wide_half, wide_half, args.random)
    # Party 0 owns the data; the others input zeros of the same shape.
    own = mpc.pid == 0
    sec_small = mpc.input(secint.array(small if own else np.zeros_like(small)), senders=0)
    sec_wide = mpc.input(secint.array(wide if own else np.zeros_like(wide)), senders=0)
    small_result = less_than_zero(sec_small, prepare_masks(secint, small.size, args.bits))
    masks = prepare_masks(secint, wide.size, args.wide_bits)
    cut = wide.size // 2
    wide_result = np.concatenate((less_than_zero(sec_wide[:cut], masks.take(0, cut)),
                                  less_than_zero(sec_wide[cut:], masks.take(cut, wide.size))))
    opened = await driver.phase(
        "opening", mpc.output(np.concatenate((small_result, wide_result))), 120)
    await driver.phase("shutting down", mpc.shutdown(), 60)
    print(json.dumps({"party": mpc.pid, "values": [*small.tolist(), *wide.tolist()],
                      "results": [int(v) for v in opened]}), flush=True)


if __name__ == "__main__":
    driver.runtime()  # parses and strips MPyC's upper-case flags from sys.argv
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bits", type=int, default=6)
    parser.add_argument("--wide-bits", type=int, default=14)
    parser.add_argument("--random", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stock-party", type=int, default=-1,
                        help="this party runs without smpc-bench's accelerations")
    cli_args = parser.parse_args()
    driver.run(main(cli_args), timeout=300)
