"""Fast, exactly equivalent replacements for MPyC's NumPy Shamir-sharing helpers.

MPyC's :func:`mpyc.thresha.np_random_split` draws every random polynomial coefficient with
:func:`secrets.randbelow` inside a Python generator: one ``os.urandom`` system call and a handful
of interpreted function calls per coefficient.  With 3 parties, each secure multiplication of a
100,000-element array reshares 100,000 values, and that loop was ~60% of the run time.

:func:`np_random_split` here draws all coefficients in one ``os.urandom`` call (the same OS
CSPRNG that :mod:`secrets` uses; it oversamples, so a second call for rejected values is rare)
and maps them to *exactly* uniform field elements by rejection sampling, the same method as
:func:`secrets.randbelow`: take ``ceil(bitlen(p) / 8)`` bytes per value, mask to ``bitlen(p)``
bits, reject values ``>= p`` and redraw those.  For primes below ``2**64`` all of this, and the
evaluation of the sharing polynomials, runs in vectorised ``uint64`` arithmetic; larger primes are
assembled from 64-bit limbs into Python integers; extension fields fall back to MPyC's own function.

:func:`np_recombine` replaces :func:`mpyc.thresha.np_recombine` (Lagrange interpolation of the
received shares) for primes below ``2**64`` (MPyC's ``SecInt(l)`` for ``l <= 32`` with the default
security parameter) with exact ``uint64`` arithmetic, and falls back to MPyC's own otherwise.

:func:`install` patches both functions into :mod:`mpyc.thresha`.  Every caller in MPyC 0.11
(``Runtime.input``/``_distribute``, ``Runtime._reshare`` and ``Runtime.output`` in
``mpyc/runtime.py``) looks them up as ``thresha.np_random_split`` / ``thresha.np_recombine`` at
call time, so patching the module attributes takes effect for runs already started.

Importing this module imports :mod:`mpyc.thresha` and :mod:`mpyc.finfields` only, never
:mod:`mpyc.runtime` (which parses ``sys.argv``).

Example:
    >>> from smpc_bench import fast_sharing
    >>> fast_sharing.install()      # before or after ``mpc.start()``
    >>> fast_sharing.uninstall()    # restores MPyC's originals
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from mpyc import finfields, thresha

from smpc_bench.engine.accel.uint64_mod import addmod as _addmod
from smpc_bench.engine.accel.uint64_mod import mulmod_scalar as _mulmod_scalar
from smpc_bench.engine.patches import Patch, PatchSet

__all__ = [
    "install",
    "installed",
    "np_random_split",
    "np_recombine",
    "original_np_random_split",
    "original_np_recombine",
    "uniform_below",
    "uninstall",
]

ObjArray = npt.NDArray[np.object_]
U64Array = npt.NDArray[np.uint64]

_U64_LIMIT = 1 << 64

#: Below this many shares per party, Python ints recombine faster than 64-bit words with
#: general coefficients (measured with 3 parties: 48 against 164 microseconds at 100 elements,
#: even at ~1,500).
_MIN_WORD_RECOMBINE = 1500
#: The same when every coefficient is small (see :func:`_combine_u64`): 92 against 205
#: microseconds at 300 elements.
_MIN_WORD_RECOMBINE_SMALL = 128

#: Coefficients (or their negatives) below this are multiplied by doubling and adding.
_SMALL_COEFFICIENT = 1 << 8

#: Marker attribute on the replacement functions, used to keep :func:`install` idempotent even if
#: this module is reloaded while patched.
_MARK = "_smpc_bench_fast_sharing_original"


def _unwrap(func: Callable[..., Any]) -> Callable[..., Any]:
    """Return MPyC's original function even if ``func`` is one of our (possibly older) patches."""
    while hasattr(func, _MARK):
        func = getattr(func, _MARK)
    return func


#: MPyC's own implementations, captured at import time (unwrapped if already patched).
original_np_random_split: Callable[..., Any] = _unwrap(thresha.np_random_split)
original_np_recombine: Callable[..., Any] = _unwrap(thresha.np_recombine)


# --------------------------------------------------------------------------------------------
# Uniform sampling from the OS CSPRNG
# --------------------------------------------------------------------------------------------


