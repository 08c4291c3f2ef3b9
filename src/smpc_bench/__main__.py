"""``python -m smpc_bench`` runs the command line."""

import sys

from smpc_bench.cli.main import main

sys.exit(main())
