r"""Secure sum: every firm learns the total of each KPI over all firms' rows, and the counts.

Nothing else is released: no firm's own figures, no means, no quantiles.  A thin wrapper over
:func:`smpc_bench.cli.run.main` with the statistics fixed to ``count`` and ``sum`` for every
KPI of the consortium file (every party must run this same program).

Usage (one process per firm; the same consortium file everywhere)::

    # three terminals on one machine (MPyC's -M/-I, ports 11365, 11366, 11367):
    python protocols/secure_sum.py -M3 -I0 --config consortium.toml --data alfa.csv
    python protocols/secure_sum.py -M3 -I1 --config consortium.toml --data beta.csv
    python protocols/secure_sum.py -M3 -I2 --config consortium.toml --data gamma.csv

    # across machines: addresses from [[parties]] in the file, or MPyC's -P per party:
    python protocols/secure_sum.py --party 0 --config consortium.toml --data alfa.csv --ssl
    python protocols/secure_sum.py -P alfa.example:11365 -P beta.example:11365 \
        -P gamma.example:11365 -I0 --config consortium.toml --data alfa.csv

Add ``--json`` for the result as JSON, ``--report-dir DIR`` for report files.
"""

import sys

from smpc_bench.cli.run import main
from smpc_bench.spec.metrics import Metric

if __name__ == "__main__":
    sys.exit(main(prog="secure_sum.py", statistics=[Metric.COUNT, Metric.SUM], positions=False,
                  description=__doc__.split("\n\n")[0]))
