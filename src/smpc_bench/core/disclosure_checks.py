"""The disclosure rules evaluated inside the MPC: one secret pass/fail bit per KPI and rule.

The rules themselves (what they mean, their texts, the release plan that follows from the
opened bits) are :mod:`smpc_bench.spec.disclosure`; this module computes the bits from the
secure table without opening anything.  Contributors rule: per party and KPI the number of valid
cells is summed locally from the shared validity flags, turned into a secret 0/1 "contributed"
flag, summed over the parties and compared with ``min_contributions``.  Dominance rule: per
party the firm's total is a local linear combination of the shared table; one vectorised secure
comparison tests ``denominator * |firm total| <= numerator * total of |firm totals|`` for every
firm and KPI at once, and the results are multiplied into one bit per KPI.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from smpc_bench.core.field_switch import to_wide, wide_cells, wide_type
from smpc_bench.core.less_than import fold_digit_comparisons
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.engine.driver import mpc_coroutine, runtime
from smpc_bench.spec.encoding import digit_layout
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.round_spec import RoundSpec
from smpc_bench.spec.sizing import dominance_bits, magnitude_bits

__all__ = ["dominance_inputs", "owner_groups", "secure_dominance_bits",
           "secure_enough_contributors", "secure_no_dominant_firm", "single_row_dominance_bits"]


def owner_groups(rows_per_party: Sequence[int]) -> list[tuple[int, np.ndarray]]:
    """The owners (parties, contributors) with rows, grouped by their number of rows.

    Returns:
        Per distinct row count ``r > 0`` (ascending): ``(r, index)`` with ``index`` the public
        int array ``(owners with r rows, r)`` of their row positions in the table.
    """
    rows = np.asarray(rows_per_party, dtype=np.int64).reshape(-1)
    starts = np.cumsum(rows) - rows
    return [(int(r), starts[rows == r].reshape(-1, 1) + np.arange(r, dtype=np.int64))
            for r in np.unique(rows[rows > 0])]


def _group_cells(cells: Any, index: np.ndarray) -> Any:
    """Secure ``(K, owners, r)``: the owners' cells, by a public reindexing (local)."""
    num_kpis, num_rows = cells.shape
    if index.size == num_rows and index[0, 0] == 0 and np.all(np.diff(index.reshape(-1)) == 1):
        picked = cells  # every row belongs to this group, in order: no copy
    else:
        picked = cells[:, index.reshape(-1)]
    return picked.reshape(num_kpis, *index.shape)


def _enough_grouped(valid: Any, rows_per_party: Sequence[int], min_contributions: int) -> Any:
    """:func:`secure_enough_contributors` per group of owners with equal row counts.

    An owner with one row contributed iff its one validity flag is set, so single-row owners
    need no secure test at all; owners with ``r > 1`` rows take one vectorised zero test per
    group.  The cost no longer grows with a Python loop over owners (outsourced rounds have
    tens of thousands of them).
    """
    groups = owner_groups(rows_per_party)
    if sum(len(index) for _, index in groups) < min_contributions:
        return type(valid).sectype.array(np.zeros(valid.shape[0], dtype=np.int64))
    firms: Any = None
    for rows, index in groups:
        cells = _group_cells(valid, index)  # (K, owners, r)
        if rows == 1:
            contributed = np.sum(cells.reshape(cells.shape[:2]), axis=1)  # flags are 0/1
        else:
            contributed = np.sum(1 - (np.sum(cells, axis=2) == 0), axis=1)
        firms = contributed if firms is None else firms + contributed
    return 1 - (firms < min_contributions)


