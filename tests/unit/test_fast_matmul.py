"""The BLAS limb matrix product is bit-for-bit ``(a @ b) % p`` on Python ints."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpc_bench.engine.accel.matmul import modmatmul
from smpc_bench.engine.accel.uint64_mod import addmod, mulmod_scalar

# Primes: the largest below 2**64, one just above 2**63 (wrapping differences), one below 2**63,
# and a small one.
PRIMES = [2**64 - 59, 2**63 + 29, 2**63 - 25, 65521]


def _random(rng: np.random.Generator, shape: tuple[int, ...], modulus: int) -> np.ndarray:
    words = rng.integers(0, 2**64 - 1, size=shape, dtype=np.uint64, endpoint=True)
    return np.vectorize(lambda w: int(w) % modulus, otypes=[object])(words).reshape(shape)


def _reference(a: np.ndarray, b: np.ndarray, modulus: int) -> np.ndarray:
    return np.asarray(np.matmul(a.astype(object), b.astype(object)) % modulus, dtype=object)


@pytest.mark.parametrize("modulus", PRIMES)
@pytest.mark.parametrize(("shape_a", "shape_b"), [
    ((6, 16), (16, 3000)),            # the walk's selection
    ((1, 6, 16), (1, 16, 500)),       # batched
    ((3000, 16), (16, 2)),            # matrix-vector with two public columns
    ((3000, 6), (6,)),                # matrix-vector
    ((500, 1, 6), (500, 6, 1)),       # many row-wise inner products
    ((1, 4, 2000), (1, 2000, 16)),    # counts: a long inner dimension
])
def test_random_residues(modulus: int, shape_a: tuple[int, ...], shape_b: tuple[int, ...]
                         ) -> None:
    rng = np.random.default_rng(len(shape_a) * 1000 + shape_b[-1])
    a, b = _random(rng, shape_a, modulus), _random(rng, shape_b, modulus)
    got = modmatmul(a, b, modulus, a_reduced=True, b_reduced=True)
    assert got is not None and got.dtype == object
    assert np.array_equal(got, _reference(a, b, modulus))


@pytest.mark.parametrize("modulus", PRIMES)
def test_extreme_residues(modulus: int) -> None:
    """All entries p - 1: every limb and every partial sum at its largest."""
    a = np.full((8, 4096), modulus - 1, dtype=object)
    b = np.full((4096, 3), modulus - 1, dtype=object)
    assert np.array_equal(modmatmul(a, b, modulus), _reference(a, b, modulus))


def test_unreduced_and_negative_integer_inputs() -> None:
    modulus = PRIMES[0]
    rng = np.random.default_rng(7)
    a = rng.integers(-(2**62), 2**62, size=(40, 200))
    b = np.array([int(x) * 3 for x in rng.integers(0, 2**62, size=200)], dtype=object)
    assert np.array_equal(modmatmul(a, b, modulus), _reference(a, b, modulus))


def test_falls_through_where_it_does_not_apply() -> None:
    small = np.ones((2, 2), dtype=object)
    assert modmatmul(small, small, PRIMES[0]) is None  # too little work to pay off
    big = np.ones((64, 128), dtype=object)
    assert modmatmul(big, big.T, 2**89 - 1) is None  # field above 64 bits
    assert modmatmul(np.ones((64, 64)), np.ones((64, 64)), PRIMES[0]) is None  # floats


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 70), inner=st.integers(1, 90), cols=st.integers(1, 70),
       seed=st.integers(0, 2**32 - 1), modulus=st.sampled_from(PRIMES),
       extreme=st.booleans())
def test_property_matches_python_ints(rows: int, inner: int, cols: int, seed: int, modulus: int,
                                      extreme: bool) -> None:
    """Random shapes; residues uniform, or drawn from the extremes 0, 1, p - 2, p - 1."""
    rng = np.random.default_rng(seed)
    if extreme:
        edges = np.array([0, 1, modulus - 2, modulus - 1], dtype=object)
        a = rng.choice(edges, size=(rows, inner))
        b = rng.choice(edges, size=(inner, cols))
    else:
        a, b = _random(rng, (rows, inner), modulus), _random(rng, (inner, cols), modulus)
    got = modmatmul(a, b, modulus, a_reduced=True, b_reduced=True)
    if got is not None:
        assert np.array_equal(got, _reference(a, b, modulus))


@settings(max_examples=100, deadline=None)
@given(modulus=st.sampled_from(PRIMES), data=st.data())
def test_word_arithmetic(modulus: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(st.integers(0, modulus - 1), min_size=1, max_size=30))
    other = data.draw(st.lists(st.integers(0, modulus - 1), min_size=len(values),
                               max_size=len(values)))
    scalar = data.draw(st.integers(0, modulus - 1))
    words = np.array(values, dtype=object).astype(np.uint64)
    added = addmod(words, np.array(other, dtype=object).astype(np.uint64), np.uint64(modulus))
    expected = [(x + y) % modulus for x, y in zip(values, other, strict=True)]
    assert [int(x) for x in added] == expected
    multiplied = mulmod_scalar(words, scalar, modulus)
    assert [int(x) for x in multiplied] == [x * scalar % modulus for x in values]
