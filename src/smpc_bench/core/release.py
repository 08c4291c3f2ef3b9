"""From a built secure table to the released statistics, in either mode.

Once every party holds its shares of the round's :class:`~smpc_bench.core.secure_table.SecureTable`
(peer mode: the firms input them; outsourced mode: the compute servers load the contributors'
stored shares), a round does the same thing: open the counts, the rejected cells and the
disclosure bits first (they fix the public quantile positions and which statistics are released
at all, see :mod:`smpc_bench.spec.disclosure`), compute every statistic of every KPI in one pass,
open the declared outputs together and decode them exactly, then run the optional private step
(each firm's own positions).  :func:`release_round` is that sequence; it is the one module of
the core that opens values, and it opens only the declared outputs (through MPyC's
``output``; decoding is :mod:`smpc_bench.core.reveal`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smpc_bench.core.disclosure_checks import (
    secure_dominance_bits,
    secure_enough_contributors,
    single_row_dominance_bits,
)
from smpc_bench.core.reveal import decode
from smpc_bench.core.secure_fraction import SecureFraction
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.core.summarize import summarize
from smpc_bench.engine import driver
from smpc_bench.spec.disclosure import dominance_verdicts, release_plan
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.outcome import Released
from smpc_bench.spec.round_spec import RoundSpec

__all__ = ["PrivateStep", "RoundRelease", "Timeouts", "release_round"]


#: A further step on the secure table, run after the release:
#: ``(table, rows_per_party, counts, enough_firms) -> awaitable``.
PrivateStep = Callable[[SecureTable, list[int], list[int], list[bool]], Awaitable[Any]]


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed per phase; generous defaults for real networks."""

    connect: float = 120.0
    exchange: float = 60.0
    compute: float = 1800.0


@dataclass
class RoundRelease:
    """What :func:`release_round` made public (identical at every party), and the private part.

    Attributes:
        counts: Valid contributions per KPI.
        rejected: Per KPI, cells rejected inside the MPC (out of range or malformed).
        enough_firms: Per KPI, the contributors rule's pass/fail bit.
        no_dominant_firm: Per KPI, the dominance rule's verdict (None: not evaluated).
        released: ``{metric name: [value per KPI]}``; None where undefined or suppressed.
        suppressed: ``{(kpi name, metric name): reason}``.
        private: What the private step returned to this party, or None.
    """

    counts: list[int]
    rejected: list[int]
    enough_firms: list[bool]
    no_dominant_firm: list[bool | None]
    released: dict[str, list[Released]]
    suppressed: dict[tuple[str, str], str] = field(default_factory=dict)
    private: Any = None


async def _open_all(mpc: Any, arrays: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*(mpc.output(a) for a in arrays)))


def _disclosure_outputs(table: SecureTable, rows_per_party: list[int], spec: RoundSpec,
                        grouped: bool, dominance: bool = True) -> list[Any]:
    """What is opened before any statistic: counts, rejected cells, the disclosure bits.

    The dominance bits are last and present only if the rule checks some KPI (a public fact
    of the spec) and is evaluated here (``dominance``), so every party opens the same shapes.
    """
    enough = secure_enough_contributors(table.valid, rows_per_party, spec.min_contributions,
                                        grouped=grouped)
    outputs = [np.sum(table.valid, axis=1), table.rejected, enough]
    bits = secure_dominance_bits(table, rows_per_party, spec, enough, grouped=grouped) \
        if dominance else None
    if bits is not None:
        outputs.append(bits)
    return outputs


def _order_statistics_for_dominance(spec: RoundSpec) -> list[Metric]:
    """The extra statistics the single-row dominance check reads off the walk (never opened)."""
    extra = [Metric.MAX]
    if any(spec.kpis[k].lower_units < 0 for k in spec.dominance_kpis):
        extra.append(Metric.MIN)
    return extra


async def _single_row_dominance(mpc: Any, spec: RoundSpec, table: SecureTable,
                                results: dict[Metric, SecureFraction], counts: list[int],
                                enough_firms: list[bool], timeouts: Timeouts,
                                log: driver.RunLog) -> list[bool | None]:
    """The dominance verdicts from the walk's extremes (one row per owner), opened apart."""
    checked = [k for k in spec.dominance_kpis if enough_firms[k]]
    if not checked:
        return dominance_verdicts(spec, [1] * len(spec.dominance_kpis), enough_firms)
    maxima = results[Metric.MAX].numerator  # denominator 1: the largest offset value
    minima = results[Metric.MIN].numerator if Metric.MIN in results else maxima
    bits = single_row_dominance_bits(table, spec, checked, maxima, minima, counts)
    opened = await driver.phase("checking the dominance rule", mpc.output(bits),
                                timeouts.compute, log=log)
    by_kpi = dict(zip(checked, (int(b) for b in np.asarray(opened).reshape(-1)), strict=True))
    return dominance_verdicts(spec, [by_kpi.get(k, 1) for k in spec.dominance_kpis],
                              enough_firms)


