"""Disclosure rules: which statistics may be released, decided before anything is opened.

Contributors rule: a statistic of a KPI is released only if at least ``min_contributions``
distinct *firms* (parties) contributed a valid value to that KPI.  A chain that enters three
shops counts once, so a statistic can never rest on fewer than ``min_contributions``
independent owners.  The rule is evaluated inside the MPC: per party and KPI, the number of
valid cells is summed locally from the secret-shared validity flags, turned into a secret 0/1
"contributed" flag, summed over the parties and compared with the threshold.  Only the
pass/fail bit per KPI is opened; the number of contributing firms stays secret.  The count of
valid contributions (rows) is released with every statistic, as before.

Dominance rule: the sum and the mean of a KPI (a mean times the released count is the sum) are
released only if no single firm contributes more than ``max_firm_share`` of the KPI's total
(default 25%, the old US antitrust "safety zone"; 1 switches it off).  Otherwise a total is
little more than the dominant firm's own figure, which its competitors could read off.  A firm
is a party, so a chain's shops count together.  Per party the firm's total is a local linear
combination of the shared table (its offset sum plus the lower bound times its secret number of
valid cells); one vectorised secure comparison tests ``denominator * |firm total| <= numerator
* total of |firm totals|`` for every firm and KPI at once, and the results are multiplied into
one secret bit per KPI.  Only that bit is opened, and only for KPIs that release a sum or mean.

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

import numpy as np

from smpc_bench.core.secure_table import SecureTable
from smpc_bench.engine.driver import runtime
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.round_spec import SUM_BASED_KINDS, RoundSpec
from smpc_bench.spec.sizing import dominance_bits, magnitude_bits

__all__ = ["CONTRIBUTOR_RULE", "DOMINANCE_RULE", "dominance_reason", "dominance_verdicts",
           "release_plan", "rules_text", "secure_dominance_bits", "secure_enough_contributors",
           "secure_no_dominant_firm", "share_text", "unreachable_share"]

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


def secure_enough_contributors(valid: Any, rows_per_party: Sequence[int],
                               min_contributions: int) -> Any:
    """Secure 0/1 per KPI: at least ``min_contributions`` parties have a valid cell.

    Args:
        valid: Secure 0/1 array ``(K, n)`` of valid cells, rows grouped by party in index order
            (as :func:`smpc_bench.peer.round.statistics_round` joins them).
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


def _membership(rows_per_party: Sequence[int]) -> np.ndarray:
    """Public 0/1 matrix ``(n, F)``: row ``i`` belongs to the ``f``-th party that has rows."""
    owners = [rows for rows in rows_per_party if rows]
    matrix = np.zeros((sum(owners), len(owners)), dtype=np.int64)
    start = 0
    for f, rows in enumerate(owners):
        matrix[start:start + rows, f] = 1
        start += rows
    return matrix


def _firm_totals(valid: Any, values: Any, rows_per_party: Sequence[int],
                 specs: Sequence[KpiSpec]) -> Any:
    """Secure ``(K, F)``: every firm's total of its actual (not offset) valid values."""
    membership = _membership(rows_per_party)
    offset_sums = (valid * values) @ membership  # one product per cell, the rest is local
    counts = valid @ membership
    lowers = np.array([[spec.lower_units] for spec in specs], dtype=object)
    return offset_sums + counts * lowers  # values are offset by the lower bound: add it back


def _magnitudes(totals: Any, specs: Sequence[KpiSpec], num_rows: int) -> Any:
    """``|totals|`` per KPI row; a secure sign only where the KPI's range spans zero."""
    public_sign = [1 if s.lower_units >= 0 else -1 if s.lower_units + s.span <= 0 else 0
                   for s in specs]
    mixed = [k for k, sign in enumerate(public_sign) if sign == 0]
    known = totals * np.array([[sign or 1] for sign in public_sign], dtype=object)
    if not mixed:
        return known
    spanning = totals[mixed]
    below_zero = runtime().np_sgn(spanning, l=magnitude_bits([specs[k] for k in mixed],
                                                             num_rows), LT=True)
    flipped = spanning - 2 * below_zero * spanning
    others = [k for k in range(len(specs)) if k not in mixed]
    if not others:
        return flipped
    restore = [int(i) for i in np.argsort(others + mixed)]  # public permutation back to KPIs
    return np.concatenate((known[others], flipped), axis=0)[restore]


def secure_no_dominant_firm(valid: Any, values: Any, rows_per_party: Sequence[int],
                            specs: Sequence[KpiSpec], share: Fraction) -> Any:
    """Secure 0/1 per KPI: no firm contributes more than ``share`` of the KPI's total.

    A firm's contribution is the absolute value of its total (see the module docstring).

    Args:
        valid: Secure 0/1 array ``(K, n)`` of valid cells, rows grouped by party in index order.
        values: Secure offset values ``(K, n)`` (:attr:`SecureTable.values`), same layout.
        rows_per_party: Public number of rows of each party.
        specs: The ``K`` KPIs (their bounds turn offset values back into actual values).
        share: The largest share allowed, an exact fraction.

    Returns:
        Secure 0/1 array ``(K,)``; nothing is opened here.

    Raises:
        ValueError: The secure type is too narrow for the comparison (size the table with
            :func:`smpc_bench.spec.sizing.size_for` and ``dominance=``).
    """
    mpc = runtime()
    num_kpis, num_rows = valid.shape
    bits = dominance_bits(specs, num_rows, share.denominator)
    if bits > type(valid).sectype.bit_length:
        raise ValueError(f"the dominance comparison needs {bits} bits but the secure type has "
                         f"{type(valid).sectype.bit_length}: size it with size_for(..., "
                         "dominance=..., max_firm_share=...)")
    magnitudes = _magnitudes(_firm_totals(valid, values, rows_per_party, specs), specs,
                             num_rows)
    total = np.sum(magnitudes, axis=1).reshape(num_kpis, 1)
    # Integers only: firm <= (p/q) * total  <=>  q * firm <= p * total.
    slack = total * share.numerator - magnitudes * share.denominator
    above = mpc.np_sgn(slack, l=bits, LT=True)  # every firm of every KPI in one comparison
    return mpc.np_all(1 - above, axis=1)


def secure_dominance_bits(table: SecureTable, rows_per_party: Sequence[int], spec: RoundSpec,
                          enough_firms: Any) -> Any | None:
    """What the parties open for the dominance rule: a secure bit per checked KPI, or None.

    Args:
        table: The round's secure table (sized with the rule's KPIs, see
            :func:`smpc_bench.spec.sizing.size_for`).
        rows_per_party: Public number of rows of each party.
        spec: The round spec; the rule checks :attr:`RoundSpec.dominance_kpis`.
        enough_firms: The contributors rule's secure bits ``(K,)``
            (:func:`secure_enough_contributors`).

    Returns:
        Secure 0/1 array with one entry per index in ``spec.dominance_kpis`` (1 = no firm
        dominates), forced to 1 where the contributors rule fails; None when no KPI is
        checked (the rule is off or no KPI releases a sum or mean).
    """
    checked = list(spec.dominance_kpis)
    if not checked:
        return None
    verdict = secure_no_dominant_firm(table.valid[checked], table.values[checked],
                                      rows_per_party, [spec.kpis[k] for k in checked],
                                      spec.max_firm_share)
    # A KPI that fails the contributors rule is withheld anyway; its bit then says nothing.
    return 1 - enough_firms[checked] * (1 - verdict)


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
