"""KPI specifications and the exact integer encoding of KPI values.

Every KPI value is stored as an integer number of its smallest unit (``10**-decimals``), shifted
so that the declared lower bound becomes 0.  The declared bounds therefore fix the bit length of
every secure value, which is what keeps comparisons correct (MPyC's default ``SecFxp()`` silently
gives wrong comparisons for values around 1e6) and what the quantile walk iterates over.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction

import numpy as np

__all__ = ["InputError", "KpiSpec"]

#: Largest KPI bit length we accept: beyond this the secure field and the walk grow needlessly.
MAX_VALUE_BITS = 48


class InputError(ValueError):
    """A contribution cannot be used as it is: raised before any MPC starts."""


def _to_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise InputError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, numbers.Integral):
        result = Decimal(int(value))
    elif isinstance(value, numbers.Real):
        as_float = float(value)
        if math.isnan(as_float):
            raise InputError(f"{what}: value is missing (NaN); mark it as missing instead")
        if math.isinf(as_float):
            raise InputError(f"{what}: value is infinite")
        # repr() gives the shortest string that round-trips, so 0.1 stays 0.1.
        result = Decimal(repr(as_float))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InputError(f"{what}: {value!r} is not a number") from None
    else:
        raise InputError(f"{what}: expected a number, got {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise InputError(f"{what}: value {value!r} is not a finite number")
    return result


@dataclass(frozen=True)
class KpiSpec:
    """One key performance indicator: its name, declared range and precision.

    Attributes:
        name: Column name, e.g. ``"gross_margin"``.
        lower: Smallest admissible value (inclusive), in the KPI's unit.
        upper: Largest admissible value (inclusive), in the KPI's unit.
        decimals: Number of decimals kept; values are rounded half-to-even to this precision.
        unit: Free-text unit for reports, e.g. ``"EUR"`` or ``"%"``.
        higher_is_better: Whether a higher value is a better position (used for ranks).
    """

    name: str
    lower: Decimal | int | float | str
    upper: Decimal | int | float | str
    decimals: int = 0
    unit: str = ""
    higher_is_better: bool = True
    _lower: Decimal = field(init=False, repr=False, compare=False)
    _upper: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("KPI name must be a non-empty string")
        if not isinstance(self.decimals, int) or isinstance(self.decimals, bool):
            raise ValueError(f"KPI {self.name}: decimals must be an integer")
        if not 0 <= self.decimals <= 12:
            raise ValueError(f"KPI {self.name}: decimals must be between 0 and 12")
        lower = _to_decimal(self.lower, f"KPI {self.name} lower bound")
        upper = _to_decimal(self.upper, f"KPI {self.name} upper bound")
        object.__setattr__(self, "_lower", lower)
        object.__setattr__(self, "_upper", upper)
        if not lower < upper:
            raise ValueError(f"KPI {self.name}: lower bound {lower} must be below upper {upper}")
        for bound in (lower, upper):
            if bound != self._round(bound):
                raise ValueError(
                    f"KPI {self.name}: bound {bound} has more than {self.decimals} decimals"
                )
        if self.span.bit_length() > MAX_VALUE_BITS:
            raise ValueError(
                f"KPI {self.name}: range {lower}..{upper} at {self.decimals} decimals needs "
                f"{self.span.bit_length()} bits; at most {MAX_VALUE_BITS} are supported "
                "(narrow the bounds or use fewer decimals)"
            )

    def _round(self, value: Decimal) -> Decimal:
        try:
            return value.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_EVEN)
        except InvalidOperation:  # more digits than Decimal's context holds: far out of range
            raise InputError(
                f"{self.name}: {value} is outside the agreed range {self._lower} to {self._upper}"
            ) from None

    @property
    def scale(self) -> int:
        """Number of encoded units per KPI unit (``10**decimals``)."""
        return int(10**self.decimals)

    @property
    def lower_units(self) -> int:
        """The lower bound in encoded units (the offset added back after decoding)."""
        return int(self._lower.scaleb(self.decimals))

    @property
    def span(self) -> int:
        """Largest encoded (offset) value: ``(upper - lower) * 10**decimals``."""
        return int((self._upper - self._lower).scaleb(self.decimals))

    @property
    def bit_length(self) -> int:
        """Bits needed for an encoded value in ``[0, span]``."""
        return max(1, self.span.bit_length())

    def encode_one(self, value: object, *, where: str = "") -> int:
        """Encode one value as its offset integer, or raise :class:`InputError`.

        Args:
            value: A number (int, float, Decimal or numeric string).
            where: Context for the error message, e.g. ``"row 3"``.
        """
        what = f"{self.name}{' ' + where if where else ''}"
        number = _to_decimal(value, what)
        rounded = self._round(number)
        if not self._lower <= rounded <= self._upper:
            raise InputError(
                f"{what}: {number} is outside the agreed range {self._lower} to {self._upper}"
                f"{' ' + self.unit if self.unit else ''}"
            )
        return int(rounded.scaleb(self.decimals)) - self.lower_units

    def encode(self, values: Iterable[object]) -> np.ndarray:
        """Encode values as offset integers (int64 array); raises :class:`InputError`."""
        encoded = [self.encode_one(v, where=f"row {i + 1}") for i, v in enumerate(values)]
        if not encoded:
            raise InputError(f"{self.name}: no values given")
        return np.array(encoded, dtype=np.int64)

    def decode(self, offset_units: Fraction | int) -> Fraction:
        """Turn an offset value (possibly fractional) back into the KPI's unit, exactly."""
        return (Fraction(offset_units) + self.lower_units) / self.scale

    def decode_units(self, units: Fraction | int) -> Fraction:
        """Turn a value in encoded units that already includes the offset into the KPI's unit."""
        return Fraction(units) / self.scale

    def rounded(self, value: object) -> Fraction:
        """The value as the protocol sees it (rounded to the declared decimals), exactly."""
        return Fraction(self._round(_to_decimal(value, self.name)))