def secure_enough_contributors(valid: Any, rows_per_party: Sequence[int],
                               min_contributions: int, *, grouped: bool = False) -> Any:
    """Secure 0/1 per KPI: at least ``min_contributions`` parties have a valid cell.

    Args:
        valid: Secure 0/1 array ``(K, n)`` of valid cells, rows grouped by party in index order
            (as :func:`smpc_bench.peer.round.statistics_round` joins them).
        rows_per_party: Public number of rows of each party.
        min_contributions: The threshold.
        grouped: Vectorise over groups of owners with equal row counts (same bit, cost
            independent of the number of owners; for outsourced rounds).  The default tests
            each party in turn, as peer rounds always have.

    Returns:
        Secure 0/1 array ``(K,)``; nothing is opened here.
    """
    if grouped:
        return _enough_grouped(valid, rows_per_party, min_contributions)
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
                 specs: Sequence[KpiSpec], grouped: bool = False) -> Any:
    """Secure ``(K, F)``: every firm's total of its actual (not offset) valid values.

    With ``grouped`` the firms come group by group (:func:`owner_groups`) instead of in party
    order, which the rule does not see (it sums and tests all firms alike), and no dense
    ``n x F`` membership matrix is built.
    """
    lowers = np.array([[spec.lower_units] for spec in specs], dtype=object)
    if grouped:
        products = valid * values  # one product per cell, the rest is local
        parts = []
        for _, index in owner_groups(rows_per_party):
            offset_sums = np.sum(_group_cells(products, index), axis=2)
            counts = np.sum(_group_cells(valid, index), axis=2)
            parts.append(offset_sums + counts * lowers)
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
    membership = _membership(rows_per_party)
    offset_sums = (valid * values) @ membership  # one product per cell, the rest is local
    counts = valid @ membership
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
                            specs: Sequence[KpiSpec], share: Fraction, *,
                            grouped: bool = False) -> Any:
    """Secure 0/1 per KPI: no firm contributes more than ``share`` of the KPI's total.

    A firm's contribution is the absolute value of its total (see the module docstring).

    Args:
        valid: Secure 0/1 array ``(K, n)`` of valid cells, rows grouped by party in index order.
        values: Secure offset values ``(K, n)`` (:attr:`SecureTable.values`), same layout.
        rows_per_party: Public number of rows of each party.
        specs: The ``K`` KPIs (their bounds turn offset values back into actual values).
        share: The largest share allowed, an exact fraction.
        grouped: Form the firm totals group by group (see :func:`secure_enough_contributors`).

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
    magnitudes = _magnitudes(_firm_totals(valid, values, rows_per_party, specs, grouped),
                             specs, num_rows)
    total = np.sum(magnitudes, axis=1).reshape(num_kpis, 1)
    # Integers only: firm <= (p/q) * total  <=>  q * firm <= p * total.
    slack = total * share.numerator - magnitudes * share.denominator
    above = mpc.np_sgn(slack, l=bits, LT=True)  # every firm of every KPI in one comparison
    return mpc.np_all(1 - above, axis=1)


def secure_dominance_bits(table: SecureTable, rows_per_party: Sequence[int], spec: RoundSpec,
                          enough_firms: Any, *, grouped: bool = False) -> Any | None:
    """What the parties open for the dominance rule: a secure bit per checked KPI, or None.

    Args:
        table: The round's secure table (sized with the rule's KPIs, see
            :func:`smpc_bench.spec.sizing.size_for`).
        rows_per_party: Public number of rows of each party.
        spec: The round spec; the rule checks :attr:`RoundSpec.dominance_kpis`.
        enough_firms: The contributors rule's secure bits ``(K,)``
            (:func:`secure_enough_contributors`).
        grouped: Form the firm totals group by group (see :func:`secure_enough_contributors`).

    Returns:
        Secure 0/1 array with one entry per index in ``spec.dominance_kpis`` (1 = no firm
        dominates), forced to 1 where the contributors rule fails; None when no KPI is
        checked (the rule is off or no KPI releases a sum or mean).
    """
    checked = list(spec.dominance_kpis)
    if not checked:
        return None
    valid, values = dominance_inputs(table)
    verdict = secure_no_dominant_firm(valid[checked], values[checked], rows_per_party,
                                      [spec.kpis[k] for k in checked], spec.max_firm_share,
                                      grouped=grouped)
    enough = enough_firms[checked]
    if type(verdict) is not type(enough):  # the verdict is in the wide field: move the bits
        enough = to_wide(enough, 1, type(verdict).sectype)
    # A KPI that fails the contributors rule is withheld anyway; its bit then says nothing.
    return 1 - enough * (1 - verdict)


def dominance_inputs(table: SecureTable) -> tuple[Any, Any]:
    """``(valid, values)`` of ``table`` for :func:`secure_no_dominant_firm`, in its field.

    The table's own flags and offset values when its main field holds the comparison; else
    (its sizing has a wide field, :mod:`smpc_bench.core.field_switch`) the flags and the
    products ``flag * value`` moved there, which serve as well: ``flag * (flag * value)`` is
    ``flag * value``.
    """
    if table.sizing.moment_field_bits is None:
        return table.valid, table.values
    moved = wide_cells(table)
    return moved.valid, moved.products


@mpc_coroutine
async def _below_constants(indicators, constants, value_bits, radix_bits):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    """``[value < c_k]`` per cell ``(K, n)`` for public ``c_k``, from the one-hot digits.

    As the range check of :mod:`smpc_bench.core.secure_table`: per digit ``[d < c_j]`` and
    ``[d == c_j]`` are public selections of one-hot entries, folded in ``ceil(log2 D)``
    resharings (:func:`smpc_bench.core.less_than.fold_digit_comparisons`); no random bits and
    nothing opened.
    """
    mpc = runtime()
    array_type = type(indicators[0])
    await mpc.returnType((array_type, tuple(indicators[0].shape[:2])))
    field = array_type.sectype.field
    onehots = [g.value for g in await mpc.gather(*indicators)]
    pairs: list[tuple[Any, Any]] = []
    for (low, width), onehot in zip(digit_layout(value_bits, radix_bits), onehots, strict=True):
        digits = [(c >> low) & ((1 << width) - 1) for c in constants]
        pairs.append((np.stack([onehot[k, :, :d].sum(axis=1) for k, d in enumerate(digits)]),
                      np.stack([onehot[k, :, d] for k, d in enumerate(digits)])))
    return field.array(await fold_digit_comparisons(field, pairs), check=False)


def _stacked(parts: list[tuple[list[int], Any]], total: int) -> Any:
    """Join secure ``(len(rows),)`` arrays given per set of rows back into row order."""
    present = [(rows, array) for rows, array in parts if rows]
    if len(present) == 1:
        return present[0][1]
    order = [r for rows, _ in present for r in rows]
    restore = [int(i) for i in np.argsort(order)]  # a public permutation: local
    assert len(order) == total
    return np.concatenate([array for _, array in present])[restore]


def single_row_dominance_bits(table: SecureTable, spec: RoundSpec, checked: Sequence[int],
                              maxima: Any, minima: Any, counts: Sequence[int]) -> Any:
    """The dominance rule when every owner has one row, without a comparison per owner.

    No firm holds more than ``p/q`` of the magnitudes ``S = sum |x_f|`` exactly when the
    largest magnitude does: ``q * max_f |x_f| <= p * S``, and with one row per firm
    ``max_f |x_f| = max(x_max, -x_min)`` over the valid values, which the round's oblivious
    order-statistics walk gives (``maxima``, ``minima``).  So the rule costs one comparison
    per KPI instead of one per firm and KPI; a KPI whose range spans zero adds the sign of
    every cell from its one-hot digits (no random bits) for ``S``, and one comparison for the
    larger of ``x_max`` and ``-x_min``.

    Args:
        table: The round's secure table, one row per owner.
        spec: The round spec.
        checked: The KPIs to test (those the rule checks whose contributors rule passed; the
            verdict of any other KPI would reveal something about a withheld KPI).
        maxima: Secure ``(K,)`` largest valid offset value per KPI (the walk's ``max``).
        minima: Secure ``(K,)`` smallest valid offset value (used for ranges with negative
            values only; any secure ``(K,)`` array otherwise).
        counts: The released counts of valid values.

    Returns:
        Secure 0/1 ``(len(checked),)``: 1 = no firm dominates; nothing is opened here.
    """
    mpc = runtime()
    chosen = list(checked)
    specs = [spec.kpis[k] for k in chosen]
    share = spec.max_firm_share
    lows = np.array([s.lower_units for s in specs], dtype=object)
    valid = table.valid[chosen]
    products = valid * table.values[chosen]  # one product per cell
    top, bottom = maxima[chosen], minima[chosen]  # offset values of KPIs with data
    wide = wide_type(table)
    if wide is not None:  # the comparison needs the wide field: move what it reads there
        moved = wide_cells(table)
        valid, products = moved.valid[chosen], moved.products[chosen]
        if minima is maxima:
            top = bottom = to_wide(top, table.sizing.value_bits, wide)
        else:
            both = to_wide(np.concatenate((top, bottom)), table.sizing.value_bits, wide)
            top, bottom = both[: len(chosen)], both[len(chosen):]
    signed_sums = np.sum(products, axis=1) + lows * np.array([counts[k] for k in chosen],
                                                             dtype=object)
    highest, lowest = top + lows, bottom + lows
    kinds = ["up" if s.lower_units >= 0 else "down" if s.lower_units + s.span <= 0 else "mixed"
             for s in specs]
    rows = {kind: [i for i, k in enumerate(kinds) if k == kind] for kind in ("up", "down",
                                                                            "mixed")}
    largest, magnitudes = [], []
    if rows["up"]:
        largest.append((rows["up"], highest[rows["up"]]))
        magnitudes.append((rows["up"], signed_sums[rows["up"]]))
    if rows["down"]:
        largest.append((rows["down"], -lowest[rows["down"]]))
        magnitudes.append((rows["down"], -signed_sums[rows["down"]]))
    if rows["mixed"]:
        mixed = rows["mixed"]
        below = _below_constants([onehot[[chosen[i] for i in mixed]]
                                  for onehot in table.indicators],
                                 [-int(lows[i]) for i in mixed], table.sizing.value_bits,
                                 table.radix_bits)
        if wide is not None:
            below = to_wide(below, 1, wide)
        cells = products[mixed] + valid[mixed] * lows[mixed].reshape(-1, 1)  # x, 0 if invalid
        magnitudes.append((mixed, signed_sums[mixed] - 2 * np.sum(below * cells, axis=1)))
        ends = highest[mixed] + lowest[mixed]  # x_max >= -x_min  <=>  ends >= 0
        flipped = mpc.np_sgn(ends, l=magnitude_bits([specs[i] for i in mixed], 2), LT=True)
        largest.append((mixed, highest[mixed] - flipped * ends))
    bits = dominance_bits(specs, table.num_rows, share.denominator)
    compare_type = table.sectype if wide is None else wide
    if bits > compare_type.bit_length:
        raise ValueError(f"the dominance comparison needs {bits} bits but the secure type has "
                         f"{compare_type.bit_length}: size it with size_for(..., dominance=...)")
    slack = (_stacked(magnitudes, len(chosen)) * share.numerator
             - _stacked(largest, len(chosen)) * share.denominator)
    return 1 - mpc.np_sgn(slack, l=bits, LT=True)
