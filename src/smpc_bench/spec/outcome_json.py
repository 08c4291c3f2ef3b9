"""Serialise a :class:`~smpc_bench.peer.round.RoundOutcome` to JSON-friendly data and back.

Exact values are written as strings of their shortest exact decimal form when one exists,
else as fractions ``"p/q"``; ``value_float`` carries the float for convenience.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from smpc_bench.core.reveal import Released
from smpc_bench.peer.round import RoundOutcome

__all__ = ["exact_text", "kpi_verdicts", "outcome_to_dict", "parse_exact"]


def exact_text(value: Released) -> str | None:
    """``Fraction(1, 4)`` -> ``"0.25"``; ``Fraction(1, 3)`` -> ``"1/3"``; floats via repr."""
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)
    denominator = value.denominator
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    scaled = value * 10**places
    assert scaled.denominator == 1
    digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def parse_exact(text: str | None) -> Released:
    """Inverse of :func:`exact_text` for exact values (floats come back as Fraction)."""
    if text is None:
        return None
    return Fraction(text)


def kpi_verdicts(outcome: RoundOutcome, k: int) -> dict[str, Any]:
    """KPI ``k``'s released count, rejected inputs and disclosure-rule bits (None if not run)."""
    return {
        "count": outcome.counts[k],
        "rejected": outcome.rejected[k],
        "enough_firms": outcome.enough_firms[k] if outcome.enough_firms else None,
        "no_dominant_firm": (outcome.no_dominant_firm[k] if outcome.no_dominant_firm
                             else None),
    }


def outcome_to_dict(outcome: RoundOutcome) -> dict[str, Any]:
    """Plain data (for ``json.dumps``) describing everything the party learned."""
    kpis = []
    for k, kpi in enumerate(outcome.spec.kpis):
        statistics = {}
        for metric in outcome.spec.metrics[k]:
            value = outcome.released[metric.name][k]
            statistics[metric.name] = {
                "value": exact_text(value),
                "value_float": None if value is None else float(value),
                "suppressed": outcome.suppressed.get((kpi.name, metric.name)),
            }
        kpis.append({
            "name": kpi.name,
            "unit": kpi.unit,
            **kpi_verdicts(outcome, k),
            "statistics": statistics,
        })
    return {
        "round": outcome.spec.name,
        "spec_sha256": outcome.spec.digest(),
        "party": outcome.party,
        "parties": outcome.parties,
        "rows_per_party": outcome.rows_per_party,
        "min_contributions": outcome.spec.min_contributions,
        "max_firm_share": exact_text(outcome.spec.max_firm_share),
        "kpis": kpis,
        "timings": [{"phase": name, "seconds": round(sec, 4)} for name, sec in outcome.timings],
        "bytes_sent": outcome.bytes_sent,
    }
