r"""Secure percentiles: every firm learns the chosen percentiles of each KPI, and the counts.

Percentiles are computed obliviously (no pivot or partition size is ever opened) and exactly,
by the named method: ``inclusive`` (numpy's default ``linear``), ``exclusive`` (Python's
``statistics.quantiles`` default), ``nearest-rank``, ``lower``, ``higher``, ``midpoint``.  A thin
wrapper over :func:`smpc_bench.cli.run.main`.

Usage (one process per firm; every party must give the same --percentile/--method)::

    python protocols/secure_percentile.py --percentile 50 --percentile 90 \
        -M3 -I0 --config consortium.toml --data alfa.csv
    python protocols/secure_percentile.py --percentile 25 --percentile 75 --method exclusive \
        -P alfa.example:11365 -P beta.example:11365 -P gamma.example:11365 -I0 --ssl \
        --config consortium.toml --data alfa.csv

``--percentile`` may be repeated (default: 50, the median).  Add ``--json`` for JSON output.
"""

import argparse
import sys

from smpc_bench.cli.run import main
from smpc_bench.spec.metrics import Metric

if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--percentile", action="append", type=float, default=[])
    parser.add_argument("--method", default="inclusive")
    own, rest = parser.parse_known_args()
    try:
        percentiles = [Metric.percentile(p, own.method) for p in own.percentile or [50]]
    except ValueError as error:
        sys.exit(f"secure_percentile.py: {error}")
    sys.exit(main(rest, prog="secure_percentile.py", statistics=[Metric.COUNT, *percentiles],
                  positions=False,
                  description=__doc__.split("\n\n")[0]
                  + " Own flags: --percentile P (repeatable, 0-100), --method M."))
