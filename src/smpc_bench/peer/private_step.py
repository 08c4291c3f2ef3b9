"""Wire the private positions of :mod:`smpc_bench.positions.ranks` into a peer-mode round.

:func:`positions_step` makes the ``private`` step of
:func:`smpc_bench.peer.round.statistics_round`: on the round's secure table it computes every
row's rank, percentile and band (or only the band) and opens each firm's records to that firm
alone, for the KPIs that pass the disclosure rule.
:func:`smpc_bench.positions.delivery.report_positions` turns what this firm received into the
``positions`` argument of :func:`smpc_bench.report.build.build_report`.

:mod:`smpc_bench.positions.ranks` is imported inside the functions: it imports :mod:`mpyc`, whose
import parses ``sys.argv``, so it must come after the party program has handed MPyC its own flags.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smpc_bench.core.release import PrivateStep
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.inputs.consortium import AUTO_ALL_PAIRS_ROWS, PositionSettings
from smpc_bench.positions.delivery import rules_for

__all__ = ["counting_method", "positions_step"]


def counting_method(settings: PositionSettings, total_rows: int) -> str:
    """The counting protocol for ``total_rows`` contributions (public, so all parties agree)."""
    if settings.method != "auto":
        return settings.method
    return "all-pairs" if total_rows <= AUTO_ALL_PAIRS_ROWS else "sort"


def positions_step(settings: PositionSettings) -> PrivateStep:
    """The ``private`` step computing and delivering every firm's own positions."""

    async def step(table: SecureTable, rows_per_party: list[int], counts: list[int],
                   enough_firms: list[bool]) -> Any:
        from smpc_bench.positions.delivery import deliver_to_owners
        from smpc_bench.positions.ranks import position_records
        from smpc_bench.positions.shuffle import agree_shuffle_keys

        released = [k for k, ok in enumerate(enough_firms) if ok]
        if not released:
            return None
        method = counting_method(settings, sum(rows_per_party))
        keys = await agree_shuffle_keys() if method == "sort" else None
        records = position_records(table, rules=rules_for(settings), counts=counts,
                                   method=method, keys=keys)
        owners = [party for party, rows in enumerate(rows_per_party) for _ in range(rows)]
        mine = await deliver_to_owners(records, owners, kpis=released)
        return None if mine is None else {"kpis": released, "records": np.asarray(mine)}

    return step