def _random_limbs(count: int, bit_length: int) -> U64Array:
    """Draw ``count`` uniform ``bit_length``-bit integers as little-endian 64-bit limbs.

    Args:
        count: Number of values.
        bit_length: Bits per value, at least 1.

    Returns:
        A ``(count, ceil(bit_length / 64))`` ``uint64`` array; limb 0 is the least significant.
        Exactly ``ceil(bit_length / 8)`` bytes of ``os.urandom`` output are used per value.
    """
    nbytes = (bit_length + 7) // 8
    nlimbs = (bit_length + 63) // 64
    raw = np.frombuffer(os.urandom(count * nbytes), dtype=np.uint8).reshape(count, nbytes)
    buf = np.zeros((count, 8 * nlimbs), dtype=np.uint8)
    buf[:, :nbytes] = raw
    limbs = buf.view("<u8").astype(np.uint64, copy=False).reshape(count, nlimbs)
    top_bits = bit_length - 64 * (nlimbs - 1)
    if top_bits < 64:
        limbs[:, -1] &= np.uint64((1 << top_bits) - 1)
    return limbs


def _oversample(need: int, bound: int, bit_length: int) -> int:
    """Return how many candidates to draw so that ``need`` acceptances are very likely."""
    rate = bound / (1 << bit_length)  # acceptance probability, in (1/2, 1]
    mean = need / rate
    # mean + ~6 standard deviations of the number of draws needed, plus a small constant.
    return int(mean + 6.0 * (mean * (1.0 - rate)) ** 0.5) + 8


def _uniform_below_u64(bound: int, count: int) -> U64Array:
    """Draw ``count`` exactly uniform integers in ``[0, bound)``, ``1 < bound <= 2**64``."""
    bit_length = (bound - 1).bit_length()
    out = np.empty(count, dtype=np.uint64)
    filled = 0
    while filled < count:
        need = count - filled
        cand = _random_limbs(_oversample(need, bound, bit_length), bit_length)[:, 0]
        if bound < _U64_LIMIT:
            cand = cand[cand < np.uint64(bound)]
        take = min(len(cand), need)
        out[filled : filled + take] = cand[:take]
        filled += take
    return out


def _limbs_to_int(limbs: U64Array) -> ObjArray:
    """Assemble rows of little-endian 64-bit limbs into an object array of Python ints."""
    value: ObjArray = limbs[:, -1].astype(object)
    for j in range(limbs.shape[1] - 2, -1, -1):
        value = (value << 64) | limbs[:, j].astype(object)
    return value


def _uniform_below_big(bound: int, count: int) -> ObjArray:
    """Draw ``count`` exactly uniform Python ints in ``[0, bound)`` for any ``bound > 1``."""
    bit_length = (bound - 1).bit_length()
    out = np.empty(count, dtype=object)
    filled = 0
    while filled < count:
        need = count - filled
        cand = _limbs_to_int(_random_limbs(_oversample(need, bound, bit_length), bit_length))
        cand = cand[(cand < bound).astype(bool)]
        take = min(len(cand), need)
        out[filled : filled + take] = cand[:take]
        filled += take
    return out


def uniform_below(bound: int, count: int) -> ObjArray:
    """Draw ``count`` independent, exactly uniform integers in ``[0, bound)`` from ``os.urandom``.

    Same distribution as ``[secrets.randbelow(bound) for _ in range(count)]`` (and the same
    method: ``bit_length(bound - 1)``-bit candidates, rejecting those ``>= bound``), in bulk.

    Args:
        bound: Exclusive upper bound, a positive int.
        count: Number of values, non-negative.

    Returns:
        A 1-D object array of Python ints.

    Raises:
        ValueError: If ``bound <= 0`` or ``count < 0``.
    """
    if bound <= 0:
        raise ValueError("bound must be positive")
    if count < 0:
        raise ValueError("count must be non-negative")
    if bound == 1:
        return np.zeros(count, dtype=np.uint64).astype(object)
    if bound <= _U64_LIMIT:
        return _uniform_below_u64(bound, count).astype(object)
    return _uniform_below_big(bound, count)


# --------------------------------------------------------------------------------------------
# Exact modular arithmetic on uint64 arrays (wrap-around is intended and silent for arrays)
# --------------------------------------------------------------------------------------------