async def _release(
    mpc: Any,
    results: dict[Metric, SecureFraction],
    rows: dict[Metric, list[int]],
    kpis: Sequence[KpiSpec],
    counts: list[int],
    timeouts: Timeouts,
    log: driver.RunLog,
) -> dict[str, list[Released]]:
    """Open the declared outputs together (one round) and decode them exactly."""
    secure_parts: list[Any] = []
    for metric, fraction in results.items():
        if rows[metric]:
            secure_parts.append(fraction.numerator[rows[metric]])
            if not fraction.public_denominator:
                secure_parts.append(fraction.denominator[rows[metric]])
    opened = await driver.phase("computing and releasing", _open_all(mpc, secure_parts),
                                timeouts.compute, log=log)
    released: dict[str, list[Released]] = {}
    position = 0
    for metric, fraction in results.items():
        values: list[Released] = [None] * len(kpis)
        chosen = rows[metric]
        if chosen:
            numerator = opened[position]
            position += 1
            if fraction.public_denominator:
                denominator = np.broadcast_to(
                    np.asarray(fraction.denominator, dtype=object), (len(kpis),))[chosen]
            else:
                denominator = opened[position]
                position += 1
            decoded = decode(numerator, denominator, fraction, [kpis[k] for k in chosen],
                             [counts[k] for k in chosen], chosen)
            for k, row in zip(chosen, decoded, strict=True):
                values[k] = row[0]
        released[metric.name] = values
    return released


async def release_round(
    spec: RoundSpec,
    table: SecureTable,
    rows_per_party: Sequence[int],
    *,
    timeouts: Timeouts,
    log: driver.RunLog,
    private: PrivateStep | None = None,
    checks_phase: str = "sharing inputs",
    grouped: bool = False,
) -> RoundRelease:
    """Release the round's statistics from its secure table, then run the private step.

    Every party must call this with the same public arguments (spec, row layout, flags).

    Args:
        spec: The agreed round spec.
        table: The round's secure table, rows grouped by owner in ``rows_per_party`` order.
        rows_per_party: Public number of rows of each owner (a firm, a contributor): the
            disclosure rules count owners, not rows.
        timeouts: Per-phase timeouts.
        log: Where phase timings go.
        private: Optional step on the same table after the release (see :data:`PrivateStep`).
        checks_phase: Name of the phase that opens the counts and the rule bits (in peer mode
            it includes sharing the inputs, which MPyC does lazily).
        grouped: Evaluate the rules per group of owners with equal row counts instead of per
            owner (see :func:`smpc_bench.spec.disclosure.secure_enough_contributors`): the
            same verdicts at a cost that does not grow with a Python loop over owners, for
            thousands of contributors.  Peer mode keeps the per-owner form.

    Returns:
        The released facts and statistics, and what the private step returned.
    """
    mpc = driver.runtime()
    layout = [int(rows) for rows in rows_per_party]
    # One row per owner (outsourced rounds): the dominance rule needs one comparison per KPI,
    # not one per owner, once the walk has the extremes; it is then opened after the counts.
    single_rows = grouped and bool(spec.dominance_kpis) and all(rows == 1 for rows in layout)
    opened = await driver.phase(
        checks_phase, _open_all(mpc, _disclosure_outputs(table, layout, spec, grouped,
                                                         dominance=not single_rows)),
        timeouts.compute, log=log)
    counts = [int(c) for c in opened[0]]
    rejected = [int(c) for c in opened[1]]
    enough_firms = [bool(int(c)) for c in opened[2]]
    if single_rows:
        extra = _order_statistics_for_dominance(spec)
        walked = summarize(table, [*spec.all_metrics, *extra], counts=counts)
        no_dominant_firm = await _single_row_dominance(mpc, spec, table, walked, counts,
                                                       enough_firms, timeouts, log)
        results = {metric: walked[metric] for metric in spec.all_metrics}
    else:
        no_dominant_firm = dominance_verdicts(spec, opened[3] if spec.dominance_kpis else None,
                                              enough_firms)
        results = summarize(table, spec.all_metrics, counts=counts)
    rows, suppressed = release_plan(spec, counts, enough_firms, no_dominant_firm)
    released = await _release(mpc, results, rows, spec.kpis, counts, timeouts, log)
    own_private = None
    if private is not None:
        own_private = await driver.phase("computing private positions",
                                         private(table, list(layout), counts, enough_firms),
                                         timeouts.compute, log=log)
    return RoundRelease(counts, rejected, enough_firms, no_dominant_firm, released, suppressed,
                        own_private)
