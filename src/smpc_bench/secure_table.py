"""A secret-shared KPI table: one-hot digits of every value plus a validity flag per cell.

Rows are contributions, columns KPIs; internally everything is laid out KPI-major, ``(K, n, ...)``,
so that one vectorised call serves all KPIs.  Values are offset integers (see
:mod:`smpc_bench.kpi`) written in radix ``2**radix_bits``; the one-hot digits are what the
quantile walk and the range check use, and the values (a public linear function of them) what
sums use.  Owners who share their digits one-hot spare the MPC all bit-level multiplications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smpc_bench.driver import mpc_coroutine, runtime
from smpc_bench.kpi import KpiSpec
from smpc_bench.order_stats import digit_indicators, digit_layout
from smpc_bench.sizing import Sizing

__all__ = ["SecureTable", "DEFAULT_RADIX_BITS"]

SecureArray = Any

#: Digit width of the quantile walk: 4 bits (16 bins) balances rounds against local work.
DEFAULT_RADIX_BITS = 4


def encode_digits(offset_values: np.ndarray, value_bits: int, radix_bits: int) -> np.ndarray:
    """One-hot encode each digit of plaintext offset values, as their owner shares them.

    Args:
        offset_values: Integer array ``(K, n)`` with values in ``[0, 2**value_bits)``.
        value_bits: Bits per value (from :class:`Sizing`).
        radix_bits: Digit width.

    Returns:
        0/1 int64 array ``(K, n, D, 2**radix_bits)``: for digit ``j`` (most significant first)
        the indicator of its value; unused columns of a narrower top digit are 0.
    """
    values = np.asarray(offset_values, dtype=np.int64)
    if values.ndim != 2:
        raise ValueError("offset_values must have shape (K, n)")
    if values.size and (values.min() < 0 or values.max() >= 1 << value_bits):
        raise ValueError(f"offset values must lie in [0, 2**{value_bits})")
    layout = digit_layout(value_bits, radix_bits)
    onehot = np.zeros((*values.shape, len(layout), 1 << radix_bits), dtype=np.int64)
    for j, (low, width) in enumerate(layout):
        digit = (values >> low) & ((1 << width) - 1)
        np.put_along_axis(onehot[:, :, j, :], digit[:, :, None], 1, axis=2)
    return onehot


@mpc_coroutine
async def _screen(claimed_valid: SecureArray, indicators: list[SecureArray]):  # type: ignore[no-untyped-def]  # noqa: ANN201  (mpc_coro reads the return annotation as the result type)
    """Drop cells whose shared encoding is malformed; public-coin check, opens only zeros.

    Every digit vector ``e`` must be one-hot and every validity flag ``v`` a bit.  After the
    shares are fixed the parties draw public random coefficients ``r`` and open, per cell, a
    random linear combination of ``sum(e) - 1``, ``sum(r**2 * e) - sum(r * e)**2`` per digit
    and ``v - v**2``.  For a vector summing to 1 the middle term is, as a polynomial in ``r``,
    zero exactly when ``e`` is one-hot; so the opened value is exactly 0 for a well-formed cell
    (nothing about honest data is opened) and nonzero with probability at least ``1 - 3/p``
    otherwise.  The squares of a cell form one inner product of ``D + 1`` terms (``D`` digits):
    one resharing per cell, and only two public matrix-vector products over the digits.

    Returns:
        Secure array ``(K, n + 1)``: the validity flags with malformed cells set to 0, and in
        the last column the number of malformed cells per KPI.
    """
    mpc = runtime()
    array_type = type(claimed_valid)
    num_kpis, num_rows = claimed_valid.shape
    await mpc.returnType((array_type, (num_kpis, num_rows + 1)))
    sectype = array_type.sectype
    widest = max(onehot.shape[2] for onehot in indicators)
    digits = len(indicators)
    coins = mpc._np_randoms(sectype, widest + 2 * digits + 1)
    if not isinstance(coins, sectype.array):  # --no-prss: randomness is made interactively
        coins = await coins
    field = sectype.field
    coefficients = [int(c) for c in await mpc.output(coins)]
    points = coefficients[:widest]
    point_squares = [c * c % field.modulus for c in points]
    square_weights = np.array(coefficients[widest : widest + digits + 1], dtype=object)
    sum_weights = coefficients[widest + digits + 1 :]
    cells = num_kpis * num_rows
    # The validity flag rides along as one more term: for it u = v = flag.
    linear = [claimed_valid.reshape(cells)]
    quadratic = [claimed_valid.reshape(cells)]
    for onehot in indicators:
        width = onehot.shape[2]
        evaluations = onehot.reshape(cells, width) @ np.array(
            [points[:width], point_squares[:width]], dtype=object).T  # one product: (cells, 2)
        linear.insert(-1, evaluations[:, 0])
        quadratic.insert(-1, evaluations[:, 1])
    terms = np.stack(linear, axis=1)  # (cells, D + 1)
    squares = ((terms * square_weights).reshape(cells, 1, digits + 1)
               @ terms.reshape(cells, digits + 1, 1)).reshape(num_kpis, num_rows)
    check: Any = (np.stack(quadratic, axis=1) @ square_weights).reshape(num_kpis, num_rows)
    check = check - squares
    for weight, onehot in zip(sum_weights, indicators, strict=True):
        check = check + weight * (np.sum(onehot, axis=2) - 1)
    opened = np.asarray(await mpc.output(check), dtype=object).reshape(num_kpis, num_rows)
    well_formed = (opened == 0).astype(np.int64)
    malformed = (1 - well_formed).sum(axis=1)
    return np.concatenate(
        (claimed_valid * well_formed, sectype.array(malformed.reshape(num_kpis, 1))), axis=1)


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
    """

    specs: tuple[KpiSpec, ...]
    sizing: Sizing
    indicators: list[SecureArray]
    valid: SecureArray
    rejected: SecureArray
    radix_bits: int = DEFAULT_RADIX_BITS
    _values: SecureArray | None = field(default=None, repr=False)

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
        screened = _screen(claimed_valid, indicators)
        malformed = screened[:, -1]
        claimed_valid = screened[:, :-1]
        table = cls(specs, sizing, indicators, claimed_valid, claimed_valid, radix_bits)
        in_range = table._in_range()
        if fits is not None:
            in_range = fits if in_range is None else in_range * fits
        if in_range is None:
            table.rejected = malformed
        else:
            table.valid = claimed_valid * in_range
            table.rejected = np.sum(claimed_valid - table.valid, axis=1) + malformed
        return table

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

    def _in_range(self) -> SecureArray | None:
        """Secure ``[value <= span]`` per cell, from the digit indicators; None if always true."""
        value_bits = self.sizing.value_bits
        spans = [spec.span for spec in self.specs]
        if all(span == (1 << value_bits) - 1 for span in spans):
            return None
        layout = digit_layout(value_bits, self.radix_bits)
        # Per digit (most significant first): [digit < span digit], [digit == span digit].
        pairs = []
        for (low, width), onehot in zip(layout, self.indicators, strict=True):
            span_digits = np.array([(span >> low) & ((1 << width) - 1) for span in spans])
            bins = np.arange(1 << width)
            less = (bins[None, :] < span_digits[:, None]).astype(np.int64)  # (K, W)
            equal = (bins[None, :] == span_digits[:, None]).astype(np.int64)
            pairs.append((onehot @ less[:, :, None], onehot @ equal[:, :, None]))  # local
        # Combine neighbours in a balanced tree: log2(D) rounds instead of D - 1.
        while len(pairs) > 1:
            merged = []
            for i in range(0, len(pairs) - 1, 2):
                (less_hi, equal_hi), (less_lo, equal_lo) = pairs[i], pairs[i + 1]
                merged.append((less_hi + equal_hi * less_lo, equal_hi * equal_lo))
            if len(pairs) % 2:
                merged.append(pairs[-1])
            pairs = merged
        less_all, equal_all = pairs[0]
        return (less_all + equal_all).reshape(self.valid.shape)
