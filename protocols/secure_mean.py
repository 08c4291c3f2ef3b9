r"""Secure mean: every firm learns the mean of each KPI over all firms' rows, and the counts.

The mean is released exactly (sum and count are combined in the clear only after the
disclosure rule passed inside the MPC).  A thin wrapper over
:func:`smpc_bench.cli.run.main` with the statistics fixed to ``count`` and ``mean``.

Usage (one process per firm; the same consortium file everywhere)::

    python protocols/secure_mean.py -M3 -I0 --config consortium.toml --data alfa.csv
    python protocols/secure_mean.py -M3 -I1 --config consortium.toml --data beta.csv
    python protocols/secure_mean.py -M3 -I2 --config consortium.toml --data gamma.csv

    python protocols/secure_mean.py -P alfa.example:11365 -P beta.example:11365 \
        -P gamma.example:11365 -I0 --ssl --config consortium.toml --data alfa.csv

Add ``--json`` for the result as JSON, ``--report-dir DIR`` for report files.
"""

import sys

from smpc_bench.cli.run import main
from smpc_bench.spec.metrics import Metric

if __name__ == "__main__":
    sys.exit(main(prog="secure_mean.py", statistics=[Metric.COUNT, Metric.MEAN], positions=False,
                  description=__doc__.split("\n\n")[0]))
