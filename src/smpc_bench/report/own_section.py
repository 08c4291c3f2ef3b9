"""A firm's own position per KPI: its value, gaps, band, and (from the MPC) rank and percentile.

What this module computes needs nothing secret beyond the firm's own figures: the gaps to the
released median and top-quartile threshold and the quartile band are worked out *on the firm's
machine* from its own value and the public statistics; nobody else learns them.  Rank and
percentile cannot be derived that way (they depend on the other firms' values); they come from
the MPC as :class:`PrivatePosition` (delivered to this firm only) when the round computes them,
and are reported as unavailable otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.outcome import PrivatePosition, Released, exact_text

__all__ = ["DEFINITIONS", "own_section", "quantile_value"]

#: Plain-words definitions written into every report.
DEFINITIONS = {
    "value": "your own figure for this KPI, rounded to the agreed decimals (from your own file)",
    "gap": "your value minus the released statistic, in the KPI's unit; 'better' takes into "
           "account whether higher or lower values are better",
    "top_quartile": "the threshold of the best 25%: the 75th percentile if higher is better, "
                    "the 25th percentile if lower is better",
    "band_local": "quartile band from the released quartiles: 1 if your value is below Q1, "
                  "2 if from Q1 to below the median, 3 if from the median to below Q3, 4 if Q3 "
                  "or above (1 = lowest values; whether that is good depends on the KPI)",
}

_NO_RANKS = ("this round did not compute private ranks (the consortium switched private "
             "positions off); only values derived from public statistics are shown")


def quantile_value(metrics: Sequence[Metric], released: Mapping[str, Released],
                   fraction: Fraction) -> tuple[str, Released]:
    """The released quantile at ``fraction`` (inclusive method preferred), or ``("", None)``."""
    candidates = [m for m in metrics if m.kind == "quantile" and m.fraction == fraction]
    candidates.sort(key=lambda m: m.method != "inclusive")
    for metric in candidates:
        value = released.get(metric.name)
        if value is not None:
            return metric.name, value
    return "", None


def _gap(value: Fraction, statistic: str, reference: Fraction | float,
         kpi: KpiSpec) -> dict[str, Any]:
    difference: Fraction | float = (float(value) - reference if isinstance(reference, float)
                                    else value - reference)
    position = "above" if difference > 0 else "below" if difference < 0 else "at"
    better = None if position == "at" else (position == "above") == kpi.higher_is_better
    return {
        "statistic": statistic,
        "reference": exact_text(reference),
        "reference_float": float(reference),
        "difference": exact_text(difference),
        "difference_float": float(difference),
        "position": position,
        "better": better,
    }


def _band_label(band: int, kind: str, higher_is_better: bool) -> str:
    parts = 4 if kind == "quartile" else 10
    merit = band if higher_is_better else parts + 1 - band
    if kind == "quartile":
        return {4: "top quartile (best 25%)", 3: "second quartile from the top",
                2: "second quartile from the bottom", 1: "bottom quartile"}[merit]
    return f"decile {merit} of 10 (10 = best)"


def _local_band(value: Fraction, cuts: Sequence[Released]) -> int | None:
    known = [cut for cut in cuts if cut is not None]
    if len(known) != len(cuts):
        return None
    return 1 + sum(1 for cut in known if value >= cut)


def _entry(label: str, value: Fraction | None, kpi: KpiSpec, references: dict[str, Any],
           cuts: Sequence[Released], mpc: PrivatePosition | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "label": label, "value": exact_text(value),
        "value_float": None if value is None else float(value), "missing": value is None,
        "rank": None, "rank_of": None, "percentile": None, "percentile_float": None,
        "band": None, "band_kind": None, "band_label": None, "band_basis": None,
        "gaps": {"median": None, "top_quartile": None},
    }
    if value is None:
        return entry
    for name, (statistic, reference) in references.items():
        if reference is not None:
            entry["gaps"][name] = _gap(value, statistic, reference, kpi)
    band = _local_band(value, cuts)
    if band is not None:
        entry.update(band=band, band_kind="quartile", band_basis="released quartiles (local)",
                     band_label=_band_label(band, "quartile", kpi.higher_is_better))
    if mpc is not None:
        entry.update(rank=mpc.rank, rank_of=mpc.of, percentile=exact_text(mpc.percentile),
                     percentile_float=None if mpc.percentile is None else float(mpc.percentile))
        if mpc.band is not None:
            entry.update(band=mpc.band, band_kind=mpc.band_kind, band_basis="secure computation",
                         band_label=_band_label(mpc.band, mpc.band_kind, kpi.higher_is_better))
    return entry


def own_section(
    kpi: KpiSpec,
    metrics: Sequence[Metric],
    released: Mapping[str, Released],
    own_rows: Sequence[tuple[str, Fraction | None]],
    positions: Sequence[PrivatePosition | None] | None = None,
    positions_reason: str = "",
) -> dict[str, Any]:
    """The ``own`` part of a KPI's report.

    Args:
        kpi: The KPI.
        metrics: The statistics the round releases for it.
        released: ``{statistic name: value}``; None where suppressed or undefined.
        own_rows: ``(label, value)`` per row of the firm's file (None = missing value).
        positions: Per own row, the private position from the MPC, if the round computed
            positions (None: it did not).
        positions_reason: Why no position was released for this KPI, if none was.
    """
    median = quantile_value(metrics, released, Fraction(1, 2))
    top = quantile_value(metrics, released, Fraction(3, 4) if kpi.higher_is_better
                         else Fraction(1, 4))
    cuts = [quantile_value(metrics, released, Fraction(q, 4))[1] for q in (1, 2, 3)]
    references = {"median": median, "top_quartile": top}
    entries = [_entry(label, value, kpi, references, cuts,
                      positions[i] if positions is not None else None)
               for i, (label, value) in enumerate(own_rows)]
    unavailable: dict[str, str] = {}
    delivered = [p for p in positions or [] if p is not None]
    if positions is None:
        unavailable["rank"] = unavailable["percentile"] = _NO_RANKS
    elif not delivered:
        unavailable["rank"] = unavailable["percentile"] = (
            positions_reason or "no valid value of yours for this KPI")
    elif all(p.rank is None for p in delivered):
        unavailable["rank"] = unavailable["percentile"] = (
            "the consortium releases only bands (coarsened), not exact ranks")
    if median[1] is None:
        unavailable["gap_to_median"] = "the median was not released for this KPI"
    if top[1] is None:
        unavailable["gap_to_top_quartile"] = "the top-quartile threshold was not released"
    if any(c is None for c in cuts) and not any(p.band is not None for p in delivered):
        unavailable["band"] = "the quartiles were not all released for this KPI"
    definitions = dict(DEFINITIONS)
    mpc_definitions = {p.definition for p in delivered if p.definition}
    if mpc_definitions:
        definitions["rank_percentile_band"] = " ".join(sorted(mpc_definitions))
    return {
        "rows": entries,
        "computed_in_mpc": [name for name in ("rank", "percentile", "band")
                            if any(getattr(p, name) is not None for p in delivered)],
        "unavailable": unavailable,
        "definitions": definitions,
    }
