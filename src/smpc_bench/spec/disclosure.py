"""Disclosure rules: which statistics may be released, decided before anything is opened.

Contributors rule: a statistic of a KPI is released only if at least ``min_contributions``
distinct *firms* (parties) contributed a valid value to that KPI.  A chain that enters three
shops counts once, so a statistic can never rest on fewer than ``min_contributions``
independent owners.  The rule is evaluated inside the MPC
(:mod:`smpc_bench.core.disclosure_checks`).  Only the pass/fail bit per KPI is opened; the
number of contributing firms stays secret.  The count of valid contributions (rows) is released
with every statistic.

Dominance rule: the sum and the mean of a KPI (a mean times the released count is the sum) are
released only if no single firm contributes more than ``max_firm_share`` of the KPI's total
(default 25%, the old US antitrust "safety zone"; 1 switches it off).  Otherwise a total is
little more than the dominant firm's own figure, which its competitors could read off.  A firm
is a party, so a chain's shops count together.  The rule is evaluated inside the MPC, one
secret bit per KPI; only that bit is opened, and only for KPIs that release a sum or mean.

Negative values: a share of a sum is ill-defined when contributions can cancel, so a firm's
contribution counts by its absolute value, and the total it is compared with is the sum of
those absolute values (a firm at +1000 beside one at -900 holds 1000/1900 of the magnitude;
its signed "share" of the sum, 100, would be ten times the whole).  For KPIs whose range is
all non-negative (or all non-positive) this is exactly the share of the sum; only for ranges
across zero does the absolute value need a secure sign, one more comparison of one element
per firm and KPI.  A total of zero (every firm at zero) passes: no firm holds a share of
nothing.

Where the contributors rule already fails for a KPI, the opened dominance bit is forced to
"pass": the KPI is suppressed anyway, and nothing more about it is revealed.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.round_spec import SUM_BASED_KINDS, RoundSpec

__all__ = ["CONTRIBUTOR_RULE", "DOMINANCE_RULE", "dominance_reason", "dominance_verdicts",
           "release_plan", "rules_text", "share_text", "unreachable_share"]

#: Plain-words statement of the rule, for reports.
CONTRIBUTOR_RULE = (
    "A statistic is released only if at least {min} different firms contributed a valid value "
    "to it (a firm with several shops counts once). The check runs inside the secure "
    "computation; only its pass/fail result is revealed."
)
#: Plain-words statement of the dominance rule, for reports.
DOMINANCE_RULE = (
    "A sum or mean is released only if no single firm (its shops together) contributes more "
    "than {share} of the total; where values can be negative, each firm's contribution counts "
    "by its absolute value. This check too runs inside the secure computation; only its "
    "pass/fail result is revealed."
)


def share_text(share: Fraction) -> str:
    """A share as a percentage: ``Fraction(1, 4)`` -> ``"25%"``, 1/3 -> ``"33.33%"``."""
    percent = share * 100
    if percent.denominator == 1:
        return f"{percent.numerator}%"
    return f"{float(percent):.2f}".rstrip("0").rstrip(".") + "%"


def rules_text(spec: RoundSpec) -> str:
    """Every disclosure rule of the round in plain words."""
    text = CONTRIBUTOR_RULE.format(min=spec.min_contributions)
    if spec.dominance_kpis:
        text += " " + DOMINANCE_RULE.format(share=share_text(spec.max_firm_share))
    return text


def dominance_reason(share: Fraction) -> str:
    """Why a sum or mean was suppressed by the dominance rule (names no firm: nobody knows)."""
    limit = share_text(share)
    return (f"at least one firm contributes more than {limit} of the total (the dominance rule; a "
            f"firm's shops count together): sums and means are released only when no firm "
            f"exceeds {limit}")


def unreachable_share(spec: RoundSpec, firms: int) -> bool:
    """Whether no sum or mean can ever pass: some firm of ``firms`` always holds ``1/firms``."""
    return bool(spec.dominance_kpis) and firms > 0 and spec.max_firm_share * firms < 1


def dominance_verdicts(spec: RoundSpec, opened: Sequence[Any] | None,
                       enough_firms: Sequence[bool]) -> list[bool | None]:
    """Per KPI, the released dominance bit; None where the rule was not evaluated.

    Args:
        spec: The round spec.
        opened: The opened output of :func:`secure_dominance_bits` (None if it returned None).
        enough_firms: The released contributors bits; where they fail, the dominance bit was
            forced to pass and carries no verdict.
    """
    verdicts: list[bool | None] = [None] * len(spec.kpis)
    for k, bit in zip(spec.dominance_kpis, [] if opened is None else opened, strict=True):
        if enough_firms[k]:
            verdicts[k] = bool(int(bit))
    return verdicts


def _contributors_reason(spec: RoundSpec, count: int, enough: bool | None) -> str | None:
    """Why the contributors rule withholds a KPI's statistics, or None if it passes."""
    minimum = spec.min_contributions
    if enough is None and count < minimum:
        return f"only {count} valid contributions; at least {minimum} are required"
    if enough is False:
        return (f"fewer than {minimum} firms contributed a valid value; at least {minimum} are "
                "required")
    return None


def release_plan(spec: RoundSpec, counts: Sequence[int], enough_firms: Sequence[bool] | None,
                 no_dominant_firm: Sequence[bool | None] | None = None,
                 ) -> tuple[dict[Metric, list[int]], dict[tuple[str, str], str]]:
    """Which KPI rows of each statistic are declared outputs, decided from public facts.

    Args:
        spec: The round spec.
        counts: Released number of valid contributions per KPI.
        enough_firms: Released pass/fail bit per KPI of the contributing-firms rule, or None
            to apply the rule to ``counts`` (rows) instead.
        no_dominant_firm: Released dominance verdict per KPI (:func:`dominance_verdicts`);
            False withholds the KPI's sum and mean.  None (or a None entry): not evaluated.

    Returns:
        ``(rows, suppressed)``: per statistic the KPI indices to open, and the reason for
        every withheld ``(kpi name, statistic name)``.  Counts are never withheld.
    """
    rows: dict[Metric, list[int]] = {}
    suppressed: dict[tuple[str, str], str] = {}
    for metric in spec.all_metrics:
        rows[metric] = []
        for k, (kpi, wanted) in enumerate(zip(spec.kpis, spec.metrics, strict=True)):
            if metric not in wanted:
                continue
            reason = None
            if metric.kind != "count":
                reason = _contributors_reason(spec, counts[k], None if enough_firms is None
                                              else bool(enough_firms[k]))
            if reason is None and metric.kind in SUM_BASED_KINDS and no_dominant_firm \
                    and no_dominant_firm[k] is False:
                reason = dominance_reason(spec.max_firm_share)
            if reason is None:
                rows[metric].append(k)
            else:
                suppressed[(kpi.name, metric.name)] = reason
    return rows, suppressed
