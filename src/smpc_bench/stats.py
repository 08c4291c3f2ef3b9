"""Secure statistics for ordinary MPyC programs: a drop-in for :mod:`mpyc.statistics`.

Change one import and keep the rest of the program::

    from mpyc import statistics                   # before
    from smpc_bench import stats as statistics    # after

    x = list(mpc.input(secint(value), senders=0))
    print(await mpc.output(statistics.median(x)))

:func:`mean`, :func:`variance`, :func:`stdev`, :func:`pvariance`, :func:`pstdev`,
:func:`median`, :func:`median_low`, :func:`median_high` and :func:`quantiles` have the names,
positional signatures and return types of :mod:`mpyc.statistics` (MPyC 0.11); :func:`percentiles`
is extra.  They take a list (or iterable) of ``SecInt``/``SecFxp`` values or a 1-D secure array,
and return secure values of the input's secure type (a list of them for quantiles/percentiles)
that compose with the rest of the program.  Nothing is opened: the caller decides what to output.
Plain (non-secure) data is relayed to Python's :mod:`statistics`, as MPyC does; ``mode``,
``covariance``, ``correlation`` and ``linear_regression`` are MPyC's own, re-exported unchanged.

Order statistics (medians, quantiles, percentiles) come from the oblivious radix walk of
:mod:`smpc_bench.core.order_stats` over the one-hot digits of the values, decomposed inside the
MPC by :mod:`smpc_bench.core.digit_decomposition`; results that need rounding are rounded in a
wider secure type by :mod:`smpc_bench.core.exact_rounding`.  The only openings are masked
ones inside those sub-protocols (digit decomposition, comparisons, conversions between fields,
truncation), and their number and shapes depend on the number of values, the secure type,
``bounds`` and the cuts asked for, never on the data (``mpyc.statistics.median``/``quantiles``
open the sizes of their pivot partitions).

Rounding rules (where ours differs from MPyC's):

* Every result is the exact value (computed with exact integer arithmetic in a wide enough
  field) rounded once to the output type's grid, to the nearest point, halves rounded up
  (towards +infinity): ``floor(v + 1/2)`` for ``SecInt``, ``floor(v * 2**f + 1/2) / 2**f`` for
  ``SecFxp(l, f)``.  Medians, quantiles or percentiles that land on a data point are that
  data point, so exact.  ``mpyc.statistics`` rounds ``SecInt`` means, variances and quantiles
  half up too, but floors the mean of the two middle values of an even-sized ``median``, takes
  ``stdev`` as the floor of the square root of the already rounded variance, and rounds every
  ``SecFxp`` result with MPyC's probabilistic truncation (off by one unit in the last place at
  random), several times in a row for a variance.
* ``exact=True`` (ours only) returns an exact value instead: a secure object whose
  ``await mpc.output(...)`` is a :class:`fractions.Fraction` (for ``stdev``/``pstdev`` the
  correctly rounded float of the exact root, as Python's :func:`statistics.stdev` gives), so
  ``float(result) == statistics.mean(plain_data)`` exactly.  Its ``numerator`` is a secure
  integer and ``denominator`` a public int (``value == numerator / denominator``; for ``stdev``
  the square root of that); it supports ``mpc.output`` only, not further MPyC arithmetic.
* As with every MPyC secure number, a result must lie in the output type's range
  (``[-2**(l-1), 2**(l-1))`` in units of ``2**-f``) to be meaningful; a variance of widely
  spread ``SecInt`` data may not (``exact=True`` has no such limit).

Bounds: without ``bounds`` every value is only assumed to be a valid value of its secure type
(MPyC's own contract; nothing is checked or opened) and the walk descends all ``l`` bits.
``bounds=(lo, hi)`` (in data units; for ``SecFxp`` the grid points inside ``[lo, hi]``) lets the
walk descend only the bits of ``hi - lo``, which is faster.  The bounds are then checked inside
the MPC: one field element is opened, ``sum_i r_i * e_i`` with secret uniform ``r_i`` and
``e_i = 0`` exactly for values within bounds, so it is 0 when every value lies within bounds
(nothing else is disclosed) and uniformly random otherwise (disclosing only that some value does
not).  Then no result is released: the call raises :class:`ValueError` (with one party at once;
with several, inside the MPyC coroutine, where MPyC logs it and stops the event loop, so
``mpc.run`` fails).  For ``mean``/``variance``/``stdev`` bounds only add this check.

Sizes: the walk's comparisons need ``(n + 1).bit_length() + 1 <= l`` (``l`` the secure type's
bit length), e.g. ``SecInt(16)`` for up to 32,766 values; fractions of quantiles and
percentiles are limited to 1/10000 (``quantiles(n=...)`` up to 10,000).  ``quantiles`` also
accepts numpy's methods ``lower``, ``higher``, ``midpoint`` and ``nearest-rank``
(see :mod:`smpc_bench.spec.quantile_methods`); with a single data point it raises like the
running Python's :func:`statistics.quantiles` (Python 3.13 returns that point instead).
"""