def _mulsmall_mod(a: U64Array, k: int, p: np.uint64) -> U64Array:
    """Return ``(a * k) % p`` for ``a < p`` and a small int ``k >= 1`` by double-and-add."""
    r = a
    for bit in bin(k)[3:]:
        r = _addmod(r, r, p)
        if bit == "1":
            r = _addmod(r, a, p)
    return r


def _to_u64_mod(s: np.ndarray, p: int) -> U64Array:
    """Convert an array of ints (object or ``uint64``) to ``uint64`` values modulo ``p < 2**64``."""
    if s.dtype == np.uint64:
        return s % np.uint64(p) if s.size and int(s.max()) >= p else s
    try:
        u = s.astype(np.uint64)
    except (OverflowError, TypeError, ValueError):
        return np.asarray(s % p).astype(np.uint64)
    if u.size and int(u.max()) >= p:
        u %= np.uint64(p)
    return u


# --------------------------------------------------------------------------------------------
# Shamir splitting
# --------------------------------------------------------------------------------------------


def _is_prime_field(field: Any) -> bool:
    """Tell whether ``field`` is an MPyC prime field with an int modulus equal to its order."""
    try:
        return (
            issubclass(field, finfields.PrimeFieldElement)
            and isinstance(field.modulus, int)
            and field.order == field.modulus
        )
    except (AttributeError, TypeError):
        return False


#: Below this ``2**64 - p``, :func:`_evaluate_near_word` applies (MPyC's 64-bit primes, such as
#: ``2**64 - 189`` for ``SecInt(32)``, are far below it).
_NEAR_WORD = 1 << 26


