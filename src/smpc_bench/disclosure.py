"""Disclosure rules: which statistics may be released, decided before anything is opened.

Rule implemented: a statistic of a KPI is released only if at least ``min_contributions``
distinct *firms* (parties) contributed a valid value to that KPI.  A chain that enters three
shops counts once, so a statistic can never rest on fewer than ``min_contributions``
independent owners.  The rule is evaluated inside the MPC: per party and KPI, the number of
valid cells is summed locally from the secret-shared validity flags, turned into a secret 0/1
"contributed" flag, summed over the parties and compared with the threshold.  Only the
pass/fail bit per KPI is opened; the number of contributing firms stays secret.  The count of
valid contributions (rows) is released with every statistic, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from smpc_bench.metrics import Metric
from smpc_bench.round_spec import RoundSpec

__all__ = ["CONTRIBUTOR_RULE", "release_plan", "secure_enough_contributors"]

#: Plain-words statement of the rule, for reports.
CONTRIBUTOR_RULE = (
    "A statistic is released only if at least {min} different firms contributed a valid value "
    "to it (a firm with several shops counts once). The check runs inside the secure "
    "computation; only its pass/fail result is revealed."
)


def secure_enough_contributors(valid: Any, rows_per_party: Sequence[int],
                               min_contributions: int) -> Any:
    """Secure 0/1 per KPI: at least ``min_contributions`` parties have a valid cell.

    Args:
        valid: Secure 0/1 array ``(K, n)`` of valid cells, rows grouped by party in index order
            (as :func:`smpc_bench.peer_round.statistics_round` joins them).
        rows_per_party: Public number of rows of each party.
        min_contributions: The threshold.

    Returns:
        Secure 0/1 array ``(K,)``; nothing is opened here.
    """
    contributed = []
    start = 0
    for rows in rows_per_party:
        if rows:
            per_kpi = np.sum(valid[:, start:start + rows], axis=1)  # local
            contributed.append(1 - (per_kpi == 0))
        start += rows
    if len(contributed) < min_contributions:
        # Too few parties hold any rows: the answer is public (and no secure work is needed).
        return type(valid).sectype.array(np.zeros(valid.shape[0], dtype=np.int64))
    firms = contributed[0]
    for flag in contributed[1:]:
        firms = firms + flag
    return 1 - (firms < min_contributions)


def release_plan(spec: RoundSpec, counts: Sequence[int], enough_firms: Sequence[bool] | None
                 ) -> tuple[dict[Metric, list[int]], dict[tuple[str, str], str]]:
    """Which KPI rows of each statistic are declared outputs, decided from public facts.

    Args:
        spec: The round spec.
        counts: Released number of valid contributions per KPI.
        enough_firms: Released pass/fail bit per KPI of the contributing-firms rule, or None
            to apply the rule to ``counts`` (rows) instead.

    Returns:
        ``(rows, suppressed)``: per statistic the KPI indices to open, and the reason for
        every withheld ``(kpi name, statistic name)``.  Counts are never withheld.
    """
    rows: dict[Metric, list[int]] = {}
    suppressed: dict[tuple[str, str], str] = {}
    minimum = spec.min_contributions
    for metric in spec.all_metrics:
        rows[metric] = []
        for k, (kpi, wanted) in enumerate(zip(spec.kpis, spec.metrics, strict=True)):
            if metric not in wanted:
                continue
            if metric.kind != "count":
                if enough_firms is None and counts[k] < minimum:
                    suppressed[(kpi.name, metric.name)] = (
                        f"only {counts[k]} valid contributions; at least {minimum} are required")
                    continue
                if enough_firms is not None and not enough_firms[k]:
                    suppressed[(kpi.name, metric.name)] = (
                        f"fewer than {minimum} firms contributed a valid value; at least "
                        f"{minimum} are required")
                    continue
            rows[metric].append(k)
    return rows, suppressed