from __future__ import annotations

import functools
import math
import statistics as plain_statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from smpc_bench.core.digit_decomposition import onehot_digits, range_check
from smpc_bench.core.exact_rounding import (
    round_half_up,
    round_up_bits,
    rounded_sqrt,
    rounding_width,
    sqrt_width,
    widen,
)
from smpc_bench.core.order_stats import order_statistics
from smpc_bench.engine.driver import mpc_coroutine, runtime
from smpc_bench.spec.encoding import DEFAULT_RADIX_BITS, digit_layout
from smpc_bench.spec.quantile_methods import METHODS, Cut, RankPlan, plan_public

__all__ = [
    "mean",
    "median",
    "median_high",
    "median_low",
    "percentiles",
    "pstdev",
    "pvariance",
    "quantiles",
    "stdev",
    "variance",
]

#: MPyC's functions that are re-exported unchanged (``stats.mode`` is ``mpyc.statistics.mode``).
_MPYC_ONLY = ("mode", "covariance", "correlation", "linear_regression")

Bounds = tuple[Any, Any] | None
SecureArray = Any  # mpyc.sectypes.SecureArray; mpyc ships no type information


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def mean(data: Iterable[Any], *, bounds: Bounds = None, exact: bool = False) -> Any:
    """Sample mean, like ``mpyc.statistics.mean`` (see the module docstring for rounding).

    Args:
        data: Secure integers or fixed-point numbers (a list, iterable or 1-D secure array),
            or plain numbers (relayed to :func:`statistics.mean`).
        bounds: Optional ``(lo, hi)`` every value lies in; checked (see the module docstring).
        exact: Return the exact mean (``mpc.output`` gives a Fraction) instead of a value of
            the input's type rounded to its grid.

    Raises:
        statistics.StatisticsError: If ``data`` is empty.
    """
    x = _as_sequence(data)
    if not len(x):
        raise plain_statistics.StatisticsError("mean requires at least one data point")
    d = _prepare(x, bounds)
    if d is None:
        return plain_statistics.mean(_plain(x, bounds))
    ok = _bounds_ok(d)
    if exact:
        return _exact(_vector(runtime().np_sum(d.values)), [d.size << d.frac_length], ok)[0]
    width = d.bit_length + d.size.bit_length() + 1
    wide = widen(d.values, rounding_width(width, 2 * d.size))
    total = _vector(runtime().np_sum(wide))
    return _release(round_half_up(total, [d.size], width), d, ok)[0]


def variance(data: Iterable[Any], xbar: Any = None, *, bounds: Bounds = None,
             exact: bool = False) -> Any:
    """Sample variance, like ``mpyc.statistics.variance``; ``xbar`` as in Python's.

    ``xbar`` may be a plain number or a secure value of the data's type; if None, the exact
    mean is used.  Raises :class:`statistics.StatisticsError` for fewer than two values.
    """
    return _second_moment(data, xbar, correction=1, root=False, bounds=bounds, exact=exact,
                          name="variance")


