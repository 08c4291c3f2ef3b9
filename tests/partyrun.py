"""Run an MPyC program as m local party processes, with free ports and timeouts.

The launcher lives in the library (:mod:`smpc_bench.engine.local_parties`, also used by
``smpc-bench simulate``); tests import it from here::

    from tests.partyrun import run_parties

    results = run_parties(lambda i: [str(PROGRAM), "--value", str(i)], 3, timeout=60)
"""

from smpc_bench.engine.local_parties import PartyResult, describe, free_base_port, run_parties

__all__ = ["PartyResult", "describe", "free_base_port", "run_parties"]
