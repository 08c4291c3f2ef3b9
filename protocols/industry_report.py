r"""The full benchmarking round of one firm: every configured statistic, plus its own report.

Releases, for every KPI of the consortium file, the statistics listed under ``statistics``
(subject to the disclosure rules), and writes this firm's private ``report.json``,
``report.csv`` and ``report.html`` (with one plot per KPI and a "you are here" marker) into
``--report-dir`` or ``<[output] directory>/<index>-<firm>/``.  Same program as
``smpc-bench run``.

Usage (one process per firm; the same consortium file everywhere)::

    python protocols/industry_report.py -M3 -I0 --config consortium.toml --data alfa.csv
    python protocols/industry_report.py -M3 -I1 --config consortium.toml --data beta.csv
    python protocols/industry_report.py -M3 -I2 --config consortium.toml --data gamma.csv

    # across machines (addresses from [[parties]], or -P host:port once per party):
    python protocols/industry_report.py --party 0 --ssl --config consortium.toml \
        --data alfa.csv --report-dir alfa-report
    python protocols/industry_report.py -P alfa.example:11365 -P beta.example:11365 \
        -P gamma.example:11365 -I0 --ssl --config consortium.toml --data alfa.csv

``--quiet`` hides the progress lines, ``--json`` prints the report as JSON.
"""

import sys

from smpc_bench.cli.run import main

if __name__ == "__main__":
    sys.exit(main(prog="industry_report.py", default_reports=True,
                  description=__doc__.split("\n\n")[0]))