def stdev(data: Iterable[Any], xbar: Any = None, *, bounds: Bounds = None,
          exact: bool = False) -> Any:
    """Sample standard deviation: the square root of the exact sample variance, rounded once."""
    return _second_moment(data, xbar, correction=1, root=True, bounds=bounds, exact=exact,
                          name="stdev")


def pvariance(data: Iterable[Any], mu: Any = None, *, bounds: Bounds = None,
              exact: bool = False) -> Any:
    """Population variance, like ``mpyc.statistics.pvariance``; ``mu`` as in Python's."""
    return _second_moment(data, mu, correction=0, root=False, bounds=bounds, exact=exact,
                          name="pvariance")


def pstdev(data: Iterable[Any], mu: Any = None, *, bounds: Bounds = None,
           exact: bool = False) -> Any:
    """Population standard deviation: root of the exact population variance, rounded once."""
    return _second_moment(data, mu, correction=0, root=True, bounds=bounds, exact=exact,
                          name="pstdev")


def median(data: Iterable[Any], *, bounds: Bounds = None, exact: bool = False) -> Any:
    """Median, the mean of the two middle values for an even count, like ``statistics.median``."""
    return _single(data, Cut(Fraction(1, 2), "inclusive"), bounds, exact,
                   plain_statistics.median)


def median_low(data: Iterable[Any], *, bounds: Bounds = None, exact: bool = False) -> Any:
    """Low median (always a data point), like ``statistics.median_low``."""
    return _single(data, Cut(Fraction(1, 2), "lower"), bounds, exact,
                   plain_statistics.median_low)


def median_high(data: Iterable[Any], *, bounds: Bounds = None, exact: bool = False) -> Any:
    """High median (always a data point), like ``statistics.median_high``."""
    return _single(data, Cut(Fraction(1, 2), "higher"), bounds, exact,
                   plain_statistics.median_high)


def quantiles(data: Iterable[Any], *, n: int = 4, method: str = "exclusive",
              bounds: Bounds = None, exact: bool = False) -> list[Any]:
    """The ``n - 1`` cut points of ``statistics.quantiles(data, n=n, method=method)``.

    All cut points come from one oblivious walk.  ``method`` is ``"exclusive"`` (the
    default) or ``"inclusive"`` as in Python, or one of numpy's ``"lower"``, ``"higher"``,
    ``"midpoint"``, ``"nearest-rank"``.
    """
    if n < 1:
        raise plain_statistics.StatisticsError("n must be at least 1")
    if method not in METHODS:
        raise ValueError(f"Unknown method: {method!r}")
    x = _as_sequence(data)
    if len(x) < 2 and (sys.version_info < (3, 13) or not len(x)):
        raise plain_statistics.StatisticsError("must have at least two data points")
    d = _prepare(x, bounds)
    if d is None:
        if method == "exclusive":
            return plain_statistics.quantiles(_plain(x, bounds), n=n, method="exclusive")
        if method == "inclusive":
            return plain_statistics.quantiles(_plain(x, bounds), n=n, method="inclusive")
        return _plain_cuts(_plain(x, bounds), [Cut(Fraction(i, n), method) for i in range(1, n)])
    if n == 1:
        return []
    return _cuts(d, [Cut(Fraction(i, n), method) for i in range(1, n)], exact)


def percentiles(data: Iterable[Any], ps: Sequence[float | int | Fraction | str], *,
                method: str = "inclusive", bounds: Bounds = None,
                exact: bool = False) -> list[Any]:
    """Percentiles ``0..100`` (e.g. ``[10, 50, 90]``), numpy's method names, in one walk.

    The default ``"inclusive"`` is numpy's default (``linear``); ``p`` has at most two
    decimals.
    """
    fractions = [Fraction(str(p)) / 100 if isinstance(p, float) else Fraction(p) / 100
                 for p in ps]
    cuts = [Cut(fraction, method) for fraction in fractions]
    x = _as_sequence(data)
    if not len(x):
        raise plain_statistics.StatisticsError("percentiles require at least one data point")
    d = _prepare(x, bounds)
    if d is None:
        return _plain_cuts(_plain(x, bounds), cuts)
    if not cuts:
        return []
    return _cuts(d, cuts, exact)


