"""Use the protocol core directly, as a developer would (one process: a local simulation).

Run:  python examples/library_quickstart.py            (1 party, no secrecy: for trying it out)
      python examples/library_quickstart.py -M3 -I0 -B 12000 &   (and -I1, -I2 in two more
      terminals: three real parties on this machine; party 0 holds the data here)

The same calls run unchanged with 3 or more parties: only the declared outputs are opened.
"""

from fractions import Fraction

import numpy as np

from smpc_bench import (
    KpiSpec,
    SecureTable,
    count,
    encode_digits,
    mean,
    open_fraction,
    percentiles,
    quantiles,
    runtime,
    size_for,
    stdev,
)

mpc = runtime()  # imports mpyc.runtime (parses MPyC's flags) on first use

margins = ["61.5", "58.9", "63.2", "55.3", "59.7", "60.1", None, "57.4", "54.8", "64.0"]
spec = KpiSpec("gross_margin", lower=0, upper=100, decimals=1, unit="%")


async def main() -> None:
    """Share the margins, compute the statistics, open only the declared results."""
    await mpc.start()
    offsets = np.array([[spec.encode_one(v) if v is not None else 0 for v in margins]])
    claimed_valid = np.array([[v is not None for v in margins]], dtype=np.int64)
    sizing = size_for([spec], len(margins))
    secint = mpc.SecInt(sizing.field_bits)
    digits = encode_digits(offsets, sizing.value_bits, radix_bits=4)
    if mpc.pid != 0:  # only party 0 holds data in this example; the others send placeholders
        digits, claimed_valid = np.zeros_like(digits), np.zeros_like(claimed_valid)
    sec_digits = mpc.input(secint.array(digits), senders=0)
    sec_valid = mpc.input(secint.array(claimed_valid), senders=0)
    table = SecureTable.from_digits([spec], sizing, sec_digits, sec_valid, radix_bits=4)

    revealed_count = int((await mpc.output(count(table)))[0])
    revealed_mean = (await open_fraction(mean(table), [spec]))[0][0]
    revealed_stdev = (await open_fraction(stdev(table), [spec]))[0][0]
    revealed_quartiles = (await open_fraction(quantiles(table, 4), [spec]))[0]
    revealed_deciles = (await open_fraction(
        percentiles(table, [10, 90], counts=[revealed_count]), [spec]))[0]
    print(f"count {revealed_count}, mean {float(revealed_mean):.4f} %, "
          f"stdev {revealed_stdev:.4f} %")
    print("quartiles (statistics.quantiles, exclusive):",
          [str(Fraction(q)) for q in revealed_quartiles])
    print("p10, p90 (numpy linear):", [float(q) for q in revealed_deciles])
    await mpc.shutdown()


mpc.run(main())
