r"""Where do I stand? Each firm's own rank, percentile and band per KPI, for that firm alone.

Releases the count, the quartiles and the 10th/90th percentiles of every KPI (subject to the
disclosure rules) and, privately, each of this firm's rows' position: its rank (1 = best, ties
share the best rank), its percentile (share of values below, ties counted half) and its band,
computed inside the MPC by :mod:`smpc_bench.positions.ranks` and opened to this firm only
(``mpc.output(..., receivers=[firm])``); plus the gaps to the median and to the top quartile,
worked out on this firm's machine from its own value and the released statistics.  The
``[positions]`` settings of the consortium file apply (``bands = 10`` for deciles,
``bands_only = true`` to release only the band).

Usage (one process per firm; the same consortium file everywhere)::

    python protocols/benchmark_ranks.py -M3 -I0 --config consortium.toml --data alfa.csv
    python protocols/benchmark_ranks.py -M3 -I1 --config consortium.toml --data beta.csv
    python protocols/benchmark_ranks.py -M3 -I2 --config consortium.toml --data gamma.csv

    python protocols/benchmark_ranks.py -P alfa.example:11365 -P beta.example:11365 \
        -P gamma.example:11365 -I0 --ssl --config consortium.toml --data alfa.csv

``--json`` prints the firm's report (its ``own`` sections hold the positions) as JSON.
"""

import sys

from smpc_bench.cli.run import main
from smpc_bench.spec.metrics import Metric

POSITION_STATISTICS = [Metric.COUNT, Metric.percentile(10), Metric.percentile(25),
                       Metric.MEDIAN, Metric.percentile(75), Metric.percentile(90)]

if __name__ == "__main__":
    sys.exit(main(prog="benchmark_ranks.py", statistics=POSITION_STATISTICS, positions=True,
                  description=__doc__.split("\n\n")[0]))
