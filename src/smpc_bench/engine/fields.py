"""Prime fields and Shamir sharing outside a running MPyC round (contributors, recombination).

An outsourced contributor splits its encoded row for the compute servers, and recombines its
private result from their shares, on its own machine without starting an MPyC runtime.  MPyC
parses ``sys.argv`` when :mod:`mpyc` is first imported (and exits on an option it finds
ambiguous, such as our ``--out``), so the import here hides the command line from it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["lagrange_at_zero", "prime_field", "shamir_recombine", "shamir_split"]


def _import_mpyc() -> None:
    """Import :mod:`mpyc` with an empty command line, once (later imports are cached)."""
    if "mpyc" in sys.modules:
        return
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        import mpyc  # noqa: F401  (parses only the empty command line)
    finally:
        sys.argv = saved


def prime_field(prime: int) -> Any:
    """MPyC's prime field ``GF(prime)`` (the field of ``SecInt(..., p=prime)``)."""
    _import_mpyc()
    from mpyc import finfields

    return finfields.GF(prime)


def shamir_split(prime: int, values: np.ndarray, threshold: int, parties: int) -> list[np.ndarray]:
    """Shamir shares of ``values`` for ``parties`` parties (evaluation points 1..m), degree t.

    Uses the vectorised splitting of :mod:`smpc_bench.engine.accel.sharing` (bit-for-bit
    MPyC's distribution).  Returns per party its shares in the shape of ``values``:
    ``uint64`` for primes below ``2**64``, else object arrays of ints.
    """
    field = prime_field(prime)  # first: it imports mpyc with the command line hidden
    from smpc_bench.engine.accel.sharing import np_random_split

    flat = np.asarray(values).reshape(-1).astype(object)
    split = np_random_split(field, flat, threshold, parties)
    kind: Any = np.uint64 if prime < 1 << 64 else object
    return [np.asarray(split[i]).astype(kind).reshape(np.shape(values)) for i in range(parties)]


def lagrange_at_zero(points: Sequence[int], prime: int) -> list[int]:
    """Coefficients taking a polynomial's values at ``points`` to its value at 0.

    ``f(0) = sum_j c_j f(x_j) mod prime`` for any polynomial of degree below ``len(points)``
    (Lagrange interpolation, as :func:`mpyc.thresha.recombine` computes it).
    """
    coefficients = []
    for j, x_j in enumerate(points):
        numerator, denominator = 1, 1
        for k, x_k in enumerate(points):
            if k != j:
                numerator = numerator * x_k % prime
                denominator = denominator * (x_k - x_j) % prime
        coefficients.append(numerator * pow(denominator, -1, prime) % prime)
    return coefficients


def shamir_recombine(prime: int, shares: Mapping[int, Any]) -> np.ndarray:
    """The values behind ``{party index: shares}`` from at least ``t + 1`` parties (centred ints).

    Plain integer arithmetic (no MPyC): a contributor recombines a few values, for which
    building MPyC field arrays would cost more than the arithmetic.

    Returns:
        An object array of Python ints in ``(-p/2, p/2]``, of the shares' shape.
    """
    parties = sorted(shares)
    shape = np.shape(shares[parties[0]])
    coefficients = lagrange_at_zero([party + 1 for party in parties], prime)
    columns = [[int(v) for v in np.asarray(shares[party]).reshape(-1)] for party in parties]
    half = prime // 2
    centred = []
    for values in zip(*columns, strict=True):
        value = sum(c * v for c, v in zip(coefficients, values, strict=True)) % prime
        centred.append(value if value <= half else value - prime)
    return np.array(centred, dtype=object).reshape(shape)