def __getattr__(name: str) -> Any:
    """``mode``, ``covariance``, ... are MPyC's own (``mpyc.statistics``), loaded on use."""
    if name in _MPYC_ONLY:
        return getattr(runtime().statistics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------
# The data as secure integers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    """The values as secure integers on the caller's field.

    Attributes:
        sectype: The caller's secure type (``SecInt`` or ``SecFxp`` class).
        inttype: A secure integer type on the same field (``sectype`` itself for integers):
            fixed-point values are used through their integer representation, for free.
        values: Secure ``inttype`` array ``(n,)`` of the integer representations.
        frac_length: ``f``: a value is ``representation / 2**f``.
        low: Lower bound of the representations (from ``bounds`` or the type).
        high: Upper bound of the representations.
        checked: Whether ``bounds`` were given (and are checked in the MPC).
        digits: Cache of the bit decomposition and the bounds check (see :func:`_digits`).
    """

    sectype: Any
    inttype: Any
    values: SecureArray
    frac_length: int
    low: int
    high: int
    checked: bool
    digits: dict[str, Any]

    @property
    def size(self) -> int:
        """Number of values ``n``."""
        return int(self.values.shape[0])

    @property
    def bit_length(self) -> int:
        """Bit length ``l`` of the secure type: representations lie in ``[-2**(l-1), 2**(l-1))``."""
        return int(self.sectype.bit_length)


def _as_sequence(data: Iterable[Any]) -> Any:
    if iter(data) is data:  # an iterator: take its items once, as mpyc.statistics does
        return list(data)
    return data


def _prepare(x: Any, bounds: Bounds) -> _Data | None:
    """The data as a :class:`_Data`, or None for plain numbers (relayed to ``statistics``)."""
    mpc = runtime()
    if isinstance(x, mpc.SecureArray):
        if len(x.shape) != 1:
            raise ValueError(f"a 1-D secure array is needed, got shape {x.shape}")
        sectype = type(x).sectype
        array = x
    else:
        sectype = type(x[0])  # all items assumed of one type, as in mpyc.statistics
        if not issubclass(sectype, mpc.SecureObject):
            return None
        array = None
    if not issubclass(sectype, (mpc.SecureInteger, mpc.SecureFixedPoint)):
        raise TypeError("secure fixed-point or integer type required")
    if array is None:
        array = mpc.np_fromlist(list(x))
    bit_length = sectype.bit_length
    frac_length = sectype.frac_length
    if issubclass(sectype, mpc.SecureInteger):
        inttype = sectype
    else:
        inttype = mpc.SecInt(bit_length, p=sectype.field.modulus)
        array = _reinterpret(array, inttype)
    smallest, largest = -(1 << (bit_length - 1)), (1 << (bit_length - 1)) - 1
    low, high = smallest, largest
    if bounds is not None:
        low, high = _scaled_bounds(bounds, frac_length)
        if not smallest <= low <= high <= largest:
            raise ValueError(f"bounds={bounds!r} must satisfy lo <= hi and lie in the range of "
                             f"{sectype.__name__}")
    return _Data(sectype, inttype, array, frac_length, low, high, bounds is not None, {})


def _scaled_bounds(bounds: tuple[Any, Any], frac_length: int) -> tuple[int, int]:
    """Bounds on the integer representations: the grid points inside ``[lo, hi]``."""
    lo, hi = (Fraction(b) for b in bounds)  # exact for floats and Decimals too
    scale = 1 << frac_length
    return math.ceil(lo * scale), math.floor(hi * scale)


@mpc_coroutine
async def _reinterpret(array, inttype):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    """The same shares as a secure integer array (same field: no conversion, no message)."""
    mpc = runtime()
    await mpc.returnType((inttype.array, array.shape))
    return await mpc.gather(array)


def _plain(x: Any, bounds: Bounds) -> list[Any]:
    """Plain data, with ``bounds`` checked as the secure path would."""
    values = list(x)
    if bounds is not None and any(not bounds[0] <= v <= bounds[1] for v in values):
        raise ValueError(f"a value lies outside bounds={bounds!r}")
    return values


def _plain_cuts(values: list[Any], cuts: list[Cut]) -> list[Any]:
    """Exact cut points of plain data (for the methods Python's statistics lacks)."""
    ordered = sorted(Fraction(v) for v in values)
    results = []
    for cut in cuts:
        plan = plan_public(cut, len(ordered))
        low, high = ordered[plan.rank_low - 1], ordered[min(plan.rank_high, len(ordered)) - 1]
        results.append((plan.weight_low * low + plan.weight_high * high) / plan.denominator)
    return results


# --------------------------------------------------------------------------------------------
# Bit decomposition, one-hot digits and the bounds check
# --------------------------------------------------------------------------------------------


def _digits(d: _Data) -> tuple[list[SecureArray], Any]:
    """One-hot digits of ``value - low`` (for the walk) and the bounds check's future.

    Computed once per call (cached on ``d``) by
    :func:`~smpc_bench.core.digit_decomposition.onehot_digits`, for the bits of ``high - low``
    only; for a value outside the bounds they are the digits of ``(value - low) mod 2**L``,
    which the check catches.
    """
    if "indicators" not in d.digits:
        offsets = d.values - d.low
        value_bits = max(1, (d.high - d.low).bit_length())
        layout = digit_layout(value_bits, DEFAULT_RADIX_BITS)
        stacked = onehot_digits(offsets, value_bits, layout)
        indicators = []
        start = 0
        for _, width in layout:
            indicators.append(stacked[:, :, start : start + (1 << width)])
            start += 1 << width
        ok = None
        if d.checked:
            ok = range_check(offsets, stacked, d.high - d.low, layout)
        d.digits.update(indicators=indicators, ok=ok)
    return d.digits["indicators"], d.digits["ok"]


def _bounds_ok(d: _Data) -> Any:
    """The bounds check's future (None without bounds)."""
    return _digits(d)[1] if d.checked else None


# --------------------------------------------------------------------------------------------
# Order statistics: medians, quantiles, percentiles
# --------------------------------------------------------------------------------------------


def _single(data: Iterable[Any], cut: Cut, bounds: Bounds, exact: bool,
            plain: Any) -> Any:
    x = _as_sequence(data)
    if not len(x):
        raise plain_statistics.StatisticsError("median requires at least one data point")
    d = _prepare(x, bounds)
    if d is None:
        return plain(_plain(x, bounds))
    return _cuts(d, [cut], exact)[0]


def _order_statistics(d: _Data, ranks: list[int]) -> SecureArray:
    """The ``ranks``-th smallest values (1-based), as representations: ``inttype`` ``(R,)``."""
    compare_bits = (d.size + 1).bit_length() + 1
    room = d.sectype.field.order.bit_length() - runtime().options.sec_param - 2
    if compare_bits > room:
        raise ValueError(f"{d.size} values need a secure type of more bits for the walk's "
                         f"{compare_bits}-bit comparisons than {d.sectype.__name__} has")
    indicators, _ = _digits(d)
    valid = d.inttype.array(np.ones((1, d.size), dtype=object))  # every value takes part
    found = order_statistics(indicators, valid, np.array([ranks], dtype=np.int64),
                             count_bits=max(1, d.size.bit_length()))
    return found.reshape(len(ranks)) + d.low


def _cuts(d: _Data, cuts: list[Cut], exact: bool) -> list[Any]:
    """Cut points ``(w1 * y[r1] + w2 * y[r2]) / D`` from one walk over the needed ranks."""
    plans: list[RankPlan] = [plan_public(cut, d.size) for cut in cuts]
    ranks = sorted({r for plan in plans for r in (plan.rank_low, plan.rank_high)})
    # selection[lane, cut]: the weight of order statistic ranks[lane] in that cut point.
    selection = np.zeros((len(ranks), len(cuts)), dtype=object)
    for j, plan in enumerate(plans):
        selection[ranks.index(plan.rank_low), j] += plan.weight_low
        selection[ranks.index(plan.rank_high), j] += plan.weight_high
    denominators = [plan.denominator for plan in plans]
    found = _order_statistics(d, ranks)
    ok = _bounds_ok(d)
    if exact:
        return _exact(found @ selection, [den << d.frac_length for den in denominators], ok)
    if all(den == 1 for den in denominators):  # data points: exact in the input's type
        return _release(found @ selection, d, ok)
    weight = max(int(np.abs(selection[:, j]).sum()) for j in range(len(cuts)))
    width = d.bit_length + weight.bit_length() + 1
    wide = widen(found, rounding_width(width, 2 * max(denominators)))
    return _release(round_half_up(wide @ selection, denominators, width), d, ok)


# --------------------------------------------------------------------------------------------
# Moments: variance and standard deviation
# --------------------------------------------------------------------------------------------


def _second_moment(data: Iterable[Any], centre: Any, *, correction: int, root: bool,
                   bounds: Bounds, exact: bool, name: str) -> Any:
    """``sum((x - c)**2) / (n - correction)``, its root if ``root``; ``c`` the mean if None."""
    x = _as_sequence(data)
    if len(x) < 1 + correction:
        points = "two data points" if correction else "one data point"
        raise plain_statistics.StatisticsError(f"{name} requires at least {points}")
    d = _prepare(x, bounds)
    if d is None:
        return getattr(plain_statistics, name)(_plain(x, bounds), centre)
    mpc = runtime()
    n, f, bit_length = d.size, d.frac_length, d.bit_length
    ok = _bounds_ok(d)
    secure_centre = isinstance(centre, mpc.SecureObject)
    if secure_centre and not isinstance(centre, d.sectype):
        raise TypeError(f"{name}: the centre must be of the data's type {d.sectype.__name__}")
    # Exact numerator and denominator (in representation units squared) and a bound on |num|.
    if centre is None:  # (n * S2 - S1**2) / (n * (n - correction))
        largest = n * n << (2 * bit_length - 2)
        denominator = n * (n - correction)
    elif secure_centre:  # sum((x - m)**2) / (n - correction)
        largest = n << (2 * bit_length)
        denominator = n - correction
    else:  # centre a/b (representation units): sum((b*x - a)**2) / ((n - correction) * b**2)
        scaled = Fraction(centre) * (1 << f)
        a, b = scaled.numerator, scaled.denominator
        largest = n * (b * (1 << (bit_length - 1)) + abs(a)) ** 2
        denominator = (n - correction) * b * b
    width = largest.bit_length() + 1
    if root:
        needed = sqrt_width(largest, denominator)
    else:
        needed = width if exact else rounding_width(width, 2 * (denominator << f))
    wtype = mpc.SecInt(round_up_bits(needed))
    wide = widen(d.values, wtype)
    if centre is None:
        total = mpc.np_sum(wide)
        numerator = (wide @ wide) * n - total * total
    elif secure_centre:
        deviations = wide - widen(_reinterpret(mpc.np_fromlist([centre]), d.inttype), wtype)
        numerator = deviations @ deviations
    else:
        deviations = wide * b - a
        numerator = deviations @ deviations
    numerator = _vector(numerator)
    if exact:
        return _exact(numerator, [denominator << (2 * f)], ok, root=root)[0]
    if root:  # representation of sqrt(v): sqrt(numerator / denominator), f cancels out
        return _release(rounded_sqrt(numerator, denominator, largest), d, ok)[0]
    return _release(round_half_up(numerator, [denominator << f], width), d, ok)[0]


# --------------------------------------------------------------------------------------------
# Exact rounding in a wide field
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _vector(scalar: Any) -> SecureArray:
    """A secure scalar as a 1-element secure array."""
    return runtime().np_fromlist([scalar])


def _release(values: SecureArray, d: _Data, ok: Any) -> list[Any]:
    """Representations (any secure integer type) as scalars of the caller's type."""
    mpc = runtime()
    if type(values).sectype is not d.inttype:  # from a wide type: back to the caller's field
        values = mpc.np_fromlist(mpc.convert(mpc.np_tolist(values), d.inttype))
    scalars: list[Any] = _scalars(values, d.sectype, ok)
    return scalars


@mpc_coroutine
async def _scalars(values, sectype, ok):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202  (mpc_coro reads annotations as the result type)
    """Secure scalars of ``sectype`` with the shares of ``values``, once the check passed."""
    mpc = runtime()
    count = values.shape[0]
    if issubclass(sectype, mpc.SecureFixedPoint):
        await mpc.returnType((sectype, False), count)
    else:
        await mpc.returnType(sectype, count)
    if ok is not None and not await ok:
        raise ValueError("a value lies outside the bounds given to smpc_bench.stats; "
                         "no result is released")
    shares = (await mpc.gather(values)).value
    field = sectype.field
    return [field(int(s)) for s in shares]


def _exact(numerators: SecureArray, denominators: Sequence[int], ok: Any,
           *, root: bool = False) -> list[Any]:
    """Exact secure values ``numerator / denominator`` (see the module docstring)."""
    exact_type = _exact_type()
    scalars = _scalars(numerators, type(numerators).sectype, ok)
    return [exact_type(s, int(den), root) for s, den in zip(scalars, denominators, strict=True)]


def _sqrt_float(value: Fraction) -> float:
    """Correctly rounded ``sqrt`` of a non-negative Fraction (round-to-odd, then one rounding)."""
    if value < 0:
        raise ValueError("square root of a negative value")
    num, den = value.numerator, value.denominator
    shift = max(0, (2 * 60 - num.bit_length() + den.bit_length()) // 2 + 1)
    scaled = num << (2 * shift)
    root = math.isqrt(scaled // den)
    if root * root * den != scaled:
        root |= 1  # inexact: a sticky bit below the 55+ kept bits
    return root / (1 << shift)


@functools.cache
def _exact_type() -> Any:
    """The class of exact results (made on first use: it subclasses MPyC's ``SecureObject``)."""
    mpc = runtime()

    class SecureExact(mpc.SecureObject):  # type: ignore[misc, name-defined]
        """An exact secure value ``numerator / denominator`` (or its square root).

        ``await mpc.output(value)`` opens the numerator and gives a :class:`Fraction` (a
        correctly rounded float for a square root).  Lists of them may mix results of
        different calls.
        """

        __slots__ = ("denominator", "root")

        def __init__(self, numerator: Any, denominator: int, root: bool = False) -> None:
            super().__init__(numerator)
            self.denominator = denominator
            self.root = root

        @property
        def numerator(self) -> Any:
            """The secure integer numerator."""
            return self.share

        @classmethod
        async def _output(cls, x: list[Any], receivers: Any, threshold: Any) -> list[Any]:
            """Called by ``mpc.output``: open the numerators, one opening per secure type."""
            groups: dict[Any, list[int]] = {}
            for i, item in enumerate(x):
                groups.setdefault(type(item.share), []).append(i)
            results: list[Any] = [None] * len(x)
            for indices in groups.values():
                opened = await mpc.output([x[i].share for i in indices], receivers, threshold)
                for i, value in zip(indices, opened, strict=True):
                    if value is not None:
                        exact = Fraction(int(value), x[i].denominator)
                        results[i] = _sqrt_float(exact) if x[i].root else exact
            return results

    return SecureExact
