"""``python -m smpc_bench`` runs the command line."""

import sys

from smpc_bench.cli import main

sys.exit(main())
