"""Shamir sharing outside a round: our plain-integer recombination against MPyC's."""

from __future__ import annotations

import numpy as np
import pytest
from mpyc import finfields, thresha

from smpc_bench.engine.fields import lagrange_at_zero, shamir_recombine, shamir_split

PRIMES = [2**64 - 59, 2**61 - 1, (1 << 127) - 1]  # below and above one machine word


@pytest.mark.parametrize("prime", PRIMES)
@pytest.mark.parametrize(("threshold", "parties"), [(1, 3), (2, 5), (0, 1)])
def test_recombination_equals_mpycs_and_gives_back_the_values(prime: int, threshold: int,
                                                              parties: int) -> None:
    rng = np.random.default_rng(prime % 1000 + parties)
    values = np.array([int(v) for v in rng.integers(-10**6, 10**6, size=12)],
                      dtype=object).reshape(3, 4)
    shares = shamir_split(prime, values % prime, threshold, parties)
    field = finfields.GF(prime)
    for subset in ([*range(threshold + 1)], [*range(parties - threshold - 1, parties)]):
        ours = shamir_recombine(prime, {j: shares[j] for j in subset})
        assert ours.tolist() == values.tolist()
        points = [(j + 1, [field(int(v)) for v in np.asarray(shares[j]).reshape(-1)])
                  for j in subset]
        theirs = [int(v) % prime for v in thresha.recombine(field, points)]
        assert [v % prime for v in ours.reshape(-1)] == theirs


def test_lagrange_coefficients_interpolate_a_known_polynomial() -> None:
    prime = 101
    polynomial = [7, 3, 5]  # 7 + 3x + 5x**2
    points = [2, 5, 9]
    values = [sum(c * x**i for i, c in enumerate(polynomial)) % prime for x in points]
    coefficients = lagrange_at_zero(points, prime)
    assert sum(c * v for c, v in zip(coefficients, values, strict=True)) % prime == 7
