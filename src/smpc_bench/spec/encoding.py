"""How a firm's figures become what it shares: offsets per KPI, validity flags, one-hot digits.

The one encoder for rows that may have missing cells (:func:`encode_rows`), used by a peer
party, an outsourced contributor and the tests alike, and the one-hot digit encoding
(:func:`encode_digits`) every party computes on its own machine before sharing.  Pure numpy:
no MPC, so a contributor's machine needs nothing else to prepare its submission.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from smpc_bench.spec.kpi import InputError, KpiSpec

__all__ = ["DEFAULT_RADIX_BITS", "digit_layout", "encode_column_with_missing", "encode_digits",
           "encode_rows", "encode_table", "is_missing"]

#: Digit width of the quantile walk: 4 bits (16 bins) balances rounds against local work.
DEFAULT_RADIX_BITS = 4


def encode_table(specs: Sequence[KpiSpec], columns: Sequence[Sequence[object]]) -> np.ndarray:
    """Encode one column of values per KPI into a (K, n) int64 array; missing values not allowed.

    Use :func:`encode_column_with_missing` when cells may be missing.
    """
    if len(specs) != len(columns):
        raise InputError(f"expected {len(specs)} KPI columns, got {len(columns)}")
    encoded = [spec.encode(column) for spec, column in zip(specs, columns, strict=True)]
    lengths = {len(column) for column in encoded}
    if len(lengths) != 1:
        raise InputError("all KPI columns must have the same number of rows")
    return np.stack(encoded)


def is_missing(value: object) -> bool:
    """``None``, a float NaN of any width (``np.float32`` too) or ``pandas.NA``/``NaT``."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(float(value))


def encode_column_with_missing(
    spec: KpiSpec, values: Sequence[object]
) -> tuple[np.ndarray, np.ndarray]:
    """Encode one KPI's column where a missing cell is anything :func:`is_missing` accepts.

    Returns:
        ``(offset_values, valid)``: int64 arrays ``(n,)``; missing cells get value 0 and valid 0.
    """
    if len(values) == 0:
        raise InputError(f"{spec.name}: no values given")
    offsets, valid = encode_rows([spec], [[value] for value in values])
    return offsets[0], valid[0]


def encode_rows(kpis: Sequence[KpiSpec], rows: Sequence[Sequence[object]]) -> tuple[np.ndarray,
                                                                                      np.ndarray]:
    """Encode a firm's own rows locally; a missing cell is anything :func:`is_missing` accepts.

    Returns:
        ``(offset_values, valid)`` int64 arrays of shape ``(K, rows)``.

    Raises:
        smpc_bench.spec.kpi.InputError: For unusable values, before any MPC starts.
    """
    values = np.zeros((len(kpis), len(rows)), dtype=np.int64)
    valid = np.zeros((len(kpis), len(rows)), dtype=np.int64)
    for r, row in enumerate(rows):
        if len(row) != len(kpis):
            raise InputError(f"row {r + 1} has {len(row)} cells, expected {len(kpis)}")
        for k, (spec, cell) in enumerate(zip(kpis, row, strict=True)):
            if is_missing(cell):
                continue
            values[k, r] = spec.encode_one(cell, where=f"row {r + 1}")
            valid[k, r] = 1
    return values, valid


def digit_layout(value_bits: int, radix_bits: int) -> list[tuple[int, int]]:
    """Split ``value_bits`` bits into digits, most significant first.

    Returns:
        ``(lowest_bit, width)`` per digit; the top digit takes the remainder, so every other
        digit has exactly ``radix_bits`` bits.
    """
    if value_bits < 1 or radix_bits < 1:
        raise ValueError("value_bits and radix_bits must be positive")
    layout = []
    low = 0
    while low < value_bits:
        width = min(radix_bits, value_bits - low)
        layout.append((low, width))
        low += width
    layout.reverse()
    return layout


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
