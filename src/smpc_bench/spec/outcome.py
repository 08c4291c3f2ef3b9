"""What one party learns from a round (:class:`RoundOutcome`, :class:`PrivatePosition`), as JSON.

Exact values are written as strings of their shortest exact decimal form when one exists,
else as fractions ``"p/q"``; ``value_float`` carries the float for convenience.  Pure data: the
report builder and the outcome files need nothing of the MPC to read or write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from smpc_bench.spec.round_spec import RoundSpec

__all__ = ["PrivatePosition", "Released", "RoundOutcome", "exact_text", "kpi_verdicts",
           "outcome_to_dict", "parse_exact"]

#: A released statistic: exact Fraction, float (square roots), or None (undefined: no data).
Released = Fraction | float | None


@dataclass
class RoundOutcome:
    """What one party learns from a round.

    Attributes:
        spec: The agreed spec.
        party: This party's index; ``parties`` is the number of parties.
        rows_per_party: Number of rows each party contributed (public).
        counts: Valid contributions per KPI (released with every statistic).
        rejected: Per KPI, cells rejected inside the MPC as outside the agreed range.
        released: ``{metric name: [value per KPI]}``; ``None`` where undefined or suppressed.
        suppressed: ``{(kpi name, metric name): reason}`` for withheld statistics.
        enough_firms: Per KPI, the released pass/fail bit of the contributing-firms rule
            (see :mod:`smpc_bench.spec.disclosure`).
        private: What the ``private`` step of :func:`statistics_round` returned to this party
            (e.g. its own ranks), or None.
        timings: ``(phase, seconds)`` in order.
        bytes_sent: Bytes this party sent to the others during the round.
        no_dominant_firm: Per KPI, the released verdict of the dominance rule (True: no firm
            holds more than ``spec.max_firm_share`` of the total); None where the rule was not
            evaluated (off, no sum or mean asked for, or the contributors rule failed).
    """

    spec: RoundSpec
    party: int
    parties: int
    rows_per_party: list[int]
    counts: list[int]
    rejected: list[int]
    released: dict[str, list[Released]]
    suppressed: dict[tuple[str, str], str] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)
    bytes_sent: int = 0
    enough_firms: list[bool] = field(default_factory=list)
    private: Any = None
    no_dominant_firm: list[bool | None] = field(default_factory=list)


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


@dataclass(frozen=True)
class PrivatePosition:
    """One contribution's position as computed in the MPC and delivered to its owner only.

    Attributes:
        rank: Rank among ``of`` valid contributions (1 = best), by ``tie_rule``.
        of: Number of valid contributions ranked.
        percentile: Percentile in ``[0, 100]`` by ``percentile_definition``.
        band: Quartile (1-4) or decile (1-10) band, 1 = lowest values.
        band_kind: ``"quartile"`` or ``"decile"``.
        definition: How rank, percentile and band are defined (for the report).
    """

    rank: int | None
    of: int | None
    percentile: Fraction | float | None
    band: int | None
    band_kind: str = "quartile"
    definition: str = ""