def _evaluate_near_word(coef: U64Array, m: int, p: int) -> U64Array | None:
    """``sum_j coef[j] * x**j mod p`` at ``x = 1..m``, for a prime just below ``2**64``.

    With many parties Horner's rule needs a modular product per coefficient and party, and
    a 64-bit product by ``x`` is a dozen numpy operations.  Here the Vandermonde matrix
    (entries ``x**j < 2**32``) multiplies the coefficients' 32-bit limbs (16-bit ones if the
    sums would not stay below ``2**53``) in float64 BLAS, exactly; the limb results ``R < 2**53``
    are recombined using ``2**64 = 2**64 - p (mod p)``: ``R * 2**s`` is ``lo + hi * (2**64 - p)``
    with ``lo, hi`` its two words.  None when ``p``, ``m`` or the degree do not allow this.

    Args:
        coef: ``(t + 1, n)`` residues below ``p``, the constant term first.
        m: Number of evaluation points.
        p: The prime.
    """
    degree = coef.shape[0] - 1
    gap = _U64_LIMIT - p
    if not 0 < gap < _NEAR_WORD or degree + 1 > 32 or m**degree >= 1 << 32:
        return None
    pu = np.uint64(p)
    powers = [[x**j for j in range(degree + 1)] for x in range(1, m + 1)]
    vandermonde = np.array(powers, dtype=np.float64)
    # Two 32-bit limbs where the sums stay exact in float64, else four 16-bit ones.
    width = 32 if (degree + 1) * max(map(max, powers)) << 32 < 1 << 53 else 16
    mask = np.uint64((1 << width) - 1)
    total: U64Array | None = None
    for j in range(64 // width):
        limb = ((coef >> np.uint64(width * j)) & mask).astype(np.float64)
        part = (vandermonde @ limb).astype(np.uint64)  # exact, below 2**53 < p
        if j:
            shift = width * j
            low = part << np.uint64(shift)
            low = np.where(low >= pu, low - pu, low)
            high = (part >> np.uint64(64 - shift)) * np.uint64(gap)  # < 2**63 < p
            part = _addmod(low, high, pu)
        total = part if total is None else _addmod(total, part, pu)
    return total


def _split_u64(s: U64Array, t: int, m: int, p: int) -> U64Array:
    """Evaluate ``s + c_1 x + ... + c_t x^t`` at ``x = 1..m`` modulo ``p < 2**64``, random c_j."""
    n = len(s)
    coef = _uniform_below_u64(p, t * n).reshape(t, n)
    pu = np.uint64(p)
    if t and m * (p - 1) + (p - 1) >= _U64_LIMIT:
        shares = _evaluate_near_word(np.concatenate((s.reshape(1, n), coef)), m, p)
        if shares is not None:
            return shares
    if m * (p - 1) + (p - 1) < _U64_LIMIT:
        # Horner without overflow: y * x + c < 2**64 for all y, c < p and x <= m.
        xs = np.arange(1, m + 1, dtype=np.uint64).reshape(m, 1)
        y = np.broadcast_to(coef[t - 1], (m, n)) if t else np.zeros((m, n), dtype=np.uint64)
        for j in range(t - 2, -1, -1):
            y = (y * xs + coef[j]) % pu
        return (y * xs + s) % pu if t else np.broadcast_to(s, (m, n)).copy()
    shares = np.empty((m, n), dtype=np.uint64)
    for i in range(m):
        x = i + 1
        y = np.zeros(n, dtype=np.uint64)
        for j in range(t - 1, -1, -1):
            y = _addmod(_mulsmall_mod(y, x, pu), coef[j], pu) if j < t - 1 else coef[j]
        shares[i] = _addmod(_mulsmall_mod(y, x, pu), s, pu) if t else s
    return shares


def _split_big(s: ObjArray, t: int, m: int, p: int) -> ObjArray:
    """Evaluate the sharing polynomials for a large prime ``p`` on object arrays."""
    n = len(s)
    coef = _uniform_below_big(p, t * n).reshape(t, n)
    shares = np.empty((m, n), dtype=object)
    for i in range(m):
        x = i + 1
        y: Any = 0
        for j in range(t - 1, -1, -1):
            y = (y + coef[j]) * x
        shares[i] = (y + s) % p
    return shares


def np_random_split(field: Any, s: Any, t: int, m: int) -> np.ndarray:
    """Split each secret given in ``s`` into ``m`` random Shamir shares.

    Drop-in replacement for :func:`mpyc.thresha.np_random_split`, with the same semantics: the
    (maximum) degree of the Shamir polynomials is ``t``, ``0 <= t < m``; the result has shape
    ``(m, n)``, share values reduced modulo ``p``, one row per party, row ``i`` being the
    polynomial evaluated at ``x = i + 1``.  The ``t * n`` random coefficients are exactly
    uniform in ``[0, p)`` and drawn in bulk from ``os.urandom``.  For ``p < 2**64`` the rows
    are ``uint64`` arrays, not object arrays of Python ints: MPyC pickles each row for its peer
    (a word array pickles as raw bytes, ~8 bytes per share instead of ~11, and many times
    faster), and every consumer accepts them: MPyC stores a received input share as a field
    array (which converts), and :func:`np_recombine` here, like MPyC's own, takes either kind.
    Fields other than prime fields (for example ``GF(2^8)`` from a ``gfpx`` modulus) are
    passed to MPyC's original function.

    Args:
        field: An MPyC finite field type, e.g. ``mpyc.finfields.GF(p)``.
        s: The secrets: a 1-D ``field.array`` or a 1-D object array of ints.
        t: Threshold (polynomial degree).
        m: Number of parties.

    Returns:
        The ``(m, n)`` array of shares: ``uint64`` for ``p < 2**64``, else object.
    """
    if not _is_prime_field(field):
        return original_np_random_split(field, s, t, m)  # type: ignore[no-any-return]
    if isinstance(s, field.array):
        s = s.value
    s = np.asarray(s, dtype=object)
    if s.ndim != 1 or not 0 <= t < m:
        return original_np_random_split(field, s, t, m)  # type: ignore[no-any-return]
    p = int(field.modulus)
    if p < _U64_LIMIT:
        return _split_u64(_to_u64_mod(s, p), t, m, p)
    return _split_big(s, t, m, p)


# --------------------------------------------------------------------------------------------
# Lagrange recombination
# --------------------------------------------------------------------------------------------


def np_recombine(field: Any, points: Sequence[tuple[Any, Any]], x_rs: Any = 0) -> Any:
    """Recombine shares given by ``points`` into secrets (Lagrange interpolation).

    Drop-in replacement for :func:`mpyc.thresha.np_recombine` with the same arguments and result
    (a ``field.array``; 1-D if ``x_rs`` is not a list, else one row per entry of ``x_rs``).  For
    1-D shares over a prime field with ``p < 2**64`` it computes the same linear combination, with
    the same (cached) recombination vectors, in exact ``uint64`` arithmetic (see
    :func:`_mulmod_scalar`); everything else goes to MPyC's original function.

    Args:
        field: An MPyC finite field type.
        points: Pairs ``(x_i, shares_i)``, each ``shares_i`` a 1-D array (or ``field.array``) of
            integers, all of equal length: object arrays of ints, or ``uint64`` arrays as
            :func:`np_random_split` makes them (mixed is fine).
        x_rs: The x-coordinate to recombine at (default 0, the secret), or a list of them.

    Returns:
        The recombined values as a ``field.array``.
    """
    if not _is_prime_field(field) or field.modulus >= _U64_LIMIT:
        return original_np_recombine(field, points, x_rs)
    xs, shares = list(zip(*points, strict=True))
    values = []
    for sh in shares:
        v = sh.value if isinstance(sh, finfields.FiniteFieldArray) else sh
        if not isinstance(v, np.ndarray) or v.ndim != 1 or v.dtype not in (object, np.uint64):
            return original_np_recombine(field, points, x_rs)
        values.append(v)
    if len({len(v) for v in values}) != 1:
        return original_np_recombine(field, points, x_rs)
    p = int(field.modulus)
    is_list = isinstance(x_rs, list)
    vectors = [thresha._recombination_vector(field, xs, x_r) for x_r in (x_rs if is_list else
                                                                          [x_rs])]
    small = all(min(int(c) % p, p - int(c) % p) < _SMALL_COEFFICIENT
                for vector in vectors for c in vector)
    if len(values[0]) < (_MIN_WORD_RECOMBINE_SMALL if small else _MIN_WORD_RECOMBINE):
        # Few elements: numpy's per-call overhead of the word arithmetic outweighs its speed.
        ints = [v if v.dtype == object else v.astype(object) for v in values]
        rows_obj = [np.asarray(sum(int(c) * v for c, v in zip(vector, ints, strict=True)) % p,
                               dtype=object) for vector in vectors]
        out_obj = np.stack(rows_obj) if is_list else rows_obj[0]
        return field.array(out_obj, check=False)
    u = [_to_u64_mod(v, p) for v in values]
    rows = [_combine_u64(u, vector, p) for vector in vectors]
    out = np.stack(rows) if is_list else rows[0]
    return field.array(out.astype(object), check=False)


def _combine_u64(u: list[U64Array], vector: Sequence[int], p: int) -> U64Array:
    """Return ``sum_i vector[i] * u[i] mod p`` for residues below ``p < 2**64``.

    Lagrange coefficients at 0 for the points ``1 .. n`` are small integers (``3, -3, 1`` for a
    3-party resharing): those take a few additions instead of a full 64-bit modular product.
    """
    pu = np.uint64(p)
    acc = np.zeros(u[0].shape, dtype=np.uint64)
    for c, ui in zip(vector, u, strict=True):
        c = int(c) % p
        if c == 0:
            continue
        if c < _SMALL_COEFFICIENT:
            term = _mulsmall_mod(ui, c, pu)
        elif p - c < _SMALL_COEFFICIENT:
            positive = _mulsmall_mod(ui, p - c, pu)
            term = np.where(positive == 0, positive, pu - positive)
        else:
            term = _mulmod_scalar(ui, c, p)
        acc = _addmod(acc, term, pu)
    return acc


# --------------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------------

setattr(np_random_split, _MARK, original_np_random_split)
setattr(np_recombine, _MARK, original_np_recombine)


_SPLIT = PatchSet(lambda: [Patch(thresha, "np_random_split", np_random_split)])
_RECOMBINE = PatchSet(lambda: [Patch(thresha, "np_recombine", np_recombine)])


def install(*, recombine: bool = True) -> None:
    """Patch :mod:`mpyc.thresha` to use the fast functions of this module (idempotent).

    Args:
        recombine: Also replace :func:`mpyc.thresha.np_recombine` (default ``True``).
    """
    _SPLIT.install()
    if recombine:
        _RECOMBINE.install()
    else:
        _RECOMBINE.uninstall()


def uninstall() -> None:
    """Restore MPyC's original :mod:`mpyc.thresha` functions (idempotent)."""
    _RECOMBINE.uninstall()
    _SPLIT.uninstall()


def installed() -> bool:
    """Tell whether the fast splitting function is currently patched into :mod:`mpyc.thresha`."""
    return _SPLIT.installed
