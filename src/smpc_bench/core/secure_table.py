"""A secret-shared KPI table: one-hot digits of every value plus a validity flag per cell.

Rows are contributions, columns KPIs; internally everything is laid out KPI-major, ``(K, n, ...)``,
so that one vectorised call serves all KPIs.  Values are offset integers (see
:mod:`smpc_bench.spec.kpi`) written in radix ``2**radix_bits``; the one-hot digits are what the
quantile walk and the range check use, and the values (a public linear function of them) what
sums use.  Owners who share their digits one-hot spare the MPC all bit-level multiplications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smpc_bench.core.less_than import fold_digit_comparisons
from smpc_bench.core.order_stats import digit_indicators
from smpc_bench.engine.driver import mpc_coroutine, runtime
from smpc_bench.engine.local_shares import matmul, open_values, random_ints, reshare
from smpc_bench.spec.encoding import DEFAULT_RADIX_BITS, digit_layout
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import Sizing

__all__ = ["SecureTable"]

SecureArray = Any


@mpc_coroutine
async def _in_range_flags(claimed_valid, indicators, spans, value_bits, radix_bits, fits):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    """``claimed * fits * [value <= span]`` per cell, from the one-hot digits (K, n).

    Most significant digit first, ``[d < s]`` and ``[d == s]`` against the span's digit ``s``
    are public selections of one-hot entries, and neighbours combine as
    ``less = less_hi + equal_hi * less_lo``, ``equal = equal_hi * equal_lo``.  The claimed
    flag (and ``fits``, if given) enter as extra top "digits" with ``less = 0``, so the tree's
    ``less + equal`` (:func:`smpc_bench.core.less_than.fold_digit_comparisons`) is the result: one
    resharing per tree level, ``ceil(log2(D + 1))`` or ``ceil(log2(D + 2))`` in all (``D``
    digits), on share values (see :mod:`smpc_bench.engine.local_shares`).
    """
    mpc = runtime()
    array_type = type(claimed_valid)
    await mpc.returnType((array_type, claimed_valid.shape))
    field = array_type.sectype.field
    gathered = await mpc.gather(claimed_valid, *([fits] if fits is not None else []),
                                *indicators)
    pairs: list[tuple[Any, Any]] = [(0, g.value) for g in gathered[: 1 + (fits is not None)]]
    if any(span != (1 << value_bits) - 1 for span in spans):
        layout = digit_layout(value_bits, radix_bits)
        onehots = [g.value for g in gathered[1 + (fits is not None) :]]
        for (low, width), onehot in zip(layout, onehots, strict=True):
            span_digits = np.array([(span >> low) & ((1 << width) - 1) for span in spans])
            # Per KPI: [d < s] sums the one-hot entries below s, [d == s] is entry s.
            pairs.append((np.stack([onehot[k, :, : span_digits[k]].sum(axis=1)
                                    for k in range(len(spans))]),
                          np.stack([onehot[k, :, span_digits[k]]
                                    for k in range(len(spans))])))
    return field.array(await fold_digit_comparisons(field, pairs, or_equal=True), check=False)


@mpc_coroutine
async def _validated(claimed_valid, indicators, spans, value_bits, radix_bits, fits, screen):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    """Validity flags of well-formed, in-range cells, and the rejected count per KPI.

    The range check (:func:`_in_range_flags`) runs beside a well-formedness check with public
    coins that opens only zeros, both on share values (see
    :mod:`smpc_bench.engine.local_shares`): every
    digit vector ``e`` must be one-hot and every validity flag ``v`` a bit.  Once the shares
    are fixed (received) the parties draw public random coefficients ``r`` and open, per cell,
    a random linear combination of ``sum(e) - 1``, ``sum(r**2 * e) - sum(r * e)**2`` per digit
    and ``v - v**2``.  For a vector summing to 1 the middle term is, as a polynomial in ``r``,
    zero exactly when ``e`` is one-hot; so the opened value is exactly 0 for a well-formed cell
    (nothing about honest data is opened) and nonzero with probability at least ``1 - 3/p``
    otherwise.  The squares of a cell form one inner product of ``D + 1`` terms: one resharing
    per cell.

    Which cells are malformed is public once the check is open (it opens 0 exactly for the
    well-formed ones); that mask is appended to the list ``screen`` when it is known.

    Returns:
        Secure array ``(K, n + 1)``: the validity flags (malformed or out-of-range cells set to
        0), and in the last column the number of rejected cells per KPI.
    """
    mpc = runtime()
    array_type = type(claimed_valid)
    num_kpis, num_rows = claimed_valid.shape
    await mpc.returnType((array_type, (num_kpis, num_rows + 1)))
    sectype = array_type.sectype
    field = sectype.field
    modulus = field.modulus
    in_range = _in_range_flags(claimed_valid, indicators, spans, value_bits, radix_bits, fits)
    widest = max(onehot.shape[2] for onehot in indicators)
    digits = len(indicators)
    coins = random_ints(sectype, widest + 2 * digits + 1)
    # The coins are opened only once every share is fixed (received).
    gathered = await mpc.gather(claimed_valid, *indicators)
    claimed = gathered[0].value
    onehots = [g.value for g in gathered[1:]]
    cells = num_kpis * num_rows
    coefficients = [int(c) for c in await mpc.output(coins)]
    points = coefficients[:widest]
    point_squares = [c * c % modulus for c in points]
    square_weights = np.array(coefficients[widest : widest + digits + 1], dtype=object)
    sum_weights = coefficients[widest + digits + 1 :]
    # The validity flag rides along as one more term: for it u = v = flag.
    flags = claimed.reshape(cells)
    linear, quadratic = [], []
    for onehot in onehots:
        width = onehot.shape[2]
        evaluations = matmul(onehot.reshape(cells, width), np.array(
            [points[:width], point_squares[:width]], dtype=object).T, modulus)  # (cells, 2)
        linear.append(evaluations[:, 0])
        quadratic.append(evaluations[:, 1])
    linear.append(flags)
    quadratic.append(flags)
    terms = np.stack(linear, axis=1)  # (cells, D + 1)
    (squares,) = await reshare(field, (terms * terms) @ square_weights)
    check = np.stack(quadratic, axis=1) @ square_weights - squares
    for weight, onehot in zip(sum_weights, onehots, strict=True):
        check = check + weight * (np.sum(onehot, axis=2).reshape(cells) - 1)
    opened = (await open_values(field, check)).reshape(num_kpis, num_rows)
    well_formed = (opened == 0).astype(object)
    screen.append(opened != 0)
    screened = claimed * well_formed
    valid = (await mpc.gather(in_range)).value * well_formed % modulus
    malformed = (1 - well_formed).sum(axis=1)  # public: every malformed cell counts once
    rejected = ((screened - valid).sum(axis=1) + malformed) % modulus
    return field.array(np.concatenate((valid, rejected.reshape(num_kpis, 1)), axis=1),
                       check=False)


def _all_zero(bits: SecureArray) -> SecureArray:
    """Secure ``[all bits on the last axis are 0]`` of a 0/1 array ``(K, n, h)``, log depth."""
    factors = 1 - bits
    while factors.shape[2] > 1:
        half = factors.shape[2] // 2
        paired = factors[:, :, :half] * factors[:, :, half : 2 * half]
        if factors.shape[2] % 2:
            paired = np.concatenate((paired, factors[:, :, 2 * half :]), axis=2)
        factors = paired
    return factors.reshape(factors.shape[:2])


@dataclass
class SecureTable:
    """Secret-shared KPI table.

    Build it with :meth:`from_digits` (each owner shares the one-hot digits of its values:
    the fast path, no secure multiplication needed), :meth:`from_bits` (owners share bits) or
    :meth:`from_values` (values already secret-shared as integers).  Cells whose value lies
    outside the KPI's declared range are rejected inside the MPC; :attr:`rejected` counts them.

    Attributes:
        specs: The KPIs, one per column.
        sizing: Bit lengths the secure type was chosen for.
        indicators: Per digit (most significant first) a secure 0/1 array
            ``(K, n, 2**width)``, the one-hot encoding of that digit of every value.
        valid: Secure 0/1 array ``(K, n)``: the cell holds a usable value.
        rejected: Secure integer array ``(K,)``: cells claimed valid but out of range.
        radix_bits: Digit width used by the quantile walk.
        screen: Filled by the well-formedness check: see :attr:`malformed`.
        wide: The cells moved to the wide field of second moments and the dominance rule,
            once computed (:func:`smpc_bench.core.field_switch.wide_cells` caches them here).
    """

    specs: tuple[KpiSpec, ...]
    sizing: Sizing
    indicators: list[SecureArray]
    valid: SecureArray
    rejected: SecureArray
    radix_bits: int = DEFAULT_RADIX_BITS
    _values: SecureArray | None = field(default=None, repr=False)
    screen: list[np.ndarray] = field(default_factory=list, repr=False)
    wide: Any = field(default=None, repr=False)

    @property
    def malformed(self) -> np.ndarray | None:
        """Public bool ``(K, n)``: cells whose digits or flag are not well formed (rejected).

        Known (not None) once the input check has run, e.g. after the counts are open; every
        party holds the same mask.  Their digits may not be one-hot, which protocols that use
        the digits of invalid cells too (the shuffle-sort) must not be fed.
        """
        return self.screen[0] if self.screen else None

    @property
    def sectype(self) -> Any:
        """The secure integer type of every cell."""
        return type(self.valid).sectype

    @property
    def num_kpis(self) -> int:
        """Number of KPI columns ``K``."""
        return len(self.specs)

    @property
    def num_rows(self) -> int:
        """Number of contributions ``n`` (valid or not)."""
        return int(self.valid.shape[1])

    @property
    def values(self) -> SecureArray:
        """Secure offset values ``(K, n)``, recombined locally from the digits."""
        if self._values is None:
            layout = digit_layout(self.sizing.value_bits, self.radix_bits)
            total: Any = 0
            for (low, width), onehot in zip(layout, self.indicators, strict=True):
                weights = np.arange(1 << width, dtype=object) << low
                total = total + onehot @ weights  # public weights: local
            self._values = total
        return self._values

    @classmethod
    def from_bits(
        cls,
        specs: Sequence[KpiSpec],
        sizing: Sizing,
        bits: SecureArray,
        claimed_valid: SecureArray,
        *,
        radix_bits: int = DEFAULT_RADIX_BITS,
    ) -> SecureTable:
        """Build a table from secret-shared bits, rejecting out-of-range cells in the MPC.

        Args:
            specs: One :class:`KpiSpec` per column.
            sizing: Must have ``value_bits`` equal to ``bits.shape[2]``.
            bits: Secure 0/1 array ``(K, n, value_bits)``, least significant bit first.
            claimed_valid: Secure 0/1 array ``(K, n)`` from the owners (0 = missing).
            radix_bits: Digit width of the quantile walk.
        """
        specs = tuple(specs)
        if bits.shape[0] != len(specs) or bits.shape[2] != sizing.value_bits:
            raise ValueError(
                f"bits must have shape (K={len(specs)}, n, {sizing.value_bits}), got {bits.shape}"
            )
        layout = digit_layout(sizing.value_bits, radix_bits)
        indicators = digit_indicators(bits, layout)
        return cls._build(specs, sizing, indicators, claimed_valid, radix_bits)

    @classmethod
    def from_digits(
        cls,
        specs: Sequence[KpiSpec],
        sizing: Sizing,
        digits: SecureArray,
        claimed_valid: SecureArray,
        *,
        radix_bits: int = DEFAULT_RADIX_BITS,
    ) -> SecureTable:
        """Build a table from secret-shared one-hot digits (see :func:`encode_digits`).

        Args:
            specs: One :class:`KpiSpec` per column.
            sizing: The run's bit lengths.
            digits: Secure 0/1 array ``(K, n, D, 2**radix_bits)`` as made by
                :func:`encode_digits` and shared by the owners.
            claimed_valid: Secure 0/1 array ``(K, n)`` from the owners (0 = missing).
            radix_bits: Digit width (must match the encoding).
        """
        specs = tuple(specs)
        layout = digit_layout(sizing.value_bits, radix_bits)
        expected = (len(specs), claimed_valid.shape[1], len(layout), 1 << radix_bits)
        if tuple(digits.shape) != expected:
            raise ValueError(f"digits must have shape {expected}, got {tuple(digits.shape)}")
        indicators = [digits[:, :, j, : 1 << width] for j, (_, width) in enumerate(layout)]
        return cls._build(specs, sizing, indicators, claimed_valid, radix_bits)

    @classmethod
    def _build(
        cls,
        specs: tuple[KpiSpec, ...],
        sizing: Sizing,
        indicators: list[SecureArray],
        claimed_valid: SecureArray,
        radix_bits: int,
        fits: SecureArray | None = None,
    ) -> SecureTable:
        if claimed_valid.shape != (len(specs), indicators[0].shape[1]):
            raise ValueError("claimed_valid must have shape (K, n)")
        if claimed_valid.shape[1] >= 1 << sizing.count_bits:
            raise ValueError(
                f"{claimed_valid.shape[1]} rows, but the secure type was sized for at most "
                f"{(1 << sizing.count_bits) - 1}: call size_for with the real number of rows"
            )
        spans = [spec.span for spec in specs]
        screen: list[np.ndarray] = []
        checked = _validated(claimed_valid, indicators, spans, sizing.value_bits, radix_bits,
                             fits, screen)
        return cls(specs, sizing, indicators, checked[:, :-1], checked[:, -1], radix_bits,
                   screen=screen)

    @classmethod
    def from_values(
        cls,
        specs: Sequence[KpiSpec],
        sizing: Sizing,
        values: SecureArray,
        claimed_valid: SecureArray,
        *,
        radix_bits: int = DEFAULT_RADIX_BITS,
    ) -> SecureTable:
        """Build a table from secret-shared offset values (bit decomposition in the MPC).

        Values are decomposed over the secure type's full bit length, so a value that is
        negative or above its KPI's span is rejected like in :meth:`from_bits` (values must be
        valid integers of the secure type: ``|value| < 2**(field_bits - 1)``).  Decomposing
        costs far more than sharing digits: prefer :meth:`from_digits` for fresh inputs.
        """
        mpc = runtime()
        sectype = type(values).sectype
        all_bits = mpc.np_to_bits(values, l=sectype.bit_length)
        bits = all_bits[:, :, : sizing.value_bits]
        high = all_bits[:, :, sizing.value_bits :]
        # Any bit above value_bits set means out of range (negative values have them all set).
        fits = _all_zero(high) if high.shape[2] else None
        layout = digit_layout(sizing.value_bits, radix_bits)
        indicators = digit_indicators(bits, layout)
        return cls._build(tuple(specs), sizing, indicators, claimed_valid, radix_bits, fits)
